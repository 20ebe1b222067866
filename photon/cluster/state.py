"""ClusterState: the node table a node keeps (spec: ClusterState), used by the node for
/_admin/cluster and /_health, and by ReplicationManager to route writes and reads. Plain data:
how a running node fills the table is membership's business (photon/cluster/membership.py)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from photon.cluster.config import ReplicationConfig
from photon.keyspace.slots import shard_mapper

if TYPE_CHECKING:
    from photon.node import Node

HEARTBEAT_INTERVAL = 10.0  # spec: "Nodes send heartbeat every 10 seconds"
DEAD_AFTER = 30.0  # spec: "Nodes without heartbeat for 30s are removed"


@dataclass
class NodeInfo:
    id: str
    role: str  # "master" | "replica"
    addr: str  # host:port of the RESP port, as the node announces it
    shard_range: tuple[int, int]
    last_heartbeat: float = field(default_factory=time.time)
    http_addr: str | None = None
    connected: bool = True  # this node's link to it works
    master_id: str | None = None  # a replica's master
    zone: str = ""
    epoch: int = 0  # a master's config epoch: the highest epoch of its claims
    offset: int = 0  # replication offset (sum over its shards)
    version: int = 0  # bumped by the node itself whenever its record changes
    failed: bool = False  # not heard from for dead_after (directly or through others)
    started: float = 0.0  # when the node's process started (a restart is a new incarnation)
    synced: bool = True  # a replica holds its master's shards (its link is up and in step)

    @property
    def host(self) -> str:
        return self.addr.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.addr.rpartition(":")[2])

    def view(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "role": self.role.capitalize(),
            "addr": self.addr,
            "shard_range": {"start": self.shard_range[0], "end": self.shard_range[1]},
            "last_heartbeat": datetime.fromtimestamp(self.last_heartbeat, timezone.utc)
            .strftime("%Y-%m-%dT%H:%M:%SZ"),
            "connected": self.connected,
            "health": "fail" if self.failed else "ok",
            "zone": self.zone,
            "epoch": self.epoch,
            "offset": self.offset,
        }
        if self.master_id:
            out["master_id"] = self.master_id
        if self.http_addr:
            out["http_addr"] = self.http_addr
        return out

    def record(self, now: float) -> dict[str, Any]:
        """What gossip says of this node (the age of its last heartbeat, not a clock time)."""
        return {"id": self.id, "role": self.role, "addr": self.addr, "http": self.http_addr,
                "range": list(self.shard_range), "master": self.master_id, "zone": self.zone,
                "epoch": self.epoch, "offset": self.offset, "version": self.version,
                "age_ms": max(0, int((now - self.last_heartbeat) * 1000)),
                "failed": self.failed, "started": self.started, "synced": self.synced}

    @classmethod
    def from_record(cls, r: dict[str, Any], now: float) -> "NodeInfo":
        first, last = r["range"]
        return cls(str(r["id"]), str(r["role"]), str(r["addr"]), (int(first), int(last)),
                   now - int(r.get("age_ms", 0)) / 1000, r.get("http"), False,
                   r.get("master"), str(r.get("zone") or ""), int(r.get("epoch", 0)),
                   int(r.get("offset", 0)), int(r.get("version", 0)), bool(r.get("failed")),
                   float(r.get("started", 0.0)), bool(r.get("synced", True)))


class ClusterState:
    """Nodes by id, which shards each serves, and when each was last heard from."""

    def __init__(self, node_id: str, config: ReplicationConfig | None = None,
                 node: "Node | None" = None, dead_after: float = DEAD_AFTER) -> None:
        self.node_id = node_id
        self.config = config or ReplicationConfig()
        self.node = node
        self.dead_after = dead_after
        self.nodes: dict[str, NodeInfo] = {}
        # Nodes check_dead_nodes took out of the table, kept aside: a running node still shows
        # them (failed) and notices when one comes back.
        self.dead: dict[str, NodeInfo] = {}
        self._shard_of = shard_mapper(self.config.shard_count)

    # --- the spec's API ------------------------------------------------------------------

    def calculate_shard(self, key: bytes | str) -> int:
        """The shard a key lives in: CRC16 of its hash tag, as Redis Cluster."""
        return self._shard_of(key.encode() if isinstance(key, str) else key)

    async def get_shard_nodes(self, shard: int) -> list[str]:
        """Ids of the nodes holding a shard: its master first, then its replicas."""
        if not 0 <= shard < self.config.shard_count:
            raise ValueError(f"shard {shard} is not in 0-{self.config.shard_count - 1}")
        holders = [n for n in self.nodes.values()
                   if n.connected and n.shard_range[0] <= shard <= n.shard_range[1]]
        holders.sort(key=lambda n: (n.role != "master", n.id))
        return [n.id for n in holders]

    async def heartbeat(self, node_id: str) -> None:
        """A heartbeat from node_id: it is alive (back in the table if it had died)."""
        self.revive(node_id)

    async def check_dead_nodes(self) -> list[str]:
        """Remove nodes silent for longer than dead_after (30 s by default, the spec's);
        returns their ids. A removed node that is heard of again (its heartbeat is fresh)
        comes back."""
        now = time.time()
        dead = [nid for nid, n in self.nodes.items()
                if nid != self.node_id and now - n.last_heartbeat > self.dead_after]
        for nid in dead:
            node = self.dead[nid] = self.nodes.pop(nid)
            node.failed = True
            node.connected = False
        for nid in [nid for nid, n in self.dead.items()
                    if now - n.last_heartbeat <= self.dead_after]:
            self.nodes[nid] = self.dead.pop(nid)
            self.nodes[nid].failed = False
        return dead

    def revive(self, node_id: str) -> NodeInfo | None:
        node = self.nodes.get(node_id)
        if node is None and node_id in self.dead:
            node = self.nodes[node_id] = self.dead.pop(node_id)
        if node is not None:
            node.last_heartbeat = time.time()
            node.connected = True
            node.failed = False
        return node

    def get(self, node_id: str) -> NodeInfo | None:
        node = self.nodes.get(node_id)
        return node if node is not None else self.dead.get(node_id)

    def all(self) -> list[NodeInfo]:
        """Every known node, the dead included."""
        return [*self.nodes.values(), *self.dead.values()]

    def remove(self, node_id: str) -> NodeInfo | None:
        node = self.nodes.pop(node_id, None)
        return node if node is not None else self.dead.pop(node_id, None)

    # --- membership ----------------------------------------------------------------------

    def add_node(self, node: NodeInfo) -> None:
        self.nodes[node.id] = node

    def master_of(self, shard: int) -> NodeInfo | None:
        for n in self.nodes.values():
            if n.role == "master" and n.connected and n.shard_range[0] <= shard <= n.shard_range[1]:
                return n
        return None

    def replicas_of(self, shard: int) -> list[NodeInfo]:
        return sorted((n for n in self.nodes.values() if n.role == "replica" and n.connected
                       and n.shard_range[0] <= shard <= n.shard_range[1]), key=lambda n: n.id)

    def view(self, health: str = "unknown") -> dict[str, Any]:
        """The spec's /_admin/cluster document (more fields added, none renamed)."""
        return {
            "nodes": [n.view() for n in self.all()],
            "shards": self.config.shard_count,
            "replica_count": sum(1 for n in self.nodes.values()
                                 if n.role == "replica" and n.connected),
            "health": health,
            "write_quorum": self.config.write_quorum,
            "replication_factor": self.config.replication_factor,
        }
