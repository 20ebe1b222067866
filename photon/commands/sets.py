"""Set commands (Redis's t_set.c).

A set is one subkey per member with an empty value; the metadata's size is the cardinality.
``FLAG_BIG`` records that the set left Redis 7.0's intset encoding (a member that is not an
integer by string2ll's rules, or more than 512 members); Redis never converts back, except
that SPOP with a count close to the size rebuilds the set from the members that remain.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

from photon.commands import sampling
from photon.keyspace.keyspace import Collection
from photon.commands.hashes import MAX_RANDOM_REPLY, random_count
from photon.commands.keys import ENCODINGS, parse_cursor
from photon.commands.table import command
from photon.errors import WRONGTYPE, RedisError, syntax
from photon.keyspace.encoding import FLAG_BIG, SET
from photon.protocol.reply import SetReply
from photon.util.numbers import string2ll

SET_MAX_INTSET_ENTRIES = 512
SPOP_MOVE_STRATEGY_MUL = 5


def _open(c, key: bytes) -> Collection | None:
    return Collection.open(c.server.keyspace, c.db, key, SET)


def _is_int(member: bytes) -> bool:
    return len(member) <= 20 and string2ll(member) is not None


def _add(coll: Collection, member: bytes) -> bool:
    """Add one member, keeping the size and the encoding flag; True if it was new."""
    if coll.get(member) is not None:
        return False
    coll.put(member, b"")
    meta = coll.meta
    meta.size += 1
    sampling.note_added(coll, 1)
    if not meta.flags & FLAG_BIG and (meta.size > SET_MAX_INTSET_ENTRIES or not _is_int(member)):
        meta.flags |= FLAG_BIG
    return True


def _encoding_flags(members: Iterable[bytes], size: int) -> int:
    """The flag a set built from these members gets (setTypeCreate + setTypeAdd)."""
    if size > SET_MAX_INTSET_ENTRIES:
        return FLAG_BIG
    return 0 if all(_is_int(m) for m in members) else FLAG_BIG


@command("sadd", -3, "write denyoom fast", 1, 1, 1)
def sadd(c, argv):
    coll = Collection.open_or_create(c.server.keyspace, c.db, argv[1], SET)
    added = 0
    for member in argv[2:]:
        added += _add(coll, member)
    if added:
        coll.save()
    return added


@command("srem", -3, "write fast", 1, 1, 1)
def srem(c, argv):
    coll = _open(c, argv[1])
    return 0 if coll is None else coll.remove(argv[2:])


@command("smembers", 2, "readonly", 1, 1, 1)
def smembers(c, argv):
    coll = _open(c, argv[1])
    return SetReply() if coll is None else SetReply(m for m, _ in coll.items())


@command("sismember", 3, "readonly fast", 1, 1, 1)
def sismember(c, argv):
    coll = _open(c, argv[1])
    return int(coll is not None and coll.get(argv[2]) is not None)


@command("smismember", -3, "readonly fast", 1, 1, 1)
def smismember(c, argv):
    coll = _open(c, argv[1])
    if coll is None:
        return [0] * (len(argv) - 2)
    return [int(coll.get(m) is not None) for m in argv[2:]]


@command("scard", 2, "readonly fast", 1, 1, 1)
def scard(c, argv):
    meta = c.server.keyspace.lookup_typed(c.db, argv[1], SET)
    return 0 if meta is None else meta.size


# --- random members ----------------------------------------------------------------------

@command("spop", -2, "write fast", 1, 1, 1)
def spop(c, argv):
    if len(argv) == 3:
        return _spop_count(c, argv)
    if len(argv) > 3:
        raise syntax()
    coll = _open(c, argv[1])
    if coll is None:
        return None
    item = sampling.random_one(coll)
    if item is None:
        return None
    coll.delete(item[0])
    coll.meta.size -= 1
    coll.save()
    return item[0]


def _spop_count(c, argv):
    count = string2ll(argv[2])
    if count is None or count < 0:
        raise RedisError("ERR value is out of range, must be positive")
    coll = _open(c, argv[1])
    if coll is None or count == 0:
        return SetReply()
    meta = coll.meta
    size = meta.size
    if count >= size:
        members = [m for m, _ in coll.items()]
        c.server.keyspace.delete(c.db, argv[1])
        return SetReply(members)
    popped = [m for m, _ in sampling.random_distinct(coll, count)]
    for m in popped:
        coll.delete(m)
    meta.size -= len(popped)
    if count * SPOP_MOVE_STRATEGY_MUL > size:
        # Redis builds a new set from the members that stay: the encoding starts over.
        meta.flags = (meta.flags & ~FLAG_BIG) | _encoding_flags(
            (m for m, _ in coll.items()), meta.size)
    coll.save()
    return SetReply(popped)


@command("srandmember", -2, "readonly", 1, 1, 1)
def srandmember(c, argv):
    if len(argv) == 2:
        coll = _open(c, argv[1])
        if coll is None:
            return None
        item = sampling.random_one(coll)
        return None if item is None else item[0]
    if len(argv) > 3:
        raise syntax()
    count = random_count(argv[2])
    coll = _open(c, argv[1])
    if coll is None or count == 0:
        return []
    if count < 0:
        if -count > MAX_RANDOM_REPLY:
            raise RedisError("ERR value is out of range")
        return [m for m, _ in sampling.random_repeats(coll, -count)]
    if count >= coll.meta.size:
        return [m for m, _ in coll.items()]
    return [m for m, _ in sampling.random_distinct(coll, count)]


@command("smove", 4, "write fast", 1, 2, 1)
def smove(c, argv):
    ks = c.server.keyspace
    src_meta = ks.lookup(c.db, argv[1])
    dst_meta = ks.lookup(c.db, argv[2])
    if src_meta is None:
        return 0
    if src_meta.type != SET or (dst_meta is not None and dst_meta.type != SET):
        raise RedisError(WRONGTYPE)
    src = Collection(ks, c.db, argv[1], src_meta, src_meta)
    member = argv[3]
    if argv[1] == argv[2]:
        return int(src.get(member) is not None)
    if src.get(member) is None:
        return 0
    src.delete(member)
    src.meta.size -= 1
    src.save()
    dst = Collection.open_or_create(ks, c.db, argv[2], SET)
    if _add(dst, member):
        dst.save()
    return 1


# --- algebra ---------------------------------------------------------------------------------

def _open_all(c, keys: list[bytes]) -> list[Collection | None]:
    """Every key's set (None for a missing key); WRONGTYPE if any holds another type."""
    return [_open(c, key) for key in keys]


