"""PhotonDB: a Redis-protocol compatible, sharded, replicated key-value server."""

from photon import compiled as _compiled

__version__ = "0.1.0"
REDIS_VERSION = "7.0.15"

_compiled.select()  # the compiled core, or the pure-Python modules (photon/compiled.py)
