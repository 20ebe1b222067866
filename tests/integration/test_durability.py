"""What an acknowledged write survives: kill -9 in every appendfsync mode, group commit, and
commands that span shards."""
import contextlib
import os
import random
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from photon.keyspace.slots import shard_mapper

# kill -9 rounds of the cross-shard test; a longer run: PHOTON_CRASH_CYCLES=100
CRASH_CYCLES = int(os.environ.get("PHOTON_CRASH_CYCLES", "12"))
NO_RETRY = Retry(NoBackoff(), 0)  # a killed server ends the load thread at once


def _load(client, n, prefix="k"):
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        pipe.set(f"{prefix}:{i}", f"v{i}")
    assert all(pipe.execute())


@pytest.mark.parametrize("mode", ["always", "everysec", "no"])
def test_acknowledged_writes_survive_kill_9(photon_factory, mode):
    node = photon_factory("--appendfsync", mode)
    client = node.client()
    _load(client, 2000)
    client.hset("h", mapping={f"f{i}": i for i in range(300)})
    node.restart()
    client = node.client()
    assert client.dbsize() == 2001
    values = client.mget([f"k:{i}" for i in range(2000)])
    assert values == [f"v{i}".encode() for i in range(2000)]
    assert client.hlen("h") == 300


def test_always_groups_fsyncs_and_replies_after_them(photon_factory):
    node = photon_factory("--appendfsync", "always")
    client = node.client()
    before = client.info("persistence")["fsyncs"]
    _load(client, 2000)
    fsyncs = client.info("persistence")["fsyncs"] - before
    assert 1 <= fsyncs < 2000  # one per event-loop turn, not one per write
    assert client.config_get("appendfsync") == {"appendfsync": "always"}


def test_appendfsync_can_change_at_run_time(photon):
    client = photon.client()
    client.config_set("appendfsync", "always")
    client.set("a", "1")
    assert client.info("persistence")["fsyncs"] >= 1
    client.config_set("appendfsync", "no")
    assert client.config_get("appendfsync") == {"appendfsync": "no"}
    photon.restart()
    assert photon.client().get("a") == b"1"


def test_sigterm_shuts_down_cleanly(photon):
    photon.client().set("x", "1")
    assert photon.stop() == 0
    assert "ready to exit" in photon.logs()
    assert "Received SIGTERM" in photon.logs()
    photon.start()
    assert photon.client().get("x") == b"1"


def _keys_on_distinct_shards(n: int) -> list[str]:
    shard_of = shard_mapper(16)
    keys: dict[int, str] = {}
    i = 0
    while len(keys) < n:
        keys.setdefault(shard_of(f"atom:{i}".encode()), f"atom:{i}")
        i += 1
    return list(keys.values())


def test_cross_shard_commands_are_all_or_nothing_after_kill_9(photon_factory):
    """A RENAME of a 20,000-member set between two shards, and EXECs that write eight shards,
    killed with -9 at random moments: after each restart exactly one of the set's names
    holds it whole, and the eight keys agree (the intent journal finishes a commit that had
    written only some of its shards)."""
    node = photon_factory("--appendfsync", "no")
    src, dst, *group = _keys_on_distinct_shards(10)
    client = node.client()
    for start in range(0, 20000, 2000):
        client.sadd(src, *[f"m{i}" for i in range(start, start + 2000)])
    rng = random.Random(7)

    def renames():
        c = node.client(socket_timeout=10, retry=NO_RETRY)
        with contextlib.suppress(redis.ConnectionError, redis.TimeoutError, OSError):
            while True:
                c.rename(src, dst) if c.exists(src) else c.rename(dst, src)

    def transactions():
        c = node.client(socket_timeout=10, retry=NO_RETRY)
        n = 0
        with contextlib.suppress(redis.ConnectionError, redis.TimeoutError, OSError):
            while True:
                n += 1
                pipe = c.pipeline(transaction=True)
                for key in group:
                    pipe.set(key, n)
                pipe.execute()

    for _ in range(CRASH_CYCLES):
        threads = [threading.Thread(target=renames), threading.Thread(target=transactions)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.2, 0.8))
        node.kill()
        for t in threads:
            t.join()
        node.start()
        client = node.client()
        assert sorted([client.scard(src), client.scard(dst)]) == [0, 20000]
        assert len(set(client.mget(group))) == 1
    assert "Traceback" not in node.logs()


def test_writes_acknowledged_within_a_turn_survive_kill_9(photon_factory):
    """Many clients, one event-loop turn's commits written as one batch per shard: every
    INCR acknowledged before the kill is there after it (no reply leaves before its write)."""
    node = photon_factory("--appendfsync", "no")
    acked: dict[str, int] = {}
    stop = threading.Event()

    def counter(name):
        c = node.client(socket_timeout=10, retry=NO_RETRY)
        with contextlib.suppress(redis.ConnectionError, redis.TimeoutError, OSError):
            while not stop.is_set():
                pipe = c.pipeline(transaction=False)
                for _ in range(8):
                    pipe.incr(name)
                acked[name] = pipe.execute()[-1]

    names = [f"counter:{i}" for i in range(8)]
    threads = [threading.Thread(target=counter, args=(n,)) for n in names]
    for t in threads:
        t.start()
    time.sleep(1.5)
    node.kill()
    stop.set()
    for t in threads:
        t.join()
    node.start()
    client = node.client()
    assert len(acked) == len(names)
    for name in names:
        assert int(client.get(name)) >= acked[name] > 0


def test_staged_and_cross_shard_writes_keep_their_order(photon_factory):
    node = photon_factory("--appendfsync", "no")
    a, b = _keys_on_distinct_shards(2)
    client = node.client()
    pipe = client.pipeline(transaction=False)
    pipe.set(a, "1")
    pipe.mset({a: "2", b: "2"})  # two shards: written at once, after the staged SET
    pipe.get(a)
    pipe.set(b, "3")
    assert pipe.execute() == [True, True, b"2", True]
    node.kill()
    node.start()
    assert node.client().mget([a, b]) == [b"2", b"3"]
