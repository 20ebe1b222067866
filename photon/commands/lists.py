"""List commands (Redis's t_list.c) over Kvrocks's list layout, and the blocking pops.

Element ``i`` of a list lives under the subkey ``pack('>Q', head + i)``. A new list starts
with head = tail = 2**63; LPUSH writes at head - 1 and moves head down, RPUSH writes at tail
and moves tail up, and size = tail - head. So pushes, pops, LINDEX and LSET are point
operations and LRANGE is one range scan. LINSERT and LREM shift the shorter side of the list
by rewriting it, as Kvrocks does (O(n) in the part moved).
"""
from __future__ import annotations

import struct

from photon.commands import blocking
from photon.commands.keys import ENCODINGS
from photon.commands.table import command
from photon.errors import RedisError, syntax
from photon.keyspace.encoding import LIST
from photon.keyspace.keyspace import Collection
from photon.protocol.reply import NULL_ARRAY, OK
from photon.util.numbers import INT64_MIN, parse_int, string2ll
from photon.util.ranges import rank_range

BASE = 1 << 63
_pack = struct.Struct(">Q").pack
_unpack = struct.Struct(">Q").unpack


# --- the list value ---------------------------------------------------------------------------

def open_list(c, key: bytes, db: int | None = None) -> Collection | None:
    """The list at key (None if missing); WRONGTYPE for another type."""
    return Collection.open(c.server.keyspace, c.db if db is None else db, key, LIST)


def open_or_create(ks, db: int, key: bytes) -> Collection:
    coll = Collection.open_or_create(ks, db, key, LIST)
    if coll.old is None:
        coll.meta.head = coll.meta.tail = BASE
    return coll


def push(coll: Collection, values, left: bool) -> None:
    m = coll.meta
    if left:
        head = m.head
        for v in values:
            head -= 1
            coll.put(_pack(head), v)
        m.head = head
    else:
        tail = m.tail
        for v in values:
            coll.put(_pack(tail), v)
            tail += 1
        m.tail = tail
    m.size = m.tail - m.head


def pop(coll: Collection, left: bool, count: int = 1) -> list[bytes]:
    """Remove and return up to count elements from one end (head first for the left end,
    tail first for the right)."""
    m = coll.meta
    n = min(count, m.size)
    if n <= 0:
        return []
    if n == 1:
        sub = _pack(m.head if left else m.tail - 1)
        v = coll.get(sub)
        coll.delete(sub)
        out = [v if v is not None else b""]
    else:
        if left:
            items = list(coll.items(_pack(m.head), _pack(m.head + n)))
        else:
            items = list(_items(coll, m.tail - n, m.tail, True))
        out = []
        for sub, v in items:
            coll.delete(sub)
            out.append(v)
    if left:
        m.head += n
    else:
        m.tail -= n
    m.size = m.tail - m.head
    return out


def element(coll: Collection, index: int) -> bytes | None:
    """The element at a Redis index (negative from the tail), None when out of range."""
    size = coll.meta.size
    if index < 0:
        index += size
    if index < 0 or index >= size:
        return None
    return coll.get(_pack(coll.meta.head + index))


def scan(coll: Collection, start: int = 0, stop: int | None = None, reverse: bool = False):
    """(index, element) for indexes start <= i < stop, from the head or (reverse) the tail."""
    m = coll.meta
    if stop is None or stop > m.size:
        stop = m.size
    if start >= stop:
        return
    head = m.head
    for sub, v in _items(coll, head + start, head + stop, reverse):
        yield _unpack(sub)[0] - head, v


def _items(coll: Collection, lo: int, hi: int, reverse: bool = False):
    """(subkey, element) for slots lo <= slot < hi.

    A reverse scan starts one slot lower and drops that slot: plyvel 1.5.1's reverse iterator
    with both bounds yields nothing when the last key of the range equals ``start``.
    """
    if not reverse:
        return coll.items(_pack(lo), _pack(hi))
    low = _pack(lo)
    it = coll.items(_pack(lo - 1) if lo > 0 else b"", _pack(hi), True)
    return (kv for kv in it if kv[0] >= low)


