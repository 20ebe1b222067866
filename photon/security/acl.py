"""Users and permissions: Redis 7.0's ACL (acl.c), rule for rule.

A user has flags (on/off, nopass, sanitize-payload), SHA-256 password hashes and selectors: the
root selector plus any ``(...)`` selectors. A selector allows a set of commands (a bitmap over
every Redis 7.0 command and subcommand, plus PhotonDB's own), first arguments of otherwise
denied commands (``+select|0``), key patterns with read/write permissions (``~``, ``%R~``,
``%W~``) and channel patterns (``&``). A command runs when any selector allows the command, all
its keys and all its channels.

The command universe is Redis 7.0.15's own table (``redis_commands.json``), so ``ACL SETUSER``
accepts the same names, ``ACL CAT`` lists the same commands and ``ACL LIST`` describes a user
with the same rules Redis would print (only the order of single-command rules differs: Redis
walks a hash table seeded at random on every start). PhotonDB's internal commands
(``photon.*``) are in ``@admin @slow @dangerous``.

Users live in a file in the data directory (``users.acl``, Redis's ACL file format: one
``ACL LIST`` line per user, passwords as hashes), rewritten atomically after every change.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from photon.util.glob import compile_glob
from photon.util.splitargs import split_args

READ = 1
WRITE = 2
ALL_PERMS = READ | WRITE

# ACLCommandCategories, in Redis's order (ACL CAT, and the order descriptions try them in).
CATEGORIES = ("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
              "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
              "blocking", "dangerous", "connection", "transaction", "scripting")
_CATEGORY_SET = frozenset(CATEGORIES)

# ACL_DENIED_* in Redis's order of relevance (the highest is reported).
OK = 0
DENIED_CMD = 1
DENIED_KEY = 2
DENIED_AUTH = 3
DENIED_CHANNEL = 4
REASONS = {DENIED_CMD: "command", DENIED_KEY: "key", DENIED_CHANNEL: "channel",
           DENIED_AUTH: "auth"}

# Redis's commands_with_channels table: (first channel index, count or -1, pattern?, checked?)
# UNSUBSCRIBE-like commands carry channels too but are never refused.
CHANNEL_COMMANDS = {
    "subscribe": (1, -1, False), "ssubscribe": (1, -1, False),
    "psubscribe": (1, -1, True), "publish": (1, 1, False), "spublish": (1, 1, False),
}

# Key-spec flag names (redis_commands.json) -> the permission the key needs.
_ACCESS_READ = {"access"}
_ACCESS_WRITE = {"insert", "delete", "update"}

SETUSER_ERRORS = {
    "ENOENT": "Unknown command or category name in ACL",
    "EINVAL": "Syntax error",
    "EEXIST": "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and "
              "does not have any effect. Try 'resetkeys' to start with an empty list of "
              "patterns",
    "EISDIR": "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid "
              "and does not have any effect. Try 'resetchannels' to start with an empty list "
              "of channels",
    "ENODEV": "The password you are trying to remove from the user does not exist",
    "EBADMSG": "The password hash must be exactly 64 characters and contain only lowercase "
               "hexadecimal characters",
    "EALREADY": "Duplicate user found. A user can only be defined once in config files",
    "ECHILD": "Allowing first-arg of a subcommand is not supported",
}


class RuleError(Exception):
    """A rule ACLSetUser refuses; ``code`` is Redis's errno name."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def text(self) -> str:
        return SETUSER_ERRORS.get(self.code, "Wrong format")


def hash_password(password: bytes) -> str:
    return hashlib.sha256(password).hexdigest()


def has_spaces(s: bytes) -> bool:
    """ACLStringHasSpaces: isspace() or NUL anywhere."""
    return any(b in b" \t\n\v\f\r\0" for b in s)


def _valid_hash(h: bytes) -> bool:
    return len(h) == 64 and all(b in b"0123456789abcdef" for b in h)


# --- the command universe --------------------------------------------------------------------

