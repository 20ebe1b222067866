"""The spec's examples run as written, in Python, against a real master and two replicas;
and the admin endpoints answer with the spec's JSON shapes."""
import asyncio
import json
import time
import urllib.request

import pytest

from photon.cluster import ClusterState, QuorumError, ReplicationConfig, ReplicationManager, join


def _wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def group(photon_factory):
    master = photon_factory(env={"NODE_ID": "master1", "NODE_ROLE": "master"})
    addr = f"127.0.0.1:{master.port}"
    replicas = [photon_factory(env={"NODE_ID": f"replica{i}", "NODE_ROLE": "replica",
                                    "MASTER_ADDR": addr}) for i in (1, 2)]
    _wait_for(lambda: master.client().info("replication")["connected_slaves"] == 2
              and all(r.client().info("replication")["master_link_status"] == "up"
                      for r in replicas))
    return master, replicas


def _http(node, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{node.http_port}{path}", timeout=5) as r:
        return json.loads(r.read())


def test_spec_example_against_a_running_group(group):
    master, replicas = group

    async def scenario():
        config = ReplicationConfig(replica_count=3, replication_factor=3, shard_count=16,
                                   enable_read_replicas=True, write_quorum=2)
        cluster = ClusterState("client", config)
        await join(cluster, f"127.0.0.1:{master.port}")
        shard = cluster.calculate_shard(b"user:12345")
        nodes = await cluster.get_shard_nodes(shard)
        assert nodes == ["master1", "replica1", "replica2"]
        manager = ReplicationManager(cluster)
        await manager.write(b"user:123", b"data")
        assert await manager.read(b"user:123") == b"data"
        await manager.close()

    asyncio.run(scenario())
    for r in replicas:
        assert r.client().get("user:123") == b"data"


def test_spec_write_fails_with_the_specs_error_when_replicas_are_gone(group):
    master, replicas = group

    async def scenario():
        cluster = ClusterState("client", ReplicationConfig())
        await join(cluster, f"127.0.0.1:{master.port}")
        for r in replicas:
            r.kill()
        manager = ReplicationManager(cluster)
        started = time.monotonic()
        with pytest.raises(QuorumError, match="Insufficient replicas for write quorum"):
            await manager.write(b"k", b"v")
        assert time.monotonic() - started < 3
        await manager.close()

    asyncio.run(scenario())
    assert master.client().get("k") is None


def test_admin_endpoints_have_the_specs_shapes(group):
    master, replicas = group
    cluster = _http(master, "/_admin/cluster")
    assert {"nodes", "shards", "replica_count", "health"} <= set(cluster)
    assert cluster["shards"] == 16 and cluster["replica_count"] == 2
    assert cluster["health"] == "healthy"
    by_id = {n["id"]: n for n in cluster["nodes"]}
    assert set(by_id) == {"master1", "replica1", "replica2"}
    assert by_id["master1"]["role"] == "Master" and by_id["replica1"]["role"] == "Replica"
    for node in cluster["nodes"]:
        assert {"id", "role", "addr", "shard_range", "last_heartbeat"} <= set(node)
        assert node["shard_range"] == {"start": 0, "end": 15}
        assert node["last_heartbeat"].endswith("Z")
    health = _http(master, "/_health")
    assert health["status"] == "healthy" and health["role"] == "master"
    assert health["shard_range"] == {"start": 0, "end": 15}
    assert health["connected_replicas"] == 2
    assert _http(replicas[0], "/_health")["role"] == "replica"


def test_single_node_health(photon):
    health = _http(photon, "/_health")
    assert health == {**health, "status": "healthy", "role": "master",
                      "shard_range": {"start": 0, "end": 15}, "connected_replicas": 0}
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{photon.http_port}/metrics").read()
    assert b"photon_connected_clients" in metrics


def test_spec_api_with_passwords(photon_factory):
    secured = ("--requirepass", "pw", "--masterauth", "pw")
    master = photon_factory(*secured, env={"NODE_ID": "m", "NODE_ROLE": "master"})
    addr = f"127.0.0.1:{master.port}"
    replicas = [photon_factory(*secured, env={"NODE_ID": f"r{i}", "NODE_ROLE": "replica",
                                              "MASTER_ADDR": addr}) for i in (1, 2)]
    _wait_for(lambda: master.client(password="pw").info("replication")["connected_slaves"] == 2)

    async def scenario():
        cluster = await join(ClusterState("client", ReplicationConfig()), addr, password="pw")
        assert await cluster.get_shard_nodes(0) == ["m", "r1", "r2"]
        manager = ReplicationManager(cluster, password="pw")
        await manager.write("user:1", "v")
        assert await manager.read("user:1") == b"v"
        await manager.close()

    asyncio.run(scenario())
    assert replicas[0].client(password="pw").get("user:1") == b"v"


def _get_calls(node) -> int:
    return node.client().info("commandstats").get("cmdstat_get", {}).get("calls", 0)


def test_manager_reads_its_own_writes_from_a_replica_and_survives_losing_it(group):
    """From outside the cluster the manager sends a shard's writes and reads through one
    replica (which forwards writes to the master and answers reads only once it applied
    them): 300 write-then-read pairs under a competing writer all see their own value, the
    reads are served by that replica, not the master, and when the replica dies the manager
    carries on through the master."""
    master, replicas = group
    before = {n.port: _get_calls(n) for n in (master, *replicas)}

    async def scenario():
        cluster = ClusterState("client", ReplicationConfig())
        await join(cluster, f"127.0.0.1:{master.port}")
        manager = ReplicationManager(cluster)
        noise = master.client()
        for i in range(300):
            noise.set("noise", "x" * 2000)  # keeps the replication stream busy
            await manager.write(b"ryw", b"%d" % i)
            assert await manager.read(b"ryw") == b"%d" % i
        home = [r for r in replicas if _get_calls(r) > before[r.port]]
        assert len(home) == 1 and _get_calls(master) == before[master.port]
        home[0].kill()
        await manager.write(b"ryw", b"after")
        assert await manager.read(b"ryw") == b"after"
        await manager.close()

    asyncio.run(scenario())
