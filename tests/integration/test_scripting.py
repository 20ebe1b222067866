"""Scripting on a real node through redis-py: register_script / EVALSHA, the usual lock and
rate-limit scripts, functions kept across a restart, and scripts on replicas."""
from __future__ import annotations

import threading
import time

import pytest
import redis

from tests.integration.replication_support import start_group, wait_in_step, wait_until

UNLOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
else
    return 0
end
"""

RATE_LIMIT = """
local current = redis.call('incr', KEYS[1])
if current == 1 then
    redis.call('pexpire', KEYS[1], ARGV[1])
end
if current > tonumber(ARGV[2]) then
    return {0, current, redis.call('pttl', KEYS[1])}
end
return {1, current, redis.call('pttl', KEYS[1])}
"""

TOKEN_BUCKET = """
local key, rate, capacity, now, requested = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]),
    tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('hmget', key, 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - ts) * rate)
local allowed = tokens >= requested
if allowed then tokens = tokens - requested end
redis.call('hset', key, 'tokens', tokens, 'ts', now)
redis.call('expire', key, 60)
return {allowed and 1 or 0, tostring(tokens)}
"""

COUNTER_LIB = """#!lua name=counters
local function bump(keys, args)
    return redis.call('incrby', keys[1], args[1] or 1)
end
local function peek(keys, args)
    return redis.call('get', keys[1])
