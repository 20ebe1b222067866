"""Blocking list pops end to end, through redis-py and raw sockets.

Every scenario runs against photon and, when redis-server is installed, against a real Redis
7.0 with the same expectations: wake-ups by other clients, first-blocked-first-served, decimal
timeouts, BLMOVE chains, MULTI, transactions and pipelines, hung-up clients.
"""
from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest
import redis

from tests.integration.resp import RawConn, encode_request, wait_until

TARGETS = ["photon"] + (["redis"] if shutil.which("redis-server") else [])


@pytest.fixture(params=TARGETS)
def port(request, shared_photon):
    if request.param == "photon":
        p = shared_photon.port
    else:
        p = request.getfixturevalue("redis_ref").port
    r = redis.Redis(port=p)
    r.flushall()
    r.close()
    return p


def conn(port: int, **kw) -> redis.Redis:
    kw.setdefault("socket_timeout", 30)
    return redis.Redis(host="127.0.0.1", port=port, **kw)


def blocked_count(port: int) -> int:
    with conn(port) as r:
        return r.info("clients")["blocked_clients"]


class Waiter:
    """A client running one blocking command in a thread."""

    def __init__(self, port: int, fn, protocol: int = 2, db: int = 0) -> None:
        self.client = conn(port, protocol=protocol, db=db)
        self.result = None
        self.error: Exception | None = None
        self.done_at = 0.0
        self.started = time.monotonic()

        def run():
            try:
                self.result = fn(self.client)
            except Exception as e:  # noqa: BLE001 - surfaced to the test
                self.error = e
            self.done_at = time.monotonic()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def get(self, timeout: float = 10):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "blocked client was never served"
        self.client.close()
        if self.error is not None:
            raise self.error
        return self.result

    @property
    def waiting(self) -> bool:
        return self.thread.is_alive()


def block(port: int, fn, n_blocked: int, **kw) -> Waiter:
    """Start a waiter and wait until the server counts it as blocked (so the order in which
    waiters block is the order the test starts them)."""
    w = Waiter(port, fn, **kw)
    assert wait_until(lambda: blocked_count(port) >= n_blocked), "client did not block"
    return w


# --- wake-ups ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cmd,want", [
    (lambda r: r.blpop(["nokey", "l"], 0), (b"l", b"a")),
    (lambda r: r.brpop(["l"], 0), (b"l", b"c")),
    (lambda r: r.blmpop(0, 2, "x", "l", direction="RIGHT", count=2), [b"l", [b"c", b"b"]]),
    (lambda r: r.blmove("l", "d", 0, "LEFT", "RIGHT"), b"a"),
    (lambda r: r.brpoplpush("l", "d", 0), b"c"),
])
def test_push_from_another_client_wakes(port, cmd, want):
    w = block(port, cmd, 1)
    with conn(port) as r:
        assert r.rpush("l", "a", "b", "c") == 3  # the pusher's reply counts its own push
        assert w.get() == want
        assert wait_until(lambda: blocked_count(port) == 0)


def test_lpush_wakes_with_head_element(port):
    w = block(port, lambda r: r.blpop(["l"], 0), 1)
    with conn(port) as r:
        r.lpush("l", "a", "b", "c")
        assert w.get() == (b"l", b"c")
        assert r.lrange("l", 0, -1) == [b"b", b"a"]


def test_fifo_order_of_blocked_clients(port):
    waiters = [block(port, lambda r: r.blpop(["l"], 0), i + 1) for i in range(5)]
    with conn(port) as r:
        r.rpush("l", *[f"v{i}" for i in range(3)])
        got = [w.get() for w in waiters[:3]]
        assert got == [(b"l", f"v{i}".encode()) for i in range(3)]
        assert waiters[3].waiting and waiters[4].waiting
        r.rpush("l", "v3")
        assert waiters[3].get() == (b"l", b"v3")
        assert waiters[4].waiting
        r.rpush("l", "v4")
        assert waiters[4].get() == (b"l", b"v4")
        assert r.exists("l") == 0


def test_fifo_across_different_key_lists(port):
    a = block(port, lambda r: r.blpop(["k1", "k2"], 0), 1)
    b = block(port, lambda r: r.brpop(["k2"], 0), 2)
    c = block(port, lambda r: r.blpop(["k2", "k1"], 0), 3)
    with conn(port) as r:
        r.rpush("k2", "x", "y")
        assert a.get() == (b"k2", b"x")
        assert b.get() == (b"k2", b"y")
        assert c.waiting
        r.rpush("k1", "z")
        assert c.get() == (b"k1", b"z")


def test_ready_key_order_inside_transaction(port):
    w = block(port, lambda r: r.blpop(["a", "b"], 0), 1)
    with conn(port) as r:
        p = r.pipeline(transaction=True)
        p.rpush("b", "x")
        p.rpush("a", "y")
        p.execute()
        assert w.get() == (b"b", b"x")  # served from the key that became ready first


