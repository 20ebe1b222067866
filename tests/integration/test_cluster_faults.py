"""Clusters given bad input: a MEET to something that is not PhotonDB, overlapping shard
ranges, a seed that is down at start, a node that only comes up later; the errors say what is
wrong and nothing written is lost."""
from __future__ import annotations

import socket
import sys
import threading
import time

import pytest
import redis

from tests.integration.cluster_support import HEARTBEAT, cluster_info, http, key_for_shard
from tests.support import PhotonProcess, RedisProcess, free_port


def wait_for(pred, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_meet_of_something_that_is_not_photondb_fails_clearly(photon_factory, tmp_path):
    node = photon_factory(*HEARTBEAT)
    c = node.client()
    with pytest.raises(redis.ResponseError, match="Invalid node address specified"):
        c.execute_command("CLUSTER", "MEET", "127.0.0.1", "70000")
    with pytest.raises(redis.ResponseError, match="Invalid TCP base port specified: x"):
        c.execute_command("CLUSTER", "MEET", "127.0.0.1", "x")
    closed = free_port()
    with pytest.raises(redis.ResponseError, match=f"CLUSTER MEET 127.0.0.1:{closed} failed: "
                                                  "cannot reach it"):
        c.execute_command("CLUSTER", "MEET", "127.0.0.1", closed)
    real = RedisProcess(tmp_path / "redis").start()
    try:
        with pytest.raises(redis.ResponseError, match="is not a PhotonDB node"):
            c.execute_command("CLUSTER", "MEET", "127.0.0.1", real.port)
    finally:
        real.stop()
    silent = socket.socket()  # accepts and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        with pytest.raises(redis.ResponseError, match="failed"):
            c.execute_command("CLUSTER", "MEET", "127.0.0.1", silent.getsockname()[1])
    finally:
        silent.close()
    assert cluster_info(node)["cluster_known_nodes"] == "1"
    assert c.set("still", "here") is True


def test_overlapping_shard_ranges_put_the_cluster_in_state_fail(photon_factory):
    a = photon_factory(*HEARTBEAT, name="a", env={"NODE_ID": "a", "NODE_ROLE": "master",
                                                 "SHARD_RANGE": "0-9", "PHOTON_WRITE_QUORUM": "1"})
    b = photon_factory(*HEARTBEAT, name="b", env={
        "NODE_ID": "b", "NODE_ROLE": "master", "SHARD_RANGE": "8-15", "PHOTON_WRITE_QUORUM": "1",
        "CLUSTER_SEEDS": f"127.0.0.1:{a.port}"})
    wait_for(lambda: cluster_info(a)["cluster_state"] == "fail"
             and cluster_info(b)["cluster_state"] == "fail", what="state fail")
    info = cluster_info(a)
    assert info["cluster_conflicting_shards"] == "8,9"
    assert "shards 8-9 claimed by two groups" in info["cluster_state_reason"]
    status, health = http(b, "/_health")
    assert status == 503 and health["cluster_state"] == "fail"
    assert "8-9" in health["cluster_state_reason"]
    c = a.client()
    with pytest.raises(redis.ResponseError, match="Hash slot not served"):
        c.set(key_for_shard(8), "v")
    assert c.set(key_for_shard(2), "v") is True  # shards one group owns are still served
    assert b.client().get(key_for_shard(2)) == b"v"
    assert "claimed by two groups" in a.logs()


def test_a_seed_that_is_down_at_start_is_retried(photon_factory, tmp_path):
    seed_port = free_port()
    b = photon_factory(*HEARTBEAT, name="b", env={
        "NODE_ID": "b", "NODE_ROLE": "master", "SHARD_RANGE": "8-15", "PHOTON_WRITE_QUORUM": "1",
        "CLUSTER_SEEDS": f"127.0.0.1:{seed_port}"})
    c = b.client()
    assert cluster_info(b)["cluster_state"] == "fail"  # shards 0-7: nobody yet
    assert c.set(key_for_shard(12), "kept") is True
    with pytest.raises(redis.ResponseError, match="Hash slot not served"):
        c.set(key_for_shard(3), "v")
    wait_for(lambda: "Cannot join the cluster through" in b.logs(), what="the log line")
    a = PhotonProcess(tmp_path / "a", *HEARTBEAT, port=seed_port, env={
        "NODE_ID": "a", "NODE_ROLE": "master", "SHARD_RANGE": "0-7",
        "PHOTON_WRITE_QUORUM": "1"}).start()
    try:
        wait_for(lambda: cluster_info(b)["cluster_state"] == "ok", what="the cluster")
        assert c.set(key_for_shard(3), "v") is True
        assert a.client().get(key_for_shard(12)) == b"kept"
    finally:
        a.kill()


def test_a_node_restarted_remembers_the_cluster(photon_factory):
    a = photon_factory(*HEARTBEAT, name="a", env={"NODE_ID": "a", "NODE_ROLE": "master",
                                                 "SHARD_RANGE": "0-7", "PHOTON_WRITE_QUORUM": "1"})
    b = photon_factory(*HEARTBEAT, name="b", env={
        "NODE_ID": "b", "NODE_ROLE": "master", "SHARD_RANGE": "8-15", "PHOTON_WRITE_QUORUM": "1",
        "CLUSTER_SEEDS": f"127.0.0.1:{a.port}"})
    wait_for(lambda: cluster_info(a)["cluster_state"] == "ok", what="the cluster")
    a.client().set(key_for_shard(10), "through a")
    a.kill()
    a.env.pop("CLUSTER_SEEDS", None)
    a.start()  # no seeds: it knows b from its data dir
    wait_for(lambda: cluster_info(a)["cluster_state"] == "ok", what="the cluster again")
    assert a.client().get(key_for_shard(10)) == b"through a"
    assert b.client().dbsize() == 1


def test_concurrent_clients_through_every_node_lose_nothing(photon_factory):
    a = photon_factory(*HEARTBEAT, name="a", env={"NODE_ID": "a", "NODE_ROLE": "master",
                                                 "SHARD_RANGE": "0-7", "PHOTON_WRITE_QUORUM": "1"})
    b = photon_factory(*HEARTBEAT, name="b", env={
        "NODE_ID": "b", "NODE_ROLE": "master", "SHARD_RANGE": "8-15", "PHOTON_WRITE_QUORUM": "1",
        "CLUSTER_SEEDS": f"127.0.0.1:{a.port}"})
    wait_for(lambda: cluster_info(a)["cluster_state"] == "ok", what="the cluster")
    errors = []

    def worker(node, n):
        c = node.client()
        try:
            for i in range(300):
                c.incr("counter{%d}" % (i % 7))
                c.set(f"w{n}:{i}", i)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=worker, args=(node, n))
               for n, node in enumerate([a, b, a, b])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    c = a.client()
    assert sum(int(c.get("counter{%d}" % j)) for j in range(7)) == 1200
    assert c.dbsize() == 7 + 1200


