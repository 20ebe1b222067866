"""Server commands on a real node: INFO, CONFIG, MONITOR, SHUTDOWN, SLOWLOG, DEBUG, TIME,
SELECT/MOVE across databases, through redis-py (RESP2 and RESP3) and raw RESP."""
from __future__ import annotations

import re
import time

import pytest
import redis

from tests.integration.resp import RawConn, wait_until


def _monitor_lines(port: int, commands: list[tuple]) -> list[bytes]:
    """MONITOR lines for the commands a second connection sends, with the clock and the
    client's port (each server's own) replaced."""
    mon = RawConn(port)
    assert mon.call("MONITOR") == b"+OK\r\n"
    with RawConn(port) as c:
        for cmd in commands:
            c.call(*cmd)
        c.send(b"PING inline\r\n")
        c.read_reply()
    time.sleep(0.3)
    out, _ = mon.read_all(0.3)
    mon.close()
    lines = [line for line in out.split(b"\r\n") if line]
    return [re.sub(rb"^\+\d+\.\d{6} \[(\d+) 127\.0\.0\.1:\d+\]", rb"+T [\1 ADDR]", line)
            for line in lines]


MONITORED = [("SET", "k", 'a "q" \\ \x01\n\t\r\x7f\xe9'), ("SELECT", "3"), ("GET", "k"),
             ("NOSUCH",), ("GET",), ("MULTI",), ("INCR", "n"), ("EXEC",), ("SELECT", "0"),
             ("MSET", "a", "1", "b", "")]


def test_monitor_format(photon, redis_ref):
    p = _monitor_lines(photon.port, MONITORED)
    r = _monitor_lines(redis_ref.port, MONITORED)
    assert p == r
    assert p[0] == b'+T [0 ADDR] "SET" "k" "a \\"q\\" \\\\ \\x01\\n\\t\\r\\x7f\\xc3\\xa9"'


def test_monitor_hides_admin_commands_and_redacts_secrets(photon, redis_ref):
    cmds = [("CONFIG", "GET", "maxmemory"), ("DEBUG", "SLEEP", "0"), ("AUTH", "secret"),
            ("HELLO", "2", "AUTH", "default", "secret"), ("PING",)]
    p = _monitor_lines(photon.port, cmds)
    r = _monitor_lines(redis_ref.port, cmds)
    assert not any(b"secret" in line for line in p)
    assert p == r


def test_monitor_client_sees_nothing_of_its_own_and_leaves_with_reset(photon):
    mon = RawConn(photon.port)
    mon.call("MONITOR")
    mon.send(b"*1\r\n$5\r\nRESET\r\n")
    assert mon.read_reply() == b"+RESET\r\n"
    photon.client().set("after-reset", "1")
    assert mon.read_all(0.3) == (b"", False)
    mon.close()


def test_info_server_says_which_core_runs(photon_factory):
    """photon_build: the compiled core when it was built, the pure-Python modules otherwise
    or with PHOTON_NO_EXTENSIONS=1 (photon/compiled.py)."""
    from photon import compiled
    default = photon_factory().client().info("server")
    assert default["photon_build"] == compiled.build  # this process and the node alike
    pure = photon_factory(env={"PHOTON_NO_EXTENSIONS": "1"}).client().info("server")
    assert pure["photon_build"] == "pure"


def test_info_identifies_redis_7_0_15_and_photon(photon):
    for protocol in (2, 3):
        r = photon.client(protocol=protocol)
        r.flushall()
        r.set("a", "1")
        r.set("b", "2", ex=100)
        info = r.info()
        assert info["redis_version"] == "7.0.15"
        assert re.fullmatch(r"\d+\.\d+\.\d+.*", str(info["photon_version"]))
        assert (info["db0"]["keys"], info["db0"]["expires"]) == (2, 1)
        assert info["role"] == "master" or info["role"]
        assert "used_memory" in r.info("memory")
        assert r.info("commandstats")["cmdstat_set"]["calls"] >= 2
    with RawConn(photon.port) as conn:
        raw = conn.call("INFO", "server")
        assert raw.split(b"\r\n", 3)[1:3] == [b"# Server", b"redis_version:7.0.15"]
        conn.call("HELLO", "3")
        assert conn.call("INFO", "server").startswith(b"=")  # verbatim text in RESP3


