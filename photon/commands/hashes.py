"""Hash commands (Redis's t_hash.c).

A hash is one subkey per field whose value is the field's value; the metadata's size is the
field count. ``FLAG_BIG`` records that the hash left Redis's listpack encoding (more than 512
fields, or a field or value longer than 64 bytes: Redis 7.0's defaults, in its redis.conf and
compiled in); like Redis, it never converts back.
"""
from __future__ import annotations

from photon.commands import sampling
from photon.keyspace.keyspace import Collection
from photon.commands.keys import ENCODINGS, parse_cursor
from photon.commands.table import command
from photon.errors import NOT_FLOAT, OVERFLOW, RedisError, syntax
from photon.keyspace.encoding import FLAG_BIG, HASH
from photon.protocol.reply import OK
from photon.util.long_double import string2ld
from photon.util.numbers import (
    INT64_MAX, INT64_MIN, add_long_double, format_long_double, parse_int, string2ll,
)

HASH_MAX_LISTPACK_ENTRIES = 512
HASH_MAX_LISTPACK_VALUE = 64
LONG_MAX = INT64_MAX
# Replies of random commands are built whole in memory; Redis itself dies on absurd counts.
MAX_RANDOM_REPLY = 10_000_000


def _open(c, key: bytes) -> Collection | None:
    return Collection.open(c.server.keyspace, c.db, key, HASH)


def _open_or_create(c, key: bytes) -> Collection:
    return Collection.open_or_create(c.server.keyspace, c.db, key, HASH)


def _check_lengths(coll: Collection, args) -> None:
    """hashTypeTryConversion: a long field or value leaves the listpack encoding."""
    meta = coll.meta
    if not meta.flags & FLAG_BIG:
        for a in args:
            if len(a) > HASH_MAX_LISTPACK_VALUE:
                meta.flags |= FLAG_BIG
                return


def _grow(coll: Collection, added: int) -> None:
    meta = coll.meta
    meta.size += added
    sampling.note_added(coll, added)
    if meta.size > HASH_MAX_LISTPACK_ENTRIES:
        meta.flags |= FLAG_BIG


def _hset(c, argv) -> int:
    if len(argv) % 2:
        raise RedisError("ERR wrong number of arguments for '%s' command"
                         % argv[0].lower().decode("utf-8", "replace"))
    coll = _open_or_create(c, argv[1])
    _check_lengths(coll, argv[2:])
    created = 0
    for i in range(2, len(argv), 2):
        field = argv[i]
        if coll.get(field) is None:
            created += 1
        coll.put(field, argv[i + 1])
    _grow(coll, created)
    coll.save()
    return created


@command("hset", -4, "write denyoom fast", 1, 1, 1)
def hset(c, argv):
    return _hset(c, argv)


@command("hmset", -4, "write denyoom fast", 1, 1, 1)
def hmset(c, argv):
    _hset(c, argv)
    return OK


@command("hsetnx", 4, "write denyoom fast", 1, 1, 1)
def hsetnx(c, argv):
    coll = _open_or_create(c, argv[1])
    if coll.get(argv[2]) is not None:
        return 0
    _check_lengths(coll, argv[2:])
    coll.put(argv[2], argv[3])
    _grow(coll, 1)
    coll.save()
    return 1


@command("hget", 3, "readonly fast", 1, 1, 1)
def hget(c, argv):
    coll = _open(c, argv[1])
    return None if coll is None else coll.get(argv[2])


@command("hmget", -3, "readonly fast", 1, 1, 1)
def hmget(c, argv):
    coll = _open(c, argv[1])
    if coll is None:
        return [None] * (len(argv) - 2)
    return [coll.get(field) for field in argv[2:]]


@command("hgetall", 2, "readonly", 1, 1, 1)
def hgetall(c, argv):
    coll = _open(c, argv[1])
    return {} if coll is None else dict(coll.items())


@command("hkeys", 2, "readonly", 1, 1, 1)
def hkeys(c, argv):
    coll = _open(c, argv[1])
    return [] if coll is None else [f for f, _ in coll.items()]


@command("hvals", 2, "readonly", 1, 1, 1)
def hvals(c, argv):
    coll = _open(c, argv[1])
    return [] if coll is None else [v for _, v in coll.items()]


@command("hdel", -3, "write fast", 1, 1, 1)
def hdel(c, argv):
    coll = _open(c, argv[1])
    return 0 if coll is None else coll.remove(argv[2:])


