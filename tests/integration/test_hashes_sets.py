"""Hashes and sets through redis-py against a real ``photon serve`` (LevelDB shards), in RESP2
and RESP3, including restarts after kill -9 and collections big enough to leave the compact
Redis encodings."""
from __future__ import annotations

import pytest
import redis

from photon.commands import sampling


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(request, shared_photon):
    client = shared_photon.client(protocol=request.param)
    client.flushall()
    yield client
    client.close()


def test_hash_commands(r):
    assert r.hset("h", mapping={"a": "1", "b": "2"}) == 2
    assert r.hset("h", "c", "3") == 1
    assert not r.hsetnx("h", "a", "x")
    assert r.hsetnx("h", "d", "4")
    assert r.hget("h", "a") == b"1"
    assert r.hmget("h", ["a", "zz", "d"]) == [b"1", None, b"4"]
    assert r.hgetall("h") == {b"a": b"1", b"b": b"2", b"c": b"3", b"d": b"4"}
    assert sorted(r.hkeys("h")) == [b"a", b"b", b"c", b"d"]
    assert sorted(r.hvals("h")) == [b"1", b"2", b"3", b"4"]
    assert r.hlen("h") == 4
    assert r.hexists("h", "a")
    assert not r.hexists("h", "zz")
    assert r.hstrlen("h", "a") == 1
    assert r.hincrby("h", "a", 41) == 42
    assert r.hincrbyfloat("h", "b", 0.5) == 2.5
    assert r.hdel("h", "a", "zz") == 1
    assert r.execute_command("HMSET", "h", "x", "y")
    assert r.object("encoding", "h") == b"listpack"
    assert r.hdel("h", "b", "c", "d", "x") == 4
    assert r.exists("h") == 0


