"""PhotonDB against redis-server and the raw stack, same machine, same run, interleaved.

    python bench/compare_redis.py [--rounds 3] [--requests N] [--quick] [--json out.json]

Starts photon with its default settings (standalone, appendfsync everysec), a redis-server
with ``--appendonly yes --appendfsync everysec`` and bench/raw_server.py (the least a Python
server on photon's stack can do), each on a free port, preloads them the same way, then runs
redis-benchmark (-c 50 -r 100000) against each, one test at a time and one server after the
other, the order rotating every round, so machine noise hits all alike. The raw server only
takes part in the tests it knows (SET and GET, with and without -P 16). Each figure is the
median over the rounds; a ratio is the median of the per-round ratios. Pipelined tests
(-P 16) send 4x the requests.

Beside req/s, each server's CPU time per request: its user+sys CPU over the run divided by
the requests, in microseconds. It moves much less than req/s on a shared machine, and
photon's minus the raw server's is what photon's own code costs per request.

The floors are the issue's targets against Redis (stage B): >= 0.8x without pipelining,
>= 0.3x with -P 16; the targets against the raw stack are >= 1.0x on all four of its tests.
``--pure`` also runs photon's pure-Python core (PHOTON_NO_EXTENSIONS=1) beside the compiled
one, in every test of every round. A "below" mark on a loaded machine is a hint, not a verdict: rerun on
a quiet one before drawing conclusions.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rbench import (  # noqa: E402
    CLIENTS, KEYSPACE, BenchmarkError, RawProcess, cpu_between, cpu_by_thread,
    find_redis_benchmark, find_redis_server, loadavg, median, preload_strings, redis_benchmark,
    rss_kb,
)
from tests.support import PhotonProcess, RedisProcess  # noqa: E402

ZSET_KEY = "bench:zset"
ZSET_SIZE = 1000

SERVERS = ["photon", "redis", "raw"]

# (name, redis-benchmark arguments, pipeline, floor against redis)
TESTS: list[tuple[str, list[str], int, float]] = [
    ("SET", ["-t", "set"], 1, 0.8),
    ("GET", ["-t", "get"], 1, 0.8),
    ("SET -P 16", ["-t", "set"], 16, 0.3),
    ("GET -P 16", ["-t", "get"], 16, 0.3),
    ("HSET", ["-t", "hset"], 1, 0.8),
    ("LPUSH", ["-t", "lpush"], 1, 0.8),
    ("LPOP", ["-t", "lpop"], 1, 0.8),  # right after LPUSH: pops real elements on both
    ("SADD", ["-t", "sadd"], 1, 0.8),
    ("ZADD", ["-t", "zadd"], 1, 0.8),
    ("ZRANGEBYSCORE", ["ZRANGEBYSCORE", ZSET_KEY, "0", "100", "LIMIT", "0", "10"], 1, 0.8),
]
# The tests the raw server knows, with the issue's target for photon/raw (stage B: the
# compiled core above the raw Python stack).
RAW_TARGETS = {"SET": 1.0, "GET": 1.0, "SET -P 16": 1.0, "GET -P 16": 1.0}


def preload(client, strings_only: bool = False) -> None:
    preload_strings(client)
    if not strings_only:
        client.delete(ZSET_KEY)
        client.zadd(ZSET_KEY, {f"member:{i:05d}": i for i in range(ZSET_SIZE)})


def round_order(r: int, test: str, servers: list[str] = SERVERS) -> list[str]:
    """The servers of one test in this round's order: the order rotates every round."""
    rotated = servers[r % len(servers):] + servers[:r % len(servers)]
    return [who for who in rotated if who != "raw" or test in RAW_TARGETS]


def mark(ratio: float, target: float) -> str:
    return "pass" if ratio >= target else "below"