def values(coll: Collection, start: int = 0, stop: int | None = None) -> list[bytes]:
    """The elements start <= i < stop, head first: one forward range scan."""
    m = coll.meta
    if stop is None or stop > m.size:
        stop = m.size
    if start >= stop:
        return []
    p = coll.prefix
    return [v for _, v in coll.ks.ritems(coll.shard, p + _pack(m.head + start),
                                         p + _pack(m.head + stop))]


def remove_indexes(coll: Collection, gone: list[int]) -> None:
    """Delete the elements at the given (ascending) indexes and close the gaps by moving the
    shorter side: the part after the first removed element shifts left, or the part before
    the last one shifts right."""
    if not gone:
        return
    m = coll.meta
    k = len(gone)
    if k == m.size:
        m.size = 0  # save() drops the key; its subkeys are reclaimed in the background
        return
    drop = set(gone)
    if m.size - 1 - gone[0] <= gone[-1]:
        # Survivors after the first removed index move left; the last k slots go.
        first = gone[0]
        keep = [v for i, v in scan(coll, first) if i not in drop]
        for j, v in enumerate(keep):
            coll.put(_pack(m.head + first + j), v)
        for j in range(1, k + 1):
            coll.delete(_pack(m.tail - j))
        m.tail -= k
    else:
        # Survivors before the last removed index move right; the first k slots go.
        last = gone[-1]
        keep = [v for i, v in scan(coll, 0, last + 1) if i not in drop]
        base = m.head + last + 1 - len(keep)
        for j, v in enumerate(keep):
            coll.put(_pack(base + j), v)
        for j in range(k):
            coll.delete(_pack(m.head + j))
        m.head += k
    m.size = m.tail - m.head


def insert_at(coll: Collection, pos: int, value: bytes, before: list[bytes] | None = None) -> None:
    """Insert value so it becomes element pos, shifting the shorter side by one.
    ``before`` may hold the elements 0..pos-1 already read."""
    m = coll.meta
    if pos <= m.size - pos:
        if before is None:
            before = values(coll, 0, pos)
        for j, v in enumerate(before):
            coll.put(_pack(m.head - 1 + j), v)
        m.head -= 1
    else:
        after = list(scan(coll, pos, reverse=True))
        for i, v in after:
            coll.put(_pack(m.head + i + 1), v)
        m.tail += 1
    coll.put(_pack(m.head + pos), value)
    m.size = m.tail - m.head


def list_encoding(ks, db, key, meta) -> bytes:
    return b"quicklist"  # Redis 7.0 keeps every list as a quicklist


ENCODINGS[LIST] = list_encoding


# --- argument helpers -------------------------------------------------------------------------

def _where(arg: bytes) -> bool:
    """LEFT -> True, RIGHT -> False, else a syntax error."""
    a = arg.lower()
    if a == b"left":
        return True
    if a == b"right":
        return False
    raise syntax()


def _positive(arg: bytes, error: str) -> int:
    v = string2ll(arg)
    if v is None or v < 0:
        raise RedisError(error)
    return v


def _range_long(arg: bytes, low: int, error: str) -> int:
    v = string2ll(arg)
    if v is None or v < low:
        raise RedisError(error)
    return v


# --- push -------------------------------------------------------------------------------------

def _push_command(c, argv, left: bool, only_existing: bool):
    ks = c.server.keyspace
    key = argv[1]
    if only_existing:
        coll = Collection.open(ks, c.db, key, LIST)
        if coll is None:
            return 0
    else:
        coll = open_or_create(ks, c.db, key)
    push(coll, argv[2:], left)
    coll.save()
    return coll.meta.size


@command("lpush", -3, "write denyoom fast", 1, 1, 1)
def lpush(c, argv):
    return _push_command(c, argv, True, False)


@command("rpush", -3, "write denyoom fast", 1, 1, 1)
def rpush(c, argv):
    return _push_command(c, argv, False, False)


