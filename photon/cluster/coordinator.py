"""Who decides who is master of each shard group, and who owns each shard: the coordinator
(docs/architecture.md, "Coordination"). Two implementations behind one interface, chosen with
``--coordinator``:

- ``builtin`` (cluster/failover.py, the default): the group's own votes (Raft's election
  rules), the map spread by gossip; nothing else to run.
- ``etcd://host:port,...`` (cluster/etcd_coordinator.py): etcd holds the members (under
  leases), the shard map and one leader key per group held by its master under a lease; the
  key's revision is the group's epoch and fencing token, and every change of owner is one
  etcd transaction.

The rest of the node (membership, routing, INFO, CLUSTER FAILOVER) calls the same methods on
either: tick() every heartbeat, master_refuses() / serves_reads() / learned / hold() in the
command path, on_map_changed(), manual() and prepare_handover(), vote() / tails_for(),
promoted(), info(); ``connect()`` at start-up (etcd: reach it, check the prefix, take or learn
this node's role) and ``close()`` at shutdown.
"""
from __future__ import annotations

from typing import Any

from photon.cluster.failover import Failover


def make_coordinator(node: Any, membership: Any) -> Failover:
    if node.config.coordinator == "builtin":
        return Failover(node, membership)
    from photon.cluster.etcd_coordinator import EtcdCoordinator

    return EtcdCoordinator(node, membership)
