"""Strings and keys on a real node through redis-py (RESP2 and RESP3): what an application
sees, and what survives kill -9."""
from __future__ import annotations

import time

import pytest
import redis


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(request, photon):
    client = photon.client(protocol=request.param)
    client.flushall()
    return client


def test_string_session(r):
    assert r.set("greeting", "hello") is True
    assert r.get("greeting") == b"hello"
    assert r.append("greeting", " world") == 11
    assert r.strlen("greeting") == 11
    assert r.getrange("greeting", 0, 4) == b"hello"
    assert r.setrange("greeting", 6, "Redis") == 11
    assert r.get("greeting") == b"hello Redis"
    assert r.set("greeting", "x", nx=True) is None
    assert r.set("greeting", "x", xx=True, get=True) == b"hello Redis"
    assert r.getset("greeting", "y") == b"x"
    assert r.getdel("greeting") == b"y" and r.exists("greeting") == 0
    assert r.mset({"a": "1", "b": "2"}) is True
    assert r.msetnx({"b": "3", "c": "4"}) is False
    assert r.mget("a", "b", "c") == [b"1", b"2", None]
    assert r.incr("a") == 2 and r.incrby("a", 10) == 12 and r.decr("a") == 11
    assert r.decrby("a", 20) == -9
    assert r.incrbyfloat("fl", 0.1) == pytest.approx(0.1)
    assert r.incrbyfloat("fl", 0.2) == pytest.approx(0.3)
    assert r.get("fl") == b"0.3"
    assert r.setnx("n", "1") is True and r.setnx("n", "2") is False
    with pytest.raises(redis.ResponseError, match="not an integer or out of range"):
        r.incr("fl")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("SET", "k", "v", "NX", "XX")
    assert r.setbit("bits", 7, 1) == 0 and r.getbit("bits", 7) == 1
    assert r.bitcount("bits") == 1 and r.bitpos("bits", 1) == 7
    assert r.bitop("NOT", "inv", "bits") == 1 and r.get("inv") == b"\xfe"


def test_ttl_session(r):
    r.set("t", "v", ex=100)
    assert r.ttl("t") == 100
    assert 99000 < r.pttl("t") <= 100000
    r.set("t", "v2", keepttl=True)
    assert r.ttl("t") == 100
    assert r.expire("t", 50, lt=True) is True and r.ttl("t") == 50
    assert r.expire("t", 40, gt=True) is False
    assert r.persist("t") is True and r.ttl("t") == -1
    assert r.ttl("missing") == -2
    r.execute_command("SETEX", "sx", 30, "v")
    r.psetex("px", 30000, "v")
    assert r.ttl("sx") == 30 and r.ttl("px") == 30
    at = int(time.time()) + 1000
    assert r.expireat("t", at) is True and r.expiretime("t") == at
    assert r.getex("t", persist=True) == b"v2" and r.ttl("t") == -1
    with pytest.raises(redis.ResponseError, match="invalid expire time in 'set' command"):
        r.set("bad", "v", ex=0)


def test_expired_keys_are_never_returned(r):
    r.set("keep", "1")
    for i in range(50):
        r.set(f"short:{i}", "v", px=30)
    time.sleep(0.1)
    # Every read path: none of them may show a key past its expiry, swept or not.
    assert r.get("short:0") is None
    assert r.mget([f"short:{i}" for i in range(50)]) == [None] * 50
    assert r.exists(*[f"short:{i}" for i in range(50)]) == 0
    assert r.keys("short:*") == []
    assert list(r.scan_iter("short:*", count=7)) == []
    assert r.type("short:1") == b"none"
    assert r.ttl("short:2") == -2
    assert r.getrange("short:3", 0, -1) == b""
    assert r.strlen("short:4") == 0
    assert r.object("encoding", "short:5") is None
    assert r.randomkey() == b"keep"
    assert r.copy("short:6", "dst") is False
    with pytest.raises(redis.ResponseError, match="no such key"):
        r.rename("short:7", "dst")
    assert r.incr("short:8") == 1  # a new key, not the old value
    assert wait_until_dbsize(r, 2)


