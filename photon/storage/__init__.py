"""Ordered key-value engines the keyspace is stored on; nothing here knows about Redis."""
from photon.storage.engine import Engine

__all__ = ["Engine"]
