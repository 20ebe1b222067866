"""Quorum-acknowledged write throughput and latency, with one load generator for everything.

    python bench/quorum.py [--rounds 3] [--duration 10] [--connections 50] [--quick] [--json F]

Systems, all on this machine and all running for the whole benchmark:
  group       photon master + 2 replicas (NODE_ROLE, MASTER_ADDR, --write-quorum 2): SET is
              answered once 2 copies (the master and one replica) hold it
  single      one standalone photon node (no replication: SET answered after the local write)
  redis+WAIT  redis-server master + 2 redis replicas; each op is "SET k v" and "WAIT 1 0" sent
              together, and its latency runs until WAIT's reply (WAIT 1 = master + 1 replica,
              the same 2 copies as photon's quorum)
Every node (photon and redis) keeps appendfsync everysec (redis: appendonly yes).

The load generator is one Python process (asyncio, uvloop when installed, hiredis): N
connections, each sending one request (or the SET+WAIT pair) and waiting for its reply in a loop
for the duration; keys are random among 100000, values 3 bytes (as redis-benchmark). Rounds
interleave the systems (group, single, redis+WAIT, then rotated), figures are medians over
rounds, ratios the medians of per-round ratios. The load generator's own cost is included in
every figure: it shares the 2 cores with the servers, and its CPU use is printed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import hiredis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rbench import (  # noqa: E402
    KEYSPACE, BenchmarkError, cpu_seconds, find_redis_benchmark, find_redis_server, free_port,
    loadavg, median, redis_benchmark, wait_until,
)
from tests.support import PhotonProcess, RedisProcess  # noqa: E402

TARGET = 10_000  # quorum-acknowledged writes per second
VALUE = b"xxx"


def _resp(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def build_requests(with_wait: bool, count: int = KEYSPACE) -> list[bytes]:
    keys = list(range(count))
    random.Random(42).shuffle(keys)
    wait = _resp(b"WAIT", b"1", b"0") if with_wait else b""
    return [_resp(b"SET", b"key:%012d" % k, VALUE) + wait for k in keys]


class Conn(asyncio.Protocol):
    """One connection's request/response loop, driven from data_received (no extra tasks)."""

    def __init__(self, gen: "LoadGen", index: int) -> None:
        self.gen = gen
        self.reader = hiredis.Reader()
        self.next = (index * 1999) % len(gen.requests)
        self.sent_at = 0
        self.waiting = 0
        self.transport: asyncio.Transport | None = None
        self.done = gen.loop.create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def send(self) -> None:
        gen = self.gen
        req = gen.requests[self.next]
        self.next = (self.next + 1) % len(gen.requests)
        self.waiting = gen.replies_per_op
        self.sent_at = time.perf_counter_ns()
        self.transport.write(req)

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        gen = self.gen
        while (reply := reader.gets()) is not False:
            if isinstance(reply, hiredis.ReplyError):
                gen.errors += 1
                if len(gen.error_samples) < 3:
                    gen.error_samples.append(str(reply))
            elif gen.replies_per_op == 2 and self.waiting == 1 and reply < 1:
                gen.unacked += 1  # WAIT timed out without a replica (cannot with timeout 0)
            self.waiting -= 1
        if self.waiting:
            return
        now = time.perf_counter_ns()
        if self.sent_at >= gen.measure_from:
            if now <= gen.measure_until:
                gen.latencies.append(now - self.sent_at)
        if now >= gen.measure_until:
            if not self.done.done():
                self.done.set_result(None)
            return
        self.send()

    def connection_lost(self, exc) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError(f"connection lost: {exc}"))


class LoadGen:
    def __init__(self, port: int, requests: list[bytes], replies_per_op: int,
                 connections: int, duration: float, warmup: float) -> None:
        self.port = port
        self.requests = requests
        self.replies_per_op = replies_per_op
        self.connections = connections
        self.duration = duration
        self.warmup = warmup
        self.latencies: list[int] = []
        self.errors = 0
        self.unacked = 0
        self.error_samples: list[str] = []

    async def run(self) -> dict:
        self.loop = asyncio.get_running_loop()
        self.measure_from = self.measure_until = 1 << 62
        conns = []
        for i in range(self.connections):
            _t, conn = await self.loop.create_connection(
                lambda i=i: Conn(self, i), "127.0.0.1", self.port)
            conns.append(conn)
        start = time.perf_counter_ns()
        self.measure_from = start + int(self.warmup * 1e9)
        self.measure_until = self.measure_from + int(self.duration * 1e9)
        for c in conns:
            c.send()
        await asyncio.sleep(self.warmup)
        cpu0 = time.process_time()
        await asyncio.wait_for(asyncio.gather(*(c.done for c in conns)),
                               self.duration + 30)
        cpu = time.process_time() - cpu0
        for c in conns:
            c.transport.close()
        lat = sorted(self.latencies)
        n = len(lat)

        def pct(p: float) -> float:
            return lat[min(n - 1, int(p * n))] / 1e6 if n else float("nan")

        return {"ops": n, "ops_per_sec": n / self.duration, "p50_ms": pct(0.50),
                "p99_ms": pct(0.99), "errors": self.errors, "unacked": self.unacked,
                "error_samples": self.error_samples,
                "loadgen_cpu": cpu / self.duration}  # cores the generator itself used