class AclCommand:
    __slots__ = ("name", "id", "bit", "categories", "parent", "subs", "noauth", "specs",
                 "arity", "redis", "family")

    def __init__(self, name: str, ident: int, categories: Iterable[str], parent: "AclCommand |"
                 " None", noauth: bool, specs: list, arity: int, redis: bool) -> None:
        self.name = name
        self.id = ident
        self.bit = 1 << ident
        self.categories = frozenset(categories)
        self.parent = parent
        self.subs: dict[str, AclCommand] = {}
        self.noauth = noauth
        self.specs = specs
        self.arity = arity
        self.redis = redis  # part of Redis 7.0's table (counted in descriptions)
        self.family = self.bit  # this command and its subcommands

    def __repr__(self) -> str:
        return f"<AclCommand {self.name}>"


def _photon_categories(cmd: Any) -> list[str]:
    """Categories of commands Redis 7.0 does not have: internal ones are admin-only; others
    get the categories Redis derives from command flags (setImplicitACLCategories)."""
    if cmd.name.startswith("photon."):
        return ["admin", "slow", "dangerous"]
    if cmd.name == "client|setinfo":  # Redis 7.2's declaration
        return ["slow", "connection"]
    cats = []
    flags = cmd.flags
    if "write" in flags:
        cats.append("write")
    if "readonly" in flags:
        cats.append("read")
    if "admin" in flags:
        cats += ["admin", "dangerous"]
    if "pubsub" in flags:
        cats.append("pubsub")
    if "blocking" in flags:
        cats.append("blocking")
    cats.append("fast" if "fast" in flags else "slow")
    return cats


class Universe:
    """Every command ACL rules can name, with its id, categories and key specs."""

    def __init__(self, reference_info: dict[str, list], photon_commands: Iterable[Any]) -> None:
        self.commands: list[AclCommand] = []  # top level, Redis's first, in table order
        self.by_name: dict[str, AclCommand] = {}
        next_id = 0

        def add(name: str, cats, parent, noauth, specs, arity, redis) -> AclCommand:
            nonlocal next_id
            cmd = AclCommand(name, next_id, (c.lstrip("@") for c in cats), parent, noauth,
                             specs, arity, redis)
            next_id += 1
            self.by_name[name] = cmd
            if parent is None:
                self.commands.append(cmd)
            else:
                parent.subs[name.partition("|")[2]] = cmd
                parent.family |= cmd.bit
            return cmd

        for name, entry in reference_info.items():
            if "|" in name:
                continue
            top = add(name, entry[6], None, "no_auth" in entry[2], entry[8], entry[1], True)
            for sub in entry[9]:
                add(sub[0], sub[6], top, "no_auth" in sub[2], sub[8], sub[1], True)
        for cmd in photon_commands:
            for c in [cmd, *cmd.subcommands.values()]:
                if c.name in self.by_name:
                    continue
                parent = self.by_name.get(c.parent.name) if c.parent is not None else None
                add(c.name, _photon_categories(c), parent, c.noauth, [], c.arity, False)
        self.all_bits = (1 << next_id) - 1
        # Bits a +@cat / -@cat rule changes (a container's category covers its subcommands),
        # the commands it touches (their first-args are reset), and the bits counted when a
        # description weighs the category (Redis's table only, so it prints what Redis does).
        self.cat_bits: dict[str, int] = {}
        self.cat_members: dict[str, list[AclCommand]] = {}
        self.cat_count_mask: dict[str, int] = {}
        for cat in CATEGORIES:
            bits = count = 0
            members = []
            for cmd in self.walk():
                if cat in cmd.categories:
                    bits |= cmd.family
                    members.append(cmd)
                    if cmd.redis:
                        count |= cmd.bit
            self.cat_bits[cat] = bits
            self.cat_members[cat] = members
            self.cat_count_mask[cat] = count

    def walk(self) -> Iterable[AclCommand]:
        for cmd in self.commands:
            yield cmd
            yield from cmd.subs.values()

    def lookup(self, name: str) -> AclCommand | None:
        """lookupCommandBySdsLogic: 'get', 'config|get'; None for 'get|x' or 'a|b|c'."""
        parts = name.lower().split("|")
        if len(parts) > 2:
            return None
        base = self.by_name.get(parts[0])
        if base is None or "|" in base.name:
            return None
        if len(parts) == 1:
            return base
        return base.subs.get(parts[1])


