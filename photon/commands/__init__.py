"""Command modules; importing this package fills the command table."""
from photon.commands import (  # noqa: F401
    bitmaps, connection, dump, geo, hashes, hyperloglog, keys, lists, pubsub, replication,
    server, sets, sort, strings, transactions, zsets,
)
