"""CLUSTER subcommands that hold on a single node too."""
from __future__ import annotations

from photon.cluster.slots import key_slot
from photon.commands.table import command, container
from photon.errors import RedisError

CLUSTER_DISABLED = "ERR This instance has cluster support disabled"

container("cluster", -2)


@command("cluster|keyslot", 3, "stale", 0, 0, 0)
def cluster_keyslot(c, argv):
    # A standalone node answers as a standalone Redis does (INFO says cluster_enabled:0).
    if c.server.mode != "cluster":
        raise RedisError(CLUSTER_DISABLED)
    return key_slot(argv[2])
