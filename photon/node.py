"""The node as its parts see it: what commands, replication, routing, scripting and the admin
side may use of the running node, without importing the launcher (docs/architecture.md,
"The node context").

Every part receives the node (a client's ``c.server``, or the object handed to it at
start-up) and reaches the others through it, so imports point one way: the launcher
(``photon.server``) builds the parts and is the only module that imports them all. This module
imports nothing of the project; its attribute types name the class that fills each one.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Node(Protocol):
    node_id: str
    config: Any  # photon.config.Settings
    role: str  # "master" | "replica"
    mode: str  # INFO's redis_mode: "standalone" | "cluster"
    port: int
    http_port: int
    run_id: str
    shard_range: tuple[int, int]  # the shards this node's group serves

    keyspace: Any  # photon.keyspace.keyspace.Keyspace
    durability: Any  # photon.durability.Durability
    stats: Any  # photon.stats.Stats
    slowlog: Any  # photon.stats.SlowLog
    clients: dict[int, Any]  # id -> photon.client.Client
    watches: Any  # photon.commands.watches.Watches
    monitors: Any  # photon.commands.monitor.Monitors
    security: Any  # photon.security.Security
    pause: Any  # photon.commands.pause.Pause
    pubsub: Any  # photon.commands.pubsub.PubSub
    blocking: Any  # photon.commands.blocking.Blocking
    scripting: Any  # photon.scripting.runtime.Scripting (created on first use)

    shardlog: Any  # photon.replication.log.ShardLog: positions and backlogs of every shard
    master: Any  # photon.replication.master.Master while this node is a master, else None
    replica: Any  # photon.replication.replica.Replica while it follows a master, else None
    router: Any  # photon.routing.router.Router, or None when every key is served here
    cluster: Any  # photon.cluster.membership.Membership: the node table and its health

    metrics: Any  # the Prometheus registry, made by the HTTP sidecar
    info_counters: dict[str, int]
    last_save: float
    active_expire: bool

    def follow(self, host: str, port: int) -> None:
        """Become a replica of host:port (REPLICAOF, NODE_ROLE=replica)."""

    def promote(self, epoch: int | None = None) -> list[int]:
        """Stop following and take writes (REPLICAOF NO ONE, an election won)."""

    def after_write(self, c: Any, reply: Any, marks: dict[int, int], write: bool = True) -> Any:
        """The reply of a committed write, or a future giving it once the quorum holds it."""

    @property
    def quorum_reads(self) -> bool:
        """Whether reads here wait for the quorum of the writes they could see (a master
        with a write quorum)."""

    def routing_changed(self) -> None:
        """The node table or the shard map changed: place (or drop) the router."""

    def keys_touched(self) -> None:
        """Hand the keys written since the last call to WATCH and blocked clients."""

    def touch_all(self, db: int | None = None) -> None:
        """Every key of a database (or of all) may have changed: FLUSHDB, a full sync."""

    def apply_setting(self, name: str, text: str) -> None: ...

    def internal_client(self) -> Any:
        """A socketless, authenticated client for commands the node runs on its own behalf."""

    def socketless_client(self, kind: str) -> Any:
        """A client without a connection, for scripts and the node's own commands."""

    def output_limit_exceeded(self, c: Any, size: int) -> bool: ...

    def uptime(self) -> float: ...

    def request_shutdown(self, why: str = "SHUTDOWN") -> None: ...
