"""What the cluster costs: a 9-node cluster against one photon node and a redis-server.

    PYTHONPATH=. python bench/cluster.py [--requests 50000] [--rounds 3] [--quick] [--json F]

Starts, on free ports and all at once: one ``photon serve`` with its defaults (standalone,
appendfsync everysec), a redis-server (``--appendonly yes --appendfsync everysec``) and
``python -m photon cluster up --masters 3 --replicas 2`` (master1..3 own shards 0-5, 6-10,
11-15, two replicas each, write quorum 2: a SET is answered once a replica holds it too).
The cluster is stopped with SIGINT at the end, and its process group killed if that is not
enough, whatever happened. Everything is preloaded, so every GET finds its key.

Every round runs each measurement once, the order rotating between rounds; a figure is the
median over rounds, a ratio the median of the per-round ratios. All runs are redis-benchmark
``-c 50 -r 100000`` unless said otherwise. The tables:

1. Throughput, SET and GET: req/s, redis-benchmark's p50 (ms), the ratios to the single photon
   node and to redis-server, and the servers' CPU (user+sys) per request in microseconds,
   summed over all 9 nodes for the cluster. Rows:
   - the single node and redis-server (references);
   - a plain client on master1: keys ``key:N`` fall in all 16 shards, so 10 of 16 (62.5%) are
     forwarded to another group (writes to its master, reads to one of its replicas);
   - the same on a replica of master1: every SET goes to a master, 10/16 of the GETs to
     another group;
   - ``redis-benchmark --cluster`` with ``cluster-redirect yes`` on every node: it asks master1
     for CLUSTER NODES and sends each request to the master owning its key (the 50 clients are
     spread over the 3 masters, keys ``key:{tag}:N``, one hash tag per master), so nothing is
     forwarded.
2. redis-py from a few threads (ops/s, client-side p50): ``redis.Redis`` on the single node
   against ``RedisCluster`` on the cluster (``cluster-redirect yes``, reads from masters). The
   client, one Python process with a GIL, is the bottleneck here: read it as "what a Python
   application sees", not as the servers' capacity.
3. Forwarding latency on master1 with a plain client: ``SET "{tag}:__rand_int__" v`` and
   ``GET "{tag}:__rand_int__"`` with a hash tag in master1's shards (local) and one in
   master2's (forwarded). At -c 50 the p50 is mostly queueing, so the ratio also reflects
   throughput; at -c 1 (a fifth of the requests) it is one request's own latency. The issue's
   goal is forwarded/local p50 <= 1.5x; both concurrencies are marked against it.

The machine has 2 shared cores: 9 photon nodes, the two references and redis-benchmark compete
for them, so absolute figures are low and noisy (the load average is printed at the start, each
round and the end). Ratios and CPU per request move less; rerun with the defaults on a quiet
machine before quoting a figure.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from redis.cluster import RedisCluster  # noqa: E402

from bench.rbench import (  # noqa: E402
    CLIENTS, KEYSPACE, BenchmarkError, cpu_between, cpu_by_thread, find_redis_benchmark,
    find_redis_server, loadavg, median, preload_strings,
)
from photon.cluster.local import HTTP_OFFSET, Plan, load_plan  # noqa: E402
from photon.keyspace.slots import key_slot, shard_of_slot  # noqa: E402
from tests.support import PhotonProcess, RedisProcess  # noqa: E402

MASTERS, REPLICAS, SHARDS = 3, 2, 16
NODES = MASTERS * (1 + REPLICAS)
THREADS = 4  # redis-py client threads
GOAL = 1.5  # the issue's goal: a forwarded command costs at most 1.5x a local one (p50)
TESTS = ("SET", "GET")
START_TIMEOUT = 240.0  # a loaded 2-core machine starts 9 nodes slowly
MSET_CHUNK = 2000


# --- the cluster -----------------------------------------------------------------------------


def ports_free(ports: Iterable[int]) -> bool:
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_base_port(count: int = NODES) -> int:
    """A base port with ``count`` free RESP ports and their HTTP ports (+10000), all below
    the ephemeral range (32768) so no outgoing connection takes one meanwhile."""
    for _ in range(500):
        base = random.randrange(20000, 22768 - count)
        ports = [*range(base, base + count), *range(base + HTTP_OFFSET, base + HTTP_OFFSET + count)]
        if ports_free(ports):
            return base
    raise BenchmarkError("no free range of ports for the cluster")


class ClusterProcess:
    """``python -m photon cluster up`` in its own process group, output in a log file."""

    def __init__(self, data_dir: Path, base_port: int) -> None:
        self.data_dir = data_dir
        self.base_port = base_port
        self.log = data_dir.parent / "cluster-up.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.plan: Plan | None = None
        self.pids: dict[str, int] = {}

    def command(self) -> list[str]:
        return [sys.executable, "-m", "photon", "cluster", "up", "--masters", str(MASTERS),
                "--replicas", str(REPLICAS), "--base-port", str(self.base_port),
                "--data-dir", str(self.data_dir), "--wait-timeout", str(int(START_TIMEOUT))]

    def start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env,
                                         cwd=str(self.data_dir.parent), start_new_session=True)
        self._wait_ready()
        self.plan = load_plan(self.data_dir)
        if self.plan is None:
            raise BenchmarkError(f"no plan in {self.data_dir}")
        self.pids = {n.id: node_pid(n.port) for n in self.plan.nodes}

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT + 30
        while time.monotonic() < deadline:
            if "Cluster ready" in self.output():
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise BenchmarkError(f"cluster up exited with {self.proc.returncode}:\n"
                                     f"{self.output()[-2000:]}")
            time.sleep(0.2)
        raise BenchmarkError(f"no 'Cluster ready' after {START_TIMEOUT + 30:.0f}s:\n"
                             f"{self.output()[-2000:]}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def port(self, node_id: str) -> int:
        assert self.plan is not None
        return self.plan.node(node_id).port

    @property
    def ports(self) -> list[int]:
        assert self.plan is not None
        return [n.port for n in self.plan.nodes]

    def stop(self) -> None:
        """SIGINT to ``cluster up`` (it stops its nodes: SIGTERM, SIGKILL after 15 s), then
        SIGKILL to whatever is left in its process group."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.wait()