def print_tables(results: list[dict], rss: dict[str, int | None]) -> None:
    """req/s with both marks, then CPU per request: short enough to paste in a README."""
    def num(value: float | None, fmt: str, width: int) -> str:
        return f"{value:>{width}{fmt}}" if value is not None else " " * (width - 1) + "-"

    print()
    print(f"{'test':<15}{'photon req/s':>13}{'redis req/s':>13}{'raw req/s':>11}"
          f"{'p/redis':>9}{'floor':>7}  mark  {'p/raw':>7}{'target':>7}  mark")
    print("-" * 96)
    for res in results:
        raw = res.get("raw_ratio")
        line = (f"{res['test']:<15}{res['photon_rps']:>13,.0f}{res['redis_rps']:>13,.0f}"
                f"{num(res.get('raw_rps'), ',.0f', 11)}{res['ratio']:>8.2f}x"
                f"{res['floor']:>6.1f}x  {res['status']:<5} {num(raw, '.2f', 6)}"
                f"{'x' if raw is not None else ' '}"
                + (f"{res['raw_target']:>6.1f}x  {res['raw_status']}" if raw is not None else ""))
        print(line.rstrip())
    print("-" * 96)
    print()
    print("server CPU (user+sys) per request, microseconds; photon-raw = photon's own code")
    print(f"{'test':<15}{'photon':>9}{'redis':>9}{'raw':>9}{'photon-raw':>12}")
    print("-" * 54)
    for res in results:
        cpu = res["cpu_us_per_request"]
        own = cpu["photon"] - cpu["raw"] if "raw" in cpu else None
        print(f"{res['test']:<15}{cpu['photon']:>9.1f}{cpu['redis']:>9.1f}"
              f"{num(cpu.get('raw'), '.1f', 9)}{num(own, '.1f', 12)}")
    print("-" * 54)
    mb = {who: (kb / 1024 if kb else float("nan")) for who, kb in rss.items()}
    print("RSS after the run: " + ", ".join(f"{who} {v:.1f} MB" for who, v in mb.items()))
    print(f"load average at the end: {loadavg()} (2 cores; a loaded machine lowers every "
          f"server, not always equally)")


