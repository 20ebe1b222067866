"""The command table: every command's name, arity, flags and key positions.

A command is a function taking (client, argv) and returning a plain reply value; it is
registered with ``@command``. The gate in ``dispatch`` uses the table for every shared check,
so a command body only deals with its own arguments.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from photon.commands import reference

Handler = Callable[[Any, list[bytes]], Any]
KeysFn = Callable[[list[bytes]], list[int]]


class Command:
    """One command or subcommand of the table, with its counters (COMMAND, INFO
    commandstats). A plain class, not a dataclass: the compiled core makes it an extension
    type (``table.pxd``) whose fields the command path reads as C struct fields."""

    def __init__(self, name: str, handler: Handler | None, arity: int, flags: frozenset[str],
                 first_key: int = 0, last_key: int = 0, step: int = 0,
                 keys_fn: KeysFn | None = None, parent: Command | None = None,
                 subcommands: dict[bytes, Command] | None = None, calls: int = 0,
                 seconds: float = 0.0, rejected: int = 0, failed: int = 0) -> None:
        self.name = name  # 'get', or 'client|list' for a subcommand
        self.handler = handler
        self.arity = arity
        self.flags = flags
        self.first_key = first_key
        self.last_key = last_key
        self.step = step
        self.keys_fn = keys_fn
        self.parent = parent
        self.subcommands = {} if subcommands is None else subcommands
        self.calls = calls
        self.seconds = seconds
        self.rejected = rejected
        self.failed = failed
        f = flags
        self.write = "write" in f
        self.readonly = "readonly" in f
        self.admin = "admin" in f
        self.noauth = "no_auth" in f
        self.pubsub = "pubsub" in f
        self.loading = "loading" in f
        self.stale = "stale" in f
        self.blocking = "blocking" in f
        self.no_multi = "no_multi" in f
        self.denyoom = "denyoom" in f
        self.allow_busy = "allow_busy" in f
        self.hidden_from_monitor = self.admin or "skip_monitor" in f
        # node-to-node commands: with a cluster secret, only proven peers may send them
        self.internal = name.startswith("photon.") and name != "photon.auth"

    def __repr__(self) -> str:
        return f"Command({self.name!r}, arity={self.arity}, flags={sorted(self.flags)})"

    @property
    def display(self) -> str:
        """How Redis names the command in errors: 'get', 'client|kill'."""
        return self.name

    def key_positions(self, argv: list[bytes]) -> list[int]:
        """Indexes of argv that are keys (COMMAND GETKEYS, routing, ACL key patterns)."""
        if self.keys_fn is not None:
            return self.keys_fn(argv)
        if self.first_key <= 0:
            return []
        last = self.last_key if self.last_key >= 0 else len(argv) + self.last_key
        return list(range(self.first_key, min(last, len(argv) - 1) + 1, self.step or 1))

    def keys(self, argv: list[bytes]) -> list[bytes]:
        return [argv[i] for i in self.key_positions(argv)]

    def reset_stats(self) -> None:
        self.calls = self.rejected = self.failed = 0
        self.seconds = 0.0
        for sub in self.subcommands.values():
            sub.reset_stats()


COMMANDS: dict[bytes, Command] = {}


def _flags(flags: str) -> frozenset[str]:
    return frozenset(flags.split())


def command(name: str, arity: int, flags: str = "", first_key: int = 0, last_key: int = 0,
            step: int = 0, keys: KeysFn | None = None) -> Callable[[Handler], Handler]:
    """Register a command or, with a name like 'client|list', a subcommand.

    Arity follows Redis: N means exactly N arguments counting the name, -N means at least N.
    """

    def register(fn: Handler) -> Handler:
        parent_name, _, sub = name.partition("|")
        cmd = Command(name, fn, arity, _flags(flags), first_key, last_key, step, keys)
        if sub:
            parent = COMMANDS[parent_name.encode()]
            cmd.parent = parent
            parent.subcommands[sub.encode()] = cmd
        else:
            COMMANDS[name.encode()] = cmd
        return fn

    return register


def container(name: str, arity: int = -2, flags: str = "") -> None:
    """Declare a command that only holds subcommands (CLIENT, CONFIG, OBJECT...)."""
    COMMANDS[name.encode()] = Command(name, None, arity, _flags(flags))


def lookup(argv: list[bytes]) -> Command | None:
    """The command (or subcommand) argv names, if any, without arity checks."""
    cmd = COMMANDS.get(argv[0].lower())
    if cmd is not None and cmd.subcommands and len(argv) > 1:
        return cmd.subcommands.get(argv[1].lower())
    return cmd


def all_commands() -> list[Command]:
    return list(COMMANDS.values())


# --- COMMAND INFO / DOCS in Redis's shapes --------------------------------------------------

def info_reply(cmd: Command) -> list:
    from photon.protocol.reply import SetReply, Status

    ref = reference.info(cmd.name)
    acl = ref[6] if ref else []
    tips = ref[7] if ref else []
    specs = ref[8] if ref else []
    return [
        cmd.name.encode(),
        cmd.arity,
        SetReply(Status(f.encode()) for f in sorted(
            cmd.flags | ({"movablekeys"} if cmd.keys_fn else set()), key=_flag_order)),
        cmd.first_key,
        cmd.last_key,
        cmd.step,
        SetReply(Status(c.encode()) for c in acl),
        [t.encode() for t in tips],
        [_doc_value(s) for s in specs],
        [info_reply(s) for s in cmd.subcommands.values()],
    ]


def _flag_order(flag: str) -> int:
    order = ["write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript",
             "blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast",
             "no_auth", "may_replicate", "sentinel", "only_sentinel", "no_mandatory_keys",
             "protected", "no_async_loading", "no_multi", "movablekeys", "allow_busy"]
    return order.index(flag) if flag in order else len(order)


def _doc_value(v: Any, key: str = "") -> Any:
    from photon.protocol.reply import SetReply, Status

    if isinstance(v, dict):
        return {k.encode(): _doc_value(x, k) for k, x in v.items()}
    if isinstance(v, list):
        if key in ("flags", "doc_flags"):
            return SetReply(Status(x.encode()) for x in v)
        return [_doc_value(x) for x in v]
    if isinstance(v, str):
        return v.encode()
    return v


def docs_reply(cmd: Command) -> dict | None:
    doc = reference.docs(cmd.name)
    if doc is None:
        return None
    doc = dict(doc)
    if cmd.subcommands:
        doc["subcommands"] = {s.name: reference.docs(s.name) for s in cmd.subcommands.values()
                              if reference.docs(s.name) is not None}
    else:
        doc.pop("subcommands", None)
    return _doc_value(doc)