def test_config_through_redis_py(photon):
    r = photon.client(decode_responses=True)
    assert r.config_get("slowlog-max-len") == {"slowlog-max-len": "128"}
    assert r.config_set("slowlog-max-len", 5)
    assert r.config_get("slowlog-max-len") == {"slowlog-max-len": "5"}
    with pytest.raises(redis.ResponseError, match="argument couldn't be parsed into an integer"):
        r.config_set("slowlog-max-len", "abc")
    with pytest.raises(redis.ResponseError, match="can't set immutable config"):
        r.config_set("databases", "4")
    with pytest.raises(redis.ResponseError, match="Unknown option"):
        r.config_set("No-Such", "1")
    assert r.config_get("no-such-*") == {}
    # Redis 7.0 names the replica class 'slave' here (photon's normal class has a limit by
    # design, Redis's none: only the shape is Redis's).
    limits = r.config_get("client-output-buffer-limit")["client-output-buffer-limit"]
    assert re.fullmatch(r"normal \d+ \d+ \d+ slave \d+ \d+ \d+ pubsub \d+ \d+ \d+", limits)
    assert r.config_get("protected-mode")["protected-mode"] in ("yes", "no")
    assert r.config_get("appendonly") == {"appendonly": "yes"}  # always on: LevelDB's log


def test_slowlog_and_debug_sleep(photon):
    r = photon.client()
    r.config_set("slowlog-log-slower-than", 20000)
    r.slowlog_reset()
    r.execute_command("DEBUG", "SLEEP", "0.05")
    r.get("fast")
    entries = r.slowlog_get()
    assert len(entries) == 1
    assert entries[0]["command"] == b"DEBUG SLEEP 0.05"
    assert entries[0]["duration"] >= 40000
    assert r.slowlog_len() == 1


def test_time(photon):
    secs, usecs = photon.client().time()
    assert abs(secs - time.time()) < 5 and 0 <= usecs < 10**6


def test_select_and_move_across_databases_survive_restart(photon):
    r0 = photon.client(db=0)
    r5 = photon.client(db=5)
    r0.flushall()
    r0.set("k", "zero", ex=1000)
    r5.set("k", "five")
    assert r0.move("k", 5) is False  # taken in db 5
    r5.delete("k")
    assert r0.move("k", 5) is True
    assert r0.get("k") is None and r5.get("k") == b"zero"
    assert 990 < r5.ttl("k") <= 1000
    assert r0.copy("missing", "x", destination_db=5) is False
    r5.set("c", "v")
    assert r5.copy("c", "c", destination_db=7) is True
    assert r0.dbsize() == 0 and r5.dbsize() == 2
    photon.restart()
    r5 = photon.client(db=5)
    assert r5.get("k") == b"zero" and 980 < r5.ttl("k") <= 1000
    assert photon.client(db=7).get("c") == b"v"
    assert r5.dbsize() == 2 and photon.client(db=0).dbsize() == 0
    info = photon.client().info("keyspace")
    assert sorted(info) == ["db5", "db7"]
    assert (info["db5"]["keys"], info["db5"]["expires"]) == (2, 1)
    assert (info["db7"]["keys"], info["db7"]["expires"]) == (1, 0)


def test_shutdown(photon):
    r = photon.client()
    r.set("before-shutdown", "1")
    with RawConn(photon.port) as conn:
        conn.send(b"*1\r\n$8\r\nSHUTDOWN\r\n")
        assert conn.read_all(5.0) == (b"", True)  # no reply: the server is gone
    assert wait_until(lambda: photon.proc.poll() is not None, timeout=20)
    assert photon.proc.returncode == 0
    photon.start()
    assert photon.client().get("before-shutdown") == b"1"


def test_shutdown_refusals(photon):
    r = photon.client()
    with pytest.raises(redis.ResponseError, match="No shutdown in progress"):
        r.execute_command("SHUTDOWN", "ABORT")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("SHUTDOWN", "FOO")
    pipe = r.pipeline(transaction=True)
    pipe.execute_command("SHUTDOWN")
    with pytest.raises(redis.ResponseError):
        pipe.execute()
    assert r.ping()