def test_transaction_push_and_pop_leaves_nothing(port):
    w = block(port, lambda r: r.blpop(["l"], 1), 1)
    with conn(port) as r:
        p = r.pipeline(transaction=True)
        p.rpush("l", "a")
        p.rpop("l")
        assert p.execute() == [1, b"a"]
        assert w.get() is None


def test_pipelined_push_then_pop_serves_blocked_first(port):
    w = block(port, lambda r: r.blpop(["l"], 2), 1)
    with conn(port) as r:
        p = r.pipeline(transaction=False)
        p.rpush("l", "a")
        p.rpop("l")
        assert p.execute() == [1, None]
        assert w.get() == (b"l", b"a")


def test_blmpop_blocked_count(port):
    w = block(port, lambda r: r.blmpop(0, 1, "l", direction="LEFT", count=2), 1)
    with conn(port) as r:
        r.rpush("l", "a", "b", "c")
        assert w.get() == [b"l", [b"a", b"b"]]
        assert r.lrange("l", 0, -1) == [b"c"]


def test_other_database_is_not_served(port):
    w = block(port, lambda r: r.blpop(["l"], 0.5), 1, db=1)
    with conn(port) as r:
        r.rpush("l", "q")
        assert w.get() is None
        assert r.lrange("l", 0, -1) == [b"q"]
    with conn(port, db=1) as r1:
        w = block(port, lambda r: r.blpop(["l"], 0), 1, db=1)
        r1.rpush("l", "z")
        assert w.get() == (b"l", b"z")


def test_rename_into_a_waited_key(port):
    w = block(port, lambda r: r.blpop(["l"], 5), 1)
    with conn(port) as r:
        r.rpush("tmp", "z")
        r.rename("tmp", "l")
        assert w.get() == (b"l", b"z")


def test_key_of_other_type_keeps_waiting(port):
    w = block(port, lambda r: r.blpop(["x"], 0), 1)
    with conn(port) as r:
        r.set("x", "v")
        time.sleep(0.2)
        assert w.waiting
        r.delete("x")
        r.rpush("x", "a")
        assert w.get() == (b"x", b"a")


# --- BLMOVE -----------------------------------------------------------------------------------

def test_blmove_chain_wakes_in_turn(port):
    a = block(port, lambda r: r.blmove("l1", "l2", 0, "LEFT", "RIGHT"), 1)
    b = block(port, lambda r: r.brpoplpush("l2", "l3", 0), 2)
    c = block(port, lambda r: r.blpop(["l3"], 0), 3)
    with conn(port) as r:
        r.rpush("l1", "v")
        assert a.get() == b"v"
        assert b.get() == b"v"
        assert c.get() == (b"l3", b"v")
        assert r.exists("l1", "l2", "l3") == 0


def test_blmove_served_before_later_waiters_of_its_target(port):
    a = block(port, lambda r: r.blmove("l", "m", 0, "LEFT", "RIGHT"), 1)
    b = block(port, lambda r: r.blpop(["l"], 5), 2)
    c = block(port, lambda r: r.blpop(["m"], 5), 3)
    with conn(port) as r:
        r.rpush("l", "a", "b")
        assert a.get() == b"a"
        assert b.get() == (b"l", b"b")
        assert c.get() == (b"m", b"a")


def test_blmove_rotation_into_the_same_list(port):
    a = block(port, lambda r: r.blmove("l", "l", 0, "LEFT", "RIGHT"), 1)
    b = block(port, lambda r: r.blpop(["l"], 5), 2)
    with conn(port) as r:
        r.rpush("l", "a")
        assert a.get() == b"a"
        assert b.get() == (b"l", b"a")
        assert r.exists("l") == 0


def test_blmove_destination_of_wrong_type(port):
    w = block(port, lambda r: r.blmove("src", "s", 0, "LEFT", "RIGHT"), 1)
    with conn(port) as r:
        r.set("s", "v")
        r.rpush("src", "a")
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            w.get()
        assert r.lrange("src", 0, -1) == [b"a"]


# --- timeouts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cmd", [
    lambda r: r.blpop(["l"], 0.25),
    lambda r: r.brpop(["l", "m"], 0.25),
    lambda r: r.blmove("l", "d", 0.25, "LEFT", "LEFT"),
    lambda r: r.brpoplpush("l", "d", 0.25),
    lambda r: r.blmpop(0.25, 1, "l", direction="LEFT"),
])
def test_decimal_timeout(port, cmd):
    w = Waiter(port, cmd)
    assert w.get() is None
    elapsed = w.done_at - w.started
    assert 0.2 <= elapsed < 2, elapsed
    assert blocked_count(port) == 0


