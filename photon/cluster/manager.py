"""ReplicationManager: the spec's write and read calls, routed by the cluster's node table.

Inside a running node (a ClusterState that belongs to a node) a write goes through the
node's own command gate, so it is applied and acknowledged by the same quorum machinery
clients use. Outside one (a program that built a ClusterState and joined a cluster), a shard's
writes and reads go over RESP to one of its replicas (which forwards the writes to the master
and reads its own writes back), or to the master when read replicas are off or the replica
was lost.
"""
from __future__ import annotations

import asyncio
import random
import ssl as ssl_module

from photon.cluster.state import ClusterState, NodeInfo
from photon.commands.dispatch import execute
from photon.errors import RedisError
from photon.peer.connection import PeerConnection
from photon.peer.handshake import ssl_context
from photon.protocol.reply import Status

INSUFFICIENT = "Insufficient replicas for write quorum"


class QuorumError(RedisError):
    """The spec's "Insufficient replicas for write quorum"."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(f"NOQUORUM {INSUFFICIENT}" + (f" ({detail})" if detail else ""))


class ReplicationManager:
    """``password``/``username``/``ssl`` are how to reach the nodes; inside a node they
    default to its own replication credentials (--masterauth, --masteruser, TLS links)."""

    def __init__(self, cluster: ClusterState, password: str | None = None,
                 username: str | None = None, ssl: "ssl_module.SSLContext | None" = None,
                 ) -> None:
        self.cluster = cluster
        self._conns: dict[str, PeerConnection] = {}
        self._homes: dict[int, str] = {}  # shard -> id of the node used for it
        if cluster.node is not None and password is None:
            config = cluster.node.config
            password = config.masterauth or None
            username = config.masteruser or None
            ssl = ssl or ssl_context(config)
        self._login = {"password": password, "username": username, "ssl": ssl}

    async def write(self, key: bytes | str, value: bytes | str) -> None:
        """Store value under key on write_quorum copies, or raise QuorumError."""
        key = key.encode() if isinstance(key, str) else key
        value = value.encode() if isinstance(value, str) else value
        cluster = self.cluster
        shard = cluster.calculate_shard(key)
        if cluster.node is not None:
            await self._local(b"SET", key, value)
            return
        nodes = await cluster.get_shard_nodes(shard)
        if len(nodes) < cluster.config.write_quorum:
            raise QuorumError(f"shard {shard} has {len(nodes)} of "
                              f"{cluster.config.write_quorum} copies online")
        try:
            await self._on_home(shard, b"SET", key, value)
        except RedisError as e:
            if e.message.startswith("NOQUORUM"):
                raise QuorumError() from None
            raise

    async def read(self, key: bytes | str) -> bytes | None:
        """The value of key, from a replica when read replicas are enabled (load spreading),
        never older than this manager's own writes."""
        key = key.encode() if isinstance(key, str) else key
        if self.cluster.node is not None:
            # this node's gate: a replica node serves it when in step, else its master does
            return await self._local(b"GET", key)
        return await self._on_home(self.cluster.calculate_shard(key), b"GET", key)

    def _home(self, shard: int) -> NodeInfo:
        """The node this manager sends a shard's writes and reads to: with read replicas on,
        a replica picked once (spreading load over managers). The replica forwards writes to
        the master and serves reads on that same connection only once it has applied them,
        so the manager reads its own writes; a different replica would not know them."""
        cluster = self.cluster
        node = cluster.nodes.get(self._homes.get(shard, ""))
        if node is None or not node.connected:
            replicas = cluster.replicas_of(shard) if cluster.config.enable_read_replicas else []
            node = random.choice(replicas) if replicas else cluster.master_of(shard)
            if node is None:
                raise RedisError(f"CLUSTERDOWN shard {shard} has no reachable node")
            self._homes[shard] = node.id
        return node

    async def _on_home(self, shard: int, *argv: bytes):
        node = self._home(shard)
        try:
            return await self._call(node, *argv)
        except (OSError, ConnectionError):
            master = self.cluster.master_of(shard)
            if master is None or master.id == node.id:
                raise
        # The replica is gone: from now on the master, which holds every write made so far.
        self._homes[shard] = master.id
        return await self._call(master, *argv)

    async def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    async def _call(self, node: NodeInfo, *argv: bytes):
        conn = self._conns.get(node.id)
        if conn is None:
            conn = self._conns[node.id] = await PeerConnection.to_addr(node.addr, **self._login)
        try:
            return await conn.request(*argv)
        except (OSError, ConnectionError):
            self._conns.pop(node.id, None)
            raise

    async def _local(self, *argv: bytes):
        """Run a command through this node's gate, as an internal client."""
        client = self.cluster.node.internal_client()
        reply = execute(client, list(argv))
        if isinstance(reply, asyncio.Future):
            reply = await reply
        if isinstance(reply, RedisError):
            if reply.message.startswith("NOQUORUM"):
                raise QuorumError()
            raise reply
        return None if isinstance(reply, Status) else reply


async def join(cluster: ClusterState, addr: str, password: str | None = None,
               username: str | None = None, ssl: "ssl_module.SSLContext | None" = None,
               ) -> ClusterState:
    """Fill a ClusterState from a running node: it, its master or replicas (ROLE, INFO)."""
    seen: set[str] = set()
    pending = [addr]
    while pending:
        a = pending.pop()
        if a in seen:
            continue
        seen.add(a)
        conn = await PeerConnection.to_addr(a, password=password, username=username, ssl=ssl)
        try:
            info = (await conn.request(b"INFO", b"server")).decode()
            fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
            role = await conn.request(b"ROLE")
        finally:
            conn.close()
        node_id = fields.get("node_id", a)
        shards = int(fields.get("shards", cluster.config.shard_count))
        first, _, last = fields.get("shard_range", f"0-{shards - 1}").partition("-")
        if role[0] == b"master":
            cluster.add_node(NodeInfo(node_id, "master", a, (int(first), int(last))))
            pending += [f"{r[0].decode()}:{r[1].decode()}" for r in role[2]]
        else:
            cluster.add_node(NodeInfo(node_id, "replica", a, (int(first), int(last))))
            pending.append(f"{role[1].decode()}:{role[2]}")
    return cluster
