"""The gate every command passes: lookup, arity, authentication, transaction queueing,
pub/sub context; then the call, its statistics and the commit of its writes."""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from photon.commands.table import COMMANDS, Command
from photon.errors import RedisError
from photon.protocol.reply import QUEUED

if TYPE_CHECKING:
    from photon.client import Client

log = logging.getLogger("photon.commands")

_SUBSCRIBED_OK = {b"ping", b"subscribe", b"unsubscribe", b"psubscribe", b"punsubscribe",
                  b"ssubscribe", b"sunsubscribe", b"quit", b"reset"}
_MULTI_RUNS_NOW = {b"exec", b"discard", b"multi", b"watch", b"quit", b"reset"}
NOAUTH = "NOAUTH Authentication required."


def _arg_text(arg: bytes, limit: int) -> str:
    return arg[:limit].decode("utf-8", "surrogateescape")


def unknown_command(argv: list[bytes]) -> str:
    args = ""
    for a in argv[1:]:
        if len(args) >= 128:
            break
        args += "'%s' " % _arg_text(a, 128 - len(args))
    return "ERR unknown command '%s', with args beginning with: %s" % (_arg_text(argv[0], 128),
                                                                      args)


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
    return cmd


def execute(c: "Client", argv: list[bytes]) -> Any:
    """Run one request for a client and return its reply value."""
    try:
        cmd = resolve(argv)
    except RedisError as e:
        if c.multi is not None:
            c.multi_dirty = True
        c.server.stats.error(e.message)
        return e
    server = c.server
    if not c.authenticated and not cmd.noauth:
        cmd.rejected += 1
        if c.multi is not None:
            c.multi_dirty = True
        server.stats.error(NOAUTH)
        return RedisError(NOAUTH)
    if c.multi is not None and cmd.no_multi:
        cmd.rejected += 1
        c.multi_dirty = True
        return server.stats.reject("ERR Command not allowed inside a transaction")
    for check in server.command_checks:
        error = check(c, cmd, argv)
        if error is not None:
            cmd.rejected += 1
            if c.multi is not None:
                c.multi_dirty = True
            return server.stats.reject(error)
    if c.subscribed and not c.resp3 and argv[0].lower() not in _SUBSCRIBED_OK:
        cmd.rejected += 1
        return server.stats.reject(
            "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
            "RESET are allowed in this context" % cmd.name)
    if c.multi is not None and argv[0].lower() not in _MULTI_RUNS_NOW:
        c.multi.append((cmd, argv))
        return QUEUED
    return call(c, cmd, argv)


def call(c: "Client", cmd: Command, argv: list[bytes]) -> Any:
    """Run a resolved command: time it, count it, commit its writes, feed monitors."""
    server = c.server
    ks = server.keyspace
    ks.tick()
    if server.monitors:
        server.feed_monitors(c, argv)
    start = time.perf_counter()
    try:
        reply = cmd.handler(c, argv)  # type: ignore[misc]
        ks.commit()
    except RedisError as e:
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
    usec = (time.perf_counter() - start) * 1e6
    cmd.calls += 1
    cmd.usec += usec
    server.stats.commands += 1
    if usec > server.slowlog.threshold_us >= 0:
        server.slowlog.add(c, argv, usec)
    if ks.touched:
        server.keys_touched()
    return reply
