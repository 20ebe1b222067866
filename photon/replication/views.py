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
            ("master_last_io_seconds_ago", int(time.monotonic() - r.last_io)),
            ("master_sync_in_progress", 1 if r.syncing else 0),
            ("slave_read_repl_offset", master.offset),
            ("slave_repl_offset", master.offset),
        ]
        if r.syncing:
            fields.append(("master_sync_read_bytes", r.sync_bytes))
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
    first = min((b.first for b in master.backlogs if b.entries), default=0)
    fields += [
        ("master_failover_state", "no-failover"),
        ("master_replid", master.replid.decode()),
        ("master_replid2", positions[0].replid2.decode() if positions else "0" * 40),
        ("master_repl_offset", master.offset),
        ("second_repl_offset", positions[0].offset2 if positions else -1),
        ("repl_backlog_active", 1 if master.active else 0),
        ("repl_backlog_size", server.config.repl_backlog_size),
        ("repl_backlog_first_byte_offset", first),
        ("repl_backlog_histlen", sum(b.size for b in master.backlogs)),
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
                "lag_seconds": round(now - link.last_ack, 3),
                "full_syncs": link.full_syncs,
            }
            for link in master.links.values()
        ],
    }
    if server.replica is not None:
        r = server.replica
        view["master"] = {
            "addr": f"{r.host}:{r.port}",
            "link": r.state,
            "last_io_seconds_ago": round(now - r.last_io, 3),
            "syncing_shards": sorted(r.syncing),
        }
    return view


def install(server: "Server") -> None:
    server.info_sections["replication"] = info_replication
    server.admin_views["/_admin/replication"] = admin_replication
