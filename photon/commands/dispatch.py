"""The gate every command passes: lookup, arity, authentication, transaction queueing,
pub/sub context, extra checks (ACL, replica read-only...); then the call, its statistics and
the commit of its writes."""
from __future__ import annotations

import logging
from time import perf_counter
from typing import TYPE_CHECKING, Any

from photon.commands.table import COMMANDS, Command
from photon.errors import RedisError
from photon.protocol.reply import NO_REPLY, QUEUED

if TYPE_CHECKING:
    from photon.client import Client

log = logging.getLogger("photon.commands")

_SUBSCRIBED_OK = {b"ping", b"subscribe", b"unsubscribe", b"psubscribe", b"punsubscribe",
                  b"ssubscribe", b"sunsubscribe", b"quit", b"reset"}
_MULTI_RUNS_NOW = {b"exec", b"discard", b"multi", b"watch", b"quit", b"reset"}
NOAUTH = "NOAUTH Authentication required."
NOT_PEER = ("NOPERM '%s' is an internal command: only cluster peers that proved the cluster "
            "secret (PHOTON.AUTH) may send it")

# argv[0] exactly as clients send it ('GET', 'get', 'Get') -> plain command, so the hot path
# skips lower(); containers are never cached (their subcommand decides).
_by_spelling: dict[bytes, Command] = {}
# Internal commands (PHOTON.SYNC, PHOTON.ACK, PHOTON.FWD...): with a cluster secret, only
# peers that proved it may run them; filled by photon.security.install. Never cached above.
INTERNAL: frozenset[Command] = frozenset()
# An HTTP request on the RESP port (cross-protocol scripting): closed at once, as Redis.
_CROSS_PROTOCOL = (b"post", b"host:")


def _arg_text(arg: bytes, limit: int) -> str:
    """An argument as Redis's ``%.*s`` echoes it: at most ``limit`` bytes, up to a NUL."""
    return arg[:limit].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def unknown_command(argv: list[bytes]) -> str:
    args = b""
    for a in argv[1:]:
        if len(args) >= 128:
            break
        args += b"'%s' " % a[:128 - len(args)].split(b"\0", 1)[0]
    return "ERR unknown command '%s', with args beginning with: %s" % (
        _arg_text(argv[0], 128), args.decode("utf-8", "surrogateescape"))


def resolve(argv: list[bytes]) -> Command:
    """The command argv names, or the exact Redis error for an unknown name or bad arity."""
    cmd = COMMANDS.get(argv[0].lower())
    if cmd is None:
        raise RedisError(unknown_command(argv))
    if cmd.subcommands and len(argv) > 1:
        sub = cmd.subcommands.get(argv[1].lower())
        if sub is None:
            raise RedisError("ERR unknown subcommand '%s'. Try %s HELP." % (
                _arg_text(argv[1], 128), argv[0].decode("utf-8", "surrogateescape").upper()))
        cmd = sub
    arity = cmd.arity
    if (arity > 0 and len(argv) != arity) or len(argv) < -arity:
        cmd.rejected += 1
        raise RedisError("ERR wrong number of arguments for '%s' command" % cmd.name)
    if (cmd.parent is None and not cmd.subcommands and len(_by_spelling) < 4096
            and not cmd.name.startswith("photon.")):
        _by_spelling[argv[0]] = cmd
    return cmd


def execute(c: "Client", argv: list[bytes]) -> Any:
    """Run one request for a client and return its reply value."""
    cmd = _by_spelling.get(argv[0])
    if cmd is not None:
        arity = cmd.arity
        n = len(argv)
        if ((n == arity or (arity < 0 and n >= -arity)) and c.multi is None
                and c.authenticated and c.acl is None and not c.subscribed):
            server = c.server
            if not server.command_checks and not (cmd.write and server.write_checks):
                return call(c, cmd, argv)
    try:
        cmd = resolve(argv)
    except RedisError as e:
        if argv[0].lower() in _CROSS_PROTOCOL:
            c.server.security.cross_protocol(c)
            return NO_REPLY
        return _rejected(c, argv[0].lower() == b"exec", e.message)
    return _gate(c, cmd, argv)