@functools.cache
def universe() -> Universe:
    from photon.commands import reference
    from photon.commands.table import COMMANDS

    return Universe(reference.load()["info"], list(COMMANDS.values()))


# --- selectors and users -----------------------------------------------------------------------

@dataclass
class Selector:
    root: bool = False
    allowed: int = 0
    future: bool = False  # Redis's reserved bit: set by +@all, cleared by -@all
    allcommands: bool = False
    allkeys: bool = False
    allchannels: bool = False
    patterns: list[list] = field(default_factory=list)  # [pattern bytes, READ|WRITE]
    channels: list[bytes] = field(default_factory=list)
    firstargs: dict[int, list[bytes]] = field(default_factory=dict)

    def copy(self) -> "Selector":
        return Selector(self.root, self.allowed, self.future, self.allcommands, self.allkeys,
                        self.allchannels, [list(p) for p in self.patterns], list(self.channels),
                        {k: list(v) for k, v in self.firstargs.items()})

    # ACLSetSelectorCommandBit / ACLChangeSelectorPerm
    def _set_bits(self, bits: int, value: bool) -> None:
        if value:
            self.allowed |= bits
        else:
            self.allowed &= ~bits
            self.allcommands = False

    def change_perm(self, cmd: AclCommand, value: bool) -> None:
        self._set_bits(cmd.family, value)
        self.firstargs.pop(cmd.id, None)

    def set_category(self, cat: str, value: bool) -> None:
        u = universe()
        self._set_bits(u.cat_bits[cat], value)
        for cmd in u.cat_members[cat]:
            self.firstargs.pop(cmd.id, None)

    def apply(self, op: bytes) -> None:
        """ACLSetSelector: one rule; raises RuleError."""
        low = op.lower()
        u = universe()
        if low in (b"allkeys", b"~*"):
            self.allkeys = True
            self.patterns.clear()
        elif low == b"resetkeys":
            self.allkeys = False
            self.patterns.clear()
        elif low in (b"allchannels", b"&*"):
            self.allchannels = True
            self.channels.clear()
        elif low == b"resetchannels":
            self.allchannels = False
            self.channels.clear()
        elif low in (b"allcommands", b"+@all"):
            self.allowed = u.all_bits
            self.future = True
            self.allcommands = True
            self.firstargs.clear()
        elif low in (b"nocommands", b"-@all"):
            self.allowed = 0
            self.future = False
            self.allcommands = False
            self.firstargs.clear()
        elif op[:1] in (b"~", b"%"):
            if self.allkeys:
                raise RuleError("EEXIST")
            flags = 0
            offset = 1
            if op[:1] == b"%":
                while offset < len(op):
                    ch = op[offset:offset + 1]
                    if ch.upper() == b"R" and not flags & READ:
                        flags |= READ
                    elif ch.upper() == b"W" and not flags & WRITE:
                        flags |= WRITE
                    elif ch == b"~":
                        offset += 1
                        break
                    else:
                        raise RuleError("EINVAL")
                    offset += 1
                if not flags:
                    raise RuleError("EINVAL")
            else:
                flags = ALL_PERMS
            pattern = op[offset:]
            if has_spaces(pattern):
                raise RuleError("EINVAL")
            for existing in self.patterns:
                if existing[0] == pattern:
                    existing[1] |= flags
                    break
            else:
                self.patterns.append([pattern, flags])
            self.allkeys = False
        elif op[:1] == b"&":
            if self.allchannels:
                raise RuleError("EISDIR")
            pattern = op[1:]
            if has_spaces(pattern):
                raise RuleError("EINVAL")
            if pattern not in self.channels:
                self.channels.append(pattern)
            self.allchannels = False
        elif op[:1] == b"+" and op[1:2] != b"@":
            name = op[1:].decode("utf-8", "surrogateescape")
            if "|" not in name:
                cmd = u.lookup(name)
                if cmd is None:
                    raise RuleError("ENOENT")
                self.change_perm(cmd, True)
            else:
                base_name, _, sub = name.rpartition("|")
                cmd = u.lookup(base_name)
                if cmd is None:
                    raise RuleError("ENOENT")
                if cmd.parent is not None:
                    raise RuleError("ECHILD")
                if not sub:
                    raise RuleError("EINVAL")
                if cmd.subs:
                    subcmd = u.lookup(name)
                    if subcmd is None:
                        raise RuleError("ENOENT")
                    self.change_perm(subcmd, True)
                else:
                    args = self.firstargs.setdefault(cmd.id, [])
                    sub_b = sub.encode("utf-8", "surrogateescape")
                    if not any(a.lower() == sub_b.lower() for a in args):
                        args.append(sub_b)
        elif op[:1] == b"-" and op[1:2] != b"@":
            cmd = u.lookup(op[1:].decode("utf-8", "surrogateescape"))
            if cmd is None:
                raise RuleError("ENOENT")
            self.change_perm(cmd, False)
        elif op[:1] in (b"+", b"-") and op[1:2] == b"@":
            cat = op[2:].decode("utf-8", "surrogateescape").lower()
            if cat not in _CATEGORY_SET:
                raise RuleError("ENOENT")
            self.set_category(cat, op[:1] == b"+")
        else:
            raise RuleError("EINVAL")

    # --- descriptions ----------------------------------------------------------------------

    def describe_commands(self) -> str:
        """ACLDescribeSelectorCommandRules: +@all/-@all, best-fitting categories, then the
        single commands and first-args that make the bitmap exact."""
        u = universe()
        fake = Selector()
        rules = []
        if self.future:
            additive = False
            rules.append("+@all")
            fake.apply(b"+@all")
        else:
            additive = True
            rules.append("-@all")
            fake.apply(b"-@all")
        temp = self.allowed
        applied: set[str] = set()
        while True:
            best = None
            mindiff = 1 << 62
            maxsame = 0
            for cat in CATEGORIES:
                if cat in applied:
                    continue
                mask = u.cat_count_mask[cat]
                on = (temp & mask).bit_count()
                off = mask.bit_count() - on
                diff, same = (off, on) if additive else (on, off)
                if same > diff and (diff < mindiff or (diff == mindiff and same > maxsame)):
                    best, mindiff, maxsame = cat, diff, same
            if best is None:
                break
            fake.set_category(best, additive)
            # The temporary bitmap gets the inverse rule, so the category is not picked again.
            if additive:
                temp &= ~u.cat_bits[best]
            else:
                temp |= u.cat_bits[best]
            rules.append(("+@" if additive else "-@") + best)
            applied.add(best)
        for cmd in u.commands:
            self._describe_single(cmd, fake, rules)
        return " ".join(rules)

    def _describe_single(self, cmd: AclCommand, fake: "Selector", rules: list[str]) -> None:
        userbit = bool(self.allowed & cmd.bit)
        fakebit = bool(fake.allowed & cmd.bit)
        if userbit != fakebit:
            rules.append(("+" if userbit else "-") + cmd.name)
            fake.change_perm(cmd, userbit)
        for sub in cmd.subs.values():
            self._describe_single(sub, fake, rules)
        if not userbit and cmd.id in self.firstargs:
            for arg in self.firstargs[cmd.id]:
                rules.append("+%s|%s" % (cmd.name, arg.decode("utf-8", "surrogateescape")))

    def describe_keys(self) -> str:
        if self.allkeys:
            return "~*"
        return " ".join(_pattern_text(p, f) for p, f in self.patterns)

    def describe_channels(self) -> str:
        if self.allchannels:
            return "&*"
        return " ".join("&" + c.decode("utf-8", "surrogateescape") for c in self.channels)

    def describe(self) -> str:
        """ACLDescribeSelector: keys, channels, commands."""
        parts = []
        if self.allkeys:
            parts.append("~*")
        else:
            parts += [_pattern_text(p, f) for p, f in self.patterns]
        if self.allchannels:
            parts.append("&*")
        else:
            parts.append("resetchannels")
            parts += ["&" + c.decode("utf-8", "surrogateescape") for c in self.channels]
        parts.append(self.describe_commands())
        return " ".join(parts)

    def unrestricted(self) -> bool:
        return (self.allowed == universe().all_bits and self.allkeys and self.allchannels)

    # --- checks --------------------------------------------------------------------------

    def check(self, cmd: AclCommand, argv: list[bytes], keys: Callable[[], list]) -> tuple[
            int, int]:
        """ACLSelectorCheckCmd: (OK or DENIED_*, index of the offending argument)."""
        if not self.allcommands and not cmd.noauth and not self.allowed & cmd.bit:
            args = self.firstargs.get(cmd.id)
            if len(argv) < 2 or not args:
                return DENIED_CMD, 0
            idx = 2 if cmd.parent is not None else 1
            if idx >= len(argv):
                return DENIED_CMD, 0
            first = argv[idx].lower()
            if not any(a.lower() == first for a in args):
                return DENIED_CMD, 0
        if not self.allkeys:
            for pos, need in keys():
                if not self._key_ok(argv[pos], need):
                    return DENIED_KEY, pos
        if not self.allchannels:
            spec = CHANNEL_COMMANDS.get(cmd.name)
            if spec is not None:
                start, count, is_pattern = spec
                stop = len(argv) if count == -1 else min(len(argv), start + count)
                for pos in range(start, stop):
                    if not self._channel_ok(argv[pos], is_pattern):
                        return DENIED_CHANNEL, pos
        return OK, 0

    def _key_ok(self, key: bytes, need: int) -> bool:
        for pattern, flags in self.patterns:
            if flags & need == need and compile_glob(pattern)(key):
                return True
        return False

    def _channel_ok(self, channel: bytes, is_pattern: bool) -> bool:
        return channel_allowed(self.channels, channel, is_pattern)


