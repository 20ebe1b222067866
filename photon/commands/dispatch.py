"""The command path: every request goes through these steps, in this order, as in Redis's
processCommand (docs/architecture.md, "A command's path"). A step that refuses answers with
Redis's error and the later steps do not run.

1. lookup and arity     unknown command or subcommand, wrong number of arguments
2. authentication       NOAUTH until the client authenticated (when the default user has a
                        password)
3. transaction context  commands flagged no_multi are refused inside MULTI
4. ACL                  NOPERM for a restricted user's command, key or channel
5. internal commands    PHOTON.* only from peers that proved the cluster secret
6. routing              ``node.router``: run here, passed to the node that owns the keys (the
                        client waits for its reply), or refused (CLUSTERDOWN, READONLY); a
                        node that serves every key has no router and skips the step
7. the node's checks    write quorum (NOQUORUM before anything is applied), pub/sub context
                        (RESP2), CLIENT PAUSE (held until it ends, then run from step 1 again),
                        MULTI (queued, answered QUEUED)
8. the call             the command's function, timed and counted
9. the commit           its writes become one engine write per shard (EXEC commits the whole
                        transaction at its end)
10. after the write     the quorum wait (a write's own; for a command that wrote nothing,
                        the writes of the shards it read), WATCH and blocked clients told of
                        the keys written, slowlog, MONITOR

A command from a plain client (authenticated, unrestricted, not in MULTI or subscribed) on a
node with no router, no pause and no quorum to check has nothing to refuse in steps 2-7, so
``execute`` goes straight to the call: that is the fast path every common command takes.
A command called by a script (``redis.call``) runs steps 4, the local-keys part of 6 and the
quorum check of 7 through ``script_checks``: the script as a whole went through the path.
"""
from __future__ import annotations

import logging
from time import perf_counter
from typing import Any

try:
    import cython
except ImportError:
    from photon.util import cython_shim as cython

from photon.commands.table import COMMANDS, Command
from photon.errors import RedisError
from photon.protocol.reply import NO_REPLY, QUEUED

log = logging.getLogger("photon.commands")

_SUBSCRIBED_OK = {b"ping", b"subscribe", b"unsubscribe", b"psubscribe", b"punsubscribe",
                  b"ssubscribe", b"sunsubscribe", b"quit", b"reset"}
_MULTI_RUNS_NOW = {b"exec", b"discard", b"multi", b"watch", b"quit", b"reset"}
NOAUTH = "NOAUTH Authentication required."
NOT_PEER = ("NOPERM '%s' is an internal command: only cluster peers that proved the cluster "
            "secret (PHOTON.AUTH) may send it")

# argv[0] exactly as clients send it ('GET', 'get', 'Get') -> plain command, so the hot path
# skips lower(); containers are never cached (their subcommand decides), nor internal commands.
_by_spelling: dict[bytes, Command] = {}
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
    """Step 1: the command argv names, or Redis's error for an unknown name or bad arity."""
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
            and not cmd.internal):
        _by_spelling[argv[0]] = cmd
    return cmd


def execute(c: Any, argv: list[bytes]) -> Any:
    """Run one request for a client and return its reply value (or a future giving it)."""
    cmd = _by_spelling.get(argv[0])
    if cmd is not None:
        arity = cmd.arity
        n = len(argv)
        if ((n == arity or (arity < 0 and n >= -arity)) and c.multi is None
                and c.authenticated and c.acl is None and not c.subscribed):
            node = c.server
            if (node.router is None and node.pause.ended is None
                    and not (cmd.write and node.master is not None and node.master.checks_writes)):
                return call(c, cmd, argv)
    try:
        cmd = resolve(argv)
    except RedisError as e:
        if argv[0].lower() in _CROSS_PROTOCOL:
            c.server.security.cross_protocol(c)
            return NO_REPLY
        return _rejected(c, argv[0].lower() == b"exec", e.message)
    return _gate(c, cmd, argv)


def _gate(c: Any, cmd: Command, argv: list[bytes]) -> Any:
    """Steps 2-7, then the call."""
    node = c.server
    if not c.authenticated and not cmd.noauth:
        return _reject(c, cmd, NOAUTH)
    if c.multi is not None and cmd.no_multi:
        return _reject(c, cmd, "ERR Command not allowed inside a transaction")
    if c.acl is not None:
        verdict = node.security.check(c, cmd, argv)
        if verdict is not None:
            return _reject(c, cmd, verdict)
    if cmd.internal and not c.peer and node.security.peers_only and c.kind != "internal":
        return _reject(c, cmd, NOT_PEER % cmd.name)
    router = node.router
    if router is not None:
        verdict = router.route(c, cmd, argv)
        if verdict is not None:
            return _reject(c, cmd, verdict) if isinstance(verdict, str) else verdict
    return run_here(c, cmd, argv)