def _inter(sets: list[Collection | None], limit: int = 0) -> Iterator[bytes]:
    if not sets or any(s is None for s in sets):
        return
    ordered = sorted(sets, key=lambda s: s.meta.size)  # type: ignore[union-attr]
    first, others = ordered[0], ordered[1:]
    found = 0
    for member, _ in first.items():  # type: ignore[union-attr]
        if all(o.get(member) is not None for o in others):  # type: ignore[union-attr]
            yield member
            found += 1
            if found == limit:
                return


def _union(sets: list[Collection | None]) -> Iterator[bytes]:
    streams = [(m for m, _ in s.items()) for s in sets if s is not None]
    last = None
    for member in heapq.merge(*streams):
        if member != last:
            last = member
            yield member


def _diff(sets: list[Collection | None]) -> Iterator[bytes]:
    first = sets[0]
    if first is None:
        return
    others = [s for s in sets[1:] if s is not None]
    if any(o.key == first.key for o in others):
        return  # SDIFF a ... a: empty
    for member, _ in first.items():
        if not any(o.get(member) is not None for o in others):
            yield member


def _store(c, dst: bytes, members: list[bytes]) -> int:
    """Replace dst with a set of these members (distinct), or delete it when there are none."""
    ks = c.server.keyspace
    if not members:
        ks.delete(c.db, dst)
        return 0
    coll = Collection.create(ks, c.db, dst, SET)
    for m in members:
        coll.put(m, b"")
    coll.meta.size = len(members)
    coll.meta.flags = _encoding_flags(members, len(members))
    coll.save()
    return len(members)


@command("sinter", -2, "readonly", 1, -1, 1)
def sinter(c, argv):
    return SetReply(_inter(_open_all(c, argv[1:])))


@command("sinterstore", -3, "write denyoom", 1, -1, 1)
def sinterstore(c, argv):
    return _store(c, argv[1], list(_inter(_open_all(c, argv[2:]))))


def _sintercard_keys(argv: list[bytes]) -> list[int]:
    n = string2ll(argv[1]) if len(argv) > 1 else None
    if n is None or n < 1:
        return []
    return list(range(2, min(2 + n, len(argv))))


@command("sintercard", -3, "readonly", 0, 0, 0, keys=_sintercard_keys)
def sintercard(c, argv):
    numkeys = string2ll(argv[1])
    if numkeys is None or numkeys < 1:
        raise RedisError("ERR numkeys should be greater than 0")
    if numkeys > len(argv) - 2:
        raise RedisError("ERR Number of keys can't be greater than number of args")
    limit = 0
    i = 2 + numkeys
    while i < len(argv):
        if argv[i].lower() == b"limit" and i + 1 < len(argv):
            i += 1
            limit = string2ll(argv[i])
            if limit is None or limit < 0:
                raise RedisError("ERR LIMIT can't be negative")
        else:
            raise syntax()
        i += 1
    sets = _open_all(c, argv[2:2 + numkeys])
    return sum(1 for _ in _inter(sets, limit))


@command("sunion", -2, "readonly", 1, -1, 1)
def sunion(c, argv):
    return SetReply(_union(_open_all(c, argv[1:])))


@command("sunionstore", -3, "write denyoom", 1, -1, 1)
def sunionstore(c, argv):
    return _store(c, argv[1], list(_union(_open_all(c, argv[2:]))))


@command("sdiff", -2, "readonly", 1, -1, 1)
def sdiff(c, argv):
    return SetReply(_diff(_open_all(c, argv[1:])))


@command("sdiffstore", -3, "write denyoom", 1, -1, 1)
def sdiffstore(c, argv):
    return _store(c, argv[1], list(_diff(_open_all(c, argv[2:]))))


@command("sscan", -3, "readonly", 1, 1, 1)
def sscan(c, argv):
    cursor = parse_cursor(argv[2])
    coll = _open(c, argv[1])
    if coll is None:
        return [b"0", []]
    return sampling.scan(argv, cursor, coll, not coll.meta.flags & FLAG_BIG, False)


def set_encoding(ks, db, key, meta) -> bytes:
    return b"hashtable" if meta.flags & FLAG_BIG else b"intset"


ENCODINGS[SET] = set_encoding
