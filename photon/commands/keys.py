"""Commands on keys of any type (Redis's generic group, db.c and expire.c)."""
from __future__ import annotations

import random
import re
from collections import OrderedDict
from collections.abc import Callable

from photon.commands.table import command, container
from photon.errors import DB_RANGE, NO_SUCH_KEY, RedisError, syntax
from photon.keyspace import encoding as enc
from photon.keyspace.encoding import TYPE_BY_NAME, TYPE_NAMES, Meta
from photon.keyspace.keyspace import copy_into
from photon.protocol.reply import OK, Status
from photon.util.glob import compile_glob
from photon.util.numbers import INT64_MAX, INT64_MIN, parse_int

# OBJECT ENCODING per type; each type's module registers its own.
ENCODINGS: dict[int, Callable] = {}


@command("del", -2, "write", 1, -1, 1)
def del_(c, argv):
    ks = c.server.keyspace
    return sum(ks.delete(c.db, key) for key in argv[1:])


@command("unlink", -2, "write fast", 1, -1, 1)
def unlink(c, argv):
    return del_(c, argv)


@command("exists", -2, "readonly fast", 1, -1, 1)
def exists(c, argv):
    ks = c.server.keyspace
    return sum(ks.lookup(c.db, key) is not None for key in argv[1:])


@command("touch", -2, "readonly fast", 1, -1, 1)
def touch(c, argv):
    return exists(c, argv)


@command("type", 2, "readonly fast", 1, 1, 1)
def type_(c, argv):
    meta = c.server.keyspace.lookup(c.db, argv[1])
    return Status(b"none" if meta is None else TYPE_NAMES[meta.type])


INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1


def get_int_arg(arg: bytes) -> int:
    """getIntFromObjectOrReply: a long long, then Redis's own range message for an int."""
    v = parse_int(arg)
    if not INT_MIN <= v <= INT_MAX:
        raise RedisError("ERR value is out of range, value must between %d and %d" %
                         (INT_MIN, INT_MAX))
    return v


def select_db(c, arg: bytes) -> int:
    db = get_int_arg(arg)
    if not 0 <= db < c.server.keyspace.databases:
        raise RedisError(DB_RANGE)
    return db


def c_string(arg: bytes) -> str:
    """An argument as Redis prints it with %s: up to its first NUL byte, bytes kept as is."""
    return arg.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _rename(c, argv, nx: bool):
    ks = c.server.keyspace
    src, dst = argv[1], argv[2]
    meta = ks.lookup(c.db, src)
    if meta is None:
        raise RedisError(NO_SUCH_KEY)
    if src == dst:
        return 0 if nx else OK
    old_dst = ks.lookup(c.db, dst)
    if old_dst is not None and nx:
        return 0
    copy_into(ks, meta, c.db, src, c.db, dst, old_dst)
    ks.delete(c.db, src)
    return 1 if nx else OK


@command("rename", 3, "write", 1, 2, 1)
def rename(c, argv):
    return _rename(c, argv, False)


@command("renamenx", 3, "write fast", 1, 2, 1)
def renamenx(c, argv):
    return _rename(c, argv, True)


@command("copy", -3, "write denyoom", 1, 2, 1)
def copy(c, argv):
    ks = c.server.keyspace
    dst_db = c.db
    replace = False
    i = 3
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"replace":
            replace = True
        elif opt == b"db" and i + 1 < len(argv):
            dst_db = select_db(c, argv[i + 1])
            i += 1
        else:
            raise syntax()
        i += 1
    src, dst = argv[1], argv[2]
    if src == dst and dst_db == c.db:
        raise RedisError("ERR source and destination objects are the same")
    meta = ks.lookup(c.db, src)
    if meta is None:
        return 0
    old_dst = ks.lookup(dst_db, dst)
    if old_dst is not None and not replace:
        return 0
    copy_into(ks, meta, c.db, src, dst_db, dst, old_dst)
    return 1


