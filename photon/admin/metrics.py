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
        for cmd in _all(s):
            if cmd.calls:
                calls.add_metric([cmd.name], cmd.calls)
        yield calls


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
