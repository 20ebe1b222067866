"""What replication looks like from outside: INFO replication (Redis's fields) and the HTTP
``/_admin/replication`` endpoint (per-replica lag in bytes and seconds)."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from photon.server import Server


def info_replication(server: "Server") -> list[tuple[str, Any]]:
    master = server.master
    fields: list[tuple[str, Any]] = []
    if server.role == "replica":
        r = server.replica
        fields += [
            ("role", "slave"),
            ("master_host", r.host),
            ("master_port", r.port),
            ("master_link_status", "up" if r.state == "connected" else "down"),
            ("master_last_io_seconds_ago",
             int(time.monotonic() - r.last_io) if r.link is not None else -1),
            ("master_sync_in_progress", 1 if r.syncing else 0),
            ("slave_read_repl_offset", master.offset),
            ("slave_repl_offset", master.offset),
        ]
        if r.syncing:
            fields += [("master_sync_total_bytes", -1),
                       ("master_sync_read_bytes", r.sync_bytes),
                       ("master_sync_left_bytes", -1),
                       ("master_sync_perc", "0.00"),
                       ("master_sync_last_io_seconds_ago", int(time.monotonic() - r.last_io))]
        if r.state != "connected":
            fields.append(("master_link_down_since_seconds",
                           int(time.monotonic() - r.down_since)))
        fields += [("slave_priority", 100), ("slave_read_only", 1), ("replica_announced", 1)]
    else:
        fields.append(("role", "master"))
    links = list(master.links.values())
    fields.append(("connected_slaves", len(links)))
    now = time.monotonic()
    for i, link in enumerate(links):
        fields.append((f"slave{i}", f"ip={link.host},port={link.port},state={link.state()},"
                                    f"offset={link.offset()},lag={int(now - link.last_ack)}"))
    positions = master.positions
    histlen = sum(b.entries[-1][1] - b.entries[0][0] for b in master.backlogs if b.entries)
    fields += [
        ("master_failover_state", "no-failover"),
        ("master_replid", master.replid.decode()),
        ("master_replid2", positions[0].replid2.decode() if positions else "0" * 40),
        ("master_repl_offset", master.offset),
        ("second_repl_offset", positions[0].offset2 if positions else -1),
        ("repl_backlog_active", 1 if master.active else 0),
        ("repl_backlog_size", server.config.repl_backlog_size),
        ("repl_backlog_first_byte_offset", master.offset - histlen + 1),
        ("repl_backlog_histlen", histlen),
        ("write_quorum", server.config.write_quorum if master.quorum_active else 1),
    ]
    return fields


def admin_replication(server: "Server") -> dict[str, Any]:
    master = server.master
    now = time.monotonic()
    view: dict[str, Any] = {
        "node_id": server.node_id,
        "role": server.role,
        "replid": master.replid.decode(),
        "offset": master.offset,
        "write_quorum": server.config.write_quorum if master.quorum_active else 1,
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
            for link in master.links.values()
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


def install(server: "Server") -> None:
    server.info_sections["replication"] = info_replication
    server.admin_views["/_admin/replication"] = admin_replication
