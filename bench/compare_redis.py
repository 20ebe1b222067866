"""PhotonDB against redis-server, same machine, same run, interleaved.

    python bench/compare_redis.py [--rounds 3] [--requests N] [--quick] [--json out.json]

Starts photon with its default settings (standalone, appendfsync everysec) and a redis-server
with ``--appendonly yes --appendfsync everysec``, each on a free port, preloads both the same
way, then runs redis-benchmark (-c 50 -r 100000) against both, one test at a time and one
server after the other (photon, redis; the next round redis, photon; ...), so machine noise
hits both alike. Each figure is the median over the rounds; the ratio is the median of the
per-round photon/redis ratios. Pipelined tests (-P 16) send 4x the requests.

The floors are the issue's targets: >= 0.8x Redis without pipelining, >= 0.5x for pipelined
GET, >= 0.3x for pipelined SET. A "below" mark on a loaded machine is a hint, not a verdict:
rerun on a quiet one before drawing conclusions.
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
    CLIENTS, KEYSPACE, BenchmarkError, find_redis_benchmark, find_redis_server, loadavg, median,
    preload_strings, redis_benchmark, rss_kb,
)
from tests.support import PhotonProcess, RedisProcess  # noqa: E402

ZSET_KEY = "bench:zset"
ZSET_SIZE = 1000

# (name, redis-benchmark arguments, pipeline, floor)
TESTS: list[tuple[str, list[str], int, float]] = [
    ("SET", ["-t", "set"], 1, 0.8),
    ("GET", ["-t", "get"], 1, 0.8),
    ("SET -P 16", ["-t", "set"], 16, 0.3),
    ("GET -P 16", ["-t", "get"], 16, 0.5),
    ("HSET", ["-t", "hset"], 1, 0.8),
    ("LPUSH", ["-t", "lpush"], 1, 0.8),
    ("LPOP", ["-t", "lpop"], 1, 0.8),  # right after LPUSH: pops real elements on both
    ("SADD", ["-t", "sadd"], 1, 0.8),
    ("ZADD", ["-t", "zadd"], 1, 0.8),
    ("ZRANGEBYSCORE", ["ZRANGEBYSCORE", ZSET_KEY, "0", "100", "LIMIT", "0", "10"], 1, 0.8),
]


def preload(client) -> None:
    preload_strings(client)
    client.delete(ZSET_KEY)
    client.zadd(ZSET_KEY, {f"member:{i:05d}": i for i in range(ZSET_SIZE)})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=100_000,
                    help="requests per unpipelined run (pipelined runs send 4x)")
    ap.add_argument("--quick", action="store_true",
                    help="one round of 20000 requests (unless --rounds/--requests are given)")
    ap.add_argument("--only", help="comma-separated test names to run (e.g. SET,GET)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
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
        try:
            photon.start()
            redis.start()
            servers = {"photon": photon, "redis": redis}
            pids = {"photon": photon.proc.pid, "redis": redis.proc.pid}
            print(f"photon {photon.port} (pid {pids['photon']}), redis-server {redis.port} "
                  f"(pid {pids['redis']}); {args.rounds} round(s), {args.requests} requests "
                  f"per run, -c {CLIENTS} -r {KEYSPACE}; load average {loadavg()}")
            for name, server in servers.items():
                c = server.client()
                started = time.monotonic()
                preload(c)
                c.close()
                print(f"preloaded {name} ({KEYSPACE} strings, a {ZSET_SIZE}-member zset) "
                      f"in {time.monotonic() - started:.1f}s")
            figures: dict[str, dict[str, list[float]]] = {
                t[0]: {"photon": [], "redis": [], "ratio": []} for t in tests}
            for r in range(args.rounds):
                order = ["photon", "redis"] if r % 2 == 0 else ["redis", "photon"]
                for name, bench_args, pipeline, _floor in tests:
                    n = args.requests * (4 if pipeline > 1 else 1)
                    got = {}
                    for who in order:
                        row = redis_benchmark(servers[who].port, bench_args, n,
                                              pipeline=pipeline, exe=bench_exe)
                        got[who] = float(row["rps"])
                        figures[name][who].append(got[who])
                    ratio = got["photon"] / got["redis"]
                    figures[name]["ratio"].append(ratio)
                    print(f"  round {r + 1} {name:<14} photon {got['photon']:>11,.0f}  "
                          f"redis {got['redis']:>11,.0f}  ratio {ratio:.2f}", flush=True)
                for who, server in servers.items():
                    if server.proc.poll() is not None:
                        raise BenchmarkError(f"{who} exited during the run")
            rss = {who: rss_kb(pid) for who, pid in pids.items()}
        except BenchmarkError as e:
            print(f"benchmark failed: {e}", file=sys.stderr)
            if photon.proc is not None:
                print(photon.logs()[-2000:], file=sys.stderr)
            return 1
        finally:
            photon.kill()
            redis.stop()

    results = []
    for name, _args, pipeline, floor in tests:
        f = figures[name]
        ratio = median(f["ratio"])
        results.append({
            "test": name, "pipeline": pipeline, "photon_rps": median(f["photon"]),
            "redis_rps": median(f["redis"]), "ratio": ratio, "floor": floor,
            "status": "pass" if ratio >= floor else "below",
            "rounds": {"photon": f["photon"], "redis": f["redis"], "ratio": f["ratio"]},
        })
    print()
    print(f"{'test':<15}{'photon req/s':>14}{'redis req/s':>14}{'ratio':>8}{'floor':>8}  mark")
    print("-" * 66)
    for res in results:
        print(f"{res['test']:<15}{res['photon_rps']:>14,.0f}{res['redis_rps']:>14,.0f}"
              f"{res['ratio']:>7.2f}x{res['floor']:>7.1f}x  {res['status']}")
    print("-" * 66)
    mb = {who: (kb / 1024 if kb else float("nan")) for who, kb in rss.items()}
    print(f"RSS after the run: photon {mb['photon']:.1f} MB, redis-server {mb['redis']:.1f} MB")
    print(f"load average at the end: {loadavg()} (2 cores; a loaded machine lowers both sides, "
          f"not always equally)")
    below = [r["test"] for r in results if r["status"] == "below"]
    print("all floors met" if not below else f"below the floor: {', '.join(below)}")
    if args.json:
        args.json.write_text(json.dumps({
            "settings": {"rounds": args.rounds, "requests": args.requests, "clients": CLIENTS,
                         "keyspace": KEYSPACE, "pipelined_requests": args.requests * 4,
                         "photon": "standalone, appendfsync everysec (defaults)",
                         "redis": "appendonly yes, appendfsync everysec"},
            "results": results,
            "rss_kb": rss,
            "loadavg_end": loadavg(),
        }, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