def test_the_local_cluster_starts_from_the_conf_files(tmp_path):
    """conf/cluster/local: the spec's 9 nodes as TOML files, started as a user would
    (photon serve --config ...), form one healthy cluster."""
    from tests.support import ROOT
    files = sorted((ROOT / "conf" / "cluster" / "local").glob("*.toml"))
    assert len(files) == 9
    ports = list(range(7000, 7009)) + list(range(17000, 17009))
    for port in ports:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                pytest.skip(f"port {port} is in use")
    nodes = []
    try:
        for f in files:
            node = PhotonProcess(tmp_path / f.stem, port=int(f.stem and 0) or None)
            node.port = int(next(line.split("=")[1] for line in f.read_text().splitlines()
                                 if line.startswith("port ")))
            node.http_port = node.port + 10000
            node.command = lambda f=f: [sys.executable, "-m", "photon", "serve",  # type: ignore
                                        "--config", str(f)]
            node.data_dir.mkdir(parents=True)
            nodes.append(node.start(wait=False))
        for node in nodes:
            node.wait()
        wait_for(lambda: all(cluster_info(n)["cluster_state"] == "ok"
                             and cluster_info(n)["cluster_known_nodes"] == "9" for n in nodes)
                 and all(http(n, "/_health")[0] == 200 for n in nodes), timeout=60,
                 what="the conf/ cluster")
        c = nodes[0].client()
        for shard in range(16):
            assert c.set(key_for_shard(shard, prefix="conf"), shard) is True
        assert nodes[-1].client().dbsize() == 16
    finally:
        for node in nodes:
            node.kill()


def test_a_single_node_in_redirect_mode_is_a_one_node_redis_cluster(photon_factory):
    from redis.cluster import RedisCluster
    node = photon_factory("--cluster-redirect", "yes")
    assert node.client().info("cluster")["cluster_enabled"] == 1
    assert node.client().execute_command("HELLO", "3")[b"mode"] == b"cluster"
    rc = RedisCluster(host="127.0.0.1", port=node.port)
    try:
        for i in range(100):
            rc.set(f"one:{i}", i)
        assert rc.get("one:42") == b"42"
    finally:
        rc.close()
    assert node.client().dbsize() == 100


def test_cluster_links_prove_the_cluster_secret(photon_factory):
    secret = ("--cluster-secret", "s3cret")
    a = photon_factory(*HEARTBEAT, *secret, name="a", env={
        "NODE_ID": "a", "NODE_ROLE": "master", "SHARD_RANGE": "0-7", "PHOTON_WRITE_QUORUM": "1"})
    b = photon_factory(*HEARTBEAT, *secret, name="b", env={
        "NODE_ID": "b", "NODE_ROLE": "master", "SHARD_RANGE": "8-15", "PHOTON_WRITE_QUORUM": "1",
        "CLUSTER_SEEDS": f"127.0.0.1:{a.port}"})
    wait_for(lambda: cluster_info(a)["cluster_state"] == "ok", what="the cluster")
    intruder = photon_factory(*HEARTBEAT, "--cluster-secret", "wrong", name="x",
                              env={"NODE_ID": "x"})
    with pytest.raises(redis.ResponseError, match="not a PhotonDB node of this cluster"):
        intruder.client().execute_command("CLUSTER", "MEET", "127.0.0.1", a.port)
    with pytest.raises(redis.ResponseError, match="not a PhotonDB node of this cluster"):
        a.client().execute_command("CLUSTER", "MEET", "127.0.0.1", intruder.port)
    assert cluster_info(a)["cluster_known_nodes"] == "2"
    assert "Refused cluster peer" in a.logs()
    assert b.client().set(key_for_shard(1), "v") is True
