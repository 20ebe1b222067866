"""The wire protocol end to end: what a real client library, a pipelining client and a
hostile or broken client see. Byte-for-byte comparisons of protocol errors with redis-server
are in test_compare_core.py; the cases here need a node of their own (they stall or hang it)
or go through redis-py.
"""
from __future__ import annotations

import socket
import time

import pytest
import redis

from tests.integration.resp import RawConn, encode_request


def _responsive(port: int, within: float = 1.0) -> float | None:
    """Seconds another connection waits for PING, or None when it waits longer than ``within``."""
    start = time.monotonic()
    try:
        with RawConn(port, timeout=within) as conn:
            if conn.call("PING") != b"+PONG\r\n":
                return None
    except OSError:
        return None
    return time.monotonic() - start


def _exchange(port: int, data: bytes, wait: float = 0.5) -> tuple[bytes, bool]:
    with RawConn(port) as conn:
        conn.send(data)
        return conn.read_all(wait)


def _both(photon_port: int, redis_port: int, data: bytes, wait: float = 0.5):
    return _exchange(photon_port, data, wait), _exchange(redis_port, data, wait)


def test_simple_string_inside_a_request_is_a_protocol_error(photon, redis_ref):
    p, r = _both(photon.port, redis_ref.port, b"*1\r\n+PING\r\n")
    assert r == (b"-ERR Protocol error: expected '$', got '+'\r\n", True)
    assert p == r


def test_huge_multibulk_count_is_refused_at_once(photon):
    with RawConn(photon.port) as conn:
        conn.send(b"*3000000000\r\n")
        waited = _responsive(photon.port, within=2.0)
        reply = conn.read_all(15.0)
    assert reply == (b"-ERR Protocol error: invalid multibulk length\r\n", True)
    assert waited is not None and waited < 0.5, f"other clients waited {waited}"


def test_nul_byte_in_inline_request(photon_factory, redis_ref):
    """Redis finds an inline request's end with strchr, so a NUL before the newline means
    'no newline yet': that connection waits (and past 64 KiB gets 'too big inline request');
    every other client carries on."""
    node = photon_factory()
    p, r = _both(node.port, redis_ref.port, b"\x00\x01\r\nPING\r\n")
    assert r == (b"", False)
    assert _responsive(node.port) is not None, "the server stopped answering"
    assert p == r
    big = b"\x00" + b"A" * (70 * 1024)
    p, r = _both(node.port, redis_ref.port, big)
    assert r == (b"-ERR Protocol error: too big inline request\r\n", True)
    assert p == r


def test_protocol_error_closes_after_earlier_replies(photon):
    data = (encode_request("SET", "k", "1") + encode_request("INCR", "k") +
            b"*1\r\n$x\r\n" + encode_request("INCR", "k"))
    reply, closed = _exchange(photon.port, data)
    assert reply == b"+OK\r\n:2\r\n-ERR Protocol error: invalid bulk length\r\n"
    assert closed
    assert photon.client().get("k") == b"2"  # the request after the error never ran


@pytest.mark.parametrize("split", [1, 2, 3, 5, 7, 13])
def test_requests_split_across_packets(photon, split):
    """A request may arrive a few bytes at a time; replies come once each request is whole."""
    data = (encode_request("SET", "split", "x" * 50) + encode_request("GET", "split") +
            b"ECHO inline\r\n" + encode_request("STRLEN", "split"))
    with socket.create_connection(("127.0.0.1", photon.port), timeout=5) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(0, len(data), split):
            s.sendall(data[i:i + split])
            time.sleep(0.0005)
        want = b"+OK\r\n$50\r\n" + b"x" * 50 + b"\r\n$6\r\ninline\r\n:50\r\n"
        got = b""
        while len(got) < len(want):
            chunk = s.recv(65536)
            assert chunk, got
            got += chunk
    assert got == want


def test_big_values_and_arguments(photon):
    r = photon.client()
    value = bytes(range(256)) * 4096 * 4  # 4 MiB with every byte value
    assert r.set("big", value)
    assert r.get("big") == value
    assert r.strlen("big") == len(value)
    assert r.append("big", b"!") == len(value) + 1
    assert r.getrange("big", -2, -1) == value[-1:] + b"!"
    many = {f"k{i}": str(i) for i in range(5000)}
    assert r.mset(many)
    assert r.mget(list(many)) == [v.encode() for v in many.values()]


def test_pipelined_burst_in_one_write(photon):
    """10,000 requests in one sendall: every reply, in order."""
    n = 10000
    data = b"".join(encode_request("INCR", "counter") for _ in range(n))
    with RawConn(photon.port, timeout=30) as conn:
        conn.send(data)
        replies = [conn.read_reply() for _ in range(n)]
    assert replies == [b":%d\r\n" % i for i in range(1, n + 1)]


def test_redis_py_reconnects_after_protocol_error(photon):
    r = photon.client()
    assert r.ping()
    with RawConn(photon.port) as conn:
        conn.send(b"*1\r\n$-3\r\n")
        assert conn.read_all(0.5) == (b"-ERR Protocol error: invalid bulk length\r\n", True)
    assert r.set("after", "1") and r.get("after") == b"1"


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_reply_types(photon, protocol):
    r = photon.client(protocol=protocol)
    r.flushall()
    assert r.set("s", "v") is True
    assert r.get("missing") is None
    assert r.incrbyfloat("f", "1.5") == 1.5
    assert r.mget("s", "missing") == [b"v", None]
    assert r.exists("s", "s", "missing") == 2
    assert r.ttl("s") == -1
    assert r.expire("s", 100) is True and 99 <= r.ttl("s") <= 100
    assert r.type("s") == b"string"
    assert r.object("encoding", "s") == b"embstr"
    with pytest.raises(redis.ResponseError, match="WRONGTYPE|not an integer"):
        r.incr("s")
    info = r.info("server")
    assert info["redis_version"] == "7.0.15"
    assert "photon_version" in info
    hello = r.execute_command("HELLO", protocol)
    if protocol == 3:
        assert hello[b"proto"] == 3 and hello[b"version"] == b"7.0.15"
    else:
        assert dict(zip(hello[::2], hello[1::2]))[b"proto"] == 2
    cfg = r.config_get("slowlog-max-len")
    assert cfg == {"slowlog-max-len": "128"} or cfg == {b"slowlog-max-len": b"128"}
    pipe = r.pipeline(transaction=True)
    pipe.set("a", "1").incr("a").get("a")
    assert pipe.execute() == [True, 2, b"2"]
