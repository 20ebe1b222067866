"""Start-up, shutdown, and the node state that commands and the admin side read."""
from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photon import __version__
from photon.client import Client
from photon.config import Settings, parse_addr, parse_shard_range
from photon.durability import Durability
from photon.errors import ConfigError
from photon.keyspace.journal import Journal
from photon.keyspace.keyspace import Keyspace
from photon.keyspace import maintenance
from photon.stats import SlowLog, Stats
from photon.storage.engine import Engine

if TYPE_CHECKING:
    from photon.commands.table import Command

log = logging.getLogger("photon.server")

# Importing the command modules registers their commands.
import photon.commands  # noqa: E402,F401
import photon.commands.acl  # noqa: E402,F401

CommandCheck = Callable[["Client", "Command", list[bytes]], "str | None"]


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


def open_engines(config: Settings, node_id: str) -> list[Engine]:
    from photon.storage.leveldb import LevelDBEngine

    import plyvel

    root = Path(config.data_dir) / node_id
    root.mkdir(parents=True, exist_ok=True)
    layout = root / "layout.json"
    if layout.exists():
        saved = json.loads(layout.read_text())
        if saved.get("shards") != config.shards:
            raise ConfigError(
                f"invalid value for shards: {config.shards}, but the data in {root} was written "
                f"with {saved.get('shards')} shards")
    else:
        layout.write_text(json.dumps({"shards": config.shards, "format": 1}) + "\n")
    engines: list[Engine] = []
    try:
        for i in range(config.shards):
            engines.append(LevelDBEngine(root / f"shard-{i:03d}",
                                         cache_mb=config.leveldb_cache_mb,
                                         write_buffer_mb=config.leveldb_write_buffer_mb))
    except plyvel.IOError as e:
        for engine in engines:
            engine.close()
        if "lock" in str(e).lower():
            raise ConfigError(f"invalid value for data_dir: {root} is in use by another "
                              "photon process") from None
        raise ConfigError(f"invalid value for data_dir: cannot open {root}: {e}") from None
    return engines


def open_journal(config: Settings, node_id: str) -> Engine:
    """The small LevelDB holding the intent of a cross-shard commit (keyspace/journal.py)."""
    from photon.storage.leveldb import LevelDBEngine

    return LevelDBEngine(Path(config.data_dir) / node_id / "journal", cache_mb=1)


