"""Transactions on a real node through redis-py: pipelines with MULTI/EXEC, optimistic locking
with WATCH under concurrent writers, and what a transaction leaves after kill -9."""
from __future__ import annotations

import threading
import time

import pytest
import redis


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(request, photon):
    client = photon.client(protocol=request.param)
    client.flushall()
    return client


def test_pipeline_transaction(r):
    pipe = r.pipeline(transaction=True)
    pipe.set("a", "1").incr("a").incrbyfloat("a", 0.5).get("a").expire("a", 100).ttl("a")
    assert pipe.execute() == [True, 2, 2.5, b"2.5", True, 100]


def test_runtime_error_inside_exec(r):
    r.set("s", "abc")
    pipe = r.pipeline(transaction=True)
    pipe.incr("s").set("after", "1")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        pipe.execute()
    assert r.get("after") == b"1"  # the rest of the transaction ran


def test_queueing_error_discards_everything(r):
    pipe = r.pipeline(transaction=True)
    pipe.set("x", "1").execute_command("NOSUCHCOMMAND").set("y", "1")
    with pytest.raises(redis.ResponseError):
        pipe.execute()
    assert r.exists("x", "y") == 0


def test_optimistic_increment_under_concurrent_writers(photon):
    """Four threads each add 1 to a counter 50 times through WATCH/MULTI/EXEC, retrying on
    conflicts: no update is lost."""
    photon.client().set("counter", 0)
    conflicts = [0]
    lock = threading.Lock()

    def worker():
        r = photon.client()
        for _ in range(50):
            while True:
                with r.pipeline() as pipe:
                    try:
                        pipe.watch("counter")
                        value = int(pipe.get("counter"))
                        pipe.multi()
                        pipe.set("counter", value + 1)
                        pipe.execute()
                        break
                    except redis.WatchError:
                        with lock:
                            conflicts[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert photon.client().get("counter") == b"200"


def test_transaction_helper_with_watch(r):
    r.set("balance", 100)

    def spend(pipe):
        balance = int(pipe.get("balance"))
        pipe.multi()
        pipe.set("balance", balance - 30)

    r.transaction(spend, "balance")
    assert r.get("balance") == b"70"


def test_watch_invalidated_by_another_client(photon):
    a, b = photon.client(), photon.client()
    a.set("w", "1")
    pipe = a.pipeline()
    pipe.watch("w")
    b.set("w", "2")
    pipe.multi()
    pipe.set("w", "mine")
    with pytest.raises(redis.WatchError):
        pipe.execute()
    assert a.get("w") == b"2"


def test_watch_invalidated_by_expiry_and_flushall(photon):
    a, b = photon.client(), photon.client()
    a.set("w", "1", px=100)
    pipe = a.pipeline()
    pipe.watch("w")
    time.sleep(0.25)
    pipe.multi()
    pipe.set("z", "1")
    with pytest.raises(redis.WatchError):
        pipe.execute()
    a.set("w", "1")
    pipe = a.pipeline()
    pipe.watch("w")
    b.flushall()
    pipe.multi()
    pipe.set("z", "1")
    with pytest.raises(redis.WatchError):
        pipe.execute()
    assert a.exists("z") == 0


def test_committed_transaction_survives_kill_9(photon):
    r = photon.client()
    r.flushall()
    pipe = r.pipeline(transaction=True)
    for i in range(200):
        pipe.set(f"tx:{i}", i)
    pipe.incrby("tx:total", 200)
    assert len(pipe.execute()) == 201
    photon.restart()
    r = photon.client()
    assert r.get("tx:total") == b"200"
    assert r.mget([f"tx:{i}" for i in range(200)]) == [str(i).encode() for i in range(200)]


def test_queued_but_not_executed_is_lost_on_kill_9(photon):
    from tests.integration.resp import RawConn

    conn = RawConn(photon.port)
    assert conn.call("MULTI") == b"+OK\r\n"
    assert conn.call("SET", "never", "1") == b"+QUEUED\r\n"
    photon.restart()
    conn.close()
    assert photon.client().exists("never") == 0