@command("move", 3, "write fast", 1, 1, 1)
def move(c, argv):
    ks = c.server.keyspace
    db = select_db(c, argv[2])
    if db == c.db:
        raise RedisError("ERR source and destination objects are the same")
    meta = ks.lookup(c.db, argv[1])
    if meta is None or ks.lookup(db, argv[1]) is not None:
        return 0
    copy_into(ks, meta, c.db, argv[1], db, argv[1], None)
    ks.delete(c.db, argv[1])
    return 1


def set_expire(ks, db: int, key: bytes, meta: Meta, expire: int) -> None:
    new = Meta(meta.type, meta.flags, expire, meta.version, meta.size, meta.head, meta.tail,
               meta.value)
    ks.put(db, key, new, meta)


def _expire(c, argv, unit: int, absolute: bool):
    nx = xx = gt = lt = False
    for arg in argv[3:]:
        opt = arg.lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt == b"gt":
            gt = True
        elif opt == b"lt":
            lt = True
        else:
            raise RedisError("ERR Unsupported option %s" % c_string(arg))
    if nx and (xx or gt or lt):
        raise RedisError("ERR NX and XX, GT or LT options at the same time are not compatible")
    if gt and lt:
        raise RedisError("ERR GT and LT options at the same time are not compatible")
    when = parse_int(argv[2])
    name = argv[0].lower().decode()
    if when > INT64_MAX // unit or when < -(-INT64_MIN // unit):  # C division truncates
        raise RedisError(f"ERR invalid expire time in '{name}' command")
    when *= unit
    ks = c.server.keyspace
    if not absolute:
        if when > INT64_MAX - ks.clock_ms:
            raise RedisError(f"ERR invalid expire time in '{name}' command")
        when += ks.clock_ms
    meta = ks.lookup(c.db, argv[1])
    if meta is None:
        return 0
    current = meta.expire
    if nx and current:
        return 0
    if xx and not current:
        return 0
    if gt and (not current or when <= current):
        return 0
    if lt and current and when >= current:
        return 0
    if when <= ks.clock_ms:
        ks.delete(c.db, argv[1])
        return 1
    set_expire(ks, c.db, argv[1], meta, when)
    return 1


@command("expire", -3, "write fast", 1, 1, 1)
def expire(c, argv):
    return _expire(c, argv, 1000, False)


@command("pexpire", -3, "write fast", 1, 1, 1)
def pexpire(c, argv):
    return _expire(c, argv, 1, False)


@command("expireat", -3, "write fast", 1, 1, 1)
def expireat(c, argv):
    return _expire(c, argv, 1000, True)


@command("pexpireat", -3, "write fast", 1, 1, 1)
def pexpireat(c, argv):
    return _expire(c, argv, 1, True)


def _ttl(c, key: bytes, ms: bool, absolute: bool) -> int:
    ks = c.server.keyspace
    meta = ks.lookup(c.db, key)
    if meta is None:
        return -2
    if not meta.expire:
        return -1
    left = meta.expire if absolute else max(0, meta.expire - ks.clock_ms)
    return left if ms else (left + 500) // 1000


@command("ttl", 2, "readonly fast", 1, 1, 1)
def ttl(c, argv):
    return _ttl(c, argv[1], False, False)


@command("pttl", 2, "readonly fast", 1, 1, 1)
def pttl(c, argv):
    return _ttl(c, argv[1], True, False)


@command("expiretime", 2, "readonly fast", 1, 1, 1)
def expiretime(c, argv):
    return _ttl(c, argv[1], False, True)


@command("pexpiretime", 2, "readonly fast", 1, 1, 1)
def pexpiretime(c, argv):
    return _ttl(c, argv[1], True, True)


@command("persist", 2, "write fast", 1, 1, 1)
def persist(c, argv):
    ks = c.server.keyspace
    meta = ks.lookup(c.db, argv[1])
    if meta is None or not meta.expire:
        return 0
    set_expire(ks, c.db, argv[1], meta, 0)
    return 1