@command("lpushx", -3, "write denyoom fast", 1, 1, 1)
def lpushx(c, argv):
    return _push_command(c, argv, True, True)


@command("rpushx", -3, "write denyoom fast", 1, 1, 1)
def rpushx(c, argv):
    return _push_command(c, argv, False, True)


# --- pop --------------------------------------------------------------------------------------

def _pop_command(c, argv, left: bool):
    if len(argv) > 3:
        raise RedisError("ERR wrong number of arguments for '%s' command" % argv[0].decode(
            "utf-8", "replace").lower())
    has_count = len(argv) == 3
    count = _positive(argv[2], "ERR value is out of range, must be positive") if has_count \
        else 1
    coll = open_list(c, argv[1])
    if coll is None:
        return NULL_ARRAY if has_count else None
    if has_count and count == 0:
        return []
    out = pop(coll, left, count)
    coll.save()
    return out if has_count else out[0]


@command("lpop", -2, "write fast", 1, 1, 1)
def lpop(c, argv):
    return _pop_command(c, argv, True)


@command("rpop", -2, "write fast", 1, 1, 1)
def rpop(c, argv):
    return _pop_command(c, argv, False)


# --- reads ------------------------------------------------------------------------------------

@command("llen", 2, "readonly fast", 1, 1, 1)
def llen(c, argv):
    coll = open_list(c, argv[1])
    return 0 if coll is None else coll.meta.size


@command("lindex", 3, "readonly", 1, 1, 1)
def lindex(c, argv):
    coll = open_list(c, argv[1])
    if coll is None:
        return None
    return element(coll, parse_int(argv[2]))


def _clamp_range(start: int, end: int, size: int) -> tuple[int, int] | None:
    """LRANGE/LTRIM's range as a half-open [start, stop), or None when empty."""
    r = rank_range(start, end, size)
    return None if r is None else (r[0], r[1] + 1)


@command("lrange", 4, "readonly", 1, 1, 1)
def lrange(c, argv):
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    coll = open_list(c, argv[1])
    if coll is None:
        return []
    r = _clamp_range(start, end, coll.meta.size)
    if r is None:
        return []
    return values(coll, *r)


@command("lpos", -3, "readonly", 1, 1, 1)
def lpos(c, argv):
    rank, count, maxlen = 1, -1, 0
    i = 3
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        more = i + 1 < n
        if opt == b"rank" and more:
            i += 1
            rank = parse_int(argv[i])
            if rank == 0:
                raise RedisError(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
                    "second ... or use negative to start from the end of the list")
        elif opt == b"count" and more:
            i += 1
            count = _positive(argv[i], "ERR COUNT can't be negative")
        elif opt == b"maxlen" and more:
            i += 1
            maxlen = _positive(argv[i], "ERR MAXLEN can't be negative")
        else:
            raise syntax()
        i += 1
    coll = open_list(c, argv[1])
    if coll is None:
        return [] if count != -1 else None
    reverse = rank < 0
    if rank == INT64_MIN:
        # Redis negates a negative rank in a C long: LONG_MIN stays negative, so every match
        # counts, and "matches - rank + 1 >= count" overflows and never stops a COUNT.
        rank = 1
        if count > 0:
            count = 0
    else:
        rank = abs(rank)
    target = argv[2]
    size = coll.meta.size
    limit = min(maxlen, size) if maxlen else size
    found = []
    matches = 0
    if reverse:
        it = scan(coll, size - limit, size, reverse=True)
    else:
        it = scan(coll, 0, limit)
    for idx, v in it:
        if v == target:
            matches += 1
            if matches >= rank:
                found.append(idx)
                if count == -1 or (count and len(found) == count):
                    break
    if count == -1:
        return found[0] if found else None
    return found


# --- in-place edits ---------------------------------------------------------------------------

@command("lset", 4, "write denyoom", 1, 1, 1)
def lset(c, argv):
    coll = open_list(c, argv[1])
    if coll is None:
        raise RedisError("ERR no such key")
    index = parse_int(argv[2])
    size = coll.meta.size
    if index < 0:
        index += size
    if index < 0 or index >= size:
        raise RedisError("ERR index out of range")
    coll.put(_pack(coll.meta.head + index), argv[3])
    coll.touch()
    return OK