def test_hash_errors(r):
    r.set("str", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.hset("str", "a", "1")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.hgetall("str")
    r.hset("h", "s", "abc")
    with pytest.raises(redis.ResponseError, match="hash value is not an integer"):
        r.hincrby("h", "s", 1)
    with pytest.raises(redis.ResponseError, match="hash value is not a float"):
        r.hincrbyfloat("h", "s", 1)
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'hset'"):
        r.execute_command("HSET", "h", "a", "1", "b")


def test_hrandfield(r):
    r.hset("h", mapping={f"f{i}": f"v{i}" for i in range(20)})
    assert r.hrandfield("h") in {b"f%d" % i for i in range(20)}
    got = r.hrandfield("h", 5)
    assert len(set(got)) == 5
    got = r.hrandfield("h", -30, withvalues=True)
    if r.get_connection_kwargs().get("protocol") == 3:
        assert len(got) == 30 and all(v == b"v" + f[1:] for f, v in got)
    else:
        assert len(got) == 60 and all(v == b"v" + f[1:] for f, v in zip(got[::2], got[1::2]))
    assert r.hrandfield("nokey") is None
    assert r.hrandfield("nokey", 3) == []


def test_hscan_iter_big_hash(r):
    fields = {f"field:{i}": str(i) for i in range(1000)}
    r.hset("h", mapping=fields)
    assert r.object("encoding", "h") == b"hashtable"
    got = dict(r.hscan_iter("h", count=77))
    assert got == {k.encode(): v.encode() for k, v in fields.items()}
    matched = {k for k, _ in r.hscan_iter("h", match="field:99*", count=50)}
    assert matched == {b"field:99"} | {b"field:99%d" % i for i in range(10)}


def test_set_commands(r):
    assert r.sadd("s", "a", "b", "c", "a") == 3
    assert r.smembers("s") == {b"a", b"b", b"c"}
    assert r.sismember("s", "a") in (True, 1)
    assert r.smismember("s", ["a", "z"]) in ([True, False], [1, 0])
    assert r.scard("s") == 3
    assert r.srem("s", "a", "z") == 1
    assert r.smove("s", "t", "b")
    assert r.smembers("t") == {b"b"}
    assert r.spop("t") == b"b"
    assert r.exists("t") == 0
    r.sadd("x", 1, 2, 3, 4)
    r.sadd("y", 3, 4, 5)
    assert r.sinter("x", "y") == {b"3", b"4"}
    assert r.sunion("x", "y") == {b"1", b"2", b"3", b"4", b"5"}
    assert r.sdiff("x", "y") == {b"1", b"2"}
    assert r.sintercard(2, ["x", "y"]) == 2
    assert r.sintercard(2, ["x", "y"], limit=1) == 1
    assert r.sinterstore("d", "x", "y") == 2
    assert r.sunionstore("d", "x", "y") == 5
    assert r.sdiffstore("d", "x", "y") == 2
    assert r.smembers("d") == {b"1", b"2"}
    assert r.sdiffstore("d", "x", "x") == 0
    assert r.exists("d") == 0
    assert r.object("encoding", "x") == b"intset"
    popped = r.spop("x", 2)
    assert len(popped) == 2 and r.scard("x") == 2
    assert len(r.srandmember("y", -10)) == 10
    assert sorted(r.srandmember("y", 10)) == [b"3", b"4", b"5"]


def test_big_set_on_leveldb(r, monkeypatch):
    members = {f"member:{i}".encode() for i in range(sampling.EXACT_LIMIT + 1500)}
    pipe = r.pipeline(transaction=False)
    chunk = list(members)
    for i in range(0, len(chunk), 1000):
        pipe.sadd("big", *chunk[i:i + 1000])
    pipe.execute()
    assert r.scard("big") == len(members)
    assert r.object("encoding", "big") == b"hashtable"
    assert set(r.sscan_iter("big", count=500)) == members
    # Above EXACT_LIMIT, random picks are found by seeks on LevelDB.
    got = r.srandmember("big", 50)
    assert len(set(got)) == 50 and set(got) <= members
    assert set(r.srandmember("big", -50)) <= members
    popped = {r.spop("big") for _ in range(300)}
    assert len(popped) == 300 and popped <= members
    more = r.spop("big", 100)
    assert len(set(more)) == 100 and not set(more) & popped
    assert r.scard("big") == len(members) - 400
    assert r.sismember("big", next(iter(popped))) in (False, 0)
    left = set(r.sscan_iter("big", count=1000))
    assert left == members - popped - set(more)


def test_hash_survives_restart(photon):
    r = photon.client()
    fields = {f"f{i:05d}": f"value-{i}" * 3 for i in range(3000)}
    pipe = r.pipeline(transaction=False)
    items = list(fields.items())
    for i in range(0, len(items), 500):
        pipe.hset("h", mapping=dict(items[i:i + 500]))
    pipe.execute()
    r.hincrby("h", "counter", 7)
    r.expire("h", 1000)
    r.sadd("s", *range(100))
    r.sadd("t", "a", *range(10))
    assert r.hlen("h") == 3001
    photon.restart()
    r = photon.client()
    assert r.hlen("h") == 3001
    assert r.hget("h", "f01234") == b"value-1234" * 3
    assert r.hget("h", "counter") == b"7"
    got = r.hgetall("h")
    assert len(got) == 3001
    assert all(got[k.encode()] == v.encode() for k, v in fields.items())
    assert r.object("encoding", "h") == b"hashtable"
    assert 0 < r.ttl("h") <= 1000
    assert r.object("encoding", "s") == b"intset"
    assert r.object("encoding", "t") == b"hashtable"
    assert r.scard("s") == 100
    assert r.smembers("t") == {b"a"} | {str(i).encode() for i in range(10)}
    # Deleting the whole hash and writing again leaves no old fields behind.
    assert r.delete("h") == 1
    r.hset("h", "only", "1")
    photon.restart()
    r = photon.client()
    assert r.hgetall("h") == {b"only": b"1"}


def test_store_results_survive_restart(photon):
    r = photon.client()
    r.sadd("a", *range(0, 2000, 2))
    r.sadd("b", *range(0, 2000, 3))
    assert r.sinterstore("i", "a", "b") == len(range(0, 2000, 6))
    assert r.sunionstore("u", "a", "b") == len(set(range(0, 2000, 2)) | set(range(0, 2000, 3)))
    photon.restart()
    r = photon.client()
    assert {int(x) for x in r.smembers("i")} == set(range(0, 2000, 6))
    assert r.scard("u") == len(set(range(0, 2000, 2)) | set(range(0, 2000, 3)))
    assert r.object("encoding", "i") == b"intset"
    assert r.object("encoding", "u") == b"hashtable"


def test_watch_multi(r, shared_photon):
    r.hset("h", "a", "1")
    other = shared_photon.client()
    with r.pipeline() as pipe:
        pipe.watch("h")
        other.hset("h", "a", "2")
        pipe.multi()
        pipe.hget("h", "a")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    with r.pipeline() as pipe:
        pipe.watch("s")
        other.srem("s", "nothing")
        pipe.multi()
        pipe.sadd("s", "x")
        pipe.smembers("s")
        assert pipe.execute() == [1, {b"x"}]
    other.close()
