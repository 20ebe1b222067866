"""The Recorder against redis-server (directly, through faults, as a read-only replica) and a
fake server with its own error codes; History round trips; the nemesis schedule."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.faults.history import (
    DEFAULT_DEFINITE_ERRORS, FAIL, INFO, OK, READ, WRITE, History, Op, Recorder, error_code,
    read_keys,
)
from tests.faults.linearizability import check_all
from tests.faults.nemesis import Nemesis, kill, paused, wait_until
from tests.faults.proxy import Proxy
from tests.unit.faults.servers import ThreadedServer, free_port, start_redis

KEYS = ("h0", "h1", "h2")


@pytest.fixture
def redis_addr(redis_port):
    redis.Redis(port=redis_port).flushall()
    return ("127.0.0.1", redis_port)


def test_recorder_history_against_redis_passes_every_check(redis_addr):
    recorder = Recorder([redis_addr], KEYS, workers=4, pause=0.001, seed=1)
    history = recorder.run(0.5)
    summary = history.summary()
    assert summary.get("write ok", 0) > 50 and summary.get("read ok", 0) > 50
    assert set(summary) <= {"write ok", "read ok"}
    writes = [op.value for op in history if op.kind == WRITE]
    assert len(writes) == len(set(writes))
    assert {op.process for op in history} == {0, 1, 2, 3}
    assert all(a.invoke <= b.invoke for a, b in zip(history, history.ops[1:]))
    assert all(op.invoke <= op.complete for op in history)
    final = read_keys(redis_addr, KEYS)
    result = check_all(history, final)
    assert result.ok, result
    again = recorder.run(0.1)
    assert min(op.process for op in again) == 4
    assert check_all(again, read_keys(redis_addr, KEYS), initial=final).ok


def test_recorder_moves_past_a_dead_node(redis_addr):
    dead = ("127.0.0.1", free_port())
    history = Recorder([dead, redis_addr], KEYS, workers=2, pause=0.001).run(0.3)
    assert len(history) > 10
    assert {op.node for op in history} == {f"127.0.0.1:{redis_addr[1]}"}


def test_faults_through_a_proxy_give_unknown_outcomes_and_the_history_still_checks(
        redis_addr):
    with Proxy(redis_addr) as proxy:
        recorder = Recorder([proxy.address], KEYS, workers=4, timeout=0.2, pause=0.002)
        recorder.start()
        wait_until(lambda: recorder.acknowledged() > 20, 5, what="first acks")
        Nemesis(recorder).run([
            (0.0, "cut", proxy.cut), (0.15, "heal", proxy.heal),
            (0.1, "blackhole", proxy.blackhole), (0.3, "heal", proxy.heal),
            (0.1, "blackhole replies", lambda: proxy.blackhole("b->a")),
            (0.3, "heal", proxy.heal),
        ]).join(5)
        time.sleep(0.1)
        history = recorder.stop()
    infos = [op for op in history if op.outcome == INFO]
    assert any("Timeout" in op.error for op in infos)
    assert any("Connection" in op.error for op in infos)
    assert [text for _, text in history.notes] == [
        "cut", "heal", "blackhole", "heal", "blackhole replies", "heal"]
    assert max(op.process for op in history) >= 4
    for process in {op.process for op in history}:
        ops = [op for op in history if op.process == process]
        assert all(op.outcome != INFO for op in ops[:-1])
    result = check_all(history, read_keys(redis_addr, KEYS))
    assert result.ok, result


def test_read_only_replica_refusals_are_definite(tmp_path, redis_addr):
    proc, port = start_redis(tmp_path, "--replicaof", "127.0.0.1", str(free_port()))
    try:
        history = Recorder([("127.0.0.1", port)], KEYS, workers=2, pause=0.005).run(0.3)
    finally:
        proc.kill()
        proc.wait()
    writes = [op for op in history if op.kind == WRITE]
    assert writes and all(op.outcome == FAIL for op in writes)
    assert all(op.error.startswith("READONLY") for op in writes)
    assert all(op.outcome == OK and op.value is None for op in history if op.kind == READ)
    assert check_all(history, {k: None for k in KEYS}).ok


class ErrorServer(ThreadedServer):
    """Answers every command with one fixed RESP error, so codes need no real server."""

    def __init__(self, error: bytes) -> None:
        self.error = error
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        buf = b""
        with conn:
            try:
                while data := conn.recv(65536):
                    buf += data
                    while True:
                        command, buf = self._parse(buf)
                        if command is None:
                            break
                        reply = self.error if command[0].upper() == b"SET" else b"$-1\r\n"
                        conn.sendall(reply)
            except OSError:
                pass

    @staticmethod
    def _parse(buf: bytes) -> tuple[list[bytes] | None, bytes]:
        if not buf.startswith(b"*") or b"\r\n" not in buf:
            return None, buf
        head, rest = buf.split(b"\r\n", 1)
        args = []
        for _ in range(int(head[1:])):
            if b"\r\n" not in rest:
                return None, buf
            size_line, rest = rest.split(b"\r\n", 1)
            size = int(size_line[1:])
            if len(rest) < size + 2:
                return None, buf
            args.append(rest[:size])
            rest = rest[size + 2:]
        return args, rest


@pytest.mark.parametrize("reply, definite, outcome", [
    (b"-NOQUORUM not enough replicas\r\n", DEFAULT_DEFINITE_ERRORS, INFO),
    (b"-NOQUORUM not enough replicas\r\n", DEFAULT_DEFINITE_ERRORS | {"NOQUORUM"}, FAIL),
    (b"-MASTERDOWN link is down\r\n", DEFAULT_DEFINITE_ERRORS, FAIL),
    (b"-ERR something odd\r\n", DEFAULT_DEFINITE_ERRORS, INFO),
    (b"-CLUSTERDOWN hash slot not served\r\n", {"NOQUORUM"}, INFO),
])
def test_which_errors_are_definite_is_a_parameter(reply, definite, outcome):
    server = ErrorServer(reply)
    try:
        history = Recorder([server.address], ["k"], workers=1, read_fraction=0.0,
                           definite_errors=definite, pause=0.01).run(0.1)
    finally:
        server.close()
    assert history.ops and {op.outcome for op in history} == {outcome}
    code = reply[1:].split(b" ")[0].decode()
    assert history[0].error.startswith(code)
    if outcome == INFO:
        assert len({op.process for op in history}) == len(history)


def test_error_code_reads_the_code_redis_py_strips():
    assert error_code(redis.exceptions.ReadOnlyError("You can't write")) == "READONLY"
    assert error_code(redis.ResponseError("NOQUORUM not enough")) == "NOQUORUM"
    assert error_code(redis.ResponseError("wrong number of arguments")) == "ERR"


def test_history_dump_and_load_round_trip(tmp_path):
    history = History([Op.write(0, "k", "p0-1", 0.1, 0.2), Op.write(1, "k", "p1-1", 0.15, 0.4,
                                                                     INFO, error="Timeout"),
                       Op.read(2, "k", None, 0.3, 0.35)], [(0.25, "cut")])
    history.dump(tmp_path / "h.jsonl")
    again = History.load(tmp_path / "h.jsonl")
    assert again == history
    assert again[1].end == float("inf") and again[1].complete == 0.4
    assert history.summary() == {"write ok": 1, "write info": 1, "read ok": 1}
    assert "p1 write k='p1-1' info (Timeout) [0.1500, inf]" == str(history[1])


def test_nemesis_runs_steps_in_order_and_reraises():
    calls = []
    nemesis = Nemesis().run([(0.0, "one", lambda: calls.append(1)),
                             (0.05, "two", lambda: calls.append(2))])
    nemesis.join(2)
    assert calls == [1, 2] and [name for _, name in nemesis.events] == ["one", "two"]
    assert nemesis.events[1][0] - nemesis.events[0][0] >= 0.04
    with pytest.raises(ZeroDivisionError):
        Nemesis().run([(0.0, "boom", lambda: 1 / 0)]).join(2)


def test_pause_and_kill_a_process():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        stat = Path(f"/proc/{proc.pid}/stat")
        with paused(proc.pid):
            assert stat.read_text().split()[2] == "T"
        wait_until(lambda: stat.read_text().split()[2] != "T", 2, what="resumed")
        kill(proc.pid)
        assert proc.wait(5) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
