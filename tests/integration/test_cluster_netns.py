"""A cluster across hosts with their own addresses: three masters, each in a Linux network
namespace of its own (10.77.0.11-13 behind a bridge), so no loopback assumption can hide.
Nodes announce their bind address, find each other through a seed's address, and a client
outside every namespace reaches all 16 shards through any node. Needs root and iproute2;
skipped otherwise."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid

import pytest
import redis

from tests.integration.cluster_support import HEARTBEAT, key_for_shard
from tests.support import ROOT

SUBNET = "10.77.0"
PASSWORD = "netns-secret"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def hosts():
    """Three namespaces on a bridge; torn down even when the tests fail."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2")
    tag = uuid.uuid4().hex[:4]
    bridge = f"phbr{tag}"
    names = [f"photon{tag}{i}" for i in range(1, 4)]
    made: list[str] = []
    try:
        if _ip("link", "add", bridge, "type", "bridge", check=False).returncode:
            pytest.skip("cannot create a bridge here")
        _ip("addr", "add", f"{SUBNET}.1/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for i, ns in enumerate(names, 1):
            _ip("netns", "add", ns)
            made.append(ns)
            outer, inner = f"ph{tag}o{i}", f"ph{tag}i{i}"
            _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            _ip("link", "set", outer, "master", bridge)
            _ip("link", "set", outer, "up")
            _ip("link", "set", inner, "netns", ns)
            _ip("-n", ns, "addr", "add", f"{SUBNET}.1{i}/24", "dev", inner)
            _ip("-n", ns, "link", "set", inner, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield [(ns, f"{SUBNET}.1{i}") for i, ns in enumerate(names, 1)]
    finally:
        for ns in made:
            _ip("netns", "del", ns, check=False)
        _ip("link", "del", bridge, check=False)


def _wait(host: str, port: int, proc: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"node exited: {open(log).read()}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{host}:{port} did not answer")


def test_cluster_across_network_namespaces(hosts, tmp_path):
    procs = []
    port = 7379
    try:
        seed = None
        for i, (ns, ip) in enumerate(hosts, 1):
            first, last = [(0, 5), (6, 10), (11, 15)][i - 1]
            args = [sys.executable, "-m", "photon", "serve", "--bind", ip, "--port", str(port),
                    "--http-port", "0", "--data-dir", str(tmp_path / f"m{i}"),
                    "--requirepass", PASSWORD, "--masterauth", PASSWORD, *HEARTBEAT,
                    "--write-quorum", "1"]
            env = {**os.environ, "NODE_ID": f"master{i}", "NODE_ROLE": "master",
                   "SHARD_RANGE": f"{first}-{last}",
                   "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
            if seed:
                env["CLUSTER_SEEDS"] = seed
            log = tmp_path / f"m{i}.log"
            proc = subprocess.Popen(["ip", "netns", "exec", ns, *args], env=env,
                                    stdout=open(log, "wb"), stderr=subprocess.STDOUT)
            procs.append(proc)
            _wait(ip, port, proc, log)
            seed = seed or f"{ip}:{port}"
        clients = [redis.Redis(host=ip, port=port, password=PASSWORD, socket_timeout=10)
                   for _, ip in hosts]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            infos = [c.execute_command("CLUSTER", "INFO").decode() for c in clients]
            if all("cluster_state:ok" in i and "cluster_known_nodes:3" in i for i in infos):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"no healthy cluster: {infos}")
        nodes = clients[0].execute_command("CLUSTER", "NODES").decode()
        assert "127.0.0.1" not in nodes
        for _, ip in hosts:
            assert f"{ip}:{port}@{port}" in nodes
        for shard in range(16):
            key = key_for_shard(shard, prefix="ns")
            assert clients[shard % 3].set(key, f"v{shard}") is True
            assert clients[(shard + 1) % 3].get(key) == f"v{shard}".encode()
        assert clients[2].dbsize() == 16
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