def node_pid(port: int) -> int:
    c = redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)
    try:
        return int(c.info("server")["process_id"])
    finally:
        c.close()


def set_redirect(ports: list[int], on: bool) -> None:
    """CONFIG SET cluster-redirect on every node (the setting is each node's own)."""
    for port in ports:
        c = redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)
        try:
            c.config_set("cluster-redirect", "yes" if on else "no")
        finally:
            c.close()


# --- keys ------------------------------------------------------------------------------------


def shard_of(key: bytes) -> int:
    return shard_of_slot(key_slot(key), SHARDS)


def owner(plan: Plan, key: bytes) -> str:
    """The master whose group owns the key."""
    shard = shard_of(key)
    return next(n.id for n in plan.nodes
                if n.master is None and n.shard_range[0] <= shard <= n.shard_range[1])


def pick_tag(plan: Plan, master: str, prefix: str) -> str:
    """The first ``prefix<i>`` hash tag whose keys belong to ``master``'s group."""
    for i in range(10_000):
        tag = f"{prefix}{i}"
        if owner(plan, f"{{{tag}}}".encode()) == master:
            return tag
    raise BenchmarkError(f"no tag for {master}")


def local_share(plan: Plan, master: str) -> float:
    """The share of redis-benchmark's keys (key:000000000000..) that ``master`` owns."""
    sample = 20_000
    return sum(owner(plan, b"key:%012d" % i) == master for i in range(sample)) / sample


def preload_cluster(cluster: ClusterProcess, keys: Iterator[bytes]) -> int:
    """MSET the keys (value xxx) on their masters directly, so nothing is forwarded."""
    assert cluster.plan is not None
    plan = cluster.plan
    pending: dict[str, dict[bytes, bytes]] = {}
    clients = {m: redis.Redis(host="127.0.0.1", port=cluster.port(m), socket_timeout=120)
               for m in (n.id for n in plan.nodes if n.master is None)}
    count = 0
    try:
        for key in keys:
            batch = pending.setdefault(owner(plan, key), {})
            batch[key] = b"xxx"
            count += 1
            if len(batch) >= MSET_CHUNK:
                clients[owner(plan, key)].mset(batch)
                batch.clear()
        for master, batch in pending.items():
            if batch:
                clients[master].mset(batch)
    finally:
        for c in clients.values():
            c.close()
    return count


