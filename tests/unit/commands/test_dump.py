"""DUMP and RESTORE against the in-memory server: Redis's payload bytes, round trips of every
type (big collections too), the encodings a restored key gets, TTLs, options and errors."""
import struct
import time

import hiredis
import pytest

from photon.util import rdb
from tests.unit.test_rdb import REDIS

BUSYKEY = "BUSYKEY Target key name already exists."
BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
BAD_FORMAT = "ERR Bad data format"
SYNTAX = "ERR syntax error"
NOT_INT = "ERR value is not an integer or out of range"


def err(reply) -> str:
    assert isinstance(reply, hiredis.ReplyError), reply
    return str(reply)


def enc(client, key):
    return client.send("OBJECT", "ENCODING", key)


def value(client, key):
    """The whole value of a key in a comparable form."""
    t = client.send("TYPE", key)
    if t == b"string":
        return client.send("GET", key)
    if t == b"list":
        return client.send("LRANGE", key, "0", "-1")
    if t == b"set":
        return sorted(client.send("SMEMBERS", key))
    if t == b"hash":
        flat = client.send("HGETALL", key)
        return sorted(zip(flat[0::2], flat[1::2]))
    if t == b"zset":
        return client.send("ZRANGE", key, "0", "-1", "WITHSCORES")
    return t


def _p(t: int, *parts: bytes) -> bytes:
    return rdb.payload(bytes((t,)) + b"".join(parts))


es = rdb.encode_string
el = rdb.encode_len


# --- DUMP: Redis's bytes -------------------------------------------------------------------

BUILD = {
    "hash_hashtable_one": [("HSET", "hash_hashtable_one", "field", "v" * 100)],
    "hash_listpack": [("HSET", "hash_listpack", "a", "1", "b", "two", "c", "3.5")],
    "list_small": [("RPUSH", "list_small", "a", "b", "1", "-5", "1000", "x" * 70)],
    "set_hashtable_one": [("SADD", "set_hashtable_one", "member")],
    "set_intset": [("SADD", "set_intset", "1", "2", "3", "-100000", "70000")],
    "str_empty": [("SET", "str_empty", "")],
    "str_hello": [("SET", "str_hello", "hello")],
    "str_int16": [("SET", "str_int16", "-300")],
    "str_int32": [("SET", "str_int32", "100000")],
    "str_int8": [("SET", "str_int8", "12")],
    "str_long_int": [("SET", "str_long_int", "12345678901234")],
    "str_lzf": [("SET", "str_lzf", "a" * 30)],
    "str_text": [("SET", "str_text",
                  "The quick brown fox jumps over the lazy dog. The quick brown fox!")],
    "zset_listpack": [("ZADD", "zset_listpack", "1", "a", "0.1", "b", "-2.5", "c", "1e30", "d",
                       "inf", "e")],
}


@pytest.mark.parametrize("name", sorted(BUILD))
def test_dump_equals_redis_bytes(client, name):
    for cmd in BUILD[name]:
        client.send(*cmd)
    encoding, payload = REDIS[name]
    assert enc(client, name) == encoding.encode()
    assert client.send("DUMP", name).hex() == payload


def test_dump_missing_key_is_nil(client):
    assert client.send("DUMP", "nokey") is None


def test_dump_arity(client):
    assert err(client.send("DUMP")) == "ERR wrong number of arguments for 'dump' command"
    assert err(client.send("DUMP", "a", "b")) == "ERR wrong number of arguments for 'dump' command"


def test_dump_of_an_expired_key_is_nil(client):
    client.send("SET", "k", "v", "PX", "1")
    time.sleep(0.01)
    assert client.send("DUMP", "k") is None


# --- round trips --------------------------------------------------------------------------

