"""The cluster: shard map, membership, and the spec's Python API.

The spec's API (``from photon.cluster import ClusterState, ReplicationConfig,
ReplicationManager, join``) is the client-side layer a program uses to reach a running group;
its names load on first use, so importing ``photon.cluster.shardmap`` (or anything that
imports it) loads no networking code.
"""
from __future__ import annotations

from typing import Any

__all__ = ["ClusterState", "NodeInfo", "QuorumError", "ReplicationConfig", "ReplicationManager",
           "join"]


def __getattr__(name: str) -> Any:
    if name in ("ClusterState", "NodeInfo"):
        from photon.cluster import state

        return getattr(state, name)
    if name == "ReplicationConfig":
        from photon.cluster.config import ReplicationConfig

        return ReplicationConfig
    if name in ("QuorumError", "ReplicationManager", "join"):
        from photon.cluster import manager

        return getattr(manager, name)
    raise AttributeError(f"module 'photon.cluster' has no attribute {name!r}")