def numbered(prefix: str) -> Iterator[bytes]:
    return (b"%s%012d" % (prefix.encode(), i) for i in range(KEYSPACE))


def bench_cluster_tags(cluster: ClusterProcess, exe: str) -> list[str]:
    """The hash tags ``redis-benchmark --cluster`` puts in its keys (one per master): found by
    a tiny run (-r 1) and KEYS on each master. Raises BenchmarkError when --cluster fails."""
    assert cluster.plan is not None
    redis_benchmark(cluster.port("master1"), ["--cluster", "-t", "set"], 60, exe, clients=3,
                    keyspace=1)
    tags = set()
    for node in cluster.plan.nodes:
        if node.master is None:
            c = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=30)
            try:
                for key in c.keys("key:{*}:*"):
                    tags.add(key.decode().split("{", 1)[1].split("}", 1)[0])
            finally:
                c.close()
    if not tags:
        raise BenchmarkError("redis-benchmark --cluster ran but no key:{tag}:N key was written")
    return sorted(tags)


# --- measurements ----------------------------------------------------------------------------


@dataclass
class Series:
    """One measurement over the rounds."""
    rps: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)

    def add(self, row: dict[str, float]) -> None:
        self.rps.append(row["rps"])
        self.p50.append(row["p50"])
        self.p99.append(row["p99"])
        if "cpu_us" in row:
            self.cpu_us.append(row["cpu_us"])

    def summary(self) -> dict[str, float | None]:
        return {"rps": median(self.rps), "p50_ms": median(self.p50), "p99_ms": median(self.p99),
                "cpu_us_per_request": median(self.cpu_us) if self.cpu_us else None}


