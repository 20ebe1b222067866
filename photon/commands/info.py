"""INFO: Redis 7.0's sections and field names, filled from this node's state."""
from __future__ import annotations

import os
import platform
import resource
import sys
import time
from typing import TYPE_CHECKING, Any

from photon import REDIS_VERSION, __version__, compiled
from photon.commands.table import all_commands

if TYPE_CHECKING:
    from photon.node import Node

DEFAULT_SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                    "modules", "errorstats", "cluster", "keyspace"]
# Redis 7.0's order for 'all' / 'everything': commandstats comes before errorstats.
ALL_SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                "modules", "commandstats", "errorstats", "cluster", "keyspace"]


def human(n: float) -> str:
    for unit in ("B", "K", "M", "G", "T"):
        if n < 1024 or unit == "T":
            return f"{n:.2f}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1024
    return f"{n:.2f}T"


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _server(s: "Node") -> list[tuple[str, Any]]:
    up = int(s.uptime())
    uname = platform.uname()
    return [
        ("redis_version", REDIS_VERSION),
        ("redis_git_sha1", "00000000"),
        ("redis_git_dirty", 0),
        ("redis_build_id", "photon"),
        ("redis_mode", s.mode),
        ("os", f"{uname.system} {uname.release} {uname.machine}"),
        ("arch_bits", 64 if sys.maxsize > 2**32 else 32),
        ("monotonic_clock", "POSIX clock_gettime"),
        ("multiplexing_api", "epoll"),
        ("atomicvar_api", "c11-builtin"),
        ("gcc_version", "0.0.0"),
        ("process_id", os.getpid()),
        ("process_supervised", "no"),
        ("run_id", s.run_id),
        ("tcp_port", s.port),
        ("server_time_usec", int(time.time() * 1e6)),
        ("uptime_in_seconds", up),
        ("uptime_in_days", up // 86400),
        ("hz", s.config.hz),
        ("configured_hz", s.config.hz),
        ("lru_clock", int(time.time()) & ((1 << 24) - 1)),
        ("executable", sys.argv[0] if sys.argv else ""),
        ("config_file", s.config.config or ""),
        ("io_threads_active", 0),
        ("photon_version", __version__),
        ("photon_build", compiled.build),  # the compiled core or the pure-Python modules
        ("python_version", platform.python_version()),
        ("node_id", s.node_id),
        ("shards", len(s.keyspace.engines)),
        ("shard_range", "%d-%d" % s.shard_range),
        ("http_port", s.http_port),
    ]


def _clients(s: "Node") -> list[tuple[str, Any]]:
    blocked = sum(1 for c in s.clients.values() if c.blocked is not None)
    return [
        ("connected_clients", sum(1 for c in s.clients.values() if c.kind != "replica")),
        ("cluster_connections", 0),
        ("maxclients", s.config.maxclients),
        ("client_recent_max_input_buffer", max((c.parser.pending for c in s.clients.values()),
                                               default=0)),
        ("client_recent_max_output_buffer", 0),
        ("blocked_clients", blocked),
        ("tracking_clients", 0),
        ("clients_in_timeout_table", 0),
    ]


def _memory(s: "Node") -> list[tuple[str, Any]]:
    rss = rss_bytes()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    disk = sum(e.approximate_size() for e in s.engines)
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return [
        ("used_memory", rss),
        ("used_memory_human", human(rss)),
        ("used_memory_rss", rss),
        ("used_memory_rss_human", human(rss)),
        ("used_memory_peak", peak),
        ("used_memory_peak_human", human(peak)),
        ("used_memory_peak_perc", f"{100.0 * rss / peak if peak else 100:.2f}%"),
        ("total_system_memory", total),
        ("total_system_memory_human", human(total)),
        ("maxmemory", 0),
        ("maxmemory_human", "0B"),
        ("maxmemory_policy", "noeviction"),
        ("mem_fragmentation_ratio", "1.00"),
        ("mem_fragmentation_bytes", 0),
        ("mem_not_counted_for_evict", 0),
        ("mem_replication_backlog", 0),
        ("mem_clients_slaves", 0),
        ("mem_clients_normal", 0),
        ("mem_aof_buffer", 0),
        ("mem_allocator", "libc"),
        ("active_defrag_running", 0),
        ("lazyfree_pending_objects", 0),
        ("lazyfreed_objects", 0),
        ("disk_used_bytes", disk),
        ("disk_used_human", human(disk)),
    ]


def _persistence(s: "Node") -> list[tuple[str, Any]]:
    d = s.durability
    return [
        ("loading", 0),
        ("async_loading", 0),
        ("rdb_changes_since_last_save", 0),
        ("rdb_bgsave_in_progress", 0),
        ("rdb_last_save_time", int(s.last_save)),
        ("rdb_last_bgsave_status", "ok"),
        ("rdb_saves", 0),
        ("aof_enabled", 1),
        ("aof_rewrite_in_progress", 0),
        ("aof_rewrite_scheduled", 0),
        ("aof_rewrites", 0),
        ("aof_last_bgrewrite_status", "ok"),
        ("module_fork_in_progress", 0),
        ("aof_last_write_status", "ok" if d.last_fsync_error is None else "err"),
        ("storage_engine", "leveldb"),
        ("appendfsync", d.mode),
        ("fsyncs", d.fsyncs),
    ]


def _stats(s: "Node") -> list[tuple[str, Any]]:
    st = s.stats
    ks = s.keyspace
    return [
        ("total_connections_received", st.connections),
        ("total_commands_processed", st.commands),
        ("instantaneous_ops_per_sec", st.ops_per_sec),
        ("total_net_input_bytes", st.net_input),
        ("total_net_output_bytes", st.net_output),
        ("instantaneous_input_kbps", f"{st.rate(2) / 1024:.2f}"),
        ("instantaneous_output_kbps", f"{st.rate(3) / 1024:.2f}"),
        ("rejected_connections", st.rejected_connections),
        ("sync_full", s.info_counters.get("sync_full", 0)),
        ("sync_partial_ok", s.info_counters.get("sync_partial_ok", 0)),
        ("sync_partial_err", s.info_counters.get("sync_partial_err", 0)),
        ("expired_keys", ks.expired),
        ("evicted_keys", 0),
        ("evicted_clients", 0),
        ("keyspace_hits", ks.hits),
        ("keyspace_misses", ks.misses),
        ("pubsub_channels", s.info_counters.get("pubsub_channels", 0)),
        ("pubsub_patterns", s.info_counters.get("pubsub_patterns", 0)),
        ("pubsubshard_channels", s.info_counters.get("pubsubshard_channels", 0)),
        ("latest_fork_usec", 0),
        ("total_forks", 0),
        ("migrate_cached_sockets", 0),
        ("slave_expires_tracked_keys", 0),
        ("active_defrag_hits", 0),
        ("active_defrag_misses", 0),
        ("active_defrag_key_hits", 0),
        ("active_defrag_key_misses", 0),
        ("tracking_total_keys", 0),
        ("tracking_total_items", 0),
        ("tracking_total_prefixes", 0),
        ("unexpected_error_replies", 0),
        ("client_output_buffer_limit_disconnections", st.output_limit_disconnections),
        ("total_error_replies", st.total_errors),
    ]


def _replication(s: "Node") -> list[tuple[str, Any]]:
    """Redis's fields, from the node's replica link, its replicas and its shard log."""
    fields: list[tuple[str, Any]] = []
    shardlog = s.shardlog
    r = s.replica
    if r is not None:
        fields += [
            ("role", "slave"),
            ("master_host", r.host),
            ("master_port", r.port),
            ("master_link_status", "up" if r.state == "connected" else "down"),
            ("master_last_io_seconds_ago",
             int(time.monotonic() - r.last_io) if r.link is not None else -1),
            ("master_sync_in_progress", 1 if r.syncing else 0),
            ("slave_read_repl_offset", shardlog.offset),
            ("slave_repl_offset", shardlog.offset),
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
    links = list(s.master.links.values()) if s.master is not None else []
    fields.append(("connected_slaves", len(links)))
    now = time.monotonic()
    for i, link in enumerate(links):
        fields.append((f"slave{i}", f"ip={link.host},port={link.port},state={link.state()},"
                                    f"offset={link.offset()},lag={int(now - link.last_ack)}"))
    positions = shardlog.positions
    histlen = sum(b.entries[-1][1] - b.entries[0][0] for b in shardlog.backlogs if b.entries)
    quorum = s.master is not None and s.master.quorum_active
    fields += [
        ("master_failover_state", {"electing": "failover-in-progress", "awaiting":
                                   "waiting-for-election"}.get(s.cluster.coordinator.state,
                                                               "no-failover")),
        ("master_replid", shardlog.replid.decode()),
        ("master_replid2", positions[0].replid2.decode() if positions else "0" * 40),
        ("master_repl_offset", shardlog.offset),
        ("second_repl_offset", positions[0].offset2 if positions else -1),
        ("repl_backlog_active", 1 if shardlog.active else 0),
        ("repl_backlog_size", s.config.repl_backlog_size),
        ("repl_backlog_first_byte_offset", shardlog.offset - histlen + 1),
        ("repl_backlog_histlen", histlen),
        ("write_quorum", s.config.write_quorum if quorum else 1),
    ]
    return fields


def _cpu(s: "Node") -> list[tuple[str, Any]]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return [
        ("used_cpu_sys", f"{me.ru_stime:.6f}"),
        ("used_cpu_user", f"{me.ru_utime:.6f}"),
        ("used_cpu_sys_children", f"{kids.ru_stime:.6f}"),
        ("used_cpu_user_children", f"{kids.ru_utime:.6f}"),
        ("used_cpu_sys_main_thread", f"{me.ru_stime:.6f}"),
        ("used_cpu_user_main_thread", f"{me.ru_utime:.6f}"),
    ]


def _errorstats(s: "Node") -> list[tuple[str, Any]]:
    return [(f"errorstat_{k}", f"count={v}") for k, v in sorted(s.stats.errors.items())]


def _cluster(s: "Node") -> list[tuple[str, Any]]:
    """Redis's cluster_enabled, then PhotonDB's: the cluster's state, epochs and failovers."""
    m = s.cluster
    fo = m.coordinator
    return [
        ("cluster_enabled", 1 if s.mode == "cluster" else 0),
        ("cluster_state", "ok" if m.ok else "fail"),
        ("cluster_known_nodes", len(m.state.all())),
        ("cluster_current_epoch", m.current_epoch),
        ("cluster_coordinator", fo.name),
        ("cluster_coordinator_problem", fo.problem()),
        ("cluster_my_group", m.my_group() or ""),
        ("cluster_failover_state", fo.state),
        ("cluster_fenced", 1 if fo.fenced else 0),
        ("cluster_voted_epoch", fo.voted_epoch),
        ("cluster_voted_for", fo.voted_for),
        ("cluster_failovers", fo.failovers),
        ("cluster_last_failover_seconds", f"{fo.last_failover_seconds:.3f}"),
        ("cluster_last_manual_failover_pause_ms", fo.last_pause_ms),
        ("cluster_last_event", fo.events[-1] if fo.events else ""),
    ]


def _keyspace(s: "Node") -> list[tuple[str, Any]]:
    ks = s.keyspace
    out = []
    for db in range(ks.databases):
        n = ks.count_keys(db)
        if n:
            expires = ks.count_expires(db)
            avg = ks.avg_ttl(db) if expires else 0
            out.append((f"db{db}", f"keys={n},expires={expires},avg_ttl={avg}"))
    return out


def _commandstats(s: "Node") -> list[tuple[str, Any]]:
    out = []
    for cmd in all_commands():
        for c in [cmd, *cmd.subcommands.values()]:
            if c.calls or c.rejected or c.failed:
                usec = c.seconds * 1e6
                per = usec / c.calls if c.calls else 0.0
                out.append((f"cmdstat_{c.name}",
                            f"calls={c.calls},usec={int(usec)},usec_per_call={per:.2f},"
                            f"rejected_calls={c.rejected},failed_calls={c.failed}"))
    return out


SECTIONS = {
    "server": _server, "clients": _clients, "memory": _memory, "persistence": _persistence,
    "stats": _stats, "replication": _replication, "cpu": _cpu, "modules": lambda s: [],
    "errorstats": _errorstats, "cluster": _cluster, "keyspace": _keyspace,
    "commandstats": _commandstats,
}
TITLES = {"cpu": "CPU", "errorstats": "Errorstats", "commandstats": "Commandstats"}


def render(server: "Node", wanted: list[str]) -> bytes:
    """The INFO text for the requested sections (Redis's names: default, all, everything)."""
    names: list[str] = []
    if not wanted:
        names = DEFAULT_SECTIONS
    for w in wanted:
        w = w.lower()
        if w == "default":
            names += DEFAULT_SECTIONS
        elif w in ("all", "everything"):
            names += ALL_SECTIONS
        elif w in SECTIONS:
            names.append(w)
    seen: list[str] = []
    for n in names:
        if n not in seen:
            seen.append(n)
    blocks = []
    for name in seen:
        fields = SECTIONS[name](server)
        title = TITLES.get(name, name.capitalize())
        lines = [f"# {title}"] + [f"{k}:{v}" for k, v in fields]
        blocks.append("\r\n".join(lines) + "\r\n")
    return "\r\n".join(blocks).encode()
