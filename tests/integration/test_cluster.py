"""The spec's cluster with real processes: 3 masters owning shards 0-5, 6-10 and 11-15, two
replicas each, started with the spec's environment variables (replicas with MASTER_ADDR only),
all joining through CLUSTER_SEEDS. Plain clients on any node, split and cross-slot commands,
the cluster-wide keyspace, transactions, blocking pops, pub/sub, Redis Cluster clients in both
modes, the CLUSTER commands, the admin endpoints."""
from __future__ import annotations

import shutil
import subprocess
import threading
import time

import pytest
import redis
from redis.cluster import RedisCluster

from tests.integration.cluster_support import (
    cluster_info, http, key_for_shard, shard_of, start_cluster,
)
from tests.support import PhotonProcess

CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    started: list[PhotonProcess] = []

    def make(*args, name="node", env=None, start=True):
        node = PhotonProcess(root / name, *args, env=env)
        started.append(node)
        return node.start() if start else node

    try:
        masters, replicas = start_cluster(make)
        yield masters, replicas, [*masters, *(r for g in replicas for r in g)]
    finally:
        for node in started:
            node.kill()


@pytest.fixture
def nodes(cluster):
    masters, replicas, every = cluster
    for n in every:
        with n.client() as c:
            c.config_set("cluster-redirect", "no")
    every[0].client().flushall()
    return every


def group_of(key: str) -> int:
    shard = shard_of(key)
    return 0 if shard <= 5 else 1 if shard <= 10 else 2


def keys_in(group: int, n: int, prefix: str = "g") -> list[str]:
    out, i = [], 0
    while len(out) < n:
        k = f"{prefix}{i}"
        if group_of(k) == group:
            out.append(k)
        i += 1
    return out


def test_cluster_info_is_ok_with_nine_nodes_everywhere(cluster):
    for node in cluster[2]:
        info = cluster_info(node)
        assert info["cluster_state"] == "ok"
        assert info["cluster_known_nodes"] == "9"
        assert info["cluster_size"] == "3"
        assert info["cluster_slots_assigned"] == "16384"


def test_plain_clients_write_and_read_every_shard_through_every_node(nodes):
    keys = {shard: key_for_shard(shard) for shard in range(16)}
    for i, writer in enumerate(nodes):
        c = writer.client()
        for shard, key in keys.items():
            assert c.set(key, f"{i}-{shard}") is True
        for reader in nodes:
            r = reader.client()
            assert [r.get(k) for k in keys.values()] == [f"{i}-{s}".encode() for s in keys]


def test_redis_cli_without_c_on_every_node(nodes):
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.skip("redis-cli is not installed")
    for shard in range(16):
        key = key_for_shard(shard, prefix="cli")
        node = nodes[shard % len(nodes)]
        out = subprocess.run([cli, "-p", str(node.port), "SET", key, f"v{shard}"],
                             capture_output=True, text=True, check=True).stdout
        assert out.strip() == "OK"
        other = nodes[(shard + 4) % len(nodes)]
        out = subprocess.run([cli, "-p", str(other.port), "GET", key],
                             capture_output=True, text=True, check=True).stdout
        assert out.strip() == f"v{shard}"


def test_multi_key_commands_split_across_groups(nodes):
    c = nodes[4].client()  # a replica of master2
    keys = [key_for_shard(s, prefix="mk") for s in (0, 7, 12, 3)]
    assert c.mset({k: f"v{i}" for i, k in enumerate(keys)}) is True
    assert c.mget(keys + ["missing"]) == [b"v0", b"v1", b"v2", b"v3", None]
    assert c.exists(*keys, "missing") == 4
    assert c.touch(*keys) == 4
    assert c.delete(keys[0], keys[1]) == 2
    assert c.unlink(keys[2], keys[3], "missing") == 2
    assert c.exists(*keys) == 0


def test_other_multi_key_commands_get_crossslot_across_groups(nodes):
    c = nodes[0].client()
    a, b = keys_in(0, 1, "x")[0], keys_in(2, 1, "x")[0]
    c.set(a, "1")
    c.sadd("s" + a, "m")
    for args in (("MSETNX", a, "1", b, "2"), ("RENAME", a, b), ("SUNIONSTORE", a, b),
                 ("EVAL", "return 1", "2", a, b)):
        with pytest.raises(redis.ResponseError, match="don.t hash to the same slot"):
            c.execute_command(*args)
    with c.pipeline(transaction=True) as p:
        p.set(a, "1").set(b, "2")
        with pytest.raises(redis.ResponseError, match="don.t hash to the same slot"):
            p.execute()
    # the same commands with keys of one group (another one than this node's) succeed
    x, y = "{tag}a", "{tag}b"
    assert group_of(x) != 0
    assert c.msetnx({x: "1", y: "2"}) is True
    assert c.rename(x, "{tag}c") is True
    c.sadd("{tag}s", "m")
    assert c.sunionstore("{tag}u", ["{tag}s"]) == 1
    assert c.eval("return redis.call('get', KEYS[1])", 1, "{tag}c") == b"1"