def _rejected(c: "Client", is_exec: bool, message: str) -> RedisError:
    """Redis's rejectCommand: flag the transaction; a refused EXEC discards it outright."""
    c.server.stats.error(message)
    if c.multi is not None:
        c.multi_dirty = True
    if is_exec:
        from photon.server import unwatch

        c.multi = None
        c.multi_dirty = False
        unwatch(c.server, c)
        return RedisError("EXECABORT Transaction discarded because of: " + (
            message.split(" ", 1)[1] if message.startswith("ERR ") else message))
    return RedisError(message)


def _gate(c: "Client", cmd: Command, argv: list[bytes]) -> Any:
    server = c.server
    if not c.authenticated and not cmd.noauth:
        return _reject(c, cmd, NOAUTH)
    if c.multi is not None and cmd.no_multi:
        return _reject(c, cmd, "ERR Command not allowed inside a transaction")
    if c.acl is not None:
        verdict = server.security.check(c, cmd, argv)
        if verdict is not None:
            return _reject(c, cmd, verdict)
    if cmd in INTERNAL and not c.peer and server.security.peers_only and c.kind != "internal":
        return _reject(c, cmd, NOT_PEER % cmd.name)
    checks = (server.command_checks + server.write_checks if cmd.write or cmd.name == "exec"
              else server.command_checks)
    for check in checks:
        verdict = check(c, cmd, argv)
        if verdict is not None:
            return _reject(c, cmd, verdict) if isinstance(verdict, str) else verdict
    if c.subscribed and not c.resp3 and argv[0].lower() not in _SUBSCRIBED_OK:
        return _reject(c, cmd, "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE"
                               " / PING / QUIT / RESET are allowed in this context" % cmd.name)
    if c.multi is not None and argv[0].lower() not in _MULTI_RUNS_NOW:
        c.last_cmd = cmd  # CLIENT LIST cmd= names what was queued last, as Redis
        if not (c.multi_dirty or c.watch_dirty):  # a doomed transaction keeps nothing
            c.multi.append((cmd, argv))
        return QUEUED
    return call(c, cmd, argv)


def _reject(c: "Client", cmd: Command, message: str) -> RedisError:
    cmd.rejected += 1
    return _rejected(c, cmd.name == "exec", message)


def call(c: "Client", cmd: Command, argv: list[bytes]) -> Any:
    """Run a resolved command: time it, count it, commit its writes, feed monitors."""
    server = c.server
    ks = server.keyspace
    c.last_cmd = cmd
    if ks.marks and not c.in_exec:
        ks.marks = {}  # offsets of background writes (expiry, a blocked client served)
    ks.reading = cmd.readonly
    start = perf_counter()
    try:
        reply = cmd.handler(c, argv)  # type: ignore[misc]
        if ks.pending and not c.in_exec:  # a transaction is committed whole, by EXEC
            ks.commit()
    except RedisError as e:
        if not c.in_exec:
            ks.commit()
        cmd.failed += 1
        server.stats.error(e.message)
        reply = e
    except Exception as e:  # a bug: keep the connection and the data consistent
        ks.rollback()
        log.exception("command %s failed", cmd.name)
        cmd.failed += 1
        reply = RedisError(f"ERR internal error in '{cmd.name}': {type(e).__name__}")
        server.stats.error(reply.message)
    elapsed = perf_counter() - start
    ks.reading = False
    cmd.calls += 1
    cmd.seconds += elapsed
    server.stats.commands += 1
    if elapsed > server.slowlog.threshold_s:
        server.slowlog.add(c, argv, elapsed * 1e6)
    if ks.marks and not c.in_exec:
        marks, ks.marks = ks.marks, {}
        # Anything but a read (writes, EXEC, scripts) waits for its writes' quorum; a read
        # that deleted an expired key on the way does not.
        reply = server.after_write(c, reply, marks, not cmd.readonly)
    if ks.touched:
        server.keys_touched()
    if server.monitors and not cmd.hidden_from_monitor:
        server.feed_monitors(c, argv)
    return reply
