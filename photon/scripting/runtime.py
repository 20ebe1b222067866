"""EVAL / FCALL as Redis 7.0 runs them (eval.c, script.c, script_lua.c).

A script runs synchronously inside the command that started it, so nothing else runs
meanwhile. Its redis.call goes through the script's own gate (Redis's scriptCall checks and
texts: unknown command, arity, noscript, ACL, writes from read-only scripts, writes on a
replica) and then the ordinary ``dispatch.call`` on a client of its own: the caller's
database, user and RESP2 at the start, ``in_exec`` set so its writes are committed with the
EVAL (in one batch: atomic, replicated like any write) and blocking commands never block.
Blocked clients are served only after the script.

A script running longer than the time limit (``busy_reply_threshold`` / ``lua_time_limit``
in the settings when present, else 5000 ms, Redis's default lua-time-limit; 0 disables it) is
stopped by a count hook, with an error; outside MULTI its writes are undone (rolled back with
the command's batch), inside MULTI they stay, as after any script error. Redis instead keeps
running it and answers other clients BUSY; photon serves one command at a time, so the others
simply wait for the script.
"""
from __future__ import annotations

import hashlib
import logging
import time
from typing import TYPE_CHECKING, Any

from photon.commands.dispatch import call, script_checks
from photon.commands.table import COMMANDS, Command
from photon.errors import RedisError
from photon.scripting import libs
from photon.scripting.convert import ToLua, ToReply, error_text
from photon.scripting.functions import (
    FLAG_NAMES, NO_CLUSTER, NO_WRITES, Functions, LuaRaise,
)
from photon.scripting.libs import fmt_g, lua_type
from photon.scripting.lua import LuaEngine
from photon.util.splitargs import split_args
from photon.util.numbers import parse_int, string2ll

if TYPE_CHECKING:
    from photon.node import Node

    Client = Any

log = logging.getLogger("photon.scripting")

REDIS_VERSION = b"7.0.15"
REDIS_VERSION_NUM = 0x07000F
DEFAULT_TIME_LIMIT_MS = 5000
COMPAT_MODE = 1 << 30  # a script without a shebang line (Redis's EVAL compatibility mode)
EVAL_FLAG_NAMES = {name: 1 << i for i, name in enumerate(FLAG_NAMES)}

NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."
_ACL_TEXTS = {
    "NOPERM this user has no permissions to run":
        b"The user executing the script can't run this command or subcommand",
    "NOPERM this user has no permissions to access one of the keys":
        b"The user executing the script can't access at least one of the keys mentioned in "
        b"the command arguments",
    "NOPERM this user has no permissions to access one of the channels":
        b"The user executing the script can't publish to the channel mentioned in the command",
}
_LOG_LEVELS = {0: logging.DEBUG, 1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING}


class Script:
    __slots__ = ("sha", "body", "flags", "fn")

    def __init__(self, sha: str, body: bytes, flags: int, fn: Any) -> None:
        self.sha = sha
        self.body = body
        self.flags = flags
        self.fn = fn


class Run:
    """The script running now (scriptRunCtx)."""

    __slots__ = ("caller", "client", "read_only", "name", "start", "limit_ms", "timed_out",
                 "is_eval", "loading")

    def __init__(self, caller: "Client | None", client: "Client | None", name: str,
                 read_only: bool, limit_ms: int, is_eval: bool, loading: bool = False) -> None:
        self.caller = caller
        self.client = client
        self.name = name
        self.read_only = read_only
        self.start = time.monotonic()
        self.limit_ms = limit_ms
        self.timed_out = False
        self.is_eval = is_eval
        self.loading = loading


