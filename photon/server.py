"""The launcher: builds a node from its settings, starts and stops it. The only module that
imports every part; the parts reach each other through the node it builds (photon/node.py).
"""
from __future__ import annotations

import asyncio
import gc
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Importing the command modules fills the command table.
import photon.cluster.commands  # noqa: F401
import photon.commands  # noqa: F401
import photon.scripting.commands  # noqa: F401
import photon.security.commands  # noqa: F401
from photon import __version__, compiled
from photon.client import Client
from photon.cluster.membership import Membership
from photon.commands.blocking import Blocking
from photon.commands.monitor import Monitors
from photon.commands.pause import Pause
from photon.commands.pubsub import PubSub
from photon.commands.watches import Watches
from photon.config import Settings, parse_addr, parse_shard_range
from photon.durability import Durability
from photon.keyspace import maintenance
from photon.keyspace.keyspace import Keyspace
from photon.nodestate import NodeState
from photon.replication.log import ShardLog
from photon.replication.master import Master
from photon.replication.replica import Replica
from photon.routing.router import Router
from photon.security import Security
from photon.stats import SlowLog, Stats
from photon.storage.engine import Engine
from photon.storage.layout import DiskLayout

log = logging.getLogger("photon.server")


def resolve_node_id(config: Settings) -> str:
    """NODE_ID when given, else an id generated on first start and kept in the data dir."""
    if config.node_id:
        return config.node_id
    path = Path(config.data_dir) / "node-id"
    try:
        text = path.read_text().strip()
        if text:
            return text
    except FileNotFoundError:
        pass
    node_id = secrets.token_hex(20)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(node_id + "\n")
    return node_id