class Server:
    def __init__(self, config: Settings, engines: list[Engine] | None = None,
                 node_id: str | None = None) -> None:
        self.config = config
        self.node_id = node_id or resolve_node_id(config)
        journal = None
        if engines is None:
            engines = open_engines(config, self.node_id)
            journal = Journal(open_journal(config, self.node_id))
            journal.recover(engines)
        self.engines = engines
        self.keyspace = Keyspace(self.engines, config.databases, journal)
        self.shard_range = parse_shard_range(config.shard_range, len(self.engines))
        self.durability = Durability(self.keyspace, config.appendfsync)
        self.stats = Stats()
        self.slowlog = SlowLog(config.slowlog_log_slower_than, config.slowlog_max_len)
        self.clients: dict[int, Client] = {}
        self.monitors: set[Client] = set()
        self.watchers: dict[tuple[int, bytes], set[Client]] = {}
        self.command_checks: list[CommandCheck] = []
        self.write_checks: list[CommandCheck] = []
        self.touch_hooks: list[Callable[[list[tuple[int, bytes]]], None]] = []
        self.disconnect_hooks: list[Callable[[Client], None]] = []
        self.cron_hooks: list[Callable[[], None]] = []
        self.flush_hooks: list[Callable[[int | None], None]] = []
        self.reset_hooks: list[Callable[[Client], None]] = []
        self.admin_views: dict[str, Callable[[Server], dict]] = {}
        self.metrics_registry: Any = None
        self.info_sections: dict[str, Callable[[], list[tuple[str, Any]]]] = {}
        self.run_id = secrets.token_hex(20)
        self.started = time.time()
        self.started_mono = time.monotonic()
        self.role = "master"
        self.mode = "standalone"
        self.listeners: list[asyncio.AbstractServer] = []
        self.http: Any = None
        self.shutdown_event: asyncio.Event | None = None
        self._cron_task: asyncio.Task | None = None
        self._stopped = False
        self.port = config.port
        self.http_port = config.http_port
        self.last_save = time.time()
        self.info_counters: dict[str, int] = {}
        self.active_expire = True
        self.setting_appliers: dict[str, Callable[[Any], None]] = {
            "appendfsync": lambda v: setattr(self.durability, "mode", v),
            "slowlog_log_slower_than": lambda v: setattr(self.slowlog, "threshold_us", v),
            "slowlog_max_len": lambda v: setattr(self.slowlog, "max_len", v),
            "proto_max_bulk_len": self._set_max_bulk,
            "log_level": lambda v: logging.getLogger("photon").setLevel(_LEVELS[v]),
        }
        from photon.security import install as install_security

        self.security = install_security(self)
        from photon.replication import views
        from photon.replication.master import Master

        self.master = Master(self)
        views.install(self)
        from photon.cluster import ClusterState, ReplicationConfig

        self.cluster = ClusterState(self.node_id, ReplicationConfig.from_settings(config),
                                    server=self)
        self.replica: Any = None
        self.forwarder: Any = None
        if self.shard_range != (0, len(self.engines) - 1):
            self.command_checks.append(self._check_shard_range)

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.shutdown_event = asyncio.Event()
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
            await self.security.start_tls()
        self._cron_task = loop.create_task(self._cron())
        if self.config.role == "replica":
            self.follow(*parse_addr(self.config.master_addr))
        log.info("PhotonDB %s (Redis %s compatible) node %s ready: RESP on %s:%d, %d shards, "
                 "data in %s", __version__, "7.0.15", self.node_id, self.config.bind, self.port,
                 len(self.engines), Path(self.config.data_dir).resolve() / self.node_id)

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
            await self.replica.stop()
        for client in list(self.clients.values()):
            client.close()
        if self.http is not None:
            await self.http.cleanup()
        self.keyspace.commit()
        self.durability.sync_all()
        self.durability.close()
        for engine in self.engines:
            engine.close()
        if self.keyspace.journal is not None:
            self.keyspace.journal.engine.close()
        log.info("PhotonDB is now ready to exit, bye bye...")

    async def _cron(self) -> None:
        last_second = time.monotonic()
        while True:
            await asyncio.sleep(1 / self.config.hz)
            try:
                self.cron()
                now = time.monotonic()
                if now - last_second >= 1:
                    last_second = now
                    self.durability.every_second()
                    self.master.heartbeat()
                    if self.replica is not None:
                        self.replica.heartbeat()
            except Exception:
                log.exception("cron failed")

    def cron(self) -> None:
        self.stats.sample()
        pause = getattr(self, "pause", None)
        if self.active_expire and (pause is None or pause.ended is None):
            maintenance.expire_cycle(self.keyspace)  # held by CLIENT PAUSE, as Redis
        if self.keyspace.touched:
            self.keys_touched()
        maintenance.reclaim(self.keyspace)
        self._check_idle_clients()
        for hook in self.cron_hooks:
            hook()

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

    def auth_required(self) -> bool:
        """New connections must AUTH: the default user has a password or is off."""
        return self.security.auth_required()

    def check_password(self, user: bytes, password: bytes) -> str | None:
        """None when the credentials are good, else the error to reply (ACL users; a
        'nopass' user takes any password, as Redis's default user without requirepass)."""
        return self.security.check_password(user, password)

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
        unwatch(self, c)
        for hook in self.disconnect_hooks:
            hook(c)

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

    def feed_monitors(self, c: Client, argv: list[bytes]) -> None:
        from photon.protocol.reply import Status

        args = " ".join('"%s"' % _monitor_escape(a) for a in _redacted(argv))
        addr = "unix:" if c.addr.startswith("?") else c.addr
        line = Status(("%.6f [%d %s] %s" % (time.time(), c.db, addr, args)).encode())
        for m in list(self.monitors):
            if m is not c:
                m.write(line)

    def keys_touched(self) -> None:
        touched = self.keyspace.touched
        self.keyspace.touched = []
        if self.watchers:
            for dbkey in touched:
                for c in self.watchers.get(dbkey, ()):
                    if c.watched.get(dbkey, False) is None and not self._exists(dbkey):
                        c.watched[dbkey] = False  # already expired at WATCH, now deleted
                        continue
                    c.watch_dirty = True
        for hook in self.touch_hooks:
            hook(touched)

    def _exists(self, dbkey: tuple[int, bytes]) -> bool:
        return self.keyspace.raw_meta(*dbkey)[2] is not None

    def touch_all(self, db: int | None = None) -> None:
        """FLUSHDB/FLUSHALL: every watched key in the database counts as modified."""
        for (wdb, _), clients in self.watchers.items():
            if db is None or wdb == db:
                for c in clients:
                    c.watch_dirty = True

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

    def after_write(self, c: Client, reply: Any, marks: dict[int, int],
                    write: bool = True) -> Any:
        return self.master.after_write(c, reply, marks, write)

    def follow(self, host: str, port: int) -> None:
        """Become (or stay) a replica of host:port; REPLICAOF and start-up with NODE_ROLE."""
        from photon.replication.forward import Forwarder
        from photon.replication.replica import Replica

        if self.replica is not None:
            self.replica.close()  # nothing more from the old master is applied
            self.forwarder.close()
        else:
            self.command_checks.append(self._replica_check)
        self.role = "replica"
        self.keyspace.expire_deletes = False
        for link in list(self.master.links.values()):
            link.client.abort()
        self.replica = Replica(self, host, port)
        self.forwarder = Forwarder(self.replica)
        self.replica.start()
        log.info("Replicating from master %s:%d", host, port)

    def promote(self) -> None:
        """REPLICAOF NO ONE: stop following and take writes, under a new history id."""
        if self.replica is None:
            return
        self.replica.close()
        self.forwarder.close()
        self.replica = None
        self.forwarder = None
        self.command_checks.remove(self._replica_check)
        self.role = "master"
        self.keyspace.expire_deletes = True
        self.master.new_history()
        log.info("Promoted to master (new replication id %s)", self.master.replid.decode())

    def _replica_check(self, c: Client, cmd: "Command", argv: list[bytes]) -> Any:
        """On a replica: writes go to the master (or are refused for READONLY clients), and
        so do reads when read replicas are off or this replica has not yet applied the
        client's own last write (read your writes)."""
        if cmd.name.startswith("photon."):
            return None
        replica = self.replica
        if c.multi is not None:
            if cmd.name != "exec":
                if cmd.write and c.direct_replica:
                    return "READONLY You can't write against a read only replica."
                return None
            if not c.multi or c.multi_dirty or c.watch_dirty:
                return None  # empty, aborted, or a WATCH already failed: EXEC answers here
            if (any(q.write or _script_writes(self, q, a) for q, a in c.multi)
                    or not self.config.enable_read_replicas
                    or (c.repl_marks and not replica.applied(c.repl_marks))):
                queued = [_forwardable(self, q, args) for q, args in c.multi]
                watched = [key for (db, key) in c.watched if db == c.db]
                c.multi = None
                c.multi_dirty = False
                unwatch(self, c)
                block = ([[b"WATCH", *watched]] if watched else []) + [[b"MULTI"], *queued,
                                                                        [b"EXEC"]]
                return self.forwarder.forward(c, block)
            return None
        if cmd.write or _script_writes(self, cmd, argv):
            if c.direct_replica:
                if not cmd.write:
                    return None  # a READONLY client's script runs here; it may not write
                return "READONLY You can't write against a read only replica."
            return self.forwarder.forward(c, [_forwardable(self, cmd, argv)])
        if cmd.readonly and not c.direct_replica and (
                not self.config.enable_read_replicas
                or (c.repl_marks and not replica.applied(c.repl_marks))):
            return self.forwarder.forward(c, [_forwardable(self, cmd, argv)])
        return None

    def _check_shard_range(self, c: Client, cmd: "Command", argv: list[bytes]) -> str | None:
        first, last = self.shard_range
        shard_of = self.keyspace.shard_of
        for key in cmd.keys(argv):
            if not first <= shard_of(key) <= last:
                return "CLUSTERDOWN Hash slot not served"
        return None

    def internal_client(self) -> Client:
        """A socketless, authenticated client for commands the node runs on its own behalf."""
        c = self.__dict__.get("_internal_client")
        if c is None:
            c = self._internal_client = Client(self)
            c.authenticated = True
            c.kind = "internal"
        return c

    def uptime(self) -> float:
        return time.monotonic() - self.started_mono