def channel_allowed(patterns: Iterable[bytes], channel: bytes, is_pattern: bool) -> bool:
    """ACLCheckChannelAgainstList: a PSUBSCRIBE pattern must equal an allowed pattern; a
    channel must match one."""
    for pattern in patterns:
        if (is_pattern and pattern == channel) or (not is_pattern and compile_glob(pattern)(
                channel)):
            return True
    return False


def _pattern_text(pattern: bytes, flags: int) -> str:
    prefix = "~" if flags == ALL_PERMS else "%R~" if flags == READ else "%W~"
    return prefix + pattern.decode("utf-8", "surrogateescape")


FLAG_ORDER = ("on", "off", "nopass", "skip-sanitize-payload", "sanitize-payload")


@dataclass
class User:
    name: bytes
    flags: set[str] = field(default_factory=lambda: {"off"})
    passwords: list[str] = field(default_factory=list)
    selectors: list[Selector] = field(default_factory=lambda: [Selector(root=True)])

    @property
    def root(self) -> Selector:
        return self.selectors[0]

    @property
    def enabled(self) -> bool:
        return "on" in self.flags

    @property
    def nopass(self) -> bool:
        return "nopass" in self.flags

    def copy(self, name: bytes | None = None) -> "User":
        return User(self.name if name is None else name, set(self.flags), list(self.passwords),
                    [s.copy() for s in self.selectors])

    def apply(self, op: bytes) -> None:
        """ACLSetUser: one rule; raises RuleError."""
        if not op:
            return
        low = op.lower()
        flags = self.flags
        if low == b"on":
            flags.add("on")
            flags.discard("off")
        elif low == b"off":
            flags.add("off")
            flags.discard("on")
        elif low == b"skip-sanitize-payload":
            flags.add("skip-sanitize-payload")
            flags.discard("sanitize-payload")
        elif low == b"sanitize-payload":
            flags.discard("skip-sanitize-payload")
            flags.add("sanitize-payload")
        elif low == b"nopass":
            flags.add("nopass")
            self.passwords.clear()
        elif low == b"resetpass":
            flags.discard("nopass")
            self.passwords.clear()
        elif op[:1] in (b">", b"#"):
            if op[:1] == b">":
                h = hash_password(op[1:])
            else:
                if not _valid_hash(op[1:]):
                    raise RuleError("EBADMSG")
                h = op[1:].decode()
            if h not in self.passwords:
                self.passwords.append(h)
            flags.discard("nopass")
        elif op[:1] in (b"<", b"!"):
            if op[:1] == b"<":
                h = hash_password(op[1:])
            else:
                if not _valid_hash(op[1:]):
                    raise RuleError("EBADMSG")
                h = op[1:].decode()
            if h not in self.passwords:
                raise RuleError("ENODEV")
            self.passwords.remove(h)
        elif op[:1] == b"(" and op[-1:] == b")":
            selector = Selector()
            for arg in split_args(op[1:-1]) or []:
                selector.apply(arg)
            self.selectors.append(selector)
        elif low == b"clearselectors":
            del self.selectors[1:]
        elif low == b"reset":
            for rule in (b"resetpass", b"resetkeys", b"resetchannels", b"off",
                         b"sanitize-payload", b"clearselectors", b"-@all"):
                self.apply(rule)
        else:
            self.root.apply(op)

    def check_password(self, password: bytes) -> bool:
        """ACLCheckUserCredentials after the user was found."""
        if not self.enabled:
            return False
        if self.nopass:
            return True
        h = hash_password(password)
        ok = False
        for p in self.passwords:
            ok |= hmac.compare_digest(h, p)
        return ok

    def describe(self) -> str:
        """ACLDescribeUser: what ACL LIST prints after 'user <name> '."""
        parts = [f for f in FLAG_ORDER if f in self.flags]
        parts += ["#" + p for p in self.passwords]
        text = " ".join(parts)
        for sel in self.selectors:
            if sel.root:
                text += (" " if text else "") + sel.describe()
            else:
                text += " (" + sel.describe() + ")"
        return text

    def line(self) -> str:
        return "user %s %s" % (self.name.decode("utf-8", "surrogateescape"), self.describe())

    def unrestricted(self) -> bool:
        return any(s.unrestricted() for s in self.selectors)

    def check(self, cmd: AclCommand, argv: list[bytes]) -> tuple[int, int]:
        """ACLCheckAllUserCommandPerm: OK when a selector allows the command; else the most
        relevant refusal and the argument it is about."""
        cache: list = []

        def keys() -> list:
            if not cache:
                cache.append(command_keys(cmd, argv))
            return cache[0]

        relevant, last_idx = DENIED_CMD, 0
        for sel in self.selectors:
            verdict, idx = sel.check(cmd, argv, keys)
            if verdict == OK:
                return OK, 0
            if verdict > relevant or (verdict == relevant and idx > last_idx):
                relevant, last_idx = verdict, idx
        return relevant, last_idx