def shebang_flags(body: bytes) -> tuple[int, int]:
    """evalExtractShebangFlags: (flags, length of the shebang line)."""
    if not body.startswith(b"#!"):
        return COMPAT_MODE, 0
    end = body.find(b"\n")
    if end < 0:
        raise RedisError("ERR Invalid script shebang")
    parts = split_args(body[:end])
    if not parts:
        raise RedisError("ERR Invalid engine in script shebang")
    if parts[0] != b"#!lua":
        raise RedisError("ERR Unexpected engine in script shebang: %s" % _s(parts[0]))
    flags = 0
    for part in parts[1:]:
        if not part.startswith(b"flags="):
            raise RedisError("ERR Unknown lua shebang option: %s" % _s(part))
        spec = part[6:]
        for name in (spec.split(b",") if spec else []):
            bit = EVAL_FLAG_NAMES.get(name)
            if bit is None:
                raise RedisError("ERR Unexpected flag in script shebang: %s" % _s(name))
            flags |= bit
    return flags, end


def _s(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _cmd_args(args: tuple) -> list[bytes]:
    """luaArgsToRedisArgv: strings as they are, numbers as "%.17g"."""
    if not args:
        raise LuaRaise(b"ERR Please specify at least one argument for this redis lib call")
    argv = []
    for a in args:
        t = type(a)
        if t is bytes:
            argv.append(a)
        elif t is int or t is float:
            argv.append(fmt_g(a, 17))
        else:
            raise LuaRaise(b"ERR Lua redis lib command arguments must be strings or integers")
    return argv


def _lookup(argv: list[bytes]) -> Command | None:
    cmd = COMMANDS.get(argv[0].lower())
    if cmd is not None and cmd.subcommands and len(argv) > 1:
        return cmd.subcommands.get(argv[1].lower())
    return cmd


def _numkeys(arg: bytes, argc: int) -> int:
    n = parse_int(arg)
    if n > argc - 3:
        raise RedisError("ERR Number of keys can't be greater than number of args")
    if n < 0:
        raise RedisError("ERR Number of keys can't be negative")
    return n


class Scripting:
    """Scripting state of one server: the Lua runtime, the EVAL script cache, the function
    libraries, and the script running now."""

    def __init__(self, server: "Node") -> None:
        self.server = server
        self.scripts: dict[str, Script] = {}
        self.run: Run | None = None
        self.rand = libs.Rand48()
        self.time_limit_override: int | None = None
        self._client: Client | None = None
        self.functions = Functions(self)
        self.engine = LuaEngine(self._callbacks())
        self._cjson.null = self.engine.null
        self._cjson.is_null = self.engine.api.isnull
        self.to_lua = ToLua(self.engine.table_from, self.engine.lua.table)

    # --- settings ---------------------------------------------------------------------------

    def time_limit_ms(self) -> int:
        if self.time_limit_override is not None:
            return self.time_limit_override
        config = self.server.config
        for name in ("busy_reply_threshold", "lua_time_limit"):
            value = getattr(config, name, None)
            if value is not None:
                return int(value)
        return DEFAULT_TIME_LIMIT_MS

    # --- the Python side of the sandbox ------------------------------------------------------

    def _callbacks(self) -> dict[str, Any]:
        def guard(fn):
            def wrapper(*args):
                try:
                    return fn(*args)
                except LuaRaise as e:
                    if not e.table:  # luaL_error: the message names the calling line
                        e.message = self.engine.where() + e.message
                    raise
                except Exception as e:  # a bug here must not take the server down
                    log.exception("scripting callback failed")
                    raise LuaRaise(b"ERR internal error in script support: "
                                   + type(e).__name__.encode()) from None
            return wrapper

        def lib(fn):
            def wrapper(*args):
                result = fn(*args)
                if not result[0]:
                    raise LuaRaise(result[1], table=False)
                return result[1:] if len(result) != 2 else result[1]
            return guard(wrapper)

        cjson = libs.CJson(self._table_from)
        msgpack = libs.MsgPack(self._table_from)
        self._cjson = cjson
        return {
            "unwrap": self._unwrap,
            "time_check": self._time_check,
            "version": REDIS_VERSION,
            "version_num": REDIS_VERSION_NUM,
            "register_function": guard(self.functions.register),
            "redis": {name: guard(fn) for name, fn in {
                "call": self._redis_call, "pcall": self._redis_pcall, "log": self._log,
                "setresp": self._setresp, "sha1hex": self._sha1hex,
                "error_reply": self._error_reply, "status_reply": self._status_reply,
                "set_repl": self._set_repl, "acl_check_cmd": self._acl_check_cmd,
            }.items()},
            "math": {"random": guard(self._random), "randomseed": guard(self._randomseed)},
            "cjson": {"encode": lib(cjson.encode), "decode": lib(cjson.decode)},
            "cmsgpack": {"pack": lib(msgpack.pack), "unpack": lib(msgpack.unpack),
                         "unpack_one": lib(msgpack.unpack_one),
                         "unpack_limit": lib(msgpack.unpack_limit)},
            "bit": {name: lib(fn) for name, fn in libs.BIT.items()},
            "struct": {name: lib(fn) for name, fn in libs.STRUCT.items()},
        }

    def _table_from(self, value: Any) -> Any:
        return self.engine.table_from(value)

    @staticmethod
    def _unwrap(e: Any) -> Any:
        if isinstance(e, LuaRaise):
            return (b"table" if e.table else b"string"), e.message
        if isinstance(e, BaseException):
            log.error("unexpected error inside a script: %r", e)
            return b"table", b"ERR internal error in script support: " + type(e).__name__.encode()
        return None

    def _time_check(self) -> bytes | None:
        run = self.run
        if run is None or run.limit_ms <= 0:
            return None
        if (time.monotonic() - run.start) * 1000 <= run.limit_ms:
            return None
        run.timed_out = True
        if run.loading:
            return b"ERR FUNCTION LOAD timeout"
        log.warning("Script killed: still running after %d milliseconds (the script time "
                    "limit)", run.limit_ms)
        return (b"ERR Script killed: it ran longer than the script time limit (%d ms)"
                % run.limit_ms)

    def _redis_call(self, *args: Any) -> Any:
        failed, value = self._command(args)
        if failed:
            raise LuaRaise(value)
        return value

    def _redis_pcall(self, *args: Any) -> Any:
        try:
            failed, value = self._command(args)
        except LuaRaise as e:
            if self.run is None or not self.run.client:
                raise
            return self.to_lua.error_table(e.message)
        return self.to_lua.error_table(value) if failed else value

    def _command(self, args: tuple) -> tuple[bool, Any]:
        """Run one command for the script: (False, Lua value) or (True, error text)."""
        run = self.run
        if run is None or run.client is None:
            raise LuaRaise(b"ERR redis.call/pcall can only be called inside a script "
                           b"invocation")
        argv = _cmd_args(args)
        cmd = _lookup(argv)
        arity = cmd.arity if cmd is not None else 0
        if cmd is None:
            return True, b"ERR Unknown Redis command called from script"
        if (arity > 0 and len(argv) != arity) or len(argv) < -arity:
            return True, b"ERR Wrong number of args calling Redis command from script"
        if "noscript" in cmd.flags or cmd.name.startswith("photon."):
            return True, b"ERR This Redis command is not allowed from script"
        server = self.server
        client = run.client
        if client.acl is not None:
            verdict = server.security.check(client, cmd, argv)
            if verdict is not None:
                for prefix, text in _ACL_TEXTS.items():
                    if verdict.startswith(prefix):
                        return True, b"ERR " + text
                return True, (b"ERR The user executing the script is lacking the permissions "
                              b"for the command")
        if cmd.write:
            if run.read_only:
                return True, b"ERR Write commands are not allowed from read-only scripts."
            if server.role == "replica":
                return True, b"READONLY You can't write against a read only replica."
        verdict = script_checks(client, cmd, argv)
        if verdict is not None:
            return True, error_text(verdict.encode("utf-8", "surrogateescape"))
        reply = call(client, cmd, argv)
        if isinstance(reply, RedisError):
            return True, error_text(reply.message.encode("utf-8", "surrogateescape"))
        return False, self.to_lua.convert(reply, client.resp3)

    def _log(self, *args: Any) -> None:
        if len(args) < 2:
            raise LuaRaise(b"ERR redis.log() requires two arguments or more.")
        level = libs.tonumber(args[0])
        if level is None:
            raise LuaRaise(b"ERR First argument must be a number (log level).")
        level = int(level)
        if not 0 <= level <= 3:
            raise LuaRaise(b"ERR Invalid debug level.")
        parts = []
        for j, v in enumerate(args[1:]):
            text = v if type(v) is bytes else fmt_g(v, 14) if type(v) in (int, float) else None
            if text is not None:
                if j:
                    parts.append(b" ")
                parts.append(text)
        log.log(_LOG_LEVELS[level], "%s", b"".join(parts).decode("utf-8", "replace"))

    def _setresp(self, *args: Any) -> None:
        run = self.run
        if run is None or run.client is None:
            raise LuaRaise(b"ERR redis.setresp can only be called inside a script invocation")
        if len(args) != 1:
            raise LuaRaise(b"ERR redis.setresp() requires one argument.")
        version = int(libs.tonumber(args[0]) or 0)
        if version not in (2, 3):
            raise LuaRaise(b"ERR RESP version must be 2 or 3.")
        run.client.resp3 = version == 3

    def _set_repl(self, *args: Any) -> None:
        if self.run is None or self.run.client is None:
            raise LuaRaise(b"ERR redis.set_repl can only be called inside a script invocation")
        if len(args) != 1:
            raise LuaRaise(b"ERR redis.set_repl() requires two arguments.")
        flags = int(libs.tonumber(args[0]) or 0)
        if flags & ~3:
            raise LuaRaise(b"ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, "
                           b"REPL_ALL or REPL_NONE.")

    @staticmethod
    def _sha1hex(*args: Any) -> bytes:
        if len(args) != 1:
            raise LuaRaise(b"ERR wrong number of arguments")
        v = args[0]
        data = v if type(v) is bytes else fmt_g(v, 14) if type(v) in (int, float) else b""
        return hashlib.sha1(data).hexdigest().encode()

    def _error_reply(self, *args: Any) -> Any:
        if len(args) != 1 or type(args[0]) is not bytes:
            return self.to_lua.error_table(b"ERR wrong number or type of arguments")
        s = args[0]
        if not s.startswith(b"-"):
            s = b"-" + s
        return self.to_lua.error_table(error_text(s[1:]))

    def _status_reply(self, *args: Any) -> Any:
        if len(args) != 1 or type(args[0]) is not bytes:
            return self.to_lua.error_table(b"ERR wrong number or type of arguments")
        return self._table_from({b"ok": args[0]})

    def _acl_check_cmd(self, *args: Any) -> bool:
        run = self.run
        if run is None or run.caller is None:
            raise LuaRaise(b"ERR redis.acl_check_cmd can only be called inside a script "
                           b"invocation")
        argv = _cmd_args(args)
        cmd = _lookup(argv)
        if cmd is None:
            raise LuaRaise(b"ERR Invalid command passed to redis.acl_check_cmd()")
        caller = run.caller
        if caller.acl is None:
            return True
        return self.server.security.dryrun(caller.user, cmd.name, argv) is None

    def _random(self, *args: Any) -> Any:
        r = self.rand.random()
        if not args:
            return r
        if len(args) > 2:
            raise LuaRaise(b"wrong number of arguments", table=False)
        bounds = []
        for i, v in enumerate(args, 1):
            n = libs.tonumber(v)
            if n is None:
                raise LuaRaise(b"bad argument #%d to 'random' (number expected, got %s)"
                               % (i, libs.typename(v).encode()), table=False)
            bounds.append(int(n))
        if len(bounds) == 1:
            u = bounds[0]
            if u < 1:
                raise LuaRaise(b"bad argument #1 to 'random' (interval is empty)", table=False)
            return float(int(r * u) + 1)
        low, up = bounds
        if low > up:
            raise LuaRaise(b"bad argument #2 to 'random' (interval is empty)", table=False)
        return float(int(r * (up - low + 1)) + low)

    def _randomseed(self, *args: Any) -> None:
        n = libs.tonumber(args[0]) if args else None
        if n is None:
            raise LuaRaise(b"bad argument #1 to 'randomseed' (number expected, got %s)" % (
                libs.typename(args[0]).encode() if args else b"no value"), table=False)
        self.rand.seed(int(n))

    # --- the script client ------------------------------------------------------------------

    def _script_client(self, caller: "Client") -> "Client":
        c = self._client
        if c is None:
            c = self._client = self.server.socketless_client("script")
            c.addr = "lua"
            c.laddr = "lua"
            c.in_exec = True
            c.deny_blocking = True  # type: ignore[attr-defined]
        c.authenticated = True
        c.db = caller.db
        c.resp3 = False
        c.acl = caller.acl
        c.user = caller.user
        c.multi = None
        return c

    # --- EVAL ---------------------------------------------------------------------------------

    def create(self, body: bytes) -> Script:
        """luaCreateFunction: the cached script for this body, compiled on first use."""
        sha = hashlib.sha1(body).hexdigest()
        script = self.scripts.get(sha)
        if script is not None:
            return script
        flags, shebang_len = shebang_flags(body)
        fn, err = self.engine.compile(body[shebang_len:], b"@user_script", True)
        if fn is None:
            raise RedisError("ERR Error compiling script (new function): " + _s(err or b""))
        script = self.scripts[sha] = Script(sha, body, flags, fn)
        return script

    def eval(self, c: "Client", argv: list[bytes], evalsha: bool, ro: bool) -> Any:
        server = self.server
        if server.monitors:
            server.monitors.feed(c, argv)
        numkeys = _numkeys(argv[2], len(argv))
        if evalsha:
            script = self.scripts.get(argv[1].lower().decode("latin-1"))
            if script is None:
                raise RedisError(NOSCRIPT)
        else:
            script = self.create(argv[1])
        flags = script.flags
        if not flags & COMPAT_MODE:
            self._prepare(c, flags, ro)
        read_only = ro or (not flags & COMPAT_MODE and bool(flags & NO_WRITES))
        return self._run(c, script.fn, argv[3:3 + numkeys], argv[3 + numkeys:], script.sha,
                         read_only, True)

    def _prepare(self, c: "Client", flags: int, ro: bool) -> None:
        """scriptPrepareForRun's checks of a script's declared flags."""
        server = self.server
        if flags & NO_CLUSTER and server.mode == "cluster":
            raise RedisError("ERR Can not run script on cluster, 'no-cluster' flag is set.")
        if not flags & NO_WRITES:
            if server.role == "replica":
                raise RedisError("ERR Can not run script with write flag on readonly replica")
            if ro:
                raise RedisError("ERR Can not execute a script with write flag using *_ro "
                                 "command.")

    def _run(self, c: "Client", fn: Any, keys: list[bytes], args: list[bytes], name: str,
             read_only: bool, is_eval: bool) -> Any:
        server = self.server
        ks = server.keyspace
        client = self._script_client(c)
        run = self.run = Run(c, client, name, read_only, self.time_limit_ms(), is_eval)
        held = server.blocking
        held.holds += 1  # blocked clients are served after the script, not during it
        table_from = self.engine.table_from
        try:
            ok, result = self.engine.run(fn, table_from(keys), table_from(args), is_eval,
                                         run.limit_ms > 0)
        except Exception as e:  # a LuaError the sandbox did not catch
            log.exception("script failed outside its error handler")
            ok, result = False, str(e).encode("utf-8", "replace")
        finally:
            held.holds -= 1
            self.run = None
        if run.timed_out and not c.in_exec:
            ks.rollback()
        if ok:
            return ToReply(c.resp3, client.resp3).top(result)
        raise script_error(result, name)

    # --- SCRIPT ---------------------------------------------------------------------------------

    def load(self, body: bytes) -> bytes:
        return self.create(body).sha.encode()

    def exists(self, shas: list[bytes]) -> list[int]:
        return [int(s.lower().decode("latin-1") in self.scripts) for s in shas]

    def flush(self) -> None:
        self.scripts.clear()
        self.engine.lua.execute("collectgarbage()")

    # --- FUNCTION / FCALL ---------------------------------------------------------------------

    def load_library(self, fn: Any, timeout_ms: int) -> tuple[bool, Any]:
        """Run a library's code with the load-time API (redis.register_function...)."""
        outer = self.run
        self.run = Run(None, None, "", True, timeout_ms, False, loading=True)
        try:
            result = self.engine.load_library(fn, timeout_ms > 0)
        finally:
            self.run = outer
        if isinstance(result, tuple):
            return result[0], result[1] if len(result) > 1 else None
        return bool(result), None

    def fcall(self, c: "Client", argv: list[bytes], ro: bool) -> Any:
        server = self.server
        if server.monitors:
            server.monitors.feed(c, argv)
        functions = self.functions
        functions.sync()
        f = functions.current.functions.get(argv[1].lower())
        if f is None:
            raise RedisError("ERR Function not found")
        numkeys = string2ll(argv[2])
        if numkeys is None:
            raise RedisError("ERR Bad number of keys provided")
        if numkeys > len(argv) - 3:
            raise RedisError("ERR Number of keys can't be greater than number of args")
        if numkeys < 0:
            raise RedisError("ERR Number of keys can't be negative")
        self._prepare(c, f.flags, ro)
        return self._run(c, f.callback, argv[3:3 + numkeys], argv[3 + numkeys:],
                         _s(f.name), ro or bool(f.flags & NO_WRITES), False)

    def may_write(self, argv: list[bytes]) -> bool:
        """Whether an EVAL/EVALSHA/FCALL (not *_RO) may write: False only for scripts and
        functions declared no-writes."""
        name = argv[0].lower()
        if name == b"fcall":
            self.functions.sync()
            f = self.functions.current.functions.get(argv[1].lower()) if len(argv) > 1 else None
            return f is None or not f.flags & NO_WRITES
        if name == b"evalsha":
            script = self.scripts.get(argv[1].lower().decode("latin-1")) if len(argv) > 1 \
                else None
            flags = script.flags if script is not None else COMPAT_MODE
        else:
            try:
                flags = shebang_flags(argv[1])[0] if len(argv) > 1 else COMPAT_MODE
            except RedisError:
                return True
        return bool(flags & COMPAT_MODE) or not flags & NO_WRITES

    def forwardable(self, argv: list[bytes]) -> list[bytes]:
        """An EVALSHA a replica passes to its master, as EVAL when the body is known here
        (the master's script cache is its own)."""
        if argv and argv[0].lower() in (b"evalsha", b"evalsha_ro") and len(argv) > 1:
            script = self.scripts.get(argv[1].lower().decode("latin-1"))
            if script is not None:
                name = b"EVAL" if argv[0].lower() == b"evalsha" else b"EVAL_RO"
                return [name, script.body, *argv[2:]]
        return argv


def script_error(err: Any, name: str) -> RedisError:
    """The reply to a script that raised: Redis's "<err> script: <name>, on <source>:<line>."
    or "Error running script ..." when the error is not a table."""
    if lua_type(err) != "table":
        if type(err) is bytes:
            msg = err
        elif type(err) in (int, float):
            msg = fmt_g(err, 14)
        else:
            msg = b"execution failure"
        return RedisError("ERR Error running script %s, %s" % (name, _s(msg[:100])))
    raw = err[b"err"]
    if type(raw) is bytes:
        msg = raw
    elif type(raw) in (int, float):
        msg = fmt_g(raw, 14)
    else:
        msg = b"ERR unknown error"
    nul = msg.find(b"\0")
    if nul >= 0:
        msg = msg[:nul]
    source, line = err[b"source"], err[b"line"]
    if type(line) in (int, float):
        line = fmt_g(line, 14)
    if type(source) is bytes and type(line) is bytes:
        msg += b" script: %b, on %b:%b." % (name.encode("utf-8", "surrogateescape"), source,
                                              line)
    return RedisError(_s(msg.rstrip(b"\r\n")))
