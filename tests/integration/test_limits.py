"""Limits against hostile or broken clients, on real sockets: Redis's caps before AUTH (10
arguments, 16 KiB bulks), bulk length (proto-max-bulk-len, 512 MB), multibulk count, inline and
header line lengths, the client query buffer cap, output buffer limits per client class,
maxclients -- each answered with Redis's error and a close, never a crash, an allocation of the
claimed size or a stall of other clients -- and glob patterns that cannot blow up in time."""
from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from tests.integration.resp import RawConn, encode_request, wait_until


def _exchange(port: int, data: bytes, wait: float = 0.5) -> tuple[bytes, bool]:
    with RawConn(port) as conn:
        try:
            conn.send(data)
        except OSError:
            pass
        return conn.read_all(wait)


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _ping_latency(port: int) -> float:
    start = time.monotonic()
    with RawConn(port, timeout=5) as conn:
        assert conn.call("PING") in (b"+PONG\r\n", b"-NOAUTH Authentication required.\r\n")
    return time.monotonic() - start


@pytest.fixture
def secured(photon_factory):
    return photon_factory("--requirepass", "pw")


# --- before AUTH -----------------------------------------------------------------------------

@pytest.mark.parametrize("data, reply", [
    (b"*11\r\n", b"-ERR Protocol error: unauthenticated multibulk length\r\n"),
    (b"*1000000000\r\n", b"-ERR Protocol error: unauthenticated multibulk length\r\n"),
    (b"*1\r\n$16385\r\n", b"-ERR Protocol error: unauthenticated bulk length\r\n"),
    (b"*2\r\n$4\r\nAUTH\r\n$536870912\r\n", b"-ERR Protocol error: unauthenticated bulk "
                                            b"length\r\n"),
    (b"*3000000000\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
])
def test_unauthenticated_caps(secured, data, reply):
    assert _exchange(secured.port, data) == (reply, True)


def test_unauthenticated_caps_match_redis(secured, tmp_path):
    import shutil

    from tests.support import RedisProcess

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    ref = RedisProcess(tmp_path / "r", "--requirepass", "pw").start()
    try:
        for data in (b"*11\r\n", b"*1\r\n$16385\r\n", b"*10\r\n$16384\r\n",
                     b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*11\r\n$3\r\nSET\r\n",
                     b"GET a\r\n*11\r\n"):
            assert _exchange(secured.port, data) == _exchange(ref.port, data), data
    finally:
        ref.stop()


def test_many_unauthenticated_giants_cost_nothing(secured):
    before = _rss_mb(secured.proc.pid)
    conns = []
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", secured.port))
        s.sendall(b"*2\r\n$3\r\nGET\r\n$16384\r\n" + b"x" * 1000)  # within the cap: waits
        conns.append(s)
    assert _ping_latency(secured.port) < 1.0
    for s in conns:
        s.close()
    assert _rss_mb(secured.proc.pid) - before < 50


# --- after AUTH (or without a password): Redis's own caps --------------------------------------

def test_bulk_and_multibulk_caps_match_redis(photon, redis_ref):
    for data in (b"*1\r\n$536870913\r\n", b"*1\r\n$-5\r\n", b"*1\r\n$abc\r\n",
                 b"*2147483648\r\n", b"*-1\r\nPING\r\n", b"*1\r\n+PING\r\n",
                 b"*1\r\n$" + b"1" * 70000, b"P" * 70000, b"*" + b"1" * 70000,
                 b'SET a "unbalanced\r\n', b"*1\r\n$4\r\nPING\r\n*0\r\n*1\r\n:1\r\n"):
        assert _exchange(photon.port, data) == _exchange(redis_ref.port, data), data[:30]


def test_claimed_sizes_are_never_allocated(photon):
    pid = photon.proc.pid
    before = _rss_mb(pid)
    conns = []
    for header in (b"*1\r\n$536870912\r\n", b"*2147483647\r\n", b"*1\r\n~2000000000\r\n",
                   b"*1\r\n>2000000000\r\n", b"*2000000000\r\n$1\r\na\r\n"):
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", photon.port))
            s.sendall(header + b"x" * 100)
            conns.append(s)
        assert _ping_latency(photon.port) < 1.0, header
    time.sleep(0.3)
    assert _rss_mb(pid) - before < 50
    for s in conns:
        s.close()
    assert _ping_latency(photon.port) < 1.0


def test_proto_max_bulk_len(photon):
    with RawConn(photon.port) as conn:
        assert conn.call("CONFIG", "SET", "proto-max-bulk-len", "1mb") == b"+OK\r\n"
    assert _exchange(photon.port, b"*2\r\n$3\r\nGET\r\n$1048577\r\n") == (
        b"-ERR Protocol error: invalid bulk length\r\n", True)
    with RawConn(photon.port) as conn:
        assert conn.call("SET", "k", b"x" * 1048576) == b"+OK\r\n"


def test_query_buffer_cap_closes_the_client(photon):
    with RawConn(photon.port) as conn:
        assert conn.call("CONFIG", "SET", "client-query-buffer-limit", "1mb") == b"+OK\r\n"
    s = socket.create_connection(("127.0.0.1", photon.port), timeout=5)
    s.sendall(b"*2\r\n$3\r\nGET\r\n$5000000\r\n")
    closed = False
    try:
        for _ in range(100):
            s.sendall(b"x" * 65536)
    except OSError:
        closed = True
    if not closed:
        try:
            closed = s.recv(100) == b""
        except OSError:
            closed = True
    s.close()
    assert closed
    # many tiny arguments count too (their memory, not just their bytes on the wire)
    s = socket.create_connection(("127.0.0.1", photon.port), timeout=5)
    try:
        s.sendall(b"*100000000\r\n")
        for _ in range(100):
            s.sendall(b"$0\r\n\r\n" * 10000)
        closed = s.recv(100) == b""
    except OSError:
        closed = True
    s.close()
    assert closed
    assert "max query buffer length" in photon.logs()
    assert _ping_latency(photon.port) < 1.0


def test_output_buffer_limit_normal_class(photon):
    with RawConn(photon.port) as conn:
        assert conn.call("CONFIG", "SET", "client-output-buffer-limit",
                         "normal 1mb 512kb 1") == b"+OK\r\n"
        assert conn.call("SET", "big", b"v" * 100_000) == b"+OK\r\n"
    s = socket.create_connection(("127.0.0.1", photon.port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        for _ in range(40):  # 4 MB of replies nobody reads
            s.sendall(encode_request("GET", "big") * 10)
    except OSError:
        pass
    assert wait_until(lambda: "output buffer limits" in photon.logs(), 10)
    s.close()
    with RawConn(photon.port) as conn:
        info = conn.call("INFO", "stats")
    assert b"client_output_buffer_limit_disconnections:1" in info
    assert _ping_latency(photon.port) < 1.0


def test_maxclients_matches_redis(photon, redis_ref):
    for node in (photon, redis_ref):
        with RawConn(node.port) as admin:
            assert admin.call("CONFIG", "SET", "maxclients", "3") == b"+OK\r\n"
            extra = [socket.create_connection(("127.0.0.1", node.port)) for _ in range(2)]
            time.sleep(0.2)
            try:
                assert _exchange(node.port, b"PING\r\n") == (
                    b"-ERR max number of clients reached\r\n", True)
            finally:
                for s in extra:
                    s.close()
                time.sleep(0.2)
                assert admin.call("CONFIG", "SET", "maxclients", "10000") == b"+OK\r\n"


# --- glob patterns -----------------------------------------------------------------------------

def test_crafted_glob_patterns_stay_fast(photon):
    r = photon.client()
    pipe = r.pipeline(transaction=False)
    for i in range(2000):
        pipe.set("a" * 60 + str(i), "x")
    pipe.execute()
    evil = "*a" * 30 + "*b"
    start = time.monotonic()
    assert r.keys(evil) == []
    assert list(r.scan_iter(match=evil, count=500)) == []
    assert r.keys("[" * 1000) == []
    assert r.keys("\\" * 999 + "a*") == []
    long_pattern = ("a?" * 5000) + "*"
    assert r.keys(long_pattern) == []
    assert time.monotonic() - start < 5.0
    # PSUBSCRIBE with the same pattern: publishing to a long channel stays fast
    p = photon.client().pubsub()
    p.psubscribe(evil)
    start = time.monotonic()
    for _ in range(200):
        r.publish("a" * 5000, "m")
    assert time.monotonic() - start < 5.0
    p.close()


def test_other_clients_keep_being_served_during_an_attack(photon):
    stop = threading.Event()
    errors = []

    def attack():
        payloads = [b"*1\r\n~2000000000\r\n", os.urandom(2000), b"*3000000000\r\n",
                    b"POST / HTTP/1.1\r\n", b"*1\r\n$536870912\r\n" + b"x" * 10000]
        i = 0
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", photon.port), timeout=1) as s:
                    s.sendall(payloads[i % len(payloads)])
            except OSError as e:
                errors.append(e)
            i += 1

    threads = [threading.Thread(target=attack) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        worst = max(_ping_latency(photon.port) for _ in range(20))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert worst < 1.0
    assert photon.proc.poll() is None
