"""What replication looks like from outside over HTTP: the ``/_admin/replication`` document
(per-replica lag in bytes and seconds). INFO replication is in commands/info.py."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from photon.node import Node


def admin_replication(server: "Node") -> dict[str, Any]:
    master = server.master
    shardlog = server.shardlog
    now = time.monotonic()
    links = list(master.links.values()) if master is not None else []
    view: dict[str, Any] = {
        "node_id": server.node_id,
        "role": server.role,
        "replid": shardlog.replid.decode(),
        "offset": shardlog.offset,
        "write_quorum": (server.config.write_quorum
                         if master is not None and master.quorum_active else 1),
        "replicas": [
            {
                "id": link.node_id,
                "addr": f"{link.host}:{link.port}",
                "state": link.state(),
                "offset": link.offset(),
                "lag_bytes": link.lag_bytes(),
                "lag_seconds": round(link.lag_seconds(), 3),
                "last_ack_seconds_ago": round(now - link.last_ack, 3),
                "connected_since": link.connected_at,
                "full_syncs": link.full_syncs,
                "full_sync_shards": link.full_sync_shards,
                "sync_bytes": link.sync_bytes,
                "syncing_shards": sorted(set(link.shards) - link.online),
                "shards": {"start": min(link.shards, default=0),
                           "end": max(link.shards, default=0)},
            }
            for link in links
        ],
    }
    if server.replica is not None:
        r = server.replica
        view["master"] = {
            "id": r.master_id,
            "addr": f"{r.host}:{r.port}",
            "link": r.state,
            "link_status": "up" if r.state == "connected" else "down",
            "last_io_seconds_ago": round(now - r.last_io, 3),
            "syncing_shards": sorted(r.syncing),
            "full_syncs": r.full_syncs,
            "partial_syncs": r.partial_syncs,
        }
    return view