def test_cluster_wide_scan_dbsize_keys(nodes):
    writer = nodes[0].client()
    names = [f"scan:{i}" for i in range(300)]
    writer.mset({k: "v" for k in names})
    for node in (nodes[0], nodes[5]):
        c = node.client()
        assert c.dbsize() == 300
        seen = []
        cursor = 0
        while True:
            cursor, batch = c.scan(cursor, count=17)
            seen += batch
            if cursor == 0:
                break
        assert sorted(seen) == sorted(k.encode() for k in names)  # every key, once
        assert sorted(c.keys("scan:*")) == sorted(k.encode() for k in names)
        assert c.randomkey() in {k.encode() for k in names}
        assert c.info("keyspace")["db0"]["keys"] == 300
    nodes[7].client().flushdb()
    assert writer.dbsize() == 0


def test_transactions_on_one_remote_group_run_whole(nodes):
    c = nodes[0].client()
    k1, k2 = keys_in(2, 2, "t")
    with c.pipeline(transaction=True) as p:
        p.set(k1, "a").incr(k2).get(k1)
        assert p.execute() == [True, 1, b"a"]


def test_watch_on_a_remote_key_is_kept_where_the_key_changes(nodes):
    c = nodes[0].client()
    (k,) = keys_in(1, 1, "w")
    owner = nodes[1].client()
    with c.pipeline() as p:
        p.watch(k)
        owner.set(k, "changed by someone else")
        p.multi()
        p.set(k, "mine")
        with pytest.raises(redis.WatchError):
            p.execute()
    assert owner.get(k) == b"changed by someone else"
    with c.pipeline() as p:
        p.watch(k)
        p.multi()
        p.set(k, "mine")
        assert p.execute() == [True]
    assert owner.get(k) == b"mine"


def test_blocking_pop_waits_on_the_owning_group(nodes):
    c = nodes[3].client()  # a replica of master1
    (q,) = keys_in(2, 1, "queue")

    def push():
        time.sleep(0.5)
        nodes[2].client().rpush(q, "job")
    threading.Thread(target=push).start()
    started = time.monotonic()
    assert c.blpop([q], timeout=10) == (q.encode(), b"job")
    assert 0.3 < time.monotonic() - started < 5


def test_publish_reaches_subscribers_on_every_node(nodes):
    subs = []
    for node in nodes:
        p = node.client().pubsub()
        p.subscribe("news")
        subs.append(p)
    for p in subs:
        assert p.get_message(timeout=2)["type"] == "subscribe"
    nodes[4].client().publish("news", "hello")
    for p in subs:
        msg = p.get_message(timeout=3)
        assert msg is not None and msg["data"] == b"hello"
        p.close()
    shard_sub = nodes[8].client().pubsub()
    shard_sub.ssubscribe("orders")
    assert shard_sub.get_sharded_message(timeout=2)["type"] == "ssubscribe"
    nodes[0].client().spublish("orders", "o1")
    msg = shard_sub.get_sharded_message(timeout=3)
    assert msg is not None and msg["data"] == b"o1"
    shard_sub.close()


def test_resp3_replies_are_relayed_as_sent(nodes):
    c = nodes[0].client(protocol=3)
    (h,) = keys_in(2, 1, "h")
    c.hset(h, mapping={"a": "1", "b": "2"})
    assert c.hgetall(h) == {b"a": b"1", b"b": b"2"}
    assert c.execute_command("HELLO", "3")[b"proto"] == 3


def test_cluster_aware_clients_work_without_redirects(nodes):
    rc = RedisCluster(host="127.0.0.1", port=nodes[0].port)
    try:
        for i in range(500):
            rc.set(f"rc:{i}", i)
        assert all(rc.get(f"rc:{i}") == str(i).encode() for i in range(500))
    finally:
        rc.close()
    assert nodes[0].client().dbsize() == 500
    cli = shutil.which("redis-cli")
    if cli is not None:
        k = keys_in(2, 1, "cli-c")[0]
        for args in (["SET", k, "v"], ["GET", k]):
            out = subprocess.run([cli, "-c", "-p", str(nodes[0].port), *args],
                                 capture_output=True, text=True, check=True).stdout
            assert out.strip() in ("OK", "v")


