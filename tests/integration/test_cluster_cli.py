"""photon cluster up / status as a user runs them: a 2 x 1 cluster started, looked at, stopped
with SIGINT, resumed on the same data dir, and a node killed under it. Only what works before
the nodes know each other is checked: each master serves its own range, replicas follow."""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import redis

from photon.keyspace.slots import key_slot, shard_of_slot
from tests.support import ROOT

IDS = ["master1", "master2", "master1-r1", "master2-r1"]
RANGES = {"master1": (0, 7), "master2": (8, 15)}
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _free_base(count: int = len(IDS)) -> int:
    """A base whose RESP ports and HTTP ports (+10000) are all free, below the ephemeral
    range so no outgoing connection takes one meanwhile."""
    for _ in range(200):
        base = random.randrange(10000, 22000)
        socks = []
        try:
            for port in [*range(base, base + count), *range(base + 10000, base + 10000 + count)]:
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


class Up:
    """``photon cluster up`` in its own process group, its output collected as it comes."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "photon", "cluster", "up", *args], cwd=cwd, env=ENV,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float = 45.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.proc.poll() is not None:
                self._reader.join(2)
                if text in self.output:
                    return
                pytest.fail(f"cluster up exited with {self.proc.returncode}:\n{self.output}")
            if time.monotonic() > deadline:
                pytest.fail(f"no '{text}' after {timeout}s:\n{self.output}")
            time.sleep(0.1)

    def finish(self, timeout: float = 30.0) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def kill_group(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)


@pytest.fixture
def run_up(tmp_path):
    started: list[Up] = []
    pids: list[int] = []

    def make(*args: str) -> Up:
        up = Up(*args, cwd=tmp_path)
        started.append(up)
        return up

    make.pids = pids  # type: ignore[attr-defined]
    yield make
    for up in started:
        up.kill_group()
    for pid in pids:  # a node that somehow left the group
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _photon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "photon", *args], env=ENV, capture_output=True,
                          text=True, timeout=30)


def _key_in(shards: tuple[int, int], prefix: str) -> str:
    return next(k for k in (f"{prefix}{i}" for i in range(10_000))
                if shards[0] <= shard_of_slot(key_slot(k.encode()), 16) <= shards[1])


def _nodes(base: int) -> dict[str, dict]:
    """node id -> INFO server, by port, for every node of the plan."""
    return _nodes_by_id(base, len(IDS))


def _nodes_by_id(base: int, count: int) -> dict[str, dict]:
    out = {}
    for port in range(base, base + count):
        with redis.Redis(port=port, socket_timeout=10, decode_responses=True) as r:
            assert r.ping()
            info = r.info("server")
        out[info["node_id"]] = info | {"port": port}
    return out


def _health(http_port: int) -> tuple[int, dict]:
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/_health", timeout=5) as resp:
        return resp.status, json.loads(resp.read())


def _gone(pids: list[int], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                os.kill(pid, 0)
                alive.append(pid)
            except ProcessLookupError:
                pass
        if not alive:
            return True
        time.sleep(0.1)
    return False


def test_up_status_stop_and_resume(run_up, tmp_path):
    base = _free_base()
    data = tmp_path / "cluster"
    timing = ("--heartbeat-interval-ms", "200", "--dead-after-ms", "1000")
    up = run_up("--masters", "2", "--replicas", "1", "--base-port", str(base),
                "--data-dir", str(data), *timing)
    up.wait_for("Cluster ready")
    assert "New cluster: 2 masters x 1 replica, 16 shards" in up.output
    assert (data / "cluster.json").exists()

    nodes = _nodes(base)
    run_up.pids.extend(int(n["process_id"]) for n in nodes.values())
    assert [nodes[i]["port"] for i in IDS] == list(range(base, base + 4))
    for nid, info in nodes.items():
        assert f"{nid} " in up.output and str(info["process_id"]) in up.output
        assert int(info["http_port"]) == info["port"] + 10000
        status, doc = _health(info["port"] + 10000)
        assert status == 200 and doc["node_id"] == nid and doc["status"] == "healthy"
        expected = RANGES[nid.split("-")[0]]
        assert (doc["shard_range"]["start"], doc["shard_range"]["end"]) == expected
        assert (data / nid).is_dir() and (data / f"{nid}.log").exists()

    keys = {}
    for master in ("master1", "master2"):
        key = _key_in(RANGES[master], f"{master}:")
        with redis.Redis(port=nodes[master]["port"], socket_timeout=10) as r:
            assert r.set(key, f"from {master}")
        keys[master] = key

    done = _photon("cluster", "status", "--addr", f"127.0.0.1:{base}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "master1 " in done.stdout and "master1-r1" in done.stdout
    assert "cluster health: healthy" in done.stdout
    done = _photon("cluster", "status", "--addr", f"127.0.0.1:{base + 1}", "--json")
    assert done.returncode == 0
    doc = json.loads(done.stdout)
    assert {"master2", "master2-r1"} <= {n["id"] for n in doc["nodes"]}
    assert doc["health"] == "healthy" and doc["shards"] == 16
    done = _photon("cluster", "status", "--addr", f"127.0.0.1:{_free_base(1)}")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "cannot reach" in done.stderr

    done = _photon("cluster", "up", "--masters", "3", "--data-dir", str(data))
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "--masters 3 (saved: 2) conflicts" in done.stderr
    done = _photon("cluster", "up", "--data-dir", str(data))
    assert done.returncode == 1 and "already in use" in done.stderr

    os.kill(up.proc.pid, signal.SIGINT)
    assert up.finish() == 0, up.output
    assert "Received SIGINT" in up.output and "Stopped 4 nodes cleanly" in up.output
    assert _gone(run_up.pids)

    again = run_up("--data-dir", str(data), *timing)
    again.wait_for("Cluster ready")
    assert "Resuming the cluster saved in" in again.output
    nodes = _nodes(base)
    run_up.pids.extend(int(n["process_id"]) for n in nodes.values())
    assert [nodes[i]["port"] for i in IDS] == list(range(base, base + 4))
    for master, key in keys.items():
        with redis.Redis(port=nodes[master]["port"], socket_timeout=10) as r:
            assert r.get(key) == f"from {master}".encode()

    victim = int(nodes["master2-r1"]["process_id"])
    os.kill(victim, signal.SIGKILL)
    again.wait_for("restarting master2-r1 in 5s")  # twice dead-after, at least 5s
    assert "master2-r1 was killed by SIGKILL" in again.output
    again.wait_for("master2-r1 restarted on its data")
    back = _wait_answering(base + 3)
    assert back["node_id"] == "master2-r1" and int(back["process_id"]) != victim
    run_up.pids.append(int(back["process_id"]))
    os.kill(again.proc.pid, signal.SIGINT)
    assert again.finish() == 0, again.output
    assert "Stopped 4 nodes cleanly" in again.output
    assert _gone(run_up.pids)


def _wait_answering(port: int, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with redis.Redis(port=port, socket_timeout=5, decode_responses=True) as r:
                return r.info("server")
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