def test_timeout_replies_raw(port):
    with RawConn(port) as c:
        assert c.call("BLPOP", "l", "0.05") == b"*-1\r\n"
        assert c.call("BLMOVE", "l", "m", "LEFT", "LEFT", "0.05") == b"*-1\r\n"
        assert c.call("BRPOPLPUSH", "l", "m", "0.05") == b"*-1\r\n"
        assert c.call("BLMPOP", "0.05", "1", "l", "LEFT") == b"*-1\r\n"
        c.call("HELLO", "3")
        assert c.call("BLPOP", "l", "0.05") == b"_\r\n"
        assert c.call("BLMOVE", "l", "m", "LEFT", "LEFT", "0.05") == b"_\r\n"


def test_tiny_timeouts(port):
    with RawConn(port) as c:
        assert c.call("BLPOP", "l", "0.0001") == b"*-1\r\n"  # rounds up to 1 ms
    # -0.0001 s rounds up to 0 ms: forever.
    w = Waiter(port, lambda r: r.execute_command("BLPOP", "l", "-0.0001"))
    time.sleep(0.3)
    assert w.waiting
    with conn(port) as r:
        r.rpush("l", "x")
    assert tuple(w.get()) == (b"l", b"x")


def test_zero_timeout_waits_until_served(port):
    w = block(port, lambda r: r.blpop(["l"], 0), 1)
    time.sleep(0.5)
    assert w.waiting
    with conn(port) as r:
        r.rpush("l", "late")
    assert w.get() == (b"l", b"late")


def test_commands_after_a_blocking_one_wait_for_it(port):
    with RawConn(port) as c:
        c.send(encode_request("BLPOP", "l", "0.2") + encode_request("PING") +
               encode_request("LPUSH", "l", "x") + encode_request("LPOP", "l"))
        t0 = time.monotonic()
        assert c.read_reply() == b"*-1\r\n"
        assert time.monotonic() - t0 >= 0.15
        assert c.read_reply() == b"+PONG\r\n"
        assert c.read_reply() == b":1\r\n"
        assert c.read_reply() == b"$1\r\nx\r\n"


def test_served_then_pipelined_commands_run(port):
    with RawConn(port) as c, conn(port) as r:
        c.send(encode_request("BRPOP", "l", "0") + encode_request("LLEN", "l"))
        assert wait_until(lambda: blocked_count(port) == 1)
        r.rpush("l", "a", "b")
        assert c.read_reply() == b"*2\r\n$1\r\nl\r\n$1\r\nb\r\n"
        assert c.read_reply() == b":1\r\n"


# --- MULTI ------------------------------------------------------------------------------------

def test_blocking_inside_multi_answers_at_once(port):
    with RawConn(port) as c:
        assert c.call("MULTI") == b"+OK\r\n"
        for cmd in (("BLPOP", "l", "0"), ("BRPOP", "l", "0"),
                    ("BLMOVE", "l", "m", "LEFT", "LEFT", "0"), ("BRPOPLPUSH", "l", "m", "0"),
                    ("BLMPOP", "0", "1", "l", "LEFT")):
            assert c.call(*cmd) == b"+QUEUED\r\n"
        t0 = time.monotonic()
        assert c.call("EXEC") == b"*5\r\n*-1\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n"
        assert time.monotonic() - t0 < 1


def test_blocking_inside_multi_pops_what_is_there(port):
    with conn(port) as r:
        r.rpush("l", "a", "b")
        p = r.pipeline(transaction=True)
        p.blpop(["l"], 0)
        p.blmove("l", "m", 0, "LEFT", "RIGHT")
        p.blpop(["l"], 0)
        assert p.execute() == [(b"l", b"a"), b"b", None]


# --- hung-up clients --------------------------------------------------------------------------

def test_client_disconnecting_while_blocked_takes_nothing(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(encode_request("BLPOP", "l", "0"))
    assert wait_until(lambda: blocked_count(port) == 1)
    s.close()
    time.sleep(0.1)
    with conn(port) as r:
        assert r.rpush("l", "x") == 1
        time.sleep(0.1)
        assert r.lrange("l", 0, -1) == [b"x"]
        assert wait_until(lambda: blocked_count(port) == 0)


def test_hung_up_waiter_is_skipped_for_the_next_one(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(encode_request("BLPOP", "l", "0"))
    assert wait_until(lambda: blocked_count(port) == 1)
    w = block(port, lambda r: r.blpop(["l"], 0), 2)
    s.close()
    time.sleep(0.1)
    with conn(port) as r:
        r.rpush("l", "x")
        assert w.get() == (b"l", b"x")
        assert r.exists("l") == 0


def test_hung_up_waiter_is_forgotten_without_pushes(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(encode_request("BLPOP", "never", "0"))
    assert wait_until(lambda: blocked_count(port) == 1)
    s.close()
    assert wait_until(lambda: blocked_count(port) == 0, timeout=5)


def test_many_waiters_each_get_one(port):
    n = 30
    waiters = [block(port, lambda r: r.brpop(["q"], 0), i + 1) for i in range(n)]
    with conn(port) as r:
        for i in range(n):
            r.lpush("q", str(i))
        got = [w.get() for w in waiters]
    assert got == [(b"q", str(i).encode()) for i in range(n)]
