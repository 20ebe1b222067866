"""The spec's cluster API: ClusterState, ReplicationConfig, ReplicationManager.

A running node keeps one ClusterState (``server.cluster``); a program can build its own and
``await join(cluster, "host:port")`` to learn a running group's nodes."""
from photon.cluster.config import ReplicationConfig
from photon.cluster.manager import QuorumError, ReplicationManager, join
from photon.cluster.state import ClusterState, NodeInfo

__all__ = ["ClusterState", "NodeInfo", "QuorumError", "ReplicationConfig", "ReplicationManager",
           "join"]