def run_here(c: Any, cmd: Command, argv: list[bytes]) -> Any:
    """Steps 7-10: a command this node serves (the router runs the local share of a split
    command through here too)."""
    node = c.server
    master = node.master
    if master is not None and master.checks_writes and (cmd.write or cmd.name == "exec"):
        verdict = master.precheck(c, cmd)
        if verdict is not None:
            return _reject(c, cmd, verdict)
    if c.subscribed and not c.resp3 and argv[0].lower() not in _SUBSCRIBED_OK:
        return _reject(c, cmd, "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE"
                               " / PING / QUIT / RESET are allowed in this context" % cmd.name)
    pause = node.pause
    if pause.ended is not None and pause.holds(c, cmd):
        return pause.hold(c, argv)
    if c.multi is not None and argv[0].lower() not in _MULTI_RUNS_NOW:
        c.last_cmd = cmd  # CLIENT LIST cmd= names what was queued last, as Redis
        if not (c.multi_dirty or c.watch_dirty):  # a doomed transaction keeps nothing
            c.multi.append((cmd, argv))
        return QUEUED
    return call(c, cmd, argv)


def script_checks(c: Any, cmd: Command, argv: list[bytes]) -> str | None:
    """What the path checks again for each command a script calls (after the caller's ACL):
    its keys are served here, and a write can meet its quorum."""
    node = c.server
    router = node.router
    if router is not None:
        verdict = router.check_local(c, cmd, argv)
        if verdict is not None:
            return verdict
    master = node.master
    if cmd.write and master is not None and master.checks_writes:
        return master.precheck(c, cmd)
    return None


def _rejected(c: Any, is_exec: bool, message: str) -> RedisError:
    """Redis's rejectCommand: flag the transaction; a refused EXEC discards it outright."""
    if c.multi is not None:
        c.multi_dirty = True
    if is_exec:
        c.server.watches.discard_transaction(c)
        message = "EXECABORT Transaction discarded because of: " + (
            message.split(" ", 1)[1] if message.startswith("ERR ") else message)
    c.server.stats.error(message)
    return RedisError(message)


def _reject(c: Any, cmd: Command, message: str) -> RedisError:
    cmd.rejected += 1
    return _rejected(c, cmd.name == "exec", message)


SEE_EVERY_SHARD = frozenset({"exec", "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall",
                             "fcall_ro"})  # (scripts may read keys they did not declare)


def _read_shards(node: Any, cmd: Command, argv: list[bytes]) -> Any:
    """The shards whose writes a command that wrote nothing could have seen: its keys'
    shards; every shard (None) for keyless reads, EXEC and scripts; none for the rest."""
    if cmd.name in SEE_EVERY_SHARD:
        return None
    if not cmd.readonly:
        return ()
    positions = cmd.key_positions(argv)
    if not positions:
        return None
    shard_of = node.keyspace.shard_of
    return {shard_of(argv[i]) for i in positions}


def _clock() -> float:
    """perf_counter(), which is CLOCK_MONOTONIC on Linux; compiled, read without a call into
    the time module (two per command)."""
    if cython.compiled:
        clock_gettime(CLOCK_MONOTONIC, cython.address(now))
        return now.tv_sec + now.tv_nsec * 1e-9
    return perf_counter()


def call(c: Any, cmd: Command, argv: list[bytes]) -> Any:
    """Steps 8-10: run a command that passed the path, commit its writes, and tell whoever
    waits on them."""
    node = c.server
    ks = node.keyspace
    c.last_cmd = cmd
    in_exec = c.in_exec
    if ks.marks and not in_exec:
        ks.marks = {}  # offsets of background writes (expiry, a blocked client served)
    ks.reading = cmd.readonly
    start = _clock()
    try:
        reply = cmd.handler(c, argv)  # type: ignore[misc]
        if ks.pending and not in_exec:  # a transaction is committed whole, by EXEC
            ks.commit()
    except RedisError as e:
        if not in_exec:
            ks.commit()
        cmd.failed += 1
        node.stats.error(e.message)
        reply = e
    except Exception as e:  # a bug: keep the connection and the data consistent
        ks.rollback()
        log.exception("command %s failed", cmd.name)
        cmd.failed += 1
        reply = RedisError(f"ERR internal error in '{cmd.name}': {type(e).__name__}")
        node.stats.error(reply.message)
    elapsed = _clock() - start
    ks.reading = False
    cmd.calls += 1
    cmd.seconds += elapsed
    node.stats.commands += 1
    if elapsed > node.slowlog.threshold_s:
        node.slowlog.add(c, argv, elapsed * 1e6)
    if in_exec:
        pass
    elif ks.marks and not cmd.readonly:
        marks, ks.marks = ks.marks, {}
        reply = node.after_write(c, reply, marks)  # writes, EXEC, scripts: their quorum
    elif node.quorum_reads:
        own = None
        if ks.marks:  # a read that deleted an expired key on the way
            own, ks.marks = ks.marks, {}
            node.after_write(c, reply, own, False)
        shards = _read_shards(node, cmd, argv)
        if shards != ():
            reply = node.master.after_read(c, reply, shards, own)
    elif ks.marks:
        marks, ks.marks = ks.marks, {}
        node.after_write(c, reply, marks, False)
    touched = ks.touched
    if touched:
        # Only WATCH and blocked clients want the keys a write touched; with neither, the
        # list is dropped here rather than through two calls that find nobody (~0.3 us of
        # every write).
        if node.watches.watchers or node.blocking.by_key:
            node.keys_touched()
        else:
            touched.clear()
    if node.monitors.clients and not cmd.hidden_from_monitor:
        node.monitors.feed(c, argv)
    return reply