class Server(NodeState):
    """A running node (implements photon.node.Node). Every attribute is made here."""

    def __init__(self, config: Settings, engines: list[Engine] | None = None,
                 node_id: str | None = None) -> None:
        self.config = config
        self.node_id = node_id or resolve_node_id(config)
        if engines is None:
            layout = DiskLayout(Path(config.data_dir) / self.node_id, config.shards,
                                config.leveldb_cache_mb, config.leveldb_write_buffer_mb)
            self.keyspace = Keyspace.open(layout, config.databases, config.record_cache)
        else:
            self.keyspace = Keyspace(engines, config.databases, cache_records=config.record_cache)
        shards = len(self.keyspace.engines)
        self.shard_range = parse_shard_range(config.shard_range, shards)
        self.durability = Durability(self.keyspace, config.appendfsync)
        self.stats = Stats()
        self.slowlog = SlowLog(config.slowlog_log_slower_than, config.slowlog_max_len)
        self.clients: dict[int, Client] = {}
        self.watches = Watches(self.keyspace)
        self.monitors = Monitors()
        self.pause = Pause()
        self.info_counters: dict[str, int] = {}
        self.pubsub = PubSub(self)
        self.blocking = Blocking(self)
        self._scripting: Any = None
        self.security = Security(self)
        self.run_id = secrets.token_hex(20)
        self.started = time.time()
        self.started_mono = time.monotonic()
        self.role = "master"
        self.port = config.port
        self.http_port = config.http_port
        self.last_save = time.time()
        self.active_expire = True
        self.listeners: list[asyncio.AbstractServer] = []
        self.http: Any = None
        self.metrics: Any = None  # the Prometheus registry, made by the sidecar
        self.shutdown_event: asyncio.Event | None = None
        self._cron_task: asyncio.Task | None = None
        self._stopped = False
        self._internal: Client | None = None
        self.shardlog = ShardLog(self.keyspace, config.repl_backlog_size,
                                 config.role != "standalone")  # the keyspace's commit listener
        self.master: Master | None = Master(self)
        self.replica: Replica | None = None
        self.mode = "cluster" if config.cluster_redirect else "standalone"
        self._router = Router(self)
        self.router: Router | None = None
        self.cluster = Membership(self)
        self._place_router()
        self.setting_appliers: dict[str, Callable[[Any], None]] = {
            "appendfsync": lambda v: setattr(self.durability, "mode", v),
            "slowlog_log_slower_than": lambda v: setattr(self.slowlog, "threshold_us", v),
            "slowlog_max_len": lambda v: setattr(self.slowlog, "max_len", v),
            "proto_max_bulk_len": self._set_max_bulk,
            "log_level": lambda v: logging.getLogger("photon").setLevel(_LEVELS[v]),
            "repl_backlog_size": self.shardlog.set_backlog_size,
            "requirepass": self.security.set_requirepass,
            "cluster_redirect": lambda v: setattr(self, "mode", "cluster" if v else
                                                  "standalone"),
            "heartbeat_interval_ms": lambda v: self.cluster.gossip_soon(),
        }

    @property
    def engines(self) -> list[Engine]:
        return self.keyspace.engines

    @property
    def scripting(self) -> Any:
        """The Lua runtime, script cache and functions, made on first use (Lua costs memory
        only to nodes that run scripts)."""
        if self._scripting is None:
            from photon.scripting.runtime import Scripting

            self._scripting = Scripting(self)
        return self._scripting

    def _place_router(self) -> None:
        """Step 6 of the command path runs only where a command may not be served here: on
        a replica, in a group that does not own every shard, and where other nodes are
        (PUBLISH reaches them)."""
        mine = self.cluster.map.shards_of(self.node_id)
        whole = len(mine) == len(self.keyspace.engines)
        needed = self.replica is not None or not whole or bool(self.cluster.peers())
        self.router = self._router if needed else None

    def routing_changed(self) -> None:
        self._place_router()

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.shutdown_event = asyncio.Event()
        await self.cluster.coordinator.connect()  # etcd: learn this node's role first
        if self.config.http_port:
            from photon.admin.http import start_http

            self.http = await start_http(self)
        for host in self.config.bind.split():
            srv = await loop.create_server(lambda: Client(self), host=host, port=self.port,
                                           reuse_address=True, backlog=511)
            self.listeners.append(srv)
            if self.port == 0:
                self.port = srv.sockets[0].getsockname()[1]
        for srv in self.listeners:
            for sock in srv.sockets:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.config.tls_port:
            await self._start_tls()
        self._cron_task = loop.create_task(self._cron())
        if self.config.role == "replica":
            self.follow(*parse_addr(self.config.master_addr))
        self.cluster.start()
        log.info("PhotonDB %s (Redis %s compatible) node %s ready: RESP on %s:%d, %d shards, "
                 "data in %s", __version__, "7.0.15", self.node_id, self.config.bind, self.port,
                 len(self.keyspace.engines), Path(self.config.data_dir).resolve() / self.node_id)
        # pip hides a build's output, so a core that could not be built is said here
        (log.info if compiled.build == "compiled" or compiled.disabled_by_env() else
         log.warning)("Core: %s (%s)", compiled.build, compiled.reason)

    async def _start_tls(self) -> None:
        """Listen on --tls-port on every bind address; TLS clients are ordinary clients
        once the handshake is done (connection_made runs after it)."""
        loop = asyncio.get_running_loop()
        config = self.config
        for host in config.bind.split():
            srv = await loop.create_server(lambda: Client(self, tls=True), host=host,
                                           port=config.tls_port, reuse_address=True,
                                           backlog=511, ssl=self.security.tls_context,
                                           ssl_handshake_timeout=10)
            for sock in srv.sockets:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.listeners.append(srv)
        log.info("TLS on %s:%d (client certificates: %s)", config.bind, config.tls_port,
                 config.tls_auth_clients if config.tls_ca_cert_file else "not asked")

    async def serve_forever(self) -> None:
        loop = asyncio.get_running_loop()
        assert self.shutdown_event is not None
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self.request_shutdown, sig.name)
            except (NotImplementedError, RuntimeError):
                pass
        await self.shutdown_event.wait()
        await self.stop()

    def request_shutdown(self, why: str = "SHUTDOWN") -> None:
        log.info("Received %s, shutting down", why)
        if self.shutdown_event is not None:
            self.shutdown_event.set()

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for srv in self.listeners:
            srv.close()
        if self._cron_task is not None:
            self._cron_task.cancel()
        if self.replica is not None:
            self.replica.close()
        await self.cluster.stop()
        await self.cluster.coordinator.close()
        self._router.close()
        for client in list(self.clients.values()):
            client.close()
        if self.http is not None:
            await self.http.cleanup()
        self.keyspace.commit()
        self.keyspace.write_batches()
        self.durability.sync_all()
        self.durability.close()
        self.keyspace.close()
        log.info("PhotonDB is now ready to exit, bye bye...")

    async def _cron(self) -> None:
        last_second = last_beat = time.monotonic()
        while True:
            await asyncio.sleep(1 / self.config.hz)
            try:
                self.cron()
                now = time.monotonic()
                if now - last_second >= 1:
                    last_second = now
                    self.durability.every_second()
                # the replication links' own heartbeat: failure detection rides on it
                if now - last_beat >= min(1.0, self.config.heartbeat_interval_ms / 1000):
                    last_beat = now
                    if self.master is not None:
                        self.master.heartbeat()
                    if self.replica is not None:
                        self.replica.heartbeat()
            except Exception:
                log.exception("cron failed")

    def cron(self) -> None:
        self.stats.sample()
        if self.active_expire and self.pause.ended is None:
            maintenance.expire_cycle(self.keyspace)  # held by CLIENT PAUSE, as Redis
        if self.keyspace.touched:
            self.keys_touched()
        maintenance.reclaim(self.keyspace)
        self._check_idle_clients()
        self.blocking.cron()

    def _check_idle_clients(self) -> None:
        timeout = self.config.timeout
        now = time.monotonic()
        for c in list(self.clients.values()):
            if (timeout and c.kind == "normal" and not c.subscribed and c.blocked is None
                    and now - c.last_interaction > timeout):
                log.debug("Closing idle client %s", c.addr)
                c.close()
            elif c.soft_limit_since and c.transport is not None:
                self.output_limit_exceeded(c, c.transport.get_write_buffer_size())

    # --- clients -----------------------------------------------------------------------

    def client_connected(self, c: Client) -> str | None:
        """Register a new connection, or say why it is refused."""
        if len(self.clients) >= self.config.maxclients:
            self.stats.rejected_connections += 1
            return "ERR max number of clients reached"
        security = self.security
        refusal = security.refusal(c)  # protected mode
        if refusal is not None:
            return refusal
        c.acl = security.guard(security.users.default)
        self.clients[c.id] = c
        self.stats.connections += 1
        return None

    def client_disconnected(self, c: Client) -> None:
        self.clients.pop(c.id, None)
        self.monitors.discard(c)
        self.watches.unwatch(c)
        self.pubsub.drop_client(c)
        self._router.client_gone(c)
        if self.master is not None:
            self.master.detach(c)

    def output_limit_exceeded(self, c: Client, size: int) -> bool:
        """Close a client whose unsent replies pass its class's hard limit, or stay above the
        soft limit too long; Redis's client-output-buffer-limit."""
        cls = "pubsub" if c.subscribed and c.kind == "normal" else c.kind
        hard, soft, seconds = self.config.client_output_buffer_limit.get(
            cls, self.config.client_output_buffer_limit["normal"])
        over = hard and size > hard
        if not over and soft and size > soft:
            now = time.monotonic()
            if not c.soft_limit_since:
                c.soft_limit_since = now
            elif now - c.soft_limit_since > seconds:
                over = True
        elif c.soft_limit_since and (not soft or size <= soft):
            c.soft_limit_since = 0.0
        if over:
            log.warning("Client %s scheduled to be closed ASAP for overcoming of output buffer "
                        "limits.", c.describe())
            self.stats.output_limit_disconnections += 1
            c.abort()
            return True
        return False

    def internal_client(self) -> Client:
        if self._internal is None:
            self._internal = self.socketless_client("internal")
        return self._internal

    def socketless_client(self, kind: str) -> Client:
        c = Client(self)
        c.authenticated = True
        c.kind = kind
        return c

    # --- what commands leave behind ----------------------------------------------------

    def keys_touched(self) -> None:
        touched = self.keyspace.touched
        if not touched:
            return
        self.keyspace.touched = []
        if self.watches.watchers:
            self.watches.keys_touched(touched)
        self.blocking.keys_changed(touched)

    def touch_all(self, db: int | None = None) -> None:
        self.watches.touch_all(db)

    def apply_setting(self, name: str, text: str) -> None:
        """CONFIG SET: store the new value and make it take effect now."""
        self.config.set(name, text)
        applier = self.setting_appliers.get(name)
        if applier is not None:
            applier(getattr(self.config, name))

    def _set_max_bulk(self, value: int) -> None:
        for c in self.clients.values():
            c.parser.max_bulk = value

    # --- replication roles -------------------------------------------------------------

    def follow(self, host: str, port: int) -> None:
        """Become (or stay) a replica of host:port; REPLICAOF and start-up with NODE_ROLE."""
        if self.replica is not None:
            self.replica.close()  # nothing more from the old master is applied
        if self.master is not None:
            self.master.close()
            self.master = None
        self.role = "replica"
        self.keyspace.expire_deletes = False
        self.replica = Replica(self, host, port)
        self._place_router()
        self.cluster.refresh_me()
        self.replica.start()
        log.info("Replicating from master %s:%d", host, port)

    def promote(self, epoch: int | None = None) -> list[int]:
        """Stop following and take writes under a new history id, claiming the group's
        shards at ``epoch`` (an election's) or the next one (REPLICAOF NO ONE); returns them."""
        if self.replica is None:
            return []
        group = self.cluster.my_group()
        self.replica.close()
        self.replica = None
        self._place_router()
        self.role = "master"
        self.keyspace.expire_deletes = True
        self.shardlog.new_history()
        self.master = Master(self)
        self.cluster.coordinator.promoted()
        log.info("Promoted to master (new replication id %s)", self.shardlog.replid.decode())
        return self.cluster.claim_as_master(group, epoch)

    def uptime(self) -> float:
        return time.monotonic() - self.started_mono