end
redis.register_function('bump', bump)
redis.register_function{function_name='peek', callback=peek, flags={'no-writes'}}
"""


@pytest.fixture
def r(shared_photon):
    client = shared_photon.client()
    client.flushall()
    client.script_flush()
    client.function_flush()
    yield client
    client.close()


def test_eval_and_register_script(r):
    assert r.eval("return {KEYS[1], ARGV[1], #KEYS}", 1, "k", "v") == [b"k", b"v", 1]
    script = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    assert script(keys=["n"], args=[5]) == 5
    assert script(keys=["n"], args=[2]) == 7
    assert r.script_exists(script.sha) == [True]
    r.script_flush()
    assert r.script_exists(script.sha) == [False]
    assert script(keys=["n"], args=[1]) == 8  # redis-py reloads after NOSCRIPT
    with pytest.raises(redis.exceptions.NoScriptError):
        r.evalsha("0" * 40, 0)
    with pytest.raises(redis.ResponseError, match="Number of keys can't be greater"):
        r.eval("return 1", 2, "only-one")


def test_script_errors_reach_the_client(r):
    r.set("s", "text")
    with pytest.raises(redis.ResponseError) as e:
        r.eval("return redis.call('incr', KEYS[1])", 1, "s")
    assert str(e.value).startswith("value is not an integer or out of range script: ")
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.eval("return redis.pcall('incr', KEYS[1])", 1, "s")
    assert r.eval("local e = redis.pcall('incr', KEYS[1]) return e.err", 1, "s") == (
        b"ERR value is not an integer or out of range")
    with pytest.raises(redis.ResponseError, match="Attempt to modify a readonly table"):
        r.eval("x = 1", 0)


def test_redlock_acquire_and_release(r):
    token = "token-123"
    assert r.set("lock:res", token, nx=True, px=10_000)
    assert not r.set("lock:res", "other", nx=True, px=10_000)
    release = r.register_script(UNLOCK)
    assert release(keys=["lock:res"], args=["wrong-token"]) == 0
    assert r.get("lock:res") == token.encode()
    assert release(keys=["lock:res"], args=[token]) == 1
    assert r.get("lock:res") is None
    assert r.set("lock:res", "next", nx=True, px=50)
    time.sleep(0.15)
    assert release(keys=["lock:res"], args=["next"]) == 0  # expired meanwhile


def test_redis_py_lock_uses_scripts(r):
    lock = r.lock("resource", timeout=5)
    assert lock.acquire(blocking=False)
    assert not r.lock("resource", timeout=5).acquire(blocking=False)
    assert lock.extend(5)
    lock.release()
    assert r.get("resource") is None


def test_rate_limiter(r):
    limiter = r.register_script(RATE_LIMIT)
    results = [limiter(keys=["rl:user1"], args=[1000, 3]) for _ in range(5)]
    assert [x[0] for x in results] == [1, 1, 1, 0, 0]
    assert [x[1] for x in results] == [1, 2, 3, 4, 5]
    assert all(0 < x[2] <= 1000 for x in results)
    bucket = r.register_script(TOKEN_BUCKET)
    now = 1_000_000
    grants = [bucket(keys=["tb"], args=[1, 3, now, 1])[0] for _ in range(4)]
    assert grants == [1, 1, 1, 0]
    assert bucket(keys=["tb"], args=[1, 3, now + 2, 1]) == [1, b"1"]


def test_scripts_are_atomic_under_concurrency(shared_photon, r):
    incr_pair = r.register_script(
        "local a = redis.call('incr', KEYS[1]) local b = redis.call('incr', KEYS[2]) "
        "return a - b")
    errors = []

    def worker():
        c = shared_photon.client()
        try:
            for _ in range(200):
                if incr_pair(keys=["a", "b"], client=c) != 0:
                    errors.append("pair seen half-done")
        finally:
            c.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert r.get("a") == r.get("b") == b"800"


def test_eval_in_pipeline_and_transaction(r):
    with r.pipeline(transaction=True) as p:
        p.eval("return redis.call('set', KEYS[1], ARGV[1])", 1, "tx", "1")
        p.eval("return redis.call('incr', KEYS[1])", 1, "tx")
        p.get("tx")
        assert p.execute() == [b"OK", 2, b"2"]


def test_functions(r):
    assert r.function_load(COUNTER_LIB) == b"counters"
    assert r.fcall("bump", 1, "c") == 1
    assert r.fcall("bump", 1, "c", 10) == 11
    assert r.fcall_ro("peek", 1, "c") == b"11"
    with pytest.raises(redis.ResponseError, match="write flag using \\*_ro"):
        r.fcall_ro("bump", 1, "c")
    listing = r.function_list(library="counters", withcode=True)
    assert listing[0][1] == b"counters"
    assert listing[0][-1] == COUNTER_LIB.encode()
    payload = r.function_dump()
    r.function_flush()
    with pytest.raises(redis.ResponseError, match="Function not found"):
        r.fcall("bump", 1, "c")
    assert r.function_restore(payload)
    assert r.fcall("bump", 1, "c") == 12
    assert r.function_stats()


def test_functions_survive_restart_and_flushall(photon_factory):
    node = photon_factory()
    with node.client() as c:
        c.function_load(COUNTER_LIB)
        c.fcall("bump", 1, "c", 5)
        c.flushall()  # as Redis: FLUSHALL keeps the libraries
        assert c.fcall("bump", 1, "c") == 1
    node.restart()
    with node.client() as c:
        assert c.fcall("bump", 1, "c") == 2
        assert c.function_list()[0][1] == b"counters"
        c.function_delete("counters")
    node.restart()
    with node.client() as c:
        assert c.function_list() == []


def test_scripts_on_replicas(photon_factory):
    master, (replica,) = start_group(photon_factory, replicas=1)
    with master.client() as m, replica.client() as rep:
        # EVAL sent to a replica runs on the master (it may write)
        assert rep.eval("return redis.call('incr', KEYS[1])", 1, "counter") == 1
        assert m.get("counter") == b"1"
        # a script only the replica knows goes to the master as EVAL
        sha = rep.script_load("return redis.call('incrby', KEYS[1], 10)")
        assert rep.evalsha(sha, 1, "counter") == 11
        # functions loaded on the master reach the replica with the data
        m.function_load(COUNTER_LIB)
        wait_in_step(master, [replica])
        wait_until(lambda: rep.fcall_ro("peek", 1, "counter") == b"11",
                   what="function on the replica")
        assert rep.fcall("bump", 1, "counter") == 12
        wait_in_step(master, [replica])
        assert rep.function_list()[0][1] == b"counters"
        # a no-writes script runs on the replica itself
        assert rep.eval("#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", 1,
                        "counter") == b"12"
        # a READONLY client's script may not write there
        rep.execute_command("READONLY")
        with pytest.raises(redis.exceptions.ReadOnlyError,
                           match="You can't write against a read only replica. script: "):
            rep.eval("return redis.call('set', KEYS[1], 'x')", 1, "counter")
        with pytest.raises(redis.ResponseError, match="write flag on readonly replica"):
            rep.eval("#!lua\nreturn redis.call('set', KEYS[1], 'x')", 1, "counter")
        assert rep.eval("return redis.call('get', KEYS[1])", 1, "counter") == b"12"


def test_script_kill_and_busy_texts(r):
    with pytest.raises(redis.ResponseError, match="NOTBUSY"):
        r.script_kill()
    with pytest.raises(redis.ResponseError, match="NOTBUSY"):
        r.execute_command("FUNCTION", "KILL")


def test_blocked_clients_are_served_after_the_script(shared_photon, r):
    """A client blocked on a list sees nothing of what a script pushed and popped again, and
    gets what a script left only once the script is over."""
    results = []

    def blpop():
        with shared_photon.client() as c:
            results.append(c.blpop(["queue"], timeout=10))

    waiter = threading.Thread(target=blpop)
    waiter.start()
    wait_until(lambda: r.info("clients")["blocked_clients"] == 1, what="BLPOP blocked")
    assert r.eval("redis.call('rpush', KEYS[1], 'inside') return redis.call('lpop', KEYS[1])",
                  1, "queue") == b"inside"
    time.sleep(0.1)
    assert results == []
    assert r.eval("redis.call('rpush', KEYS[1], 'a', 'b') return redis.call('llen', KEYS[1])",
                  1, "queue") == 2
    waiter.join(10)
    assert results == [(b"queue", b"a")]
    assert r.lrange("queue", 0, -1) == [b"b"]