@command("hexists", 3, "readonly fast", 1, 1, 1)
def hexists(c, argv):
    coll = _open(c, argv[1])
    return int(coll is not None and coll.get(argv[2]) is not None)


@command("hlen", 2, "readonly fast", 1, 1, 1)
def hlen(c, argv):
    meta = c.server.keyspace.lookup_typed(c.db, argv[1], HASH)
    return 0 if meta is None else meta.size


@command("hstrlen", 3, "readonly fast", 1, 1, 1)
def hstrlen(c, argv):
    coll = _open(c, argv[1])
    value = None if coll is None else coll.get(argv[2])
    return 0 if value is None else len(value)


def _set_counter(coll: Collection, field: bytes, value: bytes, existed: bool) -> None:
    _check_lengths(coll, (field, value))
    coll.put(field, value)
    _grow(coll, 0 if existed else 1)
    coll.save()


@command("hincrby", 4, "write denyoom fast", 1, 1, 1)
def hincrby(c, argv):
    incr = parse_int(argv[3])
    coll = _open_or_create(c, argv[1])
    field = argv[2]
    current = coll.get(field)
    value = 0
    if current is not None:
        value = string2ll(current)
        if value is None:
            raise RedisError("ERR hash value is not an integer")
    result = value + incr
    if not INT64_MIN <= result <= INT64_MAX:
        raise RedisError(OVERFLOW)
    _set_counter(coll, field, b"%d" % result, current is not None)
    return result


@command("hincrbyfloat", 4, "write denyoom fast", 1, 1, 1)
def hincrbyfloat(c, argv):
    incr = string2ld(argv[3])
    if incr is None:
        raise RedisError(NOT_FLOAT)
    if isinstance(incr, float):
        raise RedisError("ERR value is NaN or Infinity")
    coll = _open_or_create(c, argv[1])
    field = argv[2]
    current = coll.get(field)
    value = 0
    if current is not None:
        value = string2ld(current)
        if value is None:
            raise RedisError("ERR hash value is not a float")
        if isinstance(value, float):
            raise RedisError("ERR increment would produce NaN or Infinity")
    result = add_long_double(value, incr)
    if isinstance(result, float):
        raise RedisError("ERR increment would produce NaN or Infinity")
    text = format_long_double(result)
    _set_counter(coll, field, text, current is not None)
    return text


def random_count(arg: bytes) -> int:
    """A count of HRANDFIELD / SRANDMEMBER: -LONG_MAX..LONG_MAX, as getRangeLongFromObject."""
    n = parse_int(arg)
    if n < -LONG_MAX:
        raise RedisError("ERR value is out of range, value must between %d and %d"
                         % (-LONG_MAX, LONG_MAX))
    return n


@command("hrandfield", -2, "readonly", 1, 1, 1)
def hrandfield(c, argv):
    if len(argv) == 2:
        coll = _open(c, argv[1])
        if coll is None:
            return None
        item = sampling.random_one(coll)
        return None if item is None else item[0]
    if len(argv) > 4:
        raise syntax()
    count = random_count(argv[2])
    withvalues = False
    if len(argv) == 4:
        if argv[3].lower() != b"withvalues":
            raise syntax()
        withvalues = True
        if count < -(LONG_MAX // 2) or count > LONG_MAX // 2:
            raise RedisError("ERR value is out of range")
    coll = _open(c, argv[1])
    if coll is None or count == 0:
        return []
    size = coll.meta.size
    if count < 0:
        if -count > MAX_RANDOM_REPLY:
            raise RedisError("ERR value is out of range")
        items = sampling.random_repeats(coll, -count)
    elif count >= size:
        items = list(coll.items())
    else:
        items = sampling.random_distinct(coll, count)
    if not withvalues:
        return [f for f, _ in items]
    if c.resp3:
        return [[f, v] for f, v in items]
    return [x for item in items for x in item]


@command("hscan", -3, "readonly", 1, 1, 1)
def hscan(c, argv):
    cursor = parse_cursor(argv[2])
    coll = _open(c, argv[1])
    if coll is None:
        return [b"0", []]
    return sampling.scan(argv, cursor, coll, not coll.meta.flags & FLAG_BIG, True)


def hash_encoding(ks, db, key, meta) -> bytes:
    return b"hashtable" if meta.flags & FLAG_BIG else b"listpack"


ENCODINGS[HASH] = hash_encoding