@command("linsert", 5, "write denyoom", 1, 1, 1)
def linsert(c, argv):
    where = argv[2].lower()
    if where == b"before":
        after = False
    elif where == b"after":
        after = True
    else:
        raise syntax()
    coll = open_list(c, argv[1])
    if coll is None:
        return 0
    pivot = argv[3]
    seen: list[bytes] = []
    half = coll.meta.size // 2 + 1
    pos = -1
    for idx, v in scan(coll):
        if v == pivot:
            pos = idx
            break
        if len(seen) < half:
            seen.append(v)
    if pos < 0:
        return -1
    if after:
        seen.append(pivot)
        pos += 1
    insert_at(coll, pos, argv[4], seen if len(seen) == pos else None)
    coll.save()
    return coll.meta.size


@command("lrem", 4, "write", 1, 1, 1)
def lrem(c, argv):
    count = parse_int(argv[2])
    coll = open_list(c, argv[1])
    if coll is None:
        return 0
    target = argv[3]
    limit = abs(count)
    gone = []
    for idx, v in scan(coll, reverse=count < 0):
        if v == target:
            gone.append(idx)
            if limit and len(gone) == limit:
                break
    if not gone:
        return 0
    gone.sort()
    remove_indexes(coll, gone)
    coll.save()
    return len(gone)


@command("ltrim", 4, "write", 1, 1, 1)
def ltrim(c, argv):
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    coll = open_list(c, argv[1])
    if coll is None:
        return OK
    m = coll.meta
    size = m.size
    r = _clamp_range(start, end, size)
    if r is None:
        m.size = 0  # all gone: the key is dropped and its subkeys reclaimed in the background
    else:
        lo, hi = r
        if lo == 0 and hi == size:
            coll.touch()  # Redis signals the key modified even when nothing is trimmed
            return OK
        for i in range(lo):
            coll.delete(_pack(m.head + i))
        for i in range(hi, size):
            coll.delete(_pack(m.head + i))
        m.tail = m.head + hi
        m.head += lo
        m.size = m.tail - m.head
    coll.save()
    return OK


# --- moves between lists ----------------------------------------------------------------------

def move(c, db: int, src_key: bytes, dst_key: bytes, left_from: bool, left_to: bool,
         src: Collection | None = None) -> bytes | None:
    """LMOVE's work: None when the source is missing; WRONGTYPE for either key."""
    ks = c.server.keyspace
    if src is None:
        src = Collection.open(ks, db, src_key, LIST)
        if src is None:
            return None
    if dst_key == src_key:
        dst = src
    else:
        dst = open_or_create(ks, db, dst_key)
    (v,) = pop(src, left_from, 1)
    push(dst, (v,), left_to)
    if dst is not src:
        src.save()
    dst.save()
    return v


@command("lmove", 5, "write denyoom", 1, 2, 1)
def lmove(c, argv):
    left_from = _where(argv[3])
    left_to = _where(argv[4])
    return move(c, c.db, argv[1], argv[2], left_from, left_to)


@command("rpoplpush", 3, "write denyoom", 1, 2, 1)
def rpoplpush(c, argv):
    return move(c, c.db, argv[1], argv[2], False, True)


def _mpop_keys(numkeys_at: int):
    def keys(argv: list[bytes]) -> list[int]:
        n = string2ll(argv[numkeys_at]) if len(argv) > numkeys_at else None
        first = numkeys_at + 1
        if n is None or n < 1 or n > len(argv) - first:
            return []
        return list(range(first, first + n))
    return keys


