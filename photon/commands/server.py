"""Server commands: INFO, CONFIG, COMMAND, TIME, SHUTDOWN, SLOWLOG, MONITOR, DEBUG, SAVE."""
from __future__ import annotations

import logging
import re
import time

from photon import config as cfg
from photon.commands import info as info_mod
from photon.commands import table
from photon.commands.dispatch import resolve
from photon.commands.keys import ENCODINGS
from photon.commands.table import command, container
from photon.errors import ConfigError, RedisError, syntax
from photon.keyspace.encoding import STRING
from photon.protocol.reply import NO_REPLY, OK, SetReply, Status, Verbatim
from photon.util.glob import compile_glob
from photon.util.numbers import string2ll

log = logging.getLogger("photon.server")


@command("info", -1, "loading stale", 0, 0, 0)
def info(c, argv):
    return Verbatim(info_mod.render(c.server, [a.decode("utf-8", "replace") for a in argv[1:]]))


@command("time", 1, "loading stale fast", 0, 0, 0)
def time_(c, argv):
    now = time.time_ns() // 1000
    return [b"%d" % (now // 1000000), b"%d" % (now % 1000000)]


@command("lastsave", 1, "loading stale fast", 0, 0, 0)
def lastsave(c, argv):
    return int(c.server.last_save)


@command("save", 1, "admin noscript no_async_loading no_multi", 0, 0, 0)
def save(c, argv):
    """Data is always on disk in LevelDB; SAVE forces every shard's log to be fsynced."""
    c.server.durability.sync_all()
    c.server.last_save = time.time()
    return OK


@command("bgsave", -1, "admin noscript no_async_loading", 0, 0, 0)
def bgsave(c, argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() != b"schedule"):
        raise syntax()
    c.server.durability.sync_all()
    c.server.last_save = time.time()
    return Status(b"Background saving started")


@command("shutdown", -1, "admin noscript loading stale no_multi allow_busy", 0, 0, 0)
def shutdown(c, argv):
    for arg in argv[1:]:
        if arg.lower() not in (b"nosave", b"save", b"now", b"force", b"abort"):
            raise syntax()
    if any(a.lower() == b"abort" for a in argv[1:]):
        raise RedisError("ERR No shutdown in progress.")
    c.server.request_shutdown("SHUTDOWN")
    c.closing = True
    return NO_REPLY


@command("monitor", 1, "admin noscript loading stale", 0, 0, 0)
def monitor(c, argv):
    c.kind = "monitor"
    c.server.monitors.add(c)
    return OK


# --- CONFIG -------------------------------------------------------------------------------

container("config", -2)

# Settings Redis clients and tools ask for that describe fixed behaviour of this server.
# (A real setting of the same name wins.)
_FIXED = {"save": "", "appendonly": "yes", "maxmemory": "0", "maxmemory-policy": "noeviction",
          "cluster-enabled": "no", "protected-mode": "no", "io-threads": "1",
          "replica-read-only": "yes"}


def _config_text(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):  # client-output-buffer-limit: Redis 7.0 says 'slave'
        return " ".join(f"{'slave' if cls == 'replica' else cls} {h} {s} {sec}"
                        for cls, (h, s, sec) in value.items())
    return str(value)


def config_values(server) -> dict[str, str]:
    values = {s.config_name: _config_text(getattr(server.config, s.name)) for s in cfg.SETTINGS}
    values["port"] = str(server.port)
    if values.get("cluster-secret"):
        # Unlike requirepass (Redis shows it), the secret would let a client pose as a node.
        values["cluster-secret"] = "(set)"
    for name, value in _FIXED.items():
        values.setdefault(name, value)
    return values


@command("config|get", -3, "admin noscript loading stale", 0, 0, 0)
def config_get(c, argv):
    values = config_values(c.server)
    out: dict[bytes, bytes] = {}
    for pattern in argv[2:]:
        if not any(ch in pattern for ch in b"[*?"):
            # An exact name answers under the name as given, as Redis's configGetCommand.
            value = values.get(pattern.decode("utf-8", "surrogateescape").lower())
            if value is not None and pattern not in out:
                out[pattern] = value.encode()
            continue
        match = compile_glob(pattern.lower())
        for name, value in values.items():
            if match(name.encode()):
                out[name.encode()] = value.encode()
    return out


def _config_error(message: str) -> str:
    """photon's parse errors in the words Redis 7.0 uses for the same kind of setting."""
    if re.search(r"is not an integer", message):
        return "argument couldn't be parsed into an integer"
    m = re.search(r"(-?\d+) is out of range \((\S+) to (\S+)\)", message)
    if m:
        lo = "-9223372036854775808" if m.group(2) == "None" else m.group(2)
        hi = "9223372036854775807" if m.group(3) == "None" else m.group(3)
        return f"argument must be between {lo} and {hi} inclusive"
    if "is not a memory size" in message or "is too small" in message:
        return "argument must be a memory value"
    if "is not a boolean" in message:
        return "argument must be 'yes' or 'no'"
    m = re.search(r"must be one of (.*)$", message)
    if m:
        return f"argument(s) must be one of the following: {m.group(1)}"
    return message


# Redis 7.0 calls these "protected" (enable-protected-configs), the rest "immutable".
_PROTECTED = {"dir", "dbfilename", "appendfilename", "appenddirname"}


@command("config|set", -4, "admin noscript loading stale", 0, 0, 0)
def config_set(c, argv):
    if len(argv) % 2:
        raise syntax()
    pairs = []
    error = None  # Redis reports the first problem it meets
    for i in range(2, len(argv), 2):
        given = argv[i].decode("utf-8", "surrogateescape")
        name = given.lower()
        setting = cfg.BY_CONFIG_NAME.get(name)
        if setting is None:
            if error is None:
                error = f"ERR Unknown option or number of arguments for CONFIG SET - '{given}'"
            continue
        if error is not None:
            continue
        if not setting.runtime:
            kind = "protected" if name in _PROTECTED else "immutable"
            error = (f"ERR CONFIG SET failed (possibly related to argument '{given}') - can't "
                     f"set {kind} config")
            continue
        if any(s is setting for _, s, _ in pairs):
            error = (f"ERR CONFIG SET failed (possibly related to argument '{given}') - "
                     "duplicate parameter")
            continue
        pairs.append((given, setting, argv[i + 1].decode("utf-8", "surrogateescape")))
    if error is not None:
        raise RedisError(error)
    for given, setting, text in pairs:
        try:
            setting.parse(text)
        except ValueError as e:
            raise RedisError(f"ERR CONFIG SET failed (possibly related to argument '{given}') "
                             f"- {_config_error(str(e))}") from None
    for given, setting, text in pairs:
        try:
            c.server.apply_setting(setting.name, text)
        except (ConfigError, ValueError) as e:
            raise RedisError(f"ERR CONFIG SET failed (possibly related to argument '{given}') "
                             f"- {_config_error(str(e))}") from None
    return OK


@command("config|resetstat", 2, "admin noscript loading stale", 0, 0, 0)
def config_resetstat(c, argv):
    c.server.stats.reset()
    for cmd in table.all_commands():
        cmd.reset_stats()
    ks = c.server.keyspace
    ks.expired = ks.hits = ks.misses = 0
    return OK


@command("config|help", 2, "loading stale", 0, 0, 0)
def config_help(c, argv):
    return [Status(s) for s in (
        b"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        b"GET <pattern>", b"    Return parameters matching the glob-like <pattern> and their values.",
        b"SET <directive> <value>", b"    Set the configuration <directive> to <value>.",
        b"RESETSTAT", b"    Reset statistics reported by the INFO command.",
        b"HELP", b"    Prints this help.")]


def subcommand_syntax_error(argv: list[bytes]) -> RedisError:
    """addReplySubcommandSyntaxError: a subcommand whose own argument count is wrong."""
    return RedisError("ERR unknown subcommand or wrong number of arguments for '%s'. Try %s "
                      "HELP." % (argv[1][:128].decode("utf-8", "surrogateescape"),
                                 argv[0].decode("utf-8", "surrogateescape").upper()))


# --- SLOWLOG ------------------------------------------------------------------------------

container("slowlog", -2)


@command("slowlog|get", -2, "admin loading stale", 0, 0, 0)
def slowlog_get(c, argv):
    count = 10
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    if len(argv) == 3:
        v = string2ll(argv[2])
        if v is None or v < -1:
            raise RedisError("ERR count should be greater than or equal to -1")
        count = v
    entries = list(c.server.slowlog.entries)
    if count != -1:
        entries = entries[:count]
    return entries


@command("slowlog|len", 2, "admin loading stale", 0, 0, 0)
def slowlog_len(c, argv):
    return len(c.server.slowlog.entries)


@command("slowlog|reset", 2, "admin loading stale", 0, 0, 0)
def slowlog_reset(c, argv):
    c.server.slowlog.reset()
    return OK


@command("slowlog|help", 2, "loading stale", 0, 0, 0)
def slowlog_help(c, argv):
    return [Status(s) for s in (
        b"SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        b"GET [<count>]",
        b"    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        b"    Entries are made of:",
        b"    id, timestamp, time in microseconds, arguments array, client IP and port,",
        b"    client name",
        b"LEN", b"    Return the length of the slowlog.",
        b"RESET", b"    Reset the slowlog.",
        b"HELP", b"    Prints this help.")]


# --- COMMAND ------------------------------------------------------------------------------

def command_info(cmd) -> list:
    """COMMAND INFO's entry as Redis 7.0 writes it, with its RESP3 set/array shapes. (Redis lists a container's subcommands in its dict's order, which changes with
    each process's hash seed.)"""
    entry = table.info_reply(cmd)
    subs = [command_info(table.lookup([cmd.name.encode(), s[0].split(b"|", 1)[1]]))
            for s in entry[9]]
    # Redis: tips and key specs are sets; subcommands an array, or an empty set when none.
    entry[7] = SetReply(entry[7])
    entry[8] = SetReply(entry[8])
    entry[9] = subs or SetReply()
    return entry


def command_docs(cmd) -> dict | None:
    """COMMAND DOCS's map for a command: history is a set in RESP3."""
    doc = table.docs_reply(cmd)
    return None if doc is None else _docs_shape(doc)


def _docs_shape(doc: dict) -> dict:
    out = {}
    for k, v in doc.items():
        if k == b"history":
            v = SetReply(v)
        elif k == b"subcommands":
            v = {n: _docs_shape(d) for n, d in v.items()}
        out[k] = v
    return out


@command("command", -1, "loading stale", 0, 0, 0)
def command_(c, argv):
    if len(argv) > 1:
        raise RedisError("ERR unknown subcommand '%s'. Try COMMAND HELP." %
                         argv[1].decode("utf-8", "replace"))
    return [command_info(cmd) for cmd in table.all_commands()]


def _sub(name: str, arity: int):
    return command(f"command|{name}", arity, "loading stale", 0, 0, 0)


@_sub("count", 2)
def command_count(c, argv):
    return len(table.COMMANDS)


@_sub("info", -2)
def command_info_(c, argv):
    if len(argv) == 2:
        return [command_info(cmd) for cmd in table.all_commands()]
    out = []
    for name in argv[2:]:
        cmd = _find(name)
        out.append(command_info(cmd) if cmd is not None else None)
    return out


def _find(name: bytes):
    parent, _, sub = name.lower().partition(b"|")
    cmd = table.COMMANDS.get(parent)
    if cmd is not None and sub:
        return cmd.subcommands.get(sub)
    return cmd


@_sub("docs", -2)
def command_docs_(c, argv):
    cmds = table.all_commands() if len(argv) == 2 else [_find(n) for n in argv[2:]]
    out = {}
    for cmd in cmds:
        if cmd is None:
            continue
        doc = command_docs(cmd)
        if doc is not None:
            out[cmd.name.encode()] = doc
    return out


@_sub("list", -2)
def command_list(c, argv):
    names = []
    for cmd in table.all_commands():
        names.append(cmd.name.encode())
        names.extend(s.name.encode() for s in cmd.subcommands.values())
    if len(argv) == 2:
        return names
    if len(argv) != 5 or argv[2].lower() != b"filterby":
        raise syntax()
    kind, value = argv[3].lower(), argv[4]
    if kind == b"pattern":
        match = compile_glob(value.lower())
        return [n for n in names if match(n)]
    if kind == b"aclcat":
        cat = b"@" + value.lower().lstrip(b"@")
        return [n for n in names
                if cat.decode() in ((table.reference.info(n.decode()) or [0] * 7)[6])]
    if kind == b"module":
        return []
    raise syntax()


@_sub("getkeys", -4)
def command_getkeys(c, argv):
    args = argv[2:]
    cmd = table.lookup(args)
    if cmd is None:
        raise RedisError("ERR Invalid command specified")
    # Redis's order: a command without key specs first, then the argument count.
    if cmd.first_key <= 0 and cmd.keys_fn is None:
        raise RedisError("ERR The command has no key arguments")
    try:
        resolve(args)
    except RedisError:
        raise RedisError("ERR Invalid number of arguments specified for command") from None
    keys = cmd.keys(args)
    if not keys:
        if "no_mandatory_keys" in cmd.flags:
            return []
        raise RedisError("ERR Invalid arguments specified for command")
    return keys


@_sub("help", 2)
def command_help(c, argv):
    return [Status(s) for s in (
        b"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        b"(no subcommand)", b"    Return details about all Redis commands.",
        b"COUNT", b"    Return the total number of commands in this Redis server.",
        b"LIST", b"    Return a list of all commands in this Redis server.",
        b"INFO [<command-name> ...]",
        b"    Return details about multiple Redis commands.",
        b"DOCS [<command-name> ...]",
        b"    Return documentation details about multiple Redis commands.",
        b"GETKEYS <full-command>", b"    Return the keys from a full Redis command.",
        b"HELP", b"    Prints this help.")]


_NUMBER_PREFIX = re.compile(rb"\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)")


def _strtod(arg: bytes) -> float:
    """strtod(arg, NULL): the longest numeric prefix, 0 when there is none (DEBUG SLEEP)."""
    m = _NUMBER_PREFIX.match(arg)
    try:
        return float(m.group(0)) if m else 0.0
    except (OverflowError, ValueError):
        return 0.0


# --- DEBUG --------------------------------------------------------------------------------

@command("debug", -2, "admin noscript loading stale", 0, 0, 0)
def debug(c, argv):
    sub = argv[1].lower()
    ks = c.server.keyspace
    if sub == b"sleep" and len(argv) == 3:
        time.sleep(max(0.0, _strtod(argv[2])))
        return OK
    if sub == b"error" and len(argv) == 3:
        return RedisError(argv[2].decode("utf-8", "surrogateescape"))
    if sub == b"object" and len(argv) == 3:
        meta = ks.lookup(c.db, argv[2])
        if meta is None:
            raise RedisError("ERR no such key")
        encoding = ENCODINGS[meta.type](ks, c.db, argv[2], meta).decode()
        size = len(meta.value) if meta.type == STRING else meta.size
        return Status((f"Value at:0x{id(meta):x} refcount:1 encoding:{encoding} "
                       f"serializedlength:{size} lru:0 lru_seconds_idle:0").encode())
    if sub == b"reload" or sub == b"loadaof":
        ks.commit()
        c.server.durability.sync_all()
        for shard in ks.shards:
            shard.load_counts()
        return OK
    if sub == b"set-active-expire" and len(argv) == 3:
        c.server.active_expire = argv[2] != b"0"
        return OK
    if sub == b"help":
        return [Status(s) for s in (
            b"DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            b"ERROR <string>", b"    Return a Redis protocol error with <string> as message.",
            b"OBJECT <key>", b"    Show low level info about `key` and associated value.",
            b"RELOAD", b"    Make every shard durable and reload its counters.",
            b"SET-ACTIVE-EXPIRE <0|1>", b"    Turn the active expiry cycle off or on.",
            b"SLEEP <seconds>", b"    Stop the server for <seconds>. Decimals allowed.",
            b"HELP", b"    Prints this help.")]
    raise RedisError("ERR unknown subcommand or wrong number of arguments for '%s'. Try "
                     "DEBUG HELP." % argv[1].decode("utf-8", "replace"))

