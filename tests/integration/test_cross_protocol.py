"""Cross-protocol requests: an HTTP request sent to the RESP port (by a web page, a scanner or
a confused client) is closed at once without a reply and logged, as redis-server 7.0 does --
with or without a password, whatever came before it in the same write, inline or as RESP."""
from __future__ import annotations

import http.client
import urllib.error
import urllib.request

import pytest

from tests.integration.resp import RawConn, wait_until

ATTACK_LOG = ("Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: "
              "commands to Redis.")

CASES = [
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 20\r\n\r\nSET pwned 1\r\nQUIT\r\n",
    b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"PING\r\nPING\r\nPOST /x HTTP/1.0\r\n\r\n",
    b"post / HTTP/1.1\r\n",
    b"*1\r\n$5\r\nHost:\r\n",
    b"*2\r\n$4\r\nPOST\r\n$1\r\n/\r\n*1\r\n$4\r\nPING\r\n",
    b"HOST: example.com\r\n",
]


def _exchange(port: int, data: bytes) -> tuple[bytes, bool]:
    with RawConn(port) as conn:
        conn.send(data)
        return conn.read_all(1.0)


@pytest.mark.parametrize("data", CASES, ids=range(len(CASES)))
def test_http_is_closed_without_reply_like_redis(photon, redis_ref, data):
    assert _exchange(redis_ref.port, data) == (b"", True)
    assert _exchange(photon.port, data) == (b"", True)


def test_nothing_after_the_http_line_runs(photon):
    _exchange(photon.port, b"POST / HTTP/1.1\r\nHost: x\r\n\r\nSET pwned 1\r\n")
    _exchange(photon.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\nSET pwned 1\r\n")
    assert photon.client().exists("pwned") == 0


def test_logged_once_a_minute_and_the_server_carries_on(photon):
    for _ in range(5):
        _exchange(photon.port, CASES[0])
    assert wait_until(lambda: ATTACK_LOG in photon.logs(), 5)
    assert photon.logs().count(ATTACK_LOG) == 1  # rate-limited, as Redis
    assert photon.client().ping()


def test_real_http_client_gets_a_closed_connection(photon_factory):
    node = photon_factory("--requirepass", "pw")
    req = urllib.request.Request(f"http://127.0.0.1:{node.port}/", data=b"FLUSHALL\r\n",
                                 method="POST")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError,
                        urllib.error.URLError)):
        urllib.request.urlopen(req, timeout=5)
    assert node.client(password="pw").ping()