_LEVELS = {"debug": logging.DEBUG, "verbose": logging.DEBUG, "notice": logging.INFO,
           "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def setup_logging(config: Settings) -> None:
    level = _LEVELS[config.log_level]
    fmt = f"{os.getpid()}:M %(asctime)s.%(msecs)03d %(levelchar)s %(message)s"
    handler: logging.Handler
    if config.log_file:
        handler = logging.FileHandler(config.log_file)
    else:
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(fmt, datefmt="%d %b %Y %H:%M:%S"))
    handler.addFilter(_level_char)
    root = logging.getLogger("photon")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _level_char(record: logging.LogRecord) -> bool:
    record.levelchar = {"DEBUG": ".", "INFO": "*", "WARNING": "#", "ERROR": "#",
                        "CRITICAL": "#"}.get(record.levelname, "-")
    return True


async def run(config: Settings) -> None:
    server = Server(config)
    await server.start()
    # The command table, Redis's command docs and the modules are long-lived: keep them out
    # of every collection, and collect young objects less often (requests make many, almost
    # never in cycles). Measured: about 5-10% more GETs per second.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    await server.serve_forever()


def run_forever(config: Settings) -> None:
    """The blocking entry point: uvloop when importable, else plain asyncio."""
    setup_logging(config)
    try:
        import uvloop
    except ImportError:
        asyncio.run(run(config))
        return
    if hasattr(uvloop, "run"):
        uvloop.run(run(config))
    else:  # pragma: no cover
        uvloop.install()
        asyncio.run(run(config))