def merge_selector_args(args: list[bytes]) -> tuple[list[bytes] | None, int]:
    """ACLMergeSelectorArguments: '(~a*' '+get)' -> '(~a* +get)'; (None, index) when a '('
    is never closed."""
    merged: list[bytes] = []
    start = -1
    selector = b""
    for j, op in enumerate(args):
        if op[:1] == b"(" and op[-1:] != b")":
            selector = op
            start = j
            continue
        if start != -1:
            selector += b" " + op
            if op[-1:] == b")":
                start = -1
                merged.append(selector)
            continue
        merged.append(op)
    if start != -1:
        return None, start
    return merged, 0


def new_default_user() -> User:
    """ACLCreateDefaultUser."""
    user = User(b"default")
    for rule in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
        user.apply(rule)
    return user


# --- keys of a command, from Redis's key specs ---------------------------------------------

def _spec_need(flags: Iterable[str]) -> int:
    need = 0
    for f in flags:
        if f in _ACCESS_READ:
            need |= READ
        elif f in _ACCESS_WRITE:
            need |= WRITE
    return need


def command_keys(cmd: AclCommand, argv: list[bytes]) -> list[tuple[int, int]]:
    """(position, needed permission) of every key argument: getKeysUsingKeySpecs over
    Redis's key specs; the command's own key finder (flags unknown: any pattern will do, as
    Redis's getkeys procs) when a spec cannot be followed."""
    specs = cmd.specs
    if not specs:
        return [] if cmd.redis else _fallback_keys(cmd, argv)
    if cmd.name == "set":  # variable flags (setGetKeys)
        get = any(a.lower() == b"get" for a in argv[3:])
        return [(1, READ | WRITE if get else WRITE)] if len(argv) > 1 else []
    if cmd.name == "bitfield":  # variable flags (bitfieldGetKeys)
        ro = all(a.lower() != b"set" and a.lower() != b"incrby" for a in argv[2:])
        return [(1, READ if ro else READ | WRITE)] if len(argv) > 1 else []
    argc = len(argv)
    out: list[tuple[int, int]] = []
    for spec in specs:
        flags = spec["flags"]
        if "not_key" in flags:
            continue
        bs = spec["begin_search"]
        fk = spec["find_keys"]
        if bs["type"] == "index":
            first = bs["spec"]["index"]
        elif bs["type"] == "keyword":
            kw = bs["spec"]["keyword"].encode().lower()
            startfrom = bs["spec"]["startfrom"]
            first = 0
            if startfrom > 0:
                rng = range(startfrom, argc)
            else:
                rng = range(argc + startfrom, 0, -1)
            for i in rng:
                if i >= argc or i < 1:
                    break
                if argv[i].lower() == kw:
                    first = i + 1
                    break
            if not first:
                continue
        else:
            return _fallback_keys(cmd, argv)
        if fk["type"] == "range":
            step = fk["spec"]["keystep"]
            lastkey = fk["spec"]["lastkey"]
            limit = fk["spec"]["limit"]
            if lastkey >= 0:
                last = first + lastkey
            elif not limit:
                last = argc + lastkey
            else:
                last = first + ((argc - first) // limit + lastkey)
        elif fk["type"] == "keynum":
            step = fk["spec"]["keystep"]
            idx = first + fk["spec"]["keynumidx"]
            if fk["spec"]["keynumidx"] >= argc or idx >= argc:
                return _fallback_keys(cmd, argv)
            from photon.util.numbers import string2ll

            numkeys = string2ll(argv[idx])
            if numkeys is None or numkeys < 0:
                return _fallback_keys(cmd, argv)
            first += fk["spec"]["firstkey"]
            last = first + numkeys - 1
        else:
            return _fallback_keys(cmd, argv)
        if numkeys_invalid(first, last, argc):
            if last < first and fk["type"] == "keynum":
                continue  # zero keys
            return _fallback_keys(cmd, argv)
        need = _spec_need(flags)
        for i in range(first, last + 1, step or 1):
            if i >= argc:
                break
            out.append((i, need))
        if "incomplete" in flags:
            return _fallback_keys(cmd, argv)
    return out


def numkeys_invalid(first: int, last: int, argc: int) -> bool:
    return last >= argc or last < first or first >= argc


def _fallback_keys(cmd: AclCommand, argv: list[bytes]) -> list[tuple[int, int]]:
    from photon.commands.table import lookup

    photon_cmd = lookup(argv)
    if photon_cmd is None:
        return []
    try:
        positions = photon_cmd.key_positions(argv)
    except Exception:  # a malformed request: the command itself will refuse it
        return []
    return [(p, 0) for p in positions if 0 < p < len(argv)]


# --- the user table and its file ----------------------------------------------------------------

class AclError(Exception):
    pass


class Users:
    """All users, sorted by name as Redis's rax; ``default`` always exists."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.users: dict[bytes, User] = {b"default": new_default_user()}
        self.log: list[dict] = []
        self.log_max = 128

    def get(self, name: bytes) -> User | None:
        return self.users.get(name)

    @property
    def default(self) -> User:
        return self.users[b"default"]

    def sorted(self) -> list[User]:
        return [self.users[k] for k in sorted(self.users)]

    # ACL SETUSER: all rules or none
    def setuser(self, name: bytes, rules: list[bytes]) -> tuple[User | None, User]:
        """Apply rules to a copy of the user (or a new one) and install it; returns
        (previous user or None, new user). Raises AclError with Redis's reply text."""
        merged, bad = merge_selector_args(rules)
        if merged is None:
            raise AclError("ERR Unmatched parenthesis in acl selector starting at '%s'." %
                           rules[bad].decode("utf-8", "surrogateescape"))
        old = self.users.get(name)
        temp = old.copy() if old is not None else User(name)
        for rule in merged:
            try:
                temp.apply(rule)
            except RuleError as e:
                raise AclError("ERR Error in ACL SETUSER modifier '%s': %s" % (
                    rule.decode("utf-8", "surrogateescape"), e.text)) from None
        self.users[name] = temp
        return old, temp

    def deluser(self, name: bytes) -> User | None:
        return self.users.pop(name, None)

    # --- the ACL file (Redis's format) -------------------------------------------------------

    def dump(self) -> str:
        return "".join(u.line() + "\n" for u in self.sorted())

    def save(self) -> None:
        if self.path is None:
            raise OSError("no ACL file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}-{int(time.time() * 1000)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, self.dump().encode("utf-8", "surrogateescape"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    def parse(self, text: bytes, filename: str) -> dict[bytes, User]:
        """ACLLoadFromFile's checks; raises AclError with every problem in one line."""
        users: dict[bytes, User] = {}
        errors = ""
        for i, raw in enumerate(text.split(b"\n"), 1):
            line = raw.strip(b" \t\r\n")
            if not line:
                continue
            argv = [a for a in line.split(b" ") if a]
            if not argv:
                continue
            if argv[0] != b"user" or len(argv) < 2:
                errors += ("%s:%d should start with user keyword followed by the username. "
                           % (filename, i))
                continue
            name = argv[1]
            if has_spaces(name):
                errors += "'%s:%d: username '%s' contains invalid characters. " % (
                    filename, i, name.decode("utf-8", "surrogateescape"))
                continue
            if name in users:
                errors += "WARNING: Duplicate user '%s' found on line %d. " % (
                    name.decode("utf-8", "surrogateescape"), i)
                continue
            user = User(name)
            users[name] = user
            merged, _ = merge_selector_args(argv[2:])
            if merged is None:
                errors += "%s:%d: Unmatched parenthesis in selector definition." % (filename, i)
                continue
            for rule in merged:
                try:
                    user.apply(rule.strip(b"\t\r\n"))
                except RuleError as e:
                    errors += "%s:%d: %s. " % (filename, i, e.text)
        if errors:
            raise AclError(errors + "WARNING: ACL errors detected, no change to the previously "
                                    "active ACL rules was performed")
        if b"default" not in users:
            users[b"default"] = new_default_user()
        return users

    def load(self) -> None:
        """ACL LOAD: replace every user with the file's, or change nothing."""
        if self.path is None:
            raise AclError("no ACL file")
        try:
            text = self.path.read_bytes()
        except OSError as e:
            raise AclError("Error loading ACLs, opening file '%s': %s" % (
                self.path, e.strerror)) from None
        self.users = self.parse(text, str(self.path))

    # --- ACL LOG -------------------------------------------------------------------------

    def add_log(self, reason: int, context: str, obj: bytes, username: bytes,
                client_info: str) -> None:
        now = time.time()
        for i, entry in enumerate(self.log[:10]):
            if (entry["reason"] == reason and entry["context"] == context
                    and abs(now - entry["ctime"]) <= 60 and entry["object"] == obj
                    and entry["username"] == username):
                entry["count"] += 1
                entry["ctime"] = now
                entry["cinfo"] = client_info
                del self.log[i]
                self.log.insert(0, entry)
                return
        self.log.insert(0, {"count": 1, "reason": reason, "context": context, "object": obj,
                            "username": username, "ctime": now, "cinfo": client_info})
        del self.log[self.log_max:]