def wait_until_dbsize(r, n: int, timeout: float = 5.0) -> bool:
    """The active expiry cycle removes the rest in the background (DBSIZE counts them until)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if r.dbsize() == n:
            return True
        time.sleep(0.05)
    return r.dbsize() == n


def test_keys_scan_and_types(r):
    r.mset({f"user:{i}": i for i in range(100)})
    r.set("other", "x")
    assert len(r.keys("user:*")) == 100
    assert sorted(r.scan_iter("user:1?", count=10)) == [b"user:%d" % i for i in range(10, 20)]
    assert len(list(r.scan_iter(_type="string"))) == 101
    assert list(r.scan_iter(_type="list")) == []
    assert r.type("other") == b"string"
    assert r.rename("other", "renamed") is True
    assert r.renamenx("renamed", "user:1") is False
    assert r.unlink("renamed", "user:1") == 2
    assert r.touch("user:2", "user:3", "nope") == 2
    assert r.dbsize() == 99


def test_ttls_survive_restart(photon):
    r = photon.client()
    r.flushall()
    r.set("long", "v", ex=1000)
    r.set("abs", "v", pxat=int(time.time() * 1000) + 500_000)
    r.set("soon", "v", px=600)
    r.set("forever", "v")
    photon.restart()
    r = photon.client()
    assert 990 <= r.ttl("long") <= 1000
    assert 490 <= r.ttl("abs") <= 500
    assert r.ttl("forever") == -1
    time.sleep(0.7)
    assert r.get("soon") is None  # expired while or after the node was down
    assert r.exists("soon") == 0
    assert wait_until_dbsize(r, 3)


def test_key_expiring_while_down_is_gone_after_restart(photon):
    r = photon.client()
    r.flushall()
    r.set("brief", "v", px=300)
    photon.kill()
    time.sleep(0.5)
    photon.start()
    r = photon.client()
    assert r.get("brief") is None
    assert r.keys("*") == []
    assert list(r.scan_iter()) == []


def test_pipelined_load_then_kill_9(photon):
    """2,000 writes pipelined in one go; once they are all answered, kill -9 loses none."""
    r = photon.client()
    r.flushall()
    pipe = r.pipeline(transaction=False)
    for i in range(2000):
        if i % 4 == 0:
            pipe.set(f"load:{i}", f"value-{i}", ex=3600)
        elif i % 4 == 1:
            pipe.incrby(f"load:{i}", i)
        elif i % 4 == 2:
            pipe.append(f"load:{i}", f"value-{i}")
        else:
            pipe.setbit(f"load:{i}", i % 64, 1)
    replies = pipe.execute()
    assert len(replies) == 2000
    photon.restart()  # SIGKILL, then start again
    r = photon.client()
    assert r.dbsize() == 2000
    pipe = r.pipeline(transaction=False)
    for i in range(2000):
        pipe.get(f"load:{i}")
    values = pipe.execute()
    for i, v in enumerate(values):
        if i % 4 == 0 or i % 4 == 2:
            assert v == f"value-{i}".encode(), i
        elif i % 4 == 1:
            assert v == str(i).encode(), i
        else:
            bit = i % 64
            assert v == (b"\0" * (bit // 8) + bytes([0x80 >> (bit % 8)])), i
    assert 3500 < r.ttl("load:0") <= 3600
    assert r.info("keyspace")["db0"]["expires"] == 500


def test_raw_pipeline_of_2000_commands_in_one_write_survives_kill_9(photon):
    from tests.integration.resp import RawConn, encode_request

    data = b"".join(encode_request("SET", f"raw:{i}", i) for i in range(2000))
    with RawConn(photon.port, timeout=30) as conn:
        conn.send(data)
        assert [conn.read_reply() for _ in range(2000)] == [b"+OK\r\n"] * 2000
    photon.restart()
    r = photon.client()
    assert r.mget([f"raw:{i}" for i in range(2000)]) == [str(i).encode() for i in range(2000)]