def live_keys(c, db: int):
    """(key, raw metadata) of every live key in a database, shard by shard."""
    ks = c.server.keyspace
    for shard in range(len(ks.shards)):
        for key, raw in ks.iter_keys(db, shard):
            if ks.is_live(raw):
                yield key, raw


def key_matcher(pattern: bytes):
    """KEYS / SCAN MATCH: Redis's stringmatchlen, which never matches the empty key name
    unless the pattern is empty too (only the '*' shortcut returns it)."""
    return compile_glob(pattern)


@command("keys", 2, "readonly", 0, 0, 0)
def keys(c, argv):
    match = key_matcher(argv[1])
    return [key for key, _ in live_keys(c, c.db) if match(key)]


@command("dbsize", 1, "readonly fast", 0, 0, 0)
def dbsize(c, argv):
    return c.server.keyspace.count_keys(c.db)


@command("randomkey", 1, "readonly", 0, 0, 0)
def randomkey(c, argv):
    ks = c.server.keyspace
    for _ in range(100):
        counts = [s.keys[c.db] for s in ks.shards]
        total = sum(counts)
        if not total:
            return None
        shard = random.choices(range(len(counts)), weights=counts)[0]
        prefix = enc.meta_prefix(c.db)
        stop = enc.prefix_end(prefix)
        probe = prefix + random.randbytes(4)
        found = next(iter(ks.ritems(shard, probe, stop)), None)
        if found is None:
            found = next(iter(ks.ritems(shard, prefix, stop)), None)
        if found is None:
            continue
        key = found[0][2:]
        if ks.is_live(found[1]):
            return key
        ks.lookup(c.db, key)  # deletes it
        ks.commit()
    return None


def _flush_arg(argv: list[bytes]) -> None:
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() not in (b"async", b"sync")):
        raise syntax()


def flush(c, db: int | None) -> None:
    server = c.server
    server.watches.touch_all(db, only_existing=True)
    server.keyspace.flush(db)


@command("flushdb", -1, "write", 0, 0, 0)
def flushdb(c, argv):
    _flush_arg(argv)
    flush(c, c.db)
    return OK


@command("flushall", -1, "write", 0, 0, 0)
def flushall(c, argv):
    _flush_arg(argv)
    flush(c, None)
    return OK


# --- SCAN: cursors name a position kept on the server (LevelDB has no numeric positions) ---

class Cursors:
    """Cursor numbers -> (what, position), bounded; an unknown cursor starts over."""

    def __init__(self, capacity: int = 65536) -> None:
        self._positions: OrderedDict[int, tuple] = OrderedDict()
        self._next = random.randrange(1 << 20, 1 << 40)
        self.capacity = capacity

    def save(self, position: tuple) -> int:
        self._next += 1
        self._positions[self._next] = position
        if len(self._positions) > self.capacity:
            self._positions.popitem(last=False)
        return self._next

    def load(self, cursor: int) -> tuple | None:
        return self._positions.get(cursor)


CURSORS = Cursors()


_CURSOR = re.compile(rb"[+-]?[0-9]+")


def parse_cursor(arg: bytes) -> int:
    """strtoul as Redis's parseScanCursorOrReply uses it: decimal digits with an optional
    sign (a minus wraps around), nothing before or after, at most ULONG_MAX in magnitude;
    the empty string reads as 0."""
    if not arg:
        return 0
    if _CURSOR.fullmatch(arg) is None:
        raise RedisError("ERR invalid cursor")
    v = int(arg)
    if abs(v) >= 1 << 64:
        raise RedisError("ERR invalid cursor")
    return v % (1 << 64)


