"""List commands on a real photon node through redis-py: the commands end to end, long lists
(pushes and pops stay point operations, middle edits shift the shorter side), and lists
surviving kill -9 and restart."""
from __future__ import annotations

import random
import socket
import time

import pytest
import redis

from tests.integration.resp import encode_request, wait_until


@pytest.fixture
def r(shared_photon):
    c = shared_photon.client()
    c.flushall()
    yield c
    c.close()


def test_basic_commands(r):
    assert r.rpush("l", "a", "b", "c") == 3
    assert r.lpush("l", "z") == 4
    assert r.lrange("l", 0, -1) == [b"z", b"a", b"b", b"c"]
    assert r.llen("l") == 4
    assert r.lindex("l", -1) == b"c"
    assert r.lset("l", 1, "A") is True
    assert r.linsert("l", "AFTER", "A", "A2") == 5
    assert r.lrem("l", 0, "z") == 1
    assert r.lpos("l", "b") == 2
    assert r.lpos("l", "c", count=0) == [3]
    assert r.ltrim("l", 0, 2) is True
    assert r.lrange("l", 0, -1) == [b"A", b"A2", b"b"]
    assert r.lmove("l", "m", "LEFT", "RIGHT") == b"A"
    assert r.rpoplpush("l", "m") == b"b"
    assert r.lmpop(2, "x", "m", direction="RIGHT", count=5) == [b"m", [b"A", b"b"]]
    assert r.lpop("l", 5) == [b"A2"]
    assert r.exists("l", "m") == 0
    assert r.lpushx("l", "a") == 0
    with pytest.raises(redis.ResponseError, match="no such key"):
        r.lset("l", 0, "x")


def test_errors_through_redis_py(r):
    r.set("s", "v")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.lpush("s", "a")
    r.rpush("l", "a")
    with pytest.raises(redis.ResponseError, match="index out of range"):
        r.lset("l", 5, "x")
    with pytest.raises(redis.ResponseError, match="RANK can't be zero"):
        r.lpos("l", "a", rank=0)


def test_resp3_replies(shared_photon):
    with shared_photon.client(protocol=3) as r3:
        r3.flushall()
        assert r3.lpop("nokey") is None
        assert r3.lpop("nokey", 2) is None
        r3.rpush("l", "a")
        assert r3.lpop("l", 0) == []
        assert r3.lrange("l", 0, -1) == [b"a"]
        assert r3.blpop(["l"], 0.1) == [b"l", b"a"]
        assert r3.blpop(["l"], 0.05) is None


def test_long_list_point_operations(r):
    n = 20000
    pipe = r.pipeline(transaction=False)
    for i in range(0, n, 1000):
        pipe.rpush("big", *[str(j) for j in range(i, i + 1000)])
    pipe.execute()
    assert r.llen("big") == n
    assert r.lindex("big", 12345) == b"12345"
    assert r.lindex("big", -1) == str(n - 1).encode()
    assert r.lrange("big", 9998, 10001) == [b"9998", b"9999", b"10000", b"10001"]
    t0 = time.perf_counter()
    for _ in range(200):
        r.lpush("big", "h")
        r.rpop("big")
        r.lset("big", 10000, "mid")
    elapsed = time.perf_counter() - t0
    assert elapsed < 5, elapsed  # O(1) each: no rewriting of the list
    assert r.llen("big") == n
    assert r.lindex("big", 0) == b"h"


def test_long_list_middle_edits_match_a_model(r):
    rnd = random.Random(7)
    model = [str(i) for i in range(500)]
    r.rpush("m", *model)
    for _ in range(150):
        op = rnd.choice(["insert", "rem", "trim", "set", "lpush", "rpop"])
        if op == "insert":
            pivot = rnd.choice(model)
            where = rnd.choice(["BEFORE", "AFTER"])
            val = f"n{rnd.randrange(1000)}"
            assert r.linsert("m", where, pivot, val) == len(model) + 1
            i = model.index(pivot)
            model.insert(i if where == "BEFORE" else i + 1, val)
        elif op == "rem":
            val = rnd.choice(model)
            count = rnd.choice([0, 1, -1, 2, -2])
            idxs = [i for i, v in enumerate(model) if v == val]
            if count < 0:
                idxs.reverse()
            if count:
                idxs = idxs[:abs(count)]
            assert r.lrem("m", count, val) == len(idxs)
            for i in sorted(idxs, reverse=True):
                del model[i]
        elif op == "trim" and len(model) > 100:
            r.ltrim("m", 1, -2)
            model = model[1:-1]
        elif op == "set":
            i = rnd.randrange(len(model))
            r.lset("m", i, f"s{i}")
            model[i] = f"s{i}"
        elif op == "lpush":
            r.lpush("m", "p")
            model.insert(0, "p")
        elif op == "rpop":
            assert r.rpop("m") == model.pop().encode()
        assert r.llen("m") == len(model)
    assert r.lrange("m", 0, -1) == [v.encode() for v in model]


def test_restart_after_kill_keeps_lists(photon):
    r = photon.client()
    r.rpush("l", *[f"e{i}" for i in range(100)])
    r.lpush("l", "head")
    r.lpop("l")
    r.lpop("l")
    r.linsert("l", "BEFORE", "e50", "mid")
    r.lrem("l", 1, "e10")
    r.ltrim("l", 0, 90)
    r.rpush("gone", "x")
    r.rpop("gone")
    want = r.lrange("l", 0, -1)
    assert len(want) == 91
    r.close()
    photon.restart()
    r = photon.client()
    assert r.lrange("l", 0, -1) == want
    assert r.llen("l") == 91
    assert r.exists("gone") == 0
    assert r.rpush("l", "after") == 92
    assert r.lindex("l", -1) == b"after"
    r.close()


def test_restart_while_a_client_is_blocked(photon):
    r = photon.client()
    r.rpush("keep", "a", "b")
    s = socket.create_connection(("127.0.0.1", photon.port), timeout=10)
    s.sendall(encode_request("BLPOP", "empty", "0"))
    assert wait_until(lambda: r.info("clients")["blocked_clients"] == 1)
    r.close()
    photon.restart()
    try:
        assert s.recv(100) == b""  # the blocked client's connection just ends
    except ConnectionResetError:
        pass
    s.close()
    r = photon.client()
    assert r.lrange("keep", 0, -1) == [b"a", b"b"]
    assert r.exists("empty") == 0
    assert r.info("clients")["blocked_clients"] == 0
    r.close()


def test_expiring_list(r):
    r.rpush("l", "a")
    r.pexpire("l", 100)
    assert wait_until(lambda: r.exists("l") == 0, timeout=3)
    assert r.rpush("l", "b") == 1
    assert r.ttl("l") == -1
