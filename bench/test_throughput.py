"""Throughput of a live ``photon serve`` node under redis-benchmark (SET/GET, -c 50 -r 100000,
with and without -P 16). Each test runs redis-benchmark once and records its figures in
``benchmark.extra_info`` (requests_per_sec, latencies); pytest-benchmark's own time column is
just the length of that run. Nothing is asserted about speed.

BENCH_REQUESTS (default 50000) sets the requests per unpipelined run; pipelined runs send 4x.
"""
from __future__ import annotations

import os

import pytest

from bench.rbench import CLIENTS, KEYSPACE, preload_strings, redis_benchmark

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "50000"))


@pytest.fixture(scope="module")
def loaded_photon(redis_benchmark_exe, live_photon):
    """The live node with every key GET may ask for already set."""
    client = live_photon.client()
    preload_strings(client)
    client.close()
    return live_photon


@pytest.mark.parametrize("pipeline", [1, 16], ids=["P1", "P16"])
@pytest.mark.parametrize("command", ["SET", "GET"])
def test_throughput(benchmark, redis_benchmark_exe, loaded_photon, command, pipeline):
    requests = REQUESTS * (4 if pipeline > 1 else 1)

    def run():
        return redis_benchmark(loaded_photon.port, ["-t", command.lower()], requests,
                               pipeline=pipeline, exe=redis_benchmark_exe)

    row = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update({
        "command": command, "pipeline": pipeline, "clients": CLIENTS, "keyspace": KEYSPACE,
        "requests": requests, "requests_per_sec": row["rps"],
        "p50_ms": row["p50_latency_ms"], "p99_ms": row["p99_latency_ms"],
    })
    print(f"\n{command} -P {pipeline}: {row['rps']:,.0f} requests/s "
          f"(p50 {row['p50_latency_ms']} ms, p99 {row['p99_latency_ms']} ms)")
    assert row["rps"] > 0