def parse_scan_options(argv: list[bytes], start: int, allow_type: bool):
    """MATCH / COUNT (/ TYPE) options, as Redis's scanGenericCommand reads them."""
    match = None
    count = 10
    type_filter: int | None = None
    i = start
    while i < len(argv):
        opt = argv[i].lower()
        if i + 1 >= len(argv):
            raise syntax()
        if opt == b"count":
            count = parse_int(argv[i + 1])
            if count < 1:
                raise syntax()
        elif opt == b"match":
            match = argv[i + 1]
        elif opt == b"type" and allow_type:
            type_filter = TYPE_BY_NAME.get(argv[i + 1].lower(), -1)
        else:
            raise syntax()
        i += 2
    return match, count, type_filter


@command("scan", -2, "readonly", 0, 0, 0)
def scan(c, argv):
    cursor = parse_cursor(argv[1])
    pattern, count, type_filter = parse_scan_options(argv, 2, True)
    match = key_matcher(pattern) if pattern is not None and pattern != b"*" else None
    ks = c.server.keyspace
    position = CURSORS.load(cursor) if cursor else None
    shard, after = (0, None) if position is None or position[0] != c.db else position[1:]
    out: list[bytes] = []
    seen = 0
    while shard < len(ks.shards):
        for key, raw in ks.iter_keys(c.db, shard, after):
            after = key
            seen += 1
            if (ks.is_live(raw) and (match is None or match(key))
                    and (type_filter is None or raw[0] == type_filter)):
                out.append(key)
            if seen >= count:
                return [b"%d" % CURSORS.save((c.db, shard, after)), out]
        shard += 1
        after = None
    return [b"0", out]


# --- OBJECT --------------------------------------------------------------------------

container("object", -2)


@command("object|encoding", 3, "readonly", 2, 2, 1)
def object_encoding(c, argv):
    ks = c.server.keyspace
    meta = ks.lookup(c.db, argv[2])
    if meta is None:
        return None
    return ENCODINGS[meta.type](ks, c.db, argv[2], meta)


def _object_lookup(c, key: bytes):
    return c.server.keyspace.lookup(c.db, key)


@command("object|freq", 3, "readonly", 2, 2, 1)
def object_freq(c, argv):
    if _object_lookup(c, argv[2]) is None:
        return None
    # Access frequencies exist only under an LFU maxmemory policy; photon has no eviction.
    raise RedisError("ERR An LFU maxmemory policy is not selected, access frequency not "
                     "tracked. Please note that when switching between policies at runtime LRU "
                     "and LFU data will take some time to adjust.")


@command("object|idletime", 3, "readonly", 2, 2, 1)
def object_idletime(c, argv):
    # Keys live in LevelDB without an access clock: every key reads as just used.
    return None if _object_lookup(c, argv[2]) is None else 0


OBJ_SHARED_REFCOUNT = (1 << 31) - 1


@command("object|refcount", 3, "readonly", 2, 2, 1)
def object_refcount(c, argv):
    meta = _object_lookup(c, argv[2])
    if meta is None:
        return None
    if meta.type == enc.STRING:
        from photon.commands.strings import string_encoding

        # Redis shares the integers 0..9999 between keys (OBJ_SHARED_INTEGERS).
        if string_encoding(meta) == b"int" and 0 <= int(meta.value) < 10000:
            return OBJ_SHARED_REFCOUNT
    return 1


@command("object|help", 2, "loading stale", 0, 0, 0)
def object_help(c, argv):
    return [Status(line) for line in (
        b"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        b"ENCODING <key>",
        b"    Return the kind of internal representation used in order to store the value",
        b"    associated with a <key>.",
        b"FREQ <key>",
        b"    Return the access frequency index of the <key>. The returned integer is",
        b"    proportional to the logarithm of the recent access frequency of the key.",
        b"IDLETIME <key>",
        b"    Return the idle time of the <key>, that is the approximated number of",
        b"    seconds elapsed since the last access to the key.",
        b"REFCOUNT <key>",
        b"    Return the number of references of the value associated with the specified",
        b"    <key>.",
        b"HELP",
        b"    Prints this help.")]


def _string_encoding(ks, db, key, meta):
    from photon.commands.strings import string_encoding

    return string_encoding(meta)


ENCODINGS[enc.STRING] = _string_encoding