def run_load(port: int, requests: list[bytes], replies_per_op: int, connections: int,
             duration: float, warmup: float) -> dict:
    gen = LoadGen(port, requests, replies_per_op, connections, duration, warmup)
    return asyncio.run(gen.run())


def _event_loop_policy() -> str:
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


# --- the three systems ------------------------------------------------------------------

class System:
    name = ""
    port = 0
    replies_per_op = 1
    pids: list[int] = []

    def alive(self) -> bool:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class PhotonGroup(System):
    name = "group"

    def __init__(self, root: Path, quorum: int) -> None:
        self.master = PhotonProcess(root / "master", "--write-quorum", str(quorum),
                                    env={"NODE_ID": "master", "NODE_ROLE": "master"},
                                    http_port=0).start()
        addr = f"127.0.0.1:{self.master.port}"
        self.replicas = [PhotonProcess(root / f"replica{i}", env={
            "NODE_ID": f"replica{i}", "NODE_ROLE": "replica", "MASTER_ADDR": addr},
            http_port=0).start() for i in (1, 2)]
        self.nodes = [self.master, *self.replicas]
        self.port = self.master.port
        self.pids = [n.proc.pid for n in self.nodes]
        wait_until(self._linked, 60, "photon replicas linked to their master")

    def _linked(self) -> bool:
        with self.master.client() as c:
            if int(c.info("replication")["connected_slaves"]) != 2:
                return False
        for r in self.replicas:
            with r.client() as c:
                if c.info("replication").get("master_link_status") != "up":
                    return False
        return True

    def alive(self) -> bool:
        return all(n.proc.poll() is None for n in self.nodes)

    def stop(self) -> None:
        for n in self.nodes:
            n.kill()


class PhotonSingle(System):
    name = "single"

    def __init__(self, root: Path) -> None:
        self.node = PhotonProcess(root / "single", http_port=0).start()
        self.port = self.node.port
        self.pids = [self.node.proc.pid]

    def alive(self) -> bool:
        return self.node.proc.poll() is None

    def stop(self) -> None:
        self.node.kill()


