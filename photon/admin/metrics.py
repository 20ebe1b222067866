"""Prometheus metrics, read from the server's own counters at scrape time."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from photon.commands.table import all_commands

if TYPE_CHECKING:
    from photon.node import Node


class _Collector:
    def __init__(self, server: "Node") -> None:
        self.server = server

    def collect(self) -> Iterator:
        s = self.server
        st = s.stats
        yield GaugeMetricFamily("photon_connected_clients", "Client connections",
                                value=len(s.clients))
        yield CounterMetricFamily("photon_connections_received", "Connections accepted",
                                  value=st.connections)
        yield CounterMetricFamily("photon_commands_processed", "Commands run",
                                  value=st.commands)
        yield CounterMetricFamily("photon_net_input_bytes", "Bytes read from clients",
                                  value=st.net_input)
        yield CounterMetricFamily("photon_net_output_bytes", "Bytes written to clients",
                                  value=st.net_output)
        yield CounterMetricFamily("photon_expired_keys", "Keys deleted by expiry",
                                  value=s.keyspace.expired)
        yield GaugeMetricFamily("photon_uptime_seconds", "Seconds since start",
                                value=s.uptime())
        keys = GaugeMetricFamily("photon_keys", "Keys per database", labels=["db"])
        for db in range(s.keyspace.databases):
            n = s.keyspace.count_keys(db)
            if n:
                keys.add_metric([str(db)], n)
        yield keys
        calls = CounterMetricFamily("photon_command_calls", "Calls per command",
                                    labels=["command"])
        reads = 0
        for cmd in _all(s):
            if cmd.calls:
                calls.add_metric([cmd.name], cmd.calls)
                if cmd.readonly:
                    reads += cmd.calls
        yield calls
        yield CounterMetricFamily("photon_reads_served", "Read commands this node served "
                                  "itself (compare replicas for the read distribution)",
                                  value=reads)
        yield from _cluster(s)
        yield from _replication(s)


def _cluster(s: "Node") -> Iterator:
    cluster = s.cluster
    yield GaugeMetricFamily("photon_cluster_state_ok", "1 when every shard is served by one "
                            "group", value=1 if cluster.ok else 0)
    yield GaugeMetricFamily("photon_node_healthy", "1 when this node serves what it should",
                            value=1 if cluster.node_health() == "healthy" else 0)
    nodes = cluster.state.all()
    yield GaugeMetricFamily("photon_cluster_known_nodes", "Nodes in the node table",
                            value=len(nodes))
    yield GaugeMetricFamily("photon_cluster_failed_nodes", "Nodes marked dead",
                            value=sum(1 for n in nodes if n.failed))
    up = GaugeMetricFamily("photon_cluster_node_up", "Per known node: 1 alive, 0 dead",
                           labels=["node", "role"])
    for n in nodes:
        up.add_metric([n.id, n.role], 0 if n.failed else 1)
    yield up
    fo = cluster.coordinator
    yield CounterMetricFamily("photon_failovers", "Elections this node won (it became master)",
                              value=fo.failovers)
    yield CounterMetricFamily("photon_failover_seconds", "Time groups were without a master "
                              "before this node took over (sum)", value=fo.failover_seconds)
    yield GaugeMetricFamily("photon_fenced", "1 while this master refuses writes and reads "
                            "(cut off from its group)", value=1 if fo.fenced else 0)
    yield GaugeMetricFamily("photon_cluster_epoch", "The cluster's current epoch",
                            value=cluster.current_epoch)
    fwd = s.router.forwarder if s.router is not None else None
    yield CounterMetricFamily("photon_forwarded_commands", "Commands passed to another node",
                              value=fwd.forwarded if fwd else 0)
    yield CounterMetricFamily("photon_forward_seconds", "Round trips of forwarded commands "
                              "(divide by photon_forwarded_commands for the mean latency)",
                              value=fwd.seconds if fwd else 0.0)
    yield CounterMetricFamily("photon_forward_failures", "Forwarded commands whose node could "
                              "not be reached", value=fwd.failures if fwd else 0)


def _replication(s: "Node") -> Iterator:
    keys = GaugeMetricFamily("photon_shard_keys", "Keys per shard (all databases)",
                             labels=["shard"])
    for shard in s.keyspace.shards:
        keys.add_metric([str(shard.index)], sum(shard.keys))
    yield keys
    yield CounterMetricFamily("photon_write_quorum_failures", "Writes refused or failed with "
                              "NOQUORUM", value=s.stats.errors.get("NOQUORUM", 0))
    lag = GaugeMetricFamily("photon_replica_lag_bytes", "Per replica of this master: bytes "
                            "not yet acknowledged", labels=["replica"])
    lag_s = GaugeMetricFamily("photon_replica_lag_seconds", "Per replica of this master: "
                              "seconds since it last held every write", labels=["replica"])
    if s.master is not None:
        for link in s.master.links.values():
            lag.add_metric([link.node_id], link.lag_bytes())
            lag_s.add_metric([link.node_id], link.lag_seconds())
    yield lag
    yield lag_s
    if s.replica is not None:
        yield GaugeMetricFamily("photon_master_link_up", "1 when this replica's link to its "
                                "master is up", value=1 if s.replica.state == "connected" else 0)


def _all(server: "Node"):
    for cmd in all_commands():
        yield cmd
        yield from cmd.subcommands.values()


def render_metrics(server: "Node") -> tuple[bytes, str]:
    if server.metrics is None:
        server.metrics = CollectorRegistry(auto_describe=False)
        server.metrics.register(_Collector(server))
    registry = server.metrics
    return generate_latest(registry), CONTENT_TYPE_LATEST