def _parse_mpop(argv: list[bytes], numkeys_at: int) -> tuple[list[bytes], bool, int]:
    numkeys = _range_long(argv[numkeys_at], 1, "ERR numkeys should be greater than 0")
    where_at = numkeys_at + numkeys + 1
    if where_at >= len(argv):
        raise syntax()
    left = _where(argv[where_at])
    count = -1
    i = where_at + 1
    while i < len(argv):
        if count == -1 and argv[i].lower() == b"count" and i + 1 < len(argv):
            i += 1
            count = _range_long(argv[i], 1, "ERR count should be greater than 0")
        else:
            raise syntax()
        i += 1
    return argv[numkeys_at + 1:where_at], left, 1 if count == -1 else count


def _mpop_from(c, db: int, keys: list[bytes], left: bool, count: int, lenient: bool = False):
    """Pop from the first non-empty list of keys: [key, [elements]], or None."""
    ks = c.server.keyspace
    for key in keys:
        try:
            coll = Collection.open(ks, db, key, LIST)
        except RedisError:
            if lenient:
                continue
            raise
        if coll is not None:
            out = pop(coll, left, count)
            coll.save()
            return [key, out]
    return None


@command("lmpop", -4, "write", 0, 0, 0, keys=_mpop_keys(1))
def lmpop(c, argv):
    keys, left, count = _parse_mpop(argv, 1)
    r = _mpop_from(c, c.db, keys, left, count)
    return NULL_ARRAY if r is None else r


# --- blocking pops ----------------------------------------------------------------------------

def _bpop(c, argv, left: bool):
    timeout = blocking.parse_timeout(argv[-1])
    keys = argv[1:-1]
    r = _mpop_from(c, c.db, keys, left, 1)
    if r is not None:
        return [r[0], r[1][0]]
    if not blocking.may_block(c):
        return NULL_ARRAY
    db = c.db

    def serve(key: bytes):
        r = _mpop_from(c, db, [key], left, 1, lenient=True)
        return None if r is None else [r[0], r[1][0]]

    return blocking.block(c, keys, timeout, serve, NULL_ARRAY, keyed=True)


@command("blpop", -3, "write noscript blocking", 1, -2, 1)
def blpop(c, argv):
    return _bpop(c, argv, True)


@command("brpop", -3, "write noscript blocking", 1, -2, 1)
def brpop(c, argv):
    return _bpop(c, argv, False)


def _bmove(c, src_key: bytes, dst_key: bytes, left_from: bool, left_to: bool, timeout_arg):
    timeout = blocking.parse_timeout(timeout_arg)
    src = open_list(c, src_key)
    if src is not None:
        return move(c, c.db, src_key, dst_key, left_from, left_to, src)
    if not blocking.may_block(c):
        return None
    db = c.db
    ks = c.server.keyspace

    def serve(key: bytes):
        try:
            src = Collection.open(ks, db, src_key, LIST)
        except RedisError:
            return None
        if src is None:
            return None
        # A destination of another type ends the wait with WRONGTYPE, the source untouched.
        return move(c, db, src_key, dst_key, left_from, left_to, src)

    return blocking.block(c, [src_key], timeout, serve, NULL_ARRAY, keyed=True)


@command("blmove", 6, "write denyoom noscript blocking", 1, 2, 1)
def blmove(c, argv):
    left_from = _where(argv[3])
    left_to = _where(argv[4])
    return _bmove(c, argv[1], argv[2], left_from, left_to, argv[5])


@command("brpoplpush", 4, "write denyoom noscript blocking", 1, 2, 1)
def brpoplpush(c, argv):
    return _bmove(c, argv[1], argv[2], False, True, argv[3])


@command("blmpop", -5, "write blocking", 0, 0, 0, keys=_mpop_keys(2))
def blmpop(c, argv):
    keys, left, count = _parse_mpop(argv, 2)
    timeout = blocking.parse_timeout(argv[1])
    r = _mpop_from(c, c.db, keys, left, count)
    if r is not None:
        return r
    if not blocking.may_block(c):
        return NULL_ARRAY
    db = c.db

    def serve(key: bytes):
        return _mpop_from(c, db, [key], left, count, lenient=True)

    return blocking.block(c, keys, timeout, serve, NULL_ARRAY, keyed=True)

