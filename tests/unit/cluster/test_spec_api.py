"""The spec's Python API: field names, defaults, validation, shard routing."""
import asyncio

import pytest

from photon.cluster import ClusterState, NodeInfo, QuorumError, ReplicationConfig, \
    ReplicationManager
from photon.keyspace.slots import key_slot


def test_defaults_are_the_specs():
    config = ReplicationConfig()
    assert (config.replica_count, config.replication_factor, config.shard_count,
            config.enable_read_replicas, config.write_quorum) == (3, 3, 16, True, 2)


@pytest.mark.parametrize("kwargs, words", [
    ({"write_quorum": 4}, "write_quorum 4 is above replication_factor 3"),
    ({"shard_count": 12}, "shard_count must be a power of two"),
    ({"write_quorum": 0}, "write_quorum must be at least 1"),
    ({"replication_factor": 0, "write_quorum": 1}, "replication_factor must be at least 1"),
    ({"replica_count": -1}, "replica_count must be 0 or more"),
])
def test_impossible_combinations_are_refused(kwargs, words):
    with pytest.raises(ValueError, match=words):
        ReplicationConfig(**kwargs)


def test_calculate_shard_is_the_servers_routing():
    cluster = ClusterState("node1", ReplicationConfig())
    for key in (b"user:12345", b"{user}:a", b"x"):
        assert cluster.calculate_shard(key) == key_slot(key) * 16 // 16384
    assert cluster.calculate_shard(b"{user}:a") == cluster.calculate_shard(b"{user}:b")
    assert cluster.calculate_shard("user:12345") == cluster.calculate_shard(b"user:12345")
    wide = ClusterState("node1", ReplicationConfig(shard_count=32))
    assert wide.calculate_shard(b"user:12345") // 2 == cluster.calculate_shard(b"user:12345")


def test_get_shard_nodes_lists_master_first():
    cluster = ClusterState("master2", ReplicationConfig())
    cluster.add_node(NodeInfo("replica5", "replica", "h:3", (6, 10)))
    cluster.add_node(NodeInfo("master2", "master", "h:1", (6, 10)))
    cluster.add_node(NodeInfo("replica2", "replica", "h:2", (6, 10)))
    cluster.add_node(NodeInfo("master1", "master", "h:0", (0, 5)))
    assert asyncio.run(cluster.get_shard_nodes(7)) == ["master2", "replica2", "replica5"]
    assert asyncio.run(cluster.get_shard_nodes(0)) == ["master1"]
    with pytest.raises(ValueError):
        asyncio.run(cluster.get_shard_nodes(16))


def test_write_without_enough_nodes_raises_the_specs_error():
    cluster = ClusterState("node1", ReplicationConfig())
    cluster.add_node(NodeInfo("node1", "master", "127.0.0.1:1", (0, 15)))
    manager = ReplicationManager(cluster)
    with pytest.raises(QuorumError, match="Insufficient replicas for write quorum"):
        asyncio.run(manager.write(b"user:123", b"data"))


def test_dead_nodes_are_forgotten():
    cluster = ClusterState("a", ReplicationConfig())
    cluster.add_node(NodeInfo("a", "master", "h:1", (0, 15)))
    cluster.add_node(NodeInfo("b", "replica", "h:2", (0, 15), last_heartbeat=0))
    assert asyncio.run(cluster.check_dead_nodes()) == ["b"]
    assert list(cluster.nodes) == ["a"]