SMALL = {
    "string": [("SET", "k", "some text")],
    "int": [("SET", "k", "-12345")],
    "raw": [("SET", "k", "x" * 100)],
    "list": [("RPUSH", "k", "a", "", "3", "-70000", "z" * 300)],
    "intset": [("SADD", "k", "1", "-5", "9223372036854775807")],
    "set": [("SADD", "k", "a", "b", "1")],
    "hash_listpack": [("HSET", "k", "f", "v", "n", "12", "e", "")],
    "hash_long_value": [("HSET", "k", "f", "v" * 65)],
    "zset_listpack": [("ZADD", "k", "1", "a", "-inf", "b", "3.25", "c", "1e-300", "d")],
    "zset_long_member": [("ZADD", "k", "1", "m" * 65, "2", "n")],
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_round_trip_small(client, name):
    for cmd in SMALL[name]:
        client.send(*cmd)
    payload = client.send("DUMP", "k")
    assert client.send("RESTORE", "copy", "0", payload) == b"OK"
    assert value(client, "copy") == value(client, "k")
    assert enc(client, "copy") == enc(client, "k")
    assert client.send("PTTL", "copy") == -1
    assert client.send("DUMP", "copy") == payload


BIG = 10_000


def _fill_big(client, kind: str) -> None:
    for start in range(0, BIG, 2000):
        ids = range(start, start + 2000)
        if kind == "hash":
            client.send("HSET", "k", *[x for i in ids for x in (b"field:%d" % i, b"v%d" % i)])
        elif kind == "zset":
            client.send("ZADD", "k", *[x for i in ids for x in (b"%d" % (i % 977),
                                                                b"member:%d" % i)])
        elif kind == "list":
            client.send("RPUSH", "k", *[b"element-%d" % i for i in ids])
        elif kind == "set":
            client.send("SADD", "k", *[b"m%d" % i for i in ids])
        elif kind == "intset_big":
            client.send("SADD", "k", *[b"%d" % i for i in ids])


@pytest.mark.parametrize("kind,encoding", [("hash", b"hashtable"), ("zset", b"skiplist"),
                                           ("list", b"quicklist"), ("set", b"hashtable"),
                                           ("intset_big", b"hashtable")])
def test_round_trip_big(client, kind, encoding):
    _fill_big(client, kind)
    assert enc(client, "k") == encoding
    payload = client.send("DUMP", "k")
    assert client.send("RESTORE", "copy", "0", payload) == b"OK"
    assert enc(client, "copy") == encoding
    assert value(client, "copy") == value(client, "k")
    assert client.send("DUMP", "copy") == payload
    card = {"hash": "HLEN", "zset": "ZCARD", "list": "LLEN"}.get(kind, "SCARD")
    assert client.send(card, "copy") == BIG


def test_big_list_keeps_order_and_takes_several_nodes(client):
    _fill_big(client, "list")
    payload = client.send("DUMP", "k")
    r = rdb.Reader(payload, 1)
    assert payload[0] == rdb.TYPE_LIST_QUICKLIST_2 and r.plain_length() > 10
    client.send("RESTORE", "copy", "0", payload)
    assert client.send("LINDEX", "copy", "0") == b"element-0"
    assert client.send("LINDEX", "copy", "-1") == b"element-%d" % (BIG - 1)
    assert client.send("LPOP", "copy") == b"element-0"
    assert client.send("RPUSH", "copy", "new") == BIG


def test_restored_zset_answers_range_queries(client):
    _fill_big(client, "zset")
    client.send("RESTORE", "copy", "0", client.send("DUMP", "k"))
    assert client.send("ZRANGEBYSCORE", "copy", "5", "5") == \
        client.send("ZRANGEBYSCORE", "k", "5", "5")
    assert client.send("ZRANK", "copy", "member:9999") == client.send("ZRANK", "k", "member:9999")
    assert client.send("ZSCORE", "copy", "member:1000") == b"23"


# --- RESTORE: TTL and options ----------------------------------------------------------------

def test_restore_with_relative_ttl(client):
    payload = rdb.dump_string(b"v")
    assert client.send("RESTORE", "k", "5000", payload) == b"OK"
    assert 4000 < client.send("PTTL", "k") <= 5000
    assert client.send("GET", "k") == b"v"


def test_restore_with_absttl(client):
    payload = rdb.dump_string(b"v")
    when = int(time.time() * 1000) + 100_000
    assert client.send("RESTORE", "k", str(when), payload, "ABSTTL") == b"OK"
    assert client.send("PEXPIRETIME", "k") == when


def test_restore_already_expired_creates_nothing(client):
    payload = rdb.dump_string(b"v")
    assert client.send("RESTORE", "k", "1", payload, "ABSTTL") == b"OK"
    assert client.send("EXISTS", "k") == 0
    # With REPLACE the old key goes all the same.
    client.send("RPUSH", "old", "x")
    assert client.send("RESTORE", "old", "1000", payload, "ABSTTL", "REPLACE") == b"OK"
    assert client.send("EXISTS", "old") == 0
    assert client.send("DBSIZE") == 0


def test_restore_ttl_overflow_counts_as_expired(client):
    # ttl + now overflows a long long in Redis: negative, so already expired.
    payload = rdb.dump_string(b"v")
    assert client.send("RESTORE", "k", "9223372036854775807", payload) == b"OK"
    assert client.send("EXISTS", "k") == 0
    assert client.send("RESTORE", "k", "9223372036854775807", payload, "ABSTTL") == b"OK"
    assert client.send("PEXPIRETIME", "k") == 9223372036854775807


def test_restore_ttl_zero_means_no_expiry(client):
    client.send("SET", "k", "old", "EX", "100")
    assert client.send("RESTORE", "k", "0", rdb.dump_string(b"new"), "REPLACE") == b"OK"
    assert client.send("PTTL", "k") == -1
    assert client.send("GET", "k") == b"new"


def test_dump_does_not_carry_the_ttl(client):
    client.send("SET", "k", "v", "EX", "100")
    client.send("RESTORE", "copy", "0", client.send("DUMP", "k"))
    assert client.send("TTL", "copy") == -1


def test_busykey_and_replace_across_types(client):
    client.send("HSET", "k", "f", "v")
    payload = rdb.dump_list([b"a", b"b"])
    assert err(client.send("RESTORE", "k", "0", payload)) == BUSYKEY
    assert client.send("RESTORE", "k", "0", payload, "REPLACE") == b"OK"
    assert client.send("TYPE", "k") == b"list"
    assert client.send("LRANGE", "k", "0", "-1") == [b"a", b"b"]
    assert client.send("RESTORE", "k", "0", rdb.dump_string(b"s"), "replace") == b"OK"
    assert client.send("GET", "k") == b"s"
    assert client.send("DBSIZE") == 1


def test_expired_key_is_not_busy(client):
    client.send("SET", "k", "old", "PX", "1")
    time.sleep(0.01)
    assert client.send("RESTORE", "k", "0", rdb.dump_string(b"new")) == b"OK"
    assert client.send("GET", "k") == b"new"


def test_options(client):
    p = rdb.dump_string(b"v")
    assert client.send("RESTORE", "a", "0", p, "IDLETIME", "100") == b"OK"
    assert client.send("RESTORE", "b", "0", p, "FREQ", "255") == b"OK"
    assert client.send("RESTORE", "c", "0", p, "REPLACE", "ABSTTL", "REPLACE") == b"OK"
    assert err(client.send("RESTORE", "d", "0", p, "IDLETIME", "-1")) == \
        "ERR Invalid IDLETIME value, must be >= 0"
    assert err(client.send("RESTORE", "d", "0", p, "IDLETIME", "x")) == NOT_INT
    assert err(client.send("RESTORE", "d", "0", p, "FREQ", "256")) == \
        "ERR Invalid FREQ value, must be >= 0 and <= 255"
    assert err(client.send("RESTORE", "d", "0", p, "FREQ", "-1")) == \
        "ERR Invalid FREQ value, must be >= 0 and <= 255"
    assert err(client.send("RESTORE", "d", "0", p, "FREQ", "5", "IDLETIME", "5")) == SYNTAX
    assert err(client.send("RESTORE", "d", "0", p, "IDLETIME", "5", "FREQ", "5")) == SYNTAX
    assert err(client.send("RESTORE", "d", "0", p, "IDLETIME")) == SYNTAX
    assert err(client.send("RESTORE", "d", "0", p, "foo")) == SYNTAX
    assert client.send("EXISTS", "d") == 0


def test_error_order(client):
    # Options first, then the key, then the TTL, then the payload (cluster.c's order).
    client.send("SET", "k", "v")
    assert err(client.send("RESTORE", "k", "abc", "junk", "foo")) == SYNTAX
    assert err(client.send("RESTORE", "k", "abc", "junk")) == BUSYKEY
    assert err(client.send("RESTORE", "k", "-1", "junk")) == BUSYKEY
    assert err(client.send("RESTORE", "n", "abc", "junk")) == NOT_INT
    assert err(client.send("RESTORE", "n", "-1", "junk")) == \
        "ERR Invalid TTL value, must be >= 0"
    assert err(client.send("RESTORE", "n", "0", "junk")) == BAD_PAYLOAD
    assert err(client.send("RESTORE", "n", "0", _p(15, b"\x00"))) == BAD_FORMAT
    assert err(client.send("RESTORE", "k")) == \
        "ERR wrong number of arguments for 'restore' command"


def test_bad_payloads(client):
    good = rdb.dump_string(b"v")
    assert err(client.send("RESTORE", "k", "0", good[:-1] + b"\x00")) == BAD_PAYLOAD
    assert err(client.send("RESTORE", "k", "0", b"123456789")) == BAD_PAYLOAD
    body = b"\x00\x01v\x0b\x00"  # RDB version 11 (Redis 7.2)
    assert err(client.send("RESTORE", "k", "0", body + rdb.crc64(body).to_bytes(8, "little"))) \
        == BAD_PAYLOAD
    for bad in (_p(rdb.TYPE_SET, el(0)), _p(rdb.TYPE_STREAM_LISTPACKS_2, b"\x00"),
                _p(rdb.TYPE_MODULE_2, b"\x00" * 12), _p(rdb.TYPE_LIST, el(5), es(b"a")),
                _p(20, es(rdb.listpack([b"a"]))), _p(rdb.TYPE_SET, el(2), es(b"a"), es(b"a"))):
        assert err(client.send("RESTORE", "k", "0", bad)) == BAD_FORMAT
    assert client.send("DBSIZE") == 0


def test_restore_asking_is_restore(client):
    assert client.send("RESTORE-ASKING", "k", "0", rdb.dump_string(b"v")) == b"OK"
    assert client.send("GET", "k") == b"v"


def test_restore_in_multi(client):
    assert client.send("MULTI") == b"OK"
    client.send("RESTORE", "k", "0", rdb.dump_list([b"a"]))
    client.send("RESTORE", "k", "0", rdb.dump_list([b"a"]))
    replies = client.send("EXEC")
    assert replies[0] == b"OK"
    assert str(replies[1]) == BUSYKEY


# --- the encoding a restored key gets (rdbLoadObject's conversions) -----------------------

@pytest.mark.parametrize("payload,encoding", [
    (_p(rdb.TYPE_SET, el(3), es(b"1"), es(b"2"), es(b"3")), b"intset"),
    (_p(rdb.TYPE_SET, el(512), *[es(b"%d" % i) for i in range(512)]), b"intset"),
    (_p(rdb.TYPE_SET, el(513), *[es(b"%d" % i) for i in range(513)]), b"hashtable"),
    (_p(rdb.TYPE_SET, el(2), es(b"1"), es(b"a")), b"hashtable"),
    (_p(rdb.TYPE_SET, el(1), es(b"-0")), b"hashtable"),
    (_p(rdb.TYPE_SET_INTSET, es(rdb.intset(range(512)))), b"intset"),
    (_p(rdb.TYPE_SET_INTSET, es(rdb.intset(range(513)))), b"hashtable"),
    (_p(rdb.TYPE_HASH, el(1), es(b"f"), es(b"v" * 64)), b"listpack"),
    (_p(rdb.TYPE_HASH, el(1), es(b"f"), es(b"v" * 65)), b"hashtable"),
    (_p(rdb.TYPE_HASH_LISTPACK, es(rdb.listpack([b"f", b"v" * 100]))), b"listpack"),
    (_p(rdb.TYPE_HASH_ZIPLIST, es(rdb.ziplist([b"f", b"v" * 100]))), b"listpack"),
    (_p(rdb.TYPE_HASH_ZIPMAP, es(rdb.zipmap([(b"f", b"v")]))), b"listpack"),
    (_p(rdb.TYPE_HASH_ZIPMAP, es(rdb.zipmap([(b"f", b"v" * 100)]))), b"hashtable"),
    (_p(rdb.TYPE_ZSET_2, el(1), es(b"m" * 64), struct.pack("<d", 1)), b"listpack"),
    (_p(rdb.TYPE_ZSET_2, el(1), es(b"m" * 65), struct.pack("<d", 1)), b"skiplist"),
    (_p(rdb.TYPE_ZSET_2, el(129), *[es(b"m%d" % i) + struct.pack("<d", i) for i in range(129)]),
     b"skiplist"),
    (_p(rdb.TYPE_ZSET_2, el(128), *[es(b"m%d" % i) + struct.pack("<d", i) for i in range(128)]),
     b"listpack"),
    (_p(rdb.TYPE_ZSET, el(1), es(b"m" * 65), b"\x011"), b"skiplist"),
    (_p(rdb.TYPE_ZSET_LISTPACK, es(rdb.listpack([b"m" * 100, b"1"]))), b"listpack"),
    (_p(rdb.TYPE_ZSET_ZIPLIST, es(rdb.ziplist([x for i in range(129) for x in (b"m%d" % i,
                                                                               b"1")]))),
     b"skiplist"),
    (_p(rdb.TYPE_LIST, el(1), es(b"a")), b"quicklist"),
    (_p(rdb.TYPE_STRING, es(b"123")), b"int"),
    (_p(rdb.TYPE_STRING, es(b"a" * 44)), b"embstr"),
    (_p(rdb.TYPE_STRING, es(b"a" * 45)), b"raw"),
], ids=lambda x: x.hex()[:12] if isinstance(x, bytes) and len(x) > 12 else None)
def test_restored_encoding(client, payload, encoding):
    # Each case was checked against redis-server 7.0.15's OBJECT ENCODING after RESTORE.
    assert client.send("RESTORE", "k", "0", payload) == b"OK"
    assert enc(client, "k") == encoding


def test_restore_reads_old_formats(client):
    client.send("RESTORE", "l", "0", _p(rdb.TYPE_LIST_QUICKLIST, el(2),
                                        es(rdb.ziplist([b"a", b"1"])), es(rdb.ziplist([b"c"]))))
    assert client.send("LRANGE", "l", "0", "-1") == [b"a", b"1", b"c"]
    client.send("RESTORE", "z", "0", _p(rdb.TYPE_ZSET, el(2), es(b"a"), b"\x031.5", es(b"b"),
                                        b"\xff"))
    assert client.send("ZRANGE", "z", "0", "-1", "WITHSCORES") == [b"b", b"-inf", b"a", b"1.5"]
    client.send("RESTORE", "h", "0", _p(rdb.TYPE_HASH_ZIPMAP,
                                        es(rdb.zipmap([(b"f", b"1"), (b"g", b"2")]))))
    assert client.send("HGETALL", "h") == [b"f", b"1", b"g", b"2"]
    assert client.send("HINCRBY", "h", "f", "5") == 6


# --- what else a restored key does: WATCH, blocked clients ----------------------------------

def test_restore_touches_watched_key(server, client):
    other = server.new_client()
    client.send("WATCH", "k")
    other.send("RESTORE", "k", "0", rdb.dump_string(b"v"))
    client.send("MULTI")
    client.send("SET", "k", "mine")
    assert client.send("EXEC") is None
    assert client.send("GET", "k") == b"v"


def test_restore_serves_a_blocked_pop(server):
    import asyncio

    async def main():
        a, p = server.new_client(), server.new_client()
        a.transport.data.clear()
        a.data_received(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nl\r\n$1\r\n0\r\n")
        assert a.blocked is not None
        assert p.send("RESTORE", "l", "0", rdb.dump_list([b"x", b"y"])) == b"OK"
        for _ in range(3):
            await asyncio.sleep(0)
        assert a.blocked is None
        reader = hiredis.Reader()
        reader.feed(bytes(a.transport.data))
        assert reader.gets() == [b"l", b"x"]
        assert p.send("LRANGE", "l", "0", "-1") == [b"y"]

    asyncio.run(main())