def test_redirect_mode_is_redis_cluster(nodes):
    for n in nodes:
        n.client().config_set("cluster-redirect", "yes")
    c = nodes[0].client()
    assert c.info("cluster")["cluster_enabled"] == 1
    (k,) = keys_in(2, 1, "r")
    with pytest.raises(redis.exceptions.MovedError, match=r"^\d+ 127.0.0.1:%d$" % nodes[2].port):
        c.set(k, "v")
    rc = RedisCluster(host="127.0.0.1", port=nodes[0].port)
    try:
        for i in range(500):
            rc.set(f"rd:{i}", i)
        assert all(rc.get(f"rd:{i}") == str(i).encode() for i in range(500))
    finally:
        rc.close()
    cli = shutil.which("redis-cli")
    if cli is not None:
        out = subprocess.run([cli, "-c", "-p", str(nodes[0].port), "SET", k, "via-cli"],
                             capture_output=True, text=True, check=True).stdout
        assert out.strip() == "OK"
        check = subprocess.run([cli, "--cluster", "check", f"127.0.0.1:{nodes[0].port}"],
                               capture_output=True, text=True, timeout=60)
        assert "[OK] All nodes agree about slots configuration." in check.stdout, check.stdout
        assert "[OK] All 16384 slots covered." in check.stdout
    assert c.dbsize() < 500  # keyspace-wide commands cover this node only in this mode


def test_cluster_commands(nodes):
    c = nodes[0].client()
    slots = c.execute_command("CLUSTER", "SLOTS")
    assert [(s[0], s[1]) for s in sorted(slots)] == [(0, 6143), (6144, 11263), (11264, 16383)]
    assert all(len(s) == 5 for s in slots)  # master and two replicas
    lines = c.execute_command("CLUSTER", "NODES").decode().splitlines()
    assert len(lines) == 9 and sum("myself" in line for line in lines) == 1
    assert c.execute_command("CLUSTER", "MYID") == b"master1"
    assert c.execute_command("CLUSTER", "MYSHARDID") == b"master1"
    assert nodes[3].client().execute_command("CLUSTER", "MYSHARDID") == b"master1"
    assert len(c.execute_command("CLUSTER", "REPLICAS", "master2")) == 2
    shards = c.execute_command("CLUSTER", "SHARDS")
    assert len(shards) == 3
    key = "{slotkey}x"
    c.set(key, "1")
    slot = c.execute_command("CLUSTER", "KEYSLOT", key)
    owner = nodes[group_of(key)].client()
    assert owner.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 1
    assert owner.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 10) == [key.encode()]
    with pytest.raises(redis.ResponseError, match="Invalid slot"):
        c.execute_command("CLUSTER", "COUNTKEYSINSLOT", 16384)
    with pytest.raises(redis.ResponseError, match="Unknown node nobody"):
        c.execute_command("CLUSTER", "FORGET", "nobody")
    with pytest.raises(redis.ResponseError, match="can't forget myself"):
        c.execute_command("CLUSTER", "FORGET", "master1")
    with pytest.raises(redis.ResponseError, match="Can't forget my master"):
        nodes[3].client().execute_command("CLUSTER", "FORGET", "master1")
    assert c.execute_command("ASKING") is True


def test_admin_endpoints_from_any_node(nodes):
    for node in (nodes[0], nodes[8]):
        status, doc = http(node, "/_admin/cluster")
        assert status == 200 and len(doc["nodes"]) == 9
        assert doc["health"] == "healthy" and doc["cluster_state"] == "ok"
        roles = sorted(n["role"] for n in doc["nodes"])
        assert roles == ["Master"] * 3 + ["Replica"] * 6
        for n in doc["nodes"]:
            assert {"id", "role", "addr", "shard_range", "last_heartbeat", "health"} <= set(n)
        status, health = http(node, "/_health")
        assert status == 200 and health["status"] == "healthy"
    status, text = http(nodes[0], "/metrics")
    for metric in ("photon_shard_keys", "photon_cluster_state_ok 1.0",
                   "photon_write_quorum_failures", "photon_reads_served",
                   "photon_forwarded_commands", "photon_replica_lag_bytes",
                   "photon_cluster_node_up"):
        assert metric in text


def test_a_node_met_with_cluster_meet_becomes_visible_everywhere(cluster, tmp_path):
    every = cluster[2]
    extra = PhotonProcess(tmp_path / "extra", "--heartbeat-interval-ms", "100",
                          "--dead-after-ms", "3000", env={"NODE_ID": "extra"}).start()
    try:
        assert every[0].client().execute_command(
            "CLUSTER", "MEET", "127.0.0.1", extra.port) == b"OK"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if all(b"extra " in n.client().execute_command("CLUSTER", "NODES") for n in every):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the met node did not become visible everywhere")
        # it yields its epoch-0 claim to the cluster's masters: an empty master that passes
        # every key on to its owner
        assert cluster_info(extra)["cluster_state"] == "ok"
        key = key_for_shard(3, prefix="met")
        assert extra.client().set(key, "via-extra") is True
        assert every[0].client().get(key) == b"via-extra"
        every[0].client().execute_command("CLUSTER", "FORGET", "extra")
    finally:
        extra.kill()
