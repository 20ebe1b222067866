"""redis-cli against photon, its output compared with the same run against redis-server."""
from __future__ import annotations

import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("redis-cli") is None,
                                reason="redis-cli is not installed")


def cli(port: int, *args: str, stdin: bytes | None = None, timeout: float = 60) -> bytes:
    proc = subprocess.run(["redis-cli", "-p", str(port), *args], input=stdin,
                          capture_output=True, timeout=timeout)
    return proc.stdout + proc.stderr


def both(photon, redis_ref, *args: str, stdin: bytes | None = None) -> tuple[bytes, bytes]:
    return cli(photon.port, *args, stdin=stdin), cli(redis_ref.port, *args, stdin=stdin)


SESSION = b"""\
FLUSHALL
SET greeting "hello world"
GET greeting
APPEND greeting !
STRLEN greeting
SET counter 10
INCR counter
INCRBY counter 5
DECRBY counter abc
INCRBYFLOAT counter 0.5
GET missing
MSET a 1 b 2 c "with space"
MGET a b c missing
SET t v EX 100
TTL t
PERSIST t
TTL t
SET t v PX 100000 NX
SET t v EXAT 4102444800 XX GET
EXPIRETIME t
SETRANGE greeting 0 J
GETRANGE greeting 0 4
SETBIT bits 3 1
GETBIT bits 3
BITCOUNT bits
BITPOS bits 1
EXISTS a b missing
TYPE a
RENAME a a2
RENAMENX b a2
DEL a2 b c
DBSIZE
KEYS greet*
OBJECT ENCODING counter
SELECT 3
SET in3 yes
DBSIZE
SELECT 0
MOVE greeting 3
NOSUCHCOMMAND x
GET
SET k v EX 0
MULTI
INCR counter
PING
EXEC
ECHO "quoted \\x41 \\"value\\""
PING
"""


@pytest.mark.parametrize("mode", [[], ["--no-raw"], ["-3"], ["--raw"]],
                         ids=["default", "no-raw", "resp3", "raw"])
def test_session(photon, redis_ref, mode):
    p, r = both(photon, redis_ref, *mode, stdin=SESSION)
    assert p == r
    assert b"ERR unknown command 'NOSUCHCOMMAND'" in p


def test_command_line_forms(photon, redis_ref):
    both(photon, redis_ref, "FLUSHALL")
    for args in (["SET", "cli", "value"], ["GET", "cli"], ["-n", "4", "SET", "db4", "x"],
                 ["-n", "4", "GET", "db4"], ["GET", "db4"], ["-r", "5", "INCR", "rep"],
                 ["GET", "rep"], ["--no-raw", "MGET", "cli", "nope"], ["STRLEN", "cli"],
                 ["-n", "4", "DBSIZE"], ["TTL", "cli"], ["--scan", "--pattern", "c*"],
                 ["--scan", "--pattern", "*", "--count", "1"]):
        p, r = both(photon, redis_ref, *args)
        assert p == r, args


def test_stdin_argument(photon, redis_ref):
    blob = bytes(range(256)) * 10
    p, r = both(photon, redis_ref, "-x", "SET", "blob", stdin=blob)
    assert p == r == b"OK\n"
    assert cli(photon.port, "--raw", "STRLEN", "blob") == b"2560\n"
    p, r = both(photon, redis_ref, "--no-raw", "GETRANGE", "blob", "0", "20")
    assert p == r


def test_pipe_mode(photon, redis_ref):
    """redis-cli --pipe: 2,000 commands in RESP, the tool's own ECHO probe at the end."""
    both(photon, redis_ref, "FLUSHALL")
    lines = []
    for i in range(2000):
        key, value = f"pipe:{i}".encode(), f"v{i}".encode()
        lines.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (
            len(key), key, len(value), value))
    lines.append(b"*2\r\n$4\r\nINCR\r\n$6\r\npipe:0\r\n")  # one error among them
    data = b"".join(lines)
    p, r = both(photon, redis_ref, "--pipe", stdin=data)
    assert p == r
    assert b"errors: 1, replies: 2001\n" in p
    assert cli(photon.port, "DBSIZE").strip() == cli(redis_ref.port, "DBSIZE").strip()
    assert cli(photon.port, "GET", "pipe:1999") == b"v1999\n"


def test_pipe_mode_inline(photon, redis_ref):
    data = b"".join(b"SET inline:%d %d\r\n" % (i, i) for i in range(500))
    p, r = both(photon, redis_ref, "--pipe", stdin=data)
    assert p == r and p.endswith(b"errors: 0, replies: 500\n")


def test_info_and_errors_in_cli(photon):
    out = cli(photon.port, "INFO", "server")
    assert b"redis_version:7.0.15" in out and b"photon_version:" in out
    assert cli(photon.port, "HELLO", "9").startswith(b"NOPROTO unsupported protocol version\n")


def test_bigkeys(photon, redis_ref):
    """--bigkeys walks the keyspace with SCAN, TYPE and STRLEN (and prints timing)."""
    for port in (photon.port, redis_ref.port):
        cli(port, "FLUSHALL")
        cli(port, "MSET", "small", "x", "medium", "x" * 100, "large", "x" * 5000)

    def summary(out: bytes) -> list[bytes]:
        # The final report; the progress lines follow each server's own SCAN order.
        keep = (b"Biggest string found '", b"keys with", b"Sampled")
        return [line for line in out.splitlines() if any(k in line for k in keep)]

    p, r = both(photon, redis_ref, "--bigkeys")
    assert summary(p) == summary(r)
    assert any(b'"large"\' has 5000 bytes' in line for line in summary(p))