def redis_benchmark(port: int, args: list[str], n: int, exe: str, clients: int = CLIENTS,
                    keyspace: int = KEYSPACE) -> dict[str, float]:
    """One redis-benchmark run; its CSV row (rps, latencies in ms). Unlike rbench's helper it
    skips the lines ``--cluster`` prints before the CSV (the masters it found). redis-benchmark
    7 exits at the first error reply (a MOVED, say), which is reported with its text."""
    cmd = [exe, "-h", "127.0.0.1", "-p", str(port), "-n", str(n), "-c", str(clients),
           "-r", str(keyspace), "--csv", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    text = proc.stdout[proc.stdout.find('"test"'):] if '"test"' in proc.stdout else ""
    rows = list(csv.DictReader(io.StringIO(text)))
    if proc.returncode != 0 or not rows:
        said = (proc.stderr.strip() or proc.stdout.strip())[-500:]
        raise BenchmarkError(f"{' '.join(cmd)} exited with {proc.returncode}: {said}")
    return {k: float(v) for k, v in rows[-1].items() if k != "test"}


def run_rb(port: int, args: list[str], n: int, pids: list[int], exe: str,
           clients: int = CLIENTS) -> dict[str, float]:
    """One redis-benchmark run: req/s, p50 and p99 in ms, the servers' CPU per request."""
    before = {pid: cpu_by_thread(pid) for pid in pids}
    row = redis_benchmark(port, args, n, exe, clients=clients)
    cpu = sum(cpu_between(before[pid], cpu_by_thread(pid)) for pid in pids)
    return {"rps": row["rps"], "p50": row["p50_latency_ms"], "p99": row["p99_latency_ms"],
            "cpu_us": cpu / n * 1e6}


def run_threads(client: Any, test: str, n: int, threads: int = THREADS) -> dict[str, float]:
    """``n`` SETs or GETs of random keys key:N from ``threads`` threads sharing ``client``."""
    per = max(1, n // threads)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []

    def work(out: list[float]) -> None:
        rnd = random.Random()
        call = client.set if test == "SET" else client.get
        args = (b"xxx",) if test == "SET" else ()
        try:
            for _ in range(per):
                key = b"key:%012d" % rnd.randrange(KEYSPACE)
                t0 = time.perf_counter()
                call(key, *args)
                out.append(time.perf_counter() - t0)
        except BaseException as e:  # reported below, in the main thread
            errors.append(e)

    workers = [threading.Thread(target=work, args=(lat,)) for lat in latencies]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise BenchmarkError(f"redis-py {test}: {errors[0]!r}")
    flat = sorted(x for lat in latencies for x in lat)
    return {"rps": len(flat) / elapsed, "p50": flat[len(flat) // 2] * 1e3,
            "p99": flat[min(len(flat) - 1, int(len(flat) * 0.99))] * 1e3}


def rotate(items: list[Any], r: int) -> list[Any]:
    k = r % len(items)
    return items[k:] + items[:k]


# --- the benchmark ---------------------------------------------------------------------------

ROWS = {
    "single": "single photon node (reference)",
    "redis": "redis-server AOF everysec (reference)",
    "master1": "cluster, plain client on master1",
    "replica": "cluster, plain client on master1-r1",
    "cluster": "cluster, redis-benchmark --cluster",
}
PY_ROWS = {"single": f"redis.Redis on the single node, {THREADS} threads",
           "cluster": f"RedisCluster on the cluster, {THREADS} threads"}


@dataclass
class Bench:
    """The servers, what runs against them and the figures collected."""
    exe: str
    requests: int
    single: PhotonProcess
    redis_server: RedisProcess
    cluster: ClusterProcess
    tags: dict[str, str] = field(default_factory=dict)  # "local"/"forwarded" -> hash tag
    cluster_error: str | None = None  # why redis-benchmark --cluster cannot run
    py_error: str | None = None  # why RedisCluster cannot run
    redirect: bool = False
    figures: dict[str, Series] = field(default_factory=dict)
    per_round_loadavg: list[str] = field(default_factory=list)
    rc: Any = None  # the RedisCluster client
    py_single: Any = None

    def series(self, name: str) -> Series:
        return self.figures.setdefault(name, Series())

    def ensure_redirect(self, on: bool) -> None:
        if self.redirect != on:
            set_redirect(self.cluster.ports, on)
            self.redirect = on

    # the three parts of a round

    def throughput(self, r: int) -> None:
        rows = [row for row in ROWS if row != "cluster" or self.cluster_error is None]
        for test in TESTS:
            for row in rotate(rows, r):
                res = self.throughput_run(row, test)
                self.series(f"{row}/{test}").add(res)
                print(f"  round {r + 1} {test} {ROWS[row]:<40} {res['rps']:>9,.0f} req/s  "
                      f"p50 {res['p50']:6.2f} ms  {res['cpu_us']:7.1f} us CPU/req", flush=True)

    def throughput_run(self, row: str, test: str) -> dict[str, float]:
        args = ["-t", test.lower()]
        n = self.requests
        if row == "single":
            return run_rb(self.single.port, args, n, [self.single.proc.pid], self.exe)
        if row == "redis":
            return run_rb(self.redis_server.port, args, n, [self.redis_server.proc.pid], self.exe)
        pids = list(self.cluster.pids.values())
        self.ensure_redirect(row == "cluster")
        port = self.cluster.port("master1-r1" if row == "replica" else "master1")
        return run_rb(port, ["--cluster", *args] if row == "cluster" else args, n, pids,
                      self.exe)

    def forwarding(self, r: int) -> None:
        self.ensure_redirect(False)
        pids = list(self.cluster.pids.values())
        port = self.cluster.port("master1")
        for test in TESTS:
            for where in rotate(["local", "forwarded"], r):
                key = f"{{{self.tags[where]}}}:__rand_int__"
                cmd = ["SET", key, "xxx"] if test == "SET" else ["GET", key]
                for clients, n in ((CLIENTS, self.requests), (1, max(1000, self.requests // 5))):
                    res = run_rb(port, cmd, n, pids, self.exe, clients=clients)
                    self.series(f"{where}/{test}/c{clients}").add(res)
                    print(f"  round {r + 1} {test} {where:<9} -c {clients:<2} on master1 "
                          f"{res['rps']:>9,.0f} req/s  p50 {res['p50']:6.3f} ms  "
                          f"p99 {res['p99']:7.3f} ms", flush=True)

    def redis_py(self, r: int) -> None:
        if self.py_error is not None:
            return
        n = max(1000, self.requests // 5)
        for test in TESTS:
            for who in rotate(["single", "cluster"], r):
                if who == "cluster":
                    self.ensure_redirect(True)
                client = self.rc if who == "cluster" else self.py_single
                try:
                    res = run_threads(client, test, n)
                except BenchmarkError as e:
                    self.py_error = str(e)
                    print(f"  redis-py failed: {e}", flush=True)
                    return
                self.series(f"py-{who}/{test}").add(res)
                print(f"  round {r + 1} {test} {PY_ROWS[who]:<40} {res['rps']:>9,.0f} ops/s  "
                      f"p50 {res['p50']:6.2f} ms", flush=True)

    def check_alive(self) -> None:
        if not self.cluster.alive():
            raise BenchmarkError(f"cluster up exited:\n{self.cluster.output()[-2000:]}")
        for who, server in (("single photon node", self.single), ("redis-server",
                                                                    self.redis_server)):
            if server.proc.poll() is not None:
                raise BenchmarkError(f"the {who} exited during the run")


def prepare(b: Bench) -> None:
    """Preload every server, find the hash tags, check --cluster and RedisCluster work."""
    plan = b.cluster.plan
    assert plan is not None
    b.tags = {"local": pick_tag(plan, "master1", "L"), "forwarded": pick_tag(plan, "master2", "F")}
    for where, tag in b.tags.items():
        print(f"hash tag {where}: {{{tag}}} (slot {key_slot(tag.encode())}, shard "
              f"{shard_of(tag.encode())}, {owner(plan, tag.encode())})")
    print(f"plain client on master1: {local_share(plan, 'master1'):.1%} of key:N keys local, "
          f"the rest forwarded")
    for name, server in (("single", b.single), ("redis", b.redis_server)):
        t0 = time.monotonic()
        c = server.client()
        preload_strings(c)
        c.close()
        print(f"preloaded {name} ({KEYSPACE} keys) in {time.monotonic() - t0:.1f}s", flush=True)
    t0 = time.monotonic()
    count = preload_cluster(b.cluster, chain_keys(
        numbered("key:"), *(numbered(f"{{{t}}}:") for t in b.tags.values())))
    print(f"preloaded the cluster ({count} keys: key:N and both tags) "
          f"in {time.monotonic() - t0:.1f}s", flush=True)
    check_cluster_aware(b)


def chain_keys(*iters: Iterator[bytes]) -> Iterator[bytes]:
    for it in iters:
        yield from it


def check_cluster_aware(b: Bench) -> None:
    b.ensure_redirect(True)
    try:
        tags = bench_cluster_tags(b.cluster, b.exe)
    except BenchmarkError as e:
        b.cluster_error = str(e)
        print(f"redis-benchmark --cluster does not work against the cluster: {e}")
    else:
        t0 = time.monotonic()
        count = preload_cluster(b.cluster, chain_keys(*(numbered(f"key:{{{t}}}:") for t in tags)))
        print(f"redis-benchmark --cluster works; its hash tags {', '.join(tags)}; preloaded "
              f"{count} keys key:{{tag}}:N in {time.monotonic() - t0:.1f}s", flush=True)
    try:
        b.rc = RedisCluster(host="127.0.0.1", port=b.cluster.port("master1"), protocol=2,
                            socket_timeout=30)
        b.rc.get(b"key:000000000000")
    except Exception as e:  # any failure of redis-py's cluster discovery is a finding
        b.py_error = f"{type(e).__name__}: {e}"
        print(f"RedisCluster does not work against the cluster: {b.py_error}")
    b.py_single = redis.Redis(host="127.0.0.1", port=b.single.port, protocol=2,
                              socket_timeout=30, max_connections=THREADS * 2)


# --- the report ------------------------------------------------------------------------------


def ratios(b: Bench, num: str, den: str, what: str = "rps") -> float | None:
    """Median of the per-round ratios of two series."""
    a, c = b.figures.get(num), b.figures.get(den)
    if a is None or c is None:
        return None
    pairs = list(zip(getattr(a, what), getattr(c, what)))
    return median([x / y for x, y in pairs if y]) if pairs else None


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def pair(a: float | None, c: float | None, spec: str) -> str:
    return f"{fmt(a, spec)} / {fmt(c, spec)}"


def throughput_table(b: Bench) -> list[dict[str, Any]]:
    print()
    print(f"{'configuration':<40}{'SET req/s':>10}{'GET req/s':>10}{'p50 ms SET/GET':>17}"
          f"{'x single':>13}{'x redis':>13}{'CPU us/req':>14}")
    print("-" * 117)
    out = []
    for row, label in ROWS.items():
        s, g = b.figures.get(f"{row}/SET"), b.figures.get(f"{row}/GET")
        if s is None or g is None:
            print(f"{label:<40}  not measured: {b.cluster_error}")
            continue
        res = {"row": row, "label": label, "SET": s.summary(), "GET": g.summary(),
               "ratio_single": {t: ratios(b, f"{row}/{t}", f"single/{t}") for t in TESTS},
               "ratio_redis": {t: ratios(b, f"{row}/{t}", f"redis/{t}") for t in TESTS}}
        out.append(res)
        print(f"{label:<40}{median(s.rps):>10,.0f}{median(g.rps):>10,.0f}"
              f"{pair(median(s.p50), median(g.p50), '.2f'):>17}"
              f"{pair(*res['ratio_single'].values(), '.2f'):>13}"
              f"{pair(*res['ratio_redis'].values(), '.2f'):>13}"
              f"{pair(median(s.cpu_us), median(g.cpu_us), '.0f'):>14}")
    print("-" * 117)
    print("x single, x redis: req/s ratios (SET / GET); CPU: servers' user+sys per request "
          "(the cluster: all 9 nodes)")
    return out


def redis_py_table(b: Bench) -> dict[str, Any]:
    print()
    if b.py_error is not None and "py-cluster/SET" not in b.figures:
        print(f"redis-py RedisCluster: not measured: {b.py_error}")
        return {"error": b.py_error}
    print(f"{'redis-py client':<40}{'SET ops/s':>10}{'GET ops/s':>10}{'p50 ms SET/GET':>17}"
          f"{'x single':>13}")
    print("-" * 90)
    out: dict[str, Any] = {}
    for who, label in PY_ROWS.items():
        s, g = b.figures.get(f"py-{who}/SET"), b.figures.get(f"py-{who}/GET")
        if s is None or g is None:
            continue
        ratio = {t: ratios(b, f"py-{who}/{t}", f"py-single/{t}") for t in TESTS}
        out[who] = {"SET": s.summary(), "GET": g.summary(), "ratio_single": ratio}
        print(f"{label:<40}{median(s.rps):>10,.0f}{median(g.rps):>10,.0f}"
              f"{pair(median(s.p50), median(g.p50), '.2f'):>17}{pair(*ratio.values(), '.2f'):>13}")
    print("-" * 90)
    if b.py_error:
        print(f"redis-py failed in a later round: {b.py_error}")
        out["error"] = b.py_error
    return out


def forwarding_table(b: Bench) -> list[dict[str, Any]]:
    print()
    print(f"forwarding on master1, plain client: tags {{{b.tags['local']}}} (local) and "
          f"{{{b.tags['forwarded']}}} (master2's group); latencies in ms")
    print(f"{'test':<6}{'clients':>8}{'local p50':>11}{'fwd p50':>9}{'fwd-local':>11}"
          f"{'fwd/local':>11}{'goal':>6}  mark  {'local p99':>10}{'fwd p99':>9}"
          f"{'local req/s':>13}{'fwd req/s':>11}")
    print("-" * 112)
    out = []
    for test in TESTS:
        for clients in (CLIENTS, 1):
            here, there = f"local/{test}/c{clients}", f"forwarded/{test}/c{clients}"
            loc, fwd = b.figures[here], b.figures[there]
            ratio = ratios(b, there, here, "p50")
            extra = median([f - x for f, x in zip(fwd.p50, loc.p50)])
            mark = "-" if ratio is None else ("meets" if ratio <= GOAL else "ABOVE")
            out.append({"test": test, "clients": clients, "local": loc.summary(),
                        "forwarded": fwd.summary(), "ratio_p50": ratio, "extra_p50_ms": extra,
                        "goal": GOAL, "mark": mark})
            print(f"{test:<6}{clients:>8}{median(loc.p50):>11.3f}{median(fwd.p50):>9.3f}"
                  f"{extra:>+11.3f}{fmt(ratio, '.2f'):>10}x{GOAL:>5.1f}x  {mark:<5} "
                  f"{median(loc.p99):>10.3f}{median(fwd.p99):>9.3f}"
                  f"{median(loc.rps):>13,.0f}{median(fwd.rps):>11,.0f}")
    print("-" * 112)
    print(f"fwd/local: median of the per-round p50 ratios, against the issue's goal (<= {GOAL}x)."
          " At -c 50 the p50 is mostly queueing;")
    print("at -c 1 it is one request's own latency, and fwd-local is what the extra hop adds.")
    return out


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=50_000,
                    help="requests per redis-benchmark -c 50 run (-c 1 and redis-py: a fifth)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true",
                    help="one round of 10000 requests (unless --rounds/--requests are given)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args(argv)
    given = {a.split("=")[0] for a in (argv if argv is not None else sys.argv[1:])}
    if args.quick:
        if "--rounds" not in given:
            args.rounds = 1
        if "--requests" not in given:
            args.requests = 10_000
    return args


class Interrupted(Exception):
    """SIGTERM, raised in the main thread so every ``finally`` runs and the servers stop."""


def on_sigterm(signum: int, frame: Any) -> None:
    raise Interrupted(signal.Signals(signum).name)


def run(args: argparse.Namespace, exe: str, tmp: Path) -> dict[str, Any]:
    base = free_base_port()
    b = Bench(exe, args.requests,
              PhotonProcess(tmp / "single", http_port=0),
              RedisProcess(tmp / "redis", "--appendonly", "yes", "--appendfsync", "everysec"),
              ClusterProcess(tmp / "cluster", base))
    started: list[Callable[[], None]] = []
    try:
        t0 = time.monotonic()
        print(f"starting the cluster (ports {base}-{base + NODES - 1}, HTTP +{HTTP_OFFSET}), "
              f"a single photon node and a redis-server; load average {loadavg()}", flush=True)
        started.append(b.cluster.stop)
        b.cluster.start()
        print(f"cluster ready in {time.monotonic() - t0:.0f}s: "
              + ", ".join(f"{nid} {b.cluster.port(nid)}" for nid in b.cluster.pids), flush=True)
        started.append(b.single.kill)
        b.single.start()
        started.append(b.redis_server.stop)
        b.redis_server.start()
        print(f"single photon node {b.single.port}, redis-server {b.redis_server.port}")
        prepare(b)
        print(f"{args.rounds} round(s), {args.requests} requests per -c {CLIENTS} run, "
              f"-r {KEYSPACE}; load average {loadavg()}", flush=True)
        for r in range(args.rounds):
            b.throughput(r)
            b.forwarding(r)
            b.redis_py(r)
            b.check_alive()
            b.per_round_loadavg.append(loadavg())
            print(f"  round {r + 1} done; load average {b.per_round_loadavg[-1]}", flush=True)
    finally:
        # nothing interrupts the cleanup: a second Ctrl-C would leave the cluster running
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for client in (b.rc, b.py_single):
            if client is not None:
                try:
                    client.close()
                except Exception:
                    pass
        for stop in reversed(started):
            stop()
    return report(b, args)


def report(b: Bench, args: argparse.Namespace) -> dict[str, Any]:
    doc = {
        "settings": {"rounds": args.rounds, "requests": args.requests, "clients": CLIENTS,
                     "keyspace": KEYSPACE, "threads": THREADS, "goal": GOAL,
                     "cluster": f"{MASTERS} masters x {REPLICAS} replicas, {SHARDS} shards, "
                                "write quorum 2",
                     "single": "photon serve defaults (standalone, appendfsync everysec)",
                     "redis": "appendonly yes, appendfsync everysec"},
        "throughput": throughput_table(b),
        "redis_py": redis_py_table(b),
        "forwarding": forwarding_table(b),
        "cluster_benchmark_error": b.cluster_error,
        "loadavg_rounds": b.per_round_loadavg,
        "loadavg_end": loadavg(),
        "rounds": {name: vars(s) for name, s in b.figures.items()},
    }
    print(f"load average at the end: {doc['loadavg_end']} (2 shared cores)")
    return doc


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exe, server = find_redis_benchmark(), find_redis_server()
    if exe is None or server is None:
        print("redis-benchmark and redis-server are both needed", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, on_sigterm)
    # Ctrl-C raises KeyboardInterrupt even when started with SIGINT ignored (from a script's &)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="photon-bench-cluster-") as tmp:
        try:
            doc = run(args, exe, Path(tmp))
        except BenchmarkError as e:
            print(f"benchmark failed: {e}", file=sys.stderr)
            return 1
        except (KeyboardInterrupt, Interrupted) as e:
            print(f"interrupted ({e or 'SIGINT'}); every server was stopped", file=sys.stderr)
            return 130
    doc["seconds"] = round(time.monotonic() - t0)
    print(f"whole run: {doc['seconds']}s, every server stopped")
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
