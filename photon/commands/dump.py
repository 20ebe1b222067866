"""DUMP and RESTORE (Redis's cluster.c) in Redis 7.0's serialized value format.

DUMP writes the encoding Redis 7.0 would write for the value photon holds (see
photon.util.rdb): the object type follows the key's OBJECT ENCODING, so a small hash is a
listpack and a big one a plain hash, as Redis saves them. RESTORE reads every encoding Redis
7.0 can load for strings, lists, sets, hashes and sorted sets, and gives the new key the
encoding Redis would give it (rdbLoadObject's conversions: counts and element lengths against
the listpack / intset limits).
"""
from __future__ import annotations

from photon.commands.keys import ENCODINGS
from photon.commands.table import command
from photon.errors import RedisError, syntax
from photon.keyspace import encoding as enc
from photon.keyspace.encoding import FLAG_BIG, HASH, LIST, SET, STRING, ZSET, Meta
from photon.keyspace.keyspace import Collection
from photon.protocol.reply import OK
from photon.util import rdb
from photon.util.numbers import INT64_MAX, parse_int, string2ll

BUSYKEY = "BUSYKEY Target key name already exists."
BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
BAD_FORMAT = "ERR Bad data format"

_KINDS = {"string": STRING, "list": LIST, "set": SET, "hash": HASH, "zset": ZSET}

# rdbLoadObject converts these object types by entry count only (their elements were already
# within the limits of the Redis that wrote them); the plain types look at lengths too.
_COUNT_ONLY = {rdb.TYPE_HASH_ZIPLIST, rdb.TYPE_HASH_LISTPACK, rdb.TYPE_SET_INTSET,
               rdb.TYPE_ZSET_ZIPLIST, rdb.TYPE_ZSET_LISTPACK}


def _limits():
    from photon.commands import hashes, sets, zsets

    return (hashes.HASH_MAX_LISTPACK_ENTRIES, hashes.HASH_MAX_LISTPACK_VALUE,
            sets.SET_MAX_INTSET_ENTRIES, zsets.LISTPACK_ENTRIES, zsets.LISTPACK_VALUE)


# --- DUMP -------------------------------------------------------------------------------------

def serialize(ks, db: int, key: bytes, meta: Meta) -> bytes:
    """The DUMP payload of a live key."""
    if meta.type == STRING:
        return rdb.dump_string(meta.value)
    coll = Collection(ks, db, key, meta, meta)
    encoding = ENCODINGS[meta.type](ks, db, key, meta)
    if meta.type == LIST:
        from photon.commands.lists import values

        return rdb.dump_list(values(coll))
    if meta.type == SET:
        if encoding == b"intset":
            ints = [string2ll(m) for m, _ in coll.items()]
            if None not in ints:
                return rdb.dump_intset(ints)  # type: ignore[arg-type]
        return rdb.dump_set((m for m, _ in coll.items()), meta.size)
    if meta.type == HASH:
        if encoding == b"listpack":
            return rdb.dump_hash_listpack(coll.items())
        return rdb.dump_hash(coll.items(), meta.size)
    if meta.type == ZSET:
        if encoding == b"listpack":
            return rdb.dump_zset_listpack(
                (s[8:], enc.decode_score(s)) for s in coll.zitems())
        return rdb.dump_zset2(((s[8:], enc.decode_score(s)) for s in coll.zitems(reverse=True)),
                              meta.size)
    raise RedisError("ERR unknown type")  # pragma: no cover


@command("dump", 2, "readonly", 1, 1, 1)
def dump(c, argv):
    ks = c.server.keyspace
    meta = ks.lookup(c.db, argv[1])
    if meta is None:
        return None
    return serialize(ks, c.db, argv[1], meta)


# --- RESTORE ----------------------------------------------------------------------------------

def _is_int(member: bytes) -> bool:
    return len(member) <= 20 and string2ll(member) is not None