def _script_writes(server: Server, cmd: "Command", argv: list[bytes]) -> bool:
    """EVAL, EVALSHA and FCALL carry no write flag but their scripts may write: on a replica
    they go to the master, unless the script or function is declared no-writes."""
    if cmd.name not in ("eval", "evalsha", "fcall"):
        return False
    from photon.scripting import may_write

    return may_write(server, argv)


def _forwardable(server: Server, cmd: "Command", argv: list[bytes]) -> list[bytes]:
    """What a replica sends its master for this command: an EVALSHA whose script this node
    knows goes as EVAL (the master's script cache is its own)."""
    if cmd.name not in ("evalsha", "evalsha_ro"):
        return argv
    from photon.scripting import forwardable

    return forwardable(server, argv)


def unwatch(server: Server, c: Client) -> None:
    for dbkey in c.watched:
        clients = server.watchers.get(dbkey)
        if clients is not None:
            clients.discard(c)
            if not clients:
                del server.watchers[dbkey]
    c.watched.clear()
    c.watch_dirty = False


def _redacted(argv: list[bytes]) -> list[bytes]:
    """Secrets Redis 7 never shows to MONITOR: AUTH's arguments, HELLO's AUTH pair."""
    name = argv[0].lower()
    if name == b"auth":
        return [argv[0]] + [b"(redacted)"] * (len(argv) - 1)
    if name == b"hello":
        out = list(argv)
        for i in range(2, len(out) - 2):
            if out[i].lower() == b"auth":
                out[i + 1] = out[i + 2] = b"(redacted)"
        return out
    return argv


def _monitor_escape(a: bytes) -> str:
    """sdscatrepr: printable ASCII as is, quotes and backslashes escaped, the rest as \\xHH."""
    out = []
    for b in a:
        ch = chr(b)
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif 32 <= b < 127:
            out.append(ch)
        else:
            out.append("\\x%02x" % b)
    return "".join(out)


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
