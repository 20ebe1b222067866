"""PhotonDB: a Redis-protocol compatible, sharded, replicated key-value server."""

__version__ = "0.1.0"
REDIS_VERSION = "7.0.15"