def _flags(loaded: rdb.Loaded) -> int:
    """FLAG_BIG when Redis would hold the restored value in its big encoding."""
    hash_entries, hash_value, intset_entries, zset_entries, zset_value = _limits()
    data = loaded.data
    t = loaded.rdb_type
    n = len(data)
    if loaded.kind == "set":
        if n > intset_entries:
            return FLAG_BIG
        if t == rdb.TYPE_SET_INTSET:
            return 0
        return 0 if all(_is_int(m) for m in data) else FLAG_BIG
    if loaded.kind == "hash":
        if n > hash_entries:
            return FLAG_BIG
        if t in _COUNT_ONLY:
            return 0
        longest = max(max(len(f), len(v)) for f, v in data)
        return FLAG_BIG if longest > hash_value else 0
    if loaded.kind == "zset":
        if n > zset_entries:
            return FLAG_BIG
        if t in _COUNT_ONLY:
            return 0
        return FLAG_BIG if max(len(m) for m, _ in data) > zset_value else 0
    return 0


def write_value(ks, db: int, key: bytes, loaded: rdb.Loaded, expire: int,
                old: Meta | None) -> None:
    """Create key from a loaded value, replacing ``old`` (the live key, if any)."""
    type_ = _KINDS[loaded.kind]
    if type_ == STRING:
        ks.set_string(db, key, loaded.data, expire)
        return
    meta = Meta(type_, _flags(loaded), expire, ks.new_version())
    coll = Collection(ks, db, key, meta, old)
    data = loaded.data
    if type_ == LIST:
        from photon.commands.lists import BASE, push

        meta.head = meta.tail = BASE
        push(coll, data, False)
    elif type_ == SET:
        for m in data:
            coll.put(m, b"")
        meta.size = len(data)
    elif type_ == HASH:
        for f, v in data:
            coll.put(f, v)
        meta.size = len(data)
    else:
        for m, score in data:
            es = enc.encode_score(score)
            coll.put(m, es)
            coll.zput(es + m)
        meta.size = len(data)
    coll.save()


def _restore(c, argv):
    replace = absttl = False
    idle = freq = -1
    i = 4
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        more = n - i - 1
        if opt == b"replace":
            replace = True
        elif opt == b"absttl":
            absttl = True
        elif opt == b"idletime" and more >= 1 and freq == -1:
            idle = parse_int(argv[i + 1])
            if idle < 0:
                raise RedisError("ERR Invalid IDLETIME value, must be >= 0")
            i += 1
        elif opt == b"freq" and more >= 1 and idle == -1:
            freq = parse_int(argv[i + 1])
            if not 0 <= freq <= 255:
                raise RedisError("ERR Invalid FREQ value, must be >= 0 and <= 255")
            i += 1
        else:
            raise syntax()
        i += 1
    # IDLETIME and FREQ are checked and dropped: photon keeps no access clock or counter.
    ks = c.server.keyspace
    key = argv[1]
    old = ks.lookup(c.db, key)
    if old is not None and not replace:
        raise RedisError(BUSYKEY)
    ttl = parse_int(argv[2])
    if ttl < 0:
        raise RedisError("ERR Invalid TTL value, must be >= 0")
    data = argv[3]
    if not rdb.verify(data):
        raise RedisError(BAD_PAYLOAD)
    try:
        loaded = rdb.load(data)
    except rdb.RdbError:
        raise RedisError(BAD_FORMAT) from None
    if ttl and not absttl:
        ttl += ks.clock_ms
        if ttl > INT64_MAX:  # Redis's long long wraps negative: already expired
            ttl -= 1 << 64
    if ttl and ttl <= ks.clock_ms:
        # Already expired: the old key goes (REPLACE), no new key is created.
        if old is not None:
            ks.delete(c.db, key)
        return OK
    write_value(ks, c.db, key, loaded, ttl, old)
    return OK


@command("restore", -4, "write denyoom", 1, 1, 1)
def restore(c, argv):
    return _restore(c, argv)


@command("restore-asking", -4, "write denyoom asking", 1, 1, 1)
def restore_asking(c, argv):
    return _restore(c, argv)
