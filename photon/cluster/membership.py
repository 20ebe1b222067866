"""How a node knows the other nodes: the node table (ClusterState) it keeps up to date, its
health, and the /_admin/cluster document. Today the table comes from the node's replication
links (its master, or its replicas); cluster gossip fills the same table."""
from __future__ import annotations

import time
from typing import Any

from photon.cluster.config import ReplicationConfig
from photon.cluster.state import DEAD_AFTER, ClusterState, NodeInfo


class Membership:
    def __init__(self, node: Any) -> None:
        self.node = node
        self.state = ClusterState(node.node_id, ReplicationConfig.from_settings(node.config),
                                  node=node)

    def refresh(self) -> None:
        """Rebuild the table from the node's own replication links."""
        node = self.node
        nodes = self.state.nodes
        host = node.config.bind.split()[0]
        now = time.time()
        me = NodeInfo(node.node_id, node.role, f"{host}:{node.port}", node.shard_range, now,
                      f"{host}:{node.http_port}" if node.http_port else None)
        seen = {node.node_id}
        nodes[node.node_id] = me
        monotonic_now = time.monotonic()
        links = node.master.links.values() if node.master is not None else ()
        for link in links:
            seen.add(link.node_id)
            nodes[link.node_id] = NodeInfo(
                link.node_id, "replica", f"{link.host}:{link.port}",
                (min(link.shards, default=0), max(link.shards, default=0)),
                now - (monotonic_now - link.last_ack))
        replica = node.replica
        if replica is not None:
            mid = replica.master_id or f"{replica.host}:{replica.port}"
            seen.add(mid)
            nodes[mid] = NodeInfo(mid, "master", f"{replica.host}:{replica.port}",
                                  node.shard_range, now - (monotonic_now - replica.last_io),
                                  connected=replica.state == "connected")
        for nid, info in list(nodes.items()):
            if nid not in seen:
                info.connected = False
                if now - info.last_heartbeat > DEAD_AFTER:
                    del nodes[nid]

    def health(self) -> str:
        """healthy: every shard this node serves can take writes with its quorum (a replica:
        its link to the master is up); degraded otherwise."""
        node = self.node
        if node.replica is not None:
            return "healthy" if node.replica.state == "connected" else "degraded"
        master = node.master
        if master is not None and master.quorum_active:
            needed = node.config.write_quorum - 1
            return "healthy" if master.online_links() >= needed else "degraded"
        return "healthy"

    def view(self) -> dict[str, Any]:
        self.refresh()
        return self.state.view(self.health())