def print_pure(results: list[dict]) -> None:
    """The compiled core against the pure-Python one, same run."""
    print()
    print("photon's compiled core against its pure-Python core (PHOTON_NO_EXTENSIONS=1)")
    print(f"{'test':<15}{'pure req/s':>12}{'p/pure':>8}{'pure/redis':>12}{'pure/raw':>10}"
          f"{'CPU us: photon':>16}{'pure':>7}")
    print("-" * 80)
    for res in results:
        cpu = res["cpu_us_per_request"]
        pure_raw = (f"{res['pure_rps'] / res['raw_rps']:>9.2f}x" if "raw_rps" in res
                    else " " * 9 + "-")
        print(f"{res['test']:<15}{res['pure_rps']:>12,.0f}{res['pure_ratio']:>7.2f}x"
              f"{res['pure_rps'] / res['redis_rps']:>11.2f}x{pure_raw}"
              f"{cpu['photon']:>16.1f}{cpu['pure']:>7.1f}")
    print("-" * 80)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=100_000,
                    help="requests per unpipelined run (pipelined runs send 4x)")
    ap.add_argument("--quick", action="store_true",
                    help="one round of 20000 requests (unless --rounds/--requests are given)")
    ap.add_argument("--only", help="comma-separated test names to run (e.g. SET,GET)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--pure", action="store_true",
                    help="also run photon's pure-Python core (PHOTON_NO_EXTENSIONS=1) in every "
                         "test, to compare it with the compiled one in the same run")
    args = ap.parse_args(argv)
    given = set(a.split("=")[0] for a in (argv if argv is not None else sys.argv[1:]))
    if args.quick:
        if "--rounds" not in given:
            args.rounds = 1
        if "--requests" not in given:
            args.requests = 20_000
    tests = TESTS
    if args.only:
        wanted = {t.strip().upper() for t in args.only.split(",")}
        tests = [t for t in TESTS if t[0].upper() in wanted]
    bench_exe, server_exe = find_redis_benchmark(), find_redis_server()
    if bench_exe is None or server_exe is None:
        print("redis-benchmark and redis-server are both needed", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="photon-bench-") as tmp:
        photon = PhotonProcess(Path(tmp) / "photon", http_port=0)
        redis = RedisProcess(Path(tmp) / "redis", "--appendonly", "yes",
                             "--appendfsync", "everysec")
        raw = RawProcess(Path(tmp) / "raw")
        pure = PhotonProcess(Path(tmp) / "pure", http_port=0,
                             env={"PHOTON_NO_EXTENSIONS": "1"})
        use_raw = any(t[0] in RAW_TARGETS for t in tests)
        servers = {"photon": photon, "redis": redis, **({"raw": raw} if use_raw else {}),
                   **({"pure": pure} if args.pure else {})}
        try:
            for server in servers.values():
                server.start()
            pids = {who: server.proc.pid for who, server in servers.items()}
            print(", ".join(f"{who} {s.port} (pid {pids[who]})" for who, s in servers.items())
                  + f"; {args.rounds} round(s), {args.requests} requests per run, "
                  f"-c {CLIENTS} -r {KEYSPACE}; load average {loadavg()}")
            builds = {who: s.client().info("server")["photon_build"]
                      for who, s in servers.items() if who in ("photon", "pure")}
            print("photon core: " + ", ".join(f"{who} {b}" for who, b in builds.items()))
            for who, server in servers.items():
                c = server.client()
                started = time.monotonic()
                preload(c, strings_only=who == "raw")
                c.close()
                what = "strings" if who == "raw" else f"strings, a {ZSET_SIZE}-member zset"
                print(f"preloaded {who} ({KEYSPACE} {what}) "
                      f"in {time.monotonic() - started:.1f}s")
            figures: dict[str, dict[str, list[float]]] = {
                t[0]: {k: [] for k in ("photon", "redis", "raw", "pure", "ratio", "raw_ratio",
                                       "pure_ratio", "photon_cpu", "redis_cpu", "raw_cpu",
                                       "pure_cpu")} for t in tests}
            for r in range(args.rounds):
                for name, bench_args, pipeline, _floor in tests:
                    n = args.requests * (4 if pipeline > 1 else 1)
                    f = figures[name]
                    for who in round_order(r, name, list(servers)):
                        before = cpu_by_thread(pids[who])
                        row = redis_benchmark(servers[who].port, bench_args, n,
                                              pipeline=pipeline, exe=bench_exe)
                        f[who].append(float(row["rps"]))
                        f[f"{who}_cpu"].append(
                            cpu_between(before, cpu_by_thread(pids[who])) / n * 1e6)
                    f["ratio"].append(f["photon"][-1] / f["redis"][-1])
                    line = (f"  round {r + 1} {name:<14} photon {f['photon'][-1]:>9,.0f} "
                            f"({f['photon_cpu'][-1]:5.1f} us)  redis {f['redis'][-1]:>9,.0f} "
                            f"({f['redis_cpu'][-1]:5.1f} us)  p/redis {f['ratio'][-1]:.2f}")
                    if name in RAW_TARGETS:
                        f["raw_ratio"].append(f["photon"][-1] / f["raw"][-1])
                        line += (f"  raw {f['raw'][-1]:>9,.0f} ({f['raw_cpu'][-1]:5.1f} us)  "
                                 f"p/raw {f['raw_ratio'][-1]:.2f}")
                    if args.pure:
                        f["pure_ratio"].append(f["photon"][-1] / f["pure"][-1])
                        line += (f"  pure {f['pure'][-1]:>9,.0f} ({f['pure_cpu'][-1]:5.1f} us)  "
                                 f"p/pure {f['pure_ratio'][-1]:.2f}")
                    print(line, flush=True)
                for who, server in servers.items():
                    if server.proc.poll() is not None:
                        raise BenchmarkError(f"{who} exited during the run")
            rss = {who: rss_kb(pid) for who, pid in pids.items()}
        except BenchmarkError as e:
            print(f"benchmark failed: {e}", file=sys.stderr)
            for who, server in (("photon", photon), ("raw", raw)):
                if server.proc is not None:
                    print(f"--- {who} log:\n{server.logs()[-2000:]}", file=sys.stderr)
            return 1
        finally:
            photon.kill()
            pure.kill()
            redis.stop()
            raw.stop()

    results = []
    for name, _args, pipeline, floor in tests:
        f = figures[name]
        ratio = median(f["ratio"])
        res = {
            "test": name, "pipeline": pipeline, "photon_rps": median(f["photon"]),
            "redis_rps": median(f["redis"]), "ratio": ratio, "floor": floor,
            "status": mark(ratio, floor),
            "cpu_us_per_request": {"photon": median(f["photon_cpu"]),
                                   "redis": median(f["redis_cpu"])},
            "rounds": {k: v for k, v in f.items() if v},
        }
        if name in RAW_TARGETS:
            raw_ratio = median(f["raw_ratio"])
            res.update(raw_rps=median(f["raw"]), raw_ratio=raw_ratio,
                       raw_target=RAW_TARGETS[name], raw_status=mark(raw_ratio, RAW_TARGETS[name]))
            res["cpu_us_per_request"]["raw"] = median(f["raw_cpu"])
        if args.pure:
            res.update(pure_rps=median(f["pure"]), pure_ratio=median(f["pure_ratio"]))
            res["cpu_us_per_request"]["pure"] = median(f["pure_cpu"])
        results.append(res)
    print_tables(results, rss)
    if args.pure:
        print_pure(results)
    below = [r["test"] for r in results if r["status"] == "below"]
    print("all floors met" if not below else f"below the floor: {', '.join(below)}")
    below_raw = [r["test"] for r in results if r.get("raw_status") == "below"]
    if use_raw:
        print("all raw-stack targets met" if not below_raw
              else f"below the raw-stack target: {', '.join(below_raw)}")
    if args.json:
        args.json.write_text(json.dumps({
            "settings": {"rounds": args.rounds, "requests": args.requests, "clients": CLIENTS,
                         "keyspace": KEYSPACE, "pipelined_requests": args.requests * 4,
                         "photon": "standalone, appendfsync everysec (defaults)",
                         "redis": "appendonly yes, appendfsync everysec",
                         "raw": "bench/raw_server.py: PING/SET/GET, 16 LevelDB shards, no fsync",
                         "cpu_us_per_request": "server user+sys CPU over the run / requests"},
            "results": results,
            "rss_kb": rss,
            "loadavg_end": loadavg(),
        }, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