class RedisWait(System):
    name = "redis+WAIT"
    replies_per_op = 2

    def __init__(self, root: Path) -> None:
        aof = ("--appendonly", "yes", "--appendfsync", "everysec")
        self.master = RedisProcess(root / "redis-master", *aof).start()
        self.replicas = [RedisProcess(root / f"redis-replica{i}", *aof, "--replicaof",
                                      "127.0.0.1", str(self.master.port)).start()
                         for i in (1, 2)]
        self.nodes = [self.master, *self.replicas]
        self.port = self.master.port
        self.pids = [n.proc.pid for n in self.nodes]
        wait_until(self._linked, 60, "redis replicas linked to their master")

    def _linked(self) -> bool:
        with self.master.client() as c:
            if int(c.info("replication")["connected_slaves"]) != 2:
                return False
        for r in self.replicas:
            with r.client() as c:
                if c.info("replication").get("master_link_status") != "up":
                    return False
        return True

    def alive(self) -> bool:
        return all(n.proc.poll() is None for n in self.nodes)

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    ap.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--quorum", type=int, default=2, help="the group's --write-quorum")
    ap.add_argument("--quick", action="store_true",
                    help="one round of 3 s (unless --rounds/--duration are given)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args(argv)
    given = set(a.split("=")[0] for a in (argv if argv is not None else sys.argv[1:]))
    if args.quick:
        if "--rounds" not in given:
            args.rounds = 1
        if "--duration" not in given:
            args.duration = 3.0
        if "--warmup" not in given:
            args.warmup = 0.5
    if find_redis_server() is None:
        print("redis-server is needed for the redis+WAIT baseline", file=sys.stderr)
        return 2
    loop_kind = _event_loop_policy()
    plain, with_wait = build_requests(False), build_requests(True)

    with tempfile.TemporaryDirectory(prefix="photon-quorum-") as tmp:
        root = Path(tmp)
        systems: list[System] = []
        try:
            systems.append(PhotonGroup(root, args.quorum))
            systems.append(PhotonSingle(root))
            systems.append(RedisWait(root))
            print(f"group master {systems[0].port}, single {systems[1].port}, redis master "
                  f"{systems[2].port}; {args.rounds} round(s) of {args.duration:g}s "
                  f"(+{args.warmup:g}s warm-up), {args.connections} connections, load "
                  f"generator: one Python process ({loop_kind} + hiredis); load average "
                  f"{loadavg()}")
            runs: dict[str, list[dict]] = {s.name: [] for s in systems}
            for r in range(args.rounds):
                order = systems[r % 3:] + systems[:r % 3]
                for s in order:
                    cpu0 = [cpu_seconds(p) or 0.0 for p in s.pids]
                    res = run_load(s.port, with_wait if s.replies_per_op == 2 else plain,
                                   s.replies_per_op, args.connections, args.duration,
                                   args.warmup)
                    cpu1 = [cpu_seconds(p) or 0.0 for p in s.pids]
                    res["server_cpu"] = sum(b - a for a, b in zip(cpu0, cpu1)) / (
                        args.duration + args.warmup)
                    if not s.alive():
                        raise RuntimeError(f"{s.name}: a server exited during the run")
                    runs[s.name].append(res)
                    print(f"  round {r + 1} {s.name:<11} {res['ops_per_sec']:>9,.0f} ops/s  "
                          f"p50 {res['p50_ms']:.2f} ms  p99 {res['p99_ms']:.2f} ms  "
                          f"errors {res['errors']}  load generator {res['loadgen_cpu']:.2f} "
                          f"cores, servers {res['server_cpu']:.2f} cores", flush=True)
                    for sample in res["error_samples"]:
                        print(f"      error: {sample}")
            # The same writes from redis-benchmark (C, far cheaper than the Python generator,
            # so more of the 2 cores go to the servers); redis+WAIT cannot be driven this way.
            cbench: dict[str, list[float]] = {"group": [], "single": []}
            if find_redis_benchmark() is not None:
                requests = int(max(20_000, 12_000 * args.duration))
                for r in range(args.rounds):
                    for s in systems[:2] if r % 2 == 0 else systems[1::-1]:
                        try:
                            row = redis_benchmark(s.port, ["-t", "set"], requests,
                                                  clients=args.connections)
                        except BenchmarkError as e:
                            print(f"  redis-benchmark against {s.name}: {e}")
                            continue
                        cbench[s.name].append(float(row["rps"]))
                        print(f"  round {r + 1} {s.name:<11} {row['rps']:>9,.0f} ops/s  "
                              f"p50 {row['p50_latency_ms']:.2f} ms  p99 "
                              f"{row['p99_latency_ms']:.2f} ms  (redis-benchmark SET -c "
                              f"{args.connections})", flush=True)
        finally:
            for s in systems:
                s.stop()

    summary = {}
    for name, rs in runs.items():
        summary[name] = {k: median([x[k] for x in rs]) for k in
                         ("ops_per_sec", "p50_ms", "p99_ms", "loadgen_cpu", "server_cpu")}
        summary[name]["errors"] = sum(x["errors"] for x in rs)
    n = len(runs["group"])
    ratio_single = median([runs["group"][i]["ops_per_sec"] / runs["single"][i]["ops_per_sec"]
                           for i in range(n)])
    ratio_redis = median([runs["group"][i]["ops_per_sec"] / runs["redis+WAIT"][i]["ops_per_sec"]
                          for i in range(n)])
    print()
    print(f"{'system':<12}{'ops/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"{'gen cores':>11}{'srv cores':>11}")
    print("-" * 70)
    for name, s in summary.items():
        print(f"{name:<12}{s['ops_per_sec']:>10,.0f}{s['p50_ms']:>9.2f}{s['p99_ms']:>9.2f}"
              f"{s['errors']:>8}{s['loadgen_cpu']:>11.2f}{s['server_cpu']:>11.2f}")
    print("-" * 70)
    print(f"group / single node: {ratio_single:.2f}x    group / redis+WAIT: {ratio_redis:.2f}x")
    group_ops = summary["group"]["ops_per_sec"]
    if cbench["group"] and cbench["single"]:
        c_group, c_single = median(cbench["group"]), median(cbench["single"])
        print(f"with redis-benchmark as the client: group {c_group:,.0f} ops/s, single node "
              f"{c_single:,.0f} ops/s, group / single node {c_group / c_single:.2f}x")
        summary["group"]["redis_benchmark_ops_per_sec"] = c_group
        summary["single"]["redis_benchmark_ops_per_sec"] = c_single
        group_ops = max(group_ops, c_group)
    met = group_ops >= TARGET and summary["group"]["errors"] == 0
    print(f"target {TARGET:,} quorum-acknowledged writes/s: "
          f"{'met' if met else 'not met'} ({group_ops:,.0f}/s, the better of the two clients)")
    print("note: the load generator runs on the same 2 cores as the servers and its own cost "
          "is included in every figure ('gen cores' is the share of a core it used); "
          f"load average at the end {loadavg()}")
    if args.json:
        args.json.write_text(json.dumps({
            "settings": {"rounds": args.rounds, "duration": args.duration,
                         "warmup": args.warmup, "connections": args.connections,
                         "quorum": args.quorum, "keyspace": KEYSPACE, "value_bytes": len(VALUE),
                         "load_generator": f"python {loop_kind} + hiredis, one process"},
            "summary": summary, "runs": runs,
            "ratios": {"group_over_single": ratio_single, "group_over_redis_wait": ratio_redis},
            "target": {"writes_per_sec": TARGET, "met": met},
            "loadavg_end": loadavg(),
        }, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
