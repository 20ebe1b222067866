"""CLUSTER subcommands that hold on a single node too."""
from __future__ import annotations

from photon.keyspace.slots import key_slot
from photon.commands.table import command, container

container("cluster", -2)


@command("cluster|keyslot", 3, "stale", 0, 0, 0)
def cluster_keyslot(c, argv):
    """Every node routes keys by slot, standalone too, so it answers as a cluster node does."""
    return key_slot(argv[2])
