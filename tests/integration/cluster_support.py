"""Helpers for cluster tests: the spec's cluster (masters owning shard ranges, replicas
following them) started with its environment variables, waiting until every node sees a
healthy cluster, and keys chosen for each shard."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any, Callable

import redis

from photon.keyspace.slots import key_slot
from tests.support import PhotonProcess

HEARTBEAT = ("--heartbeat-interval-ms", "100", "--dead-after-ms", "3000")


def ranges(masters: int, shards: int = 16) -> list[tuple[int, int]]:
    """The spec's split: 16 shards over 3 masters is 0-5, 6-10, 11-15."""
    out, start = [], 0
    for i in range(masters):
        size = shards // masters + (1 if i < shards % masters else 0)
        out.append((start, start + size - 1))
        start += size
    return out


def start_cluster(make: Callable[..., PhotonProcess], masters: int = 3, replicas: int = 2,
                  args: tuple = (), wait: bool = True, zones: list[str] | None = None,
                  ) -> tuple[list[PhotonProcess], list[list[PhotonProcess]]]:
    """Masters master1..N with SHARD_RANGE, replicas replica<i><a,b..> with MASTER_ADDR only;
    every node but master1 joins through CLUSTER_SEEDS=master1."""
    ms: list[PhotonProcess] = []
    rs: list[list[PhotonProcess]] = []
    seed: str | None = None
    for i, (first, last) in enumerate(ranges(masters), 1):
        env = {"NODE_ID": f"master{i}", "NODE_ROLE": "master", "SHARD_RANGE": f"{first}-{last}"}
        if seed:
            env["CLUSTER_SEEDS"] = seed
        zone = ("--zone", zones[i - 1]) if zones else ()
        m = make(*HEARTBEAT, *zone, *args, name=f"master{i}", env=env, start=False)
        ms.append(m)
        seed = seed or f"127.0.0.1:{m.port}"
    for m in ms:
        m.start(wait=False)
    for i, m in enumerate(ms, 1):
        group = []
        for j in range(replicas):
            rid = f"replica{i}{chr(ord('a') + j)}"
            env = {"NODE_ID": rid, "NODE_ROLE": "replica", "MASTER_ADDR": f"127.0.0.1:{m.port}",
                   "CLUSTER_SEEDS": seed}
            zone = ("--zone", zones[j % len(zones)]) if zones else ()
            r = make(*HEARTBEAT, *zone, *args, name=rid, env=env, start=False)
            group.append(r)
        rs.append(group)
    for r in [r for g in rs for r in g]:
        r.start(wait=False)
    nodes = ms + [r for g in rs for r in g]
    for n in nodes:
        n.wait()
    if wait:
        wait_healthy(nodes)
    return ms, rs


def cluster_info(node: PhotonProcess) -> dict[str, str]:
    with node.client(socket_timeout=10) as c:
        text = c.execute_command("CLUSTER", "INFO")
    text = text.decode() if isinstance(text, bytes) else text
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def http(node: PhotonProcess, path: str) -> tuple[int, Any]:
    """(HTTP status, JSON document) of an admin endpoint; 503 comes with its document."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{node.http_port}{path}",
                                    timeout=10) as r:
            body = r.read()
            return r.status, json.loads(body) if path != "/metrics" else body.decode()
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def wait_healthy(nodes: list[PhotonProcess], timeout: float = 60.0) -> None:
    """Every node sees every other, the cluster ok, and itself healthy (/_health 200)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            infos = [cluster_info(n) for n in nodes]
            if all(i["cluster_state"] == "ok" and int(i["cluster_known_nodes"]) == len(nodes)
                   for i in infos) and all(http(n, "/_health")[0] == 200 for n in nodes):
                return
            last = [(i["cluster_state"], i["cluster_known_nodes"]) for i in infos]
        except (redis.RedisError, OSError) as e:
            last = e
        time.sleep(0.1)
    raise AssertionError(f"the cluster did not become healthy: {last}")


def key_for_shard(shard: int, shards: int = 16, prefix: str = "key") -> str:
    i = 0
    while True:
        k = f"{prefix}{i}"
        if key_slot(k.encode()) * shards // 16384 == shard:
            return k
        i += 1


def shard_of(key: str, shards: int = 16) -> int:
    return key_slot(key.encode()) * shards // 16384
