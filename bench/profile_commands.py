"""Where a SET, a GET, an HSET and a ZADD spend their time inside PhotonDB, layer by layer.

    python bench/profile_commands.py [--requests 20000] [--commands SET,GET,HSET,ZADD]
                                     [--top 15] [--sort self|cumulative]

Starts a PhotonDB node inside this process (photon's own Server on uvloop, default settings,
LevelDB in a temporary directory, the gc tuning of ``photon serve``), drives it with
redis-benchmark (-c 50 -r 100000, a child process) one command at a time, and profiles the
server's thread while each command's run lasts. Each command runs twice: bare, for the true
CPU per request, then under the profiler, for where it goes.

Why cProfile and not py-spy: it is in the standard library (no dependency, and no ptrace,
which containers and CI often forbid), and it counts calls exactly, so "calls per request"
shows redundant work that a sampler cannot. Its cost is that it adds a fixed overhead to
every Python call, which inflates many small calls more than a few big ones: read the
profile's shares, and take absolute CPU per request from the bare run. It also times with the
wall clock, so on a busy machine the time the server thread was preempted (most often where it
wakes redis-benchmark: the send in flush) counts as that function's; the report says when.

The server thread's CPU the profile does not see inside any Python function (uvloop's own C:
epoll, socket reads, callbacks) is shown as the event loop's; the time it waited for input
is left out. LevelDB's background threads and the appendfsync thread are not profiled (the
bare run's "process" figure includes them).
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rbench import CLIENTS, KEYSPACE, find_redis_benchmark  # noqa: E402
from photon import config as cfg  # noqa: E402
from photon.server import Server  # noqa: E402

COMMANDS = ("SET", "GET", "HSET", "ZADD")
LAYERS = ("event loop", "client", "parser", "gate", "command", "keyspace", "storage",
          "encoder", "other")
# Python functions: the first path fragment found names the layer.
PATH_LAYERS = [
    ("photon/protocol/parser", "parser"), ("photon/protocol/", "encoder"),
    ("photon/commands/dispatch", "gate"), ("photon/commands/table", "gate"),
    ("photon/server.py", "gate"), ("photon/stats", "gate"), ("photon/security/", "gate"),
    ("photon/durability", "gate"), ("photon/commands/", "command"), ("photon/util/", "command"),
    ("photon/keyspace/", "keyspace"), ("photon/cluster/slots", "keyspace"),
    ("photon/storage/", "storage"),
    ("photon/client.py", "client"), ("uvloop", "event loop"), ("asyncio", "event loop"),
]
# cProfile does not see calls into Cython (uvloop's transport.write, plyvel's get): their time
# is the caller's self time. These callers do little else, so they count in the callee's layer.
HIDDEN_CYTHON = {("client.py", "flush"): "event loop", ("keyspace.py", "rget"): "storage"}
# C functions that belong to a layer whoever calls them; any other C function (len, dict.get,
# bytes.join...) counts in the layer of the Python function that called it.
C_LAYERS = [("hiredis", "parser"), ("plyvel", "storage"), ("uvloop", "event loop")]
LEGEND = """\
layers: event loop = uvloop and the socket syscalls (client.py flush is mostly transport.write);
client = photon/client.py; parser = RequestParser and hiredis; gate = dispatch, checks, stats,
post-command hooks; command = the handler; keyspace = types, overlay, commit, key to shard;
storage = LevelDBEngine and plyvel; encoder = reply encoding. A C function (len, dict.get...)
counts in its caller's layer; shares are of the profiled server thread's CPU."""
STARTUP_REQUESTS = 2_000  # each command's first requests, so its key exists before profiling


def resp(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


@dataclass
class Run:
    """One redis-benchmark run: its rate and the server's CPU, wall-clock and profile."""
    rps: float
    thread_cpu: float
    process_cpu: float
    stats: dict = field(default_factory=dict)


async def start_node(data_dir: Path) -> Server:
    """A node as ``photon serve`` runs one (photon/server.py:run), on a free port."""
    config = cfg.load({"port": "0", "http_port": "0", "data_dir": str(data_dir)})
    server = Server(config)
    await server.start()
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    return server


async def preload(port: int, exe: str) -> None:
    """SET every key redis-benchmark -r can pick, so GET finds one: redis-cli --pipe, so the
    event loop serving the node is never blocked by a client in the same thread."""
    data = b"".join(resp(b"SET", b"key:%012d" % i, b"xxx") for i in range(KEYSPACE))
    cli = str(Path(exe).with_name("redis-cli"))
    proc = await asyncio.create_subprocess_exec(
        cli, "-p", str(port), "--pipe", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL)
    await proc.communicate(data)


async def bench(port: int, exe: str, command: str, requests: int, profile: bool) -> Run:
    prof = cProfile.Profile() if profile else None
    cpu, pcpu = time.thread_time(), time.process_time()
    if prof is not None:
        prof.enable()
    proc = await asyncio.create_subprocess_exec(
        exe, "-p", str(port), "-t", command.lower(), "-n", str(requests), "-c", str(CLIENTS),
        "-r", str(KEYSPACE), "--csv", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if prof is not None:
        prof.disable()
    run = Run(0.0, time.thread_time() - cpu, time.process_time() - pcpu)
    lines = out.decode().strip().splitlines()
    if proc.returncode != 0 or len(lines) < 2:
        raise RuntimeError(f"redis-benchmark -t {command.lower()} failed: {err.decode()[-300:]}")
    run.rps = float(lines[-1].split(",")[1].strip('"'))
    if prof is not None:
        run.stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    return run


def layer_of(key: tuple[str, int, str]) -> str | None:
    """The layer of a profiled function, or None for a C function counted in its caller's."""
    filename, _line, name = key
    if filename == "~":
        return next((layer for frag, layer in C_LAYERS if frag in name), None)
    path = filename.replace("\\", "/")
    hidden = HIDDEN_CYTHON.get((path.rsplit("/", 1)[-1], name))
    if hidden is not None and "/photon/" in path:
        return hidden
    return next((layer for frag, layer in PATH_LAYERS if frag in path), "other")


def short_name(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":
        m = re.match(r"<method '(\w+)' of '([\w.]+)' objects>", name)
        if m:
            return f"{m.group(2).split('.')[-1]}.{m.group(1)}"
        return re.sub(r"<built-in method (?:builtins\.)?([\w.]+)>", r"\1", name)
    path = filename.replace("\\", "/")
    rel = path.split("/photon/", 1)[1] if "/photon/" in path else Path(path).name
    return f"{rel}:{line} {name}"


def by_layer(stats: dict) -> dict[str, float]:
    """Self time per layer; a C function's self time goes to its callers' layers."""
    totals = dict.fromkeys(LAYERS, 0.0)
    for key, (_cc, _nc, tt, _ct, callers) in stats.items():
        layer = layer_of(key)
        if layer is not None:
            totals[layer] += tt
            continue
        for caller, (_c, _n, caller_tt, _t) in callers.items():
            totals[layer_of(caller) or "other"] += caller_tt
        if not callers:
            totals["other"] += tt
    return totals


def _main_caller_layer(callers: dict) -> str:
    """For a C function listed alone: the layer of the caller it spent most time for."""
    if not callers:
        return "other"
    caller = max(callers, key=lambda k: callers[k][2])
    return layer_of(caller) or "other"


def report(command: str, requests: int, bare: Run, prof: Run, top: int, sort: str) -> None:
    per = 1e6 / requests
    print(f"\n=== {command}: {requests} requests, -c {CLIENTS} -r {KEYSPACE}")
    print(f"bare run:  {bare.rps:>9,.0f} req/s  server thread {bare.thread_cpu * per:6.1f} us"
          f"/request  (process, with LevelDB and fsync threads: "
          f"{bare.process_cpu * per:.1f} us)")
    layers = by_layer(prof.stats)
    seen = sum(layers.values())
    print(f"profiled:  {prof.rps:>9,.0f} req/s  server thread {prof.thread_cpu * per:6.1f} us"
          f"/request  (x{prof.thread_cpu / bare.thread_cpu:.1f}: read shares, not us; "
          f"{seen / prof.thread_cpu:.0%} in Python calls)")
    if seen > 1.05 * prof.thread_cpu:
        print("  (more wall time in Python calls than CPU: the server thread was preempted, the "
              "machine is busy;\n   shares lean towards calls that wake other processes, like "
              "flush: rerun on a quiet machine)")
    # Server-thread CPU spent in no Python function: uvloop's own C (epoll, recv, callbacks).
    layers["event loop"] += max(0.0, prof.thread_cpu - seen)
    total = sum(layers.values()) or 1.0
    print("layers: " + "  ".join(f"{name} {layers[name] / total:.0%}" for name in LAYERS
                                 if layers[name] / total >= 0.005))
    index = 2 if sort == "self" else 3
    rows = sorted(prof.stats.items(), key=lambda kv: kv[1][index], reverse=True)
    print(f"{'calls/req':>9} {'self us':>8} {'cum us':>8}  {'layer':<10} function "
          f"(top {top} by {sort} time, profiled us/request)")
    for key, (_cc, nc, tt, ct, callers) in rows[:top]:
        print(f"{nc / requests:>9.2f} {tt * per:>8.2f} {ct * per:>8.2f}  "
              f"{layer_of(key) or _main_caller_layer(callers):<10} {short_name(key)}")


async def main_async(args: argparse.Namespace, exe: str) -> None:
    with tempfile.TemporaryDirectory(prefix="photon-profile-") as tmp:
        server = await start_node(Path(tmp) / "node")
        try:
            print(f"photon node in this process on port {server.port} (defaults: standalone, "
                  f"appendfsync everysec, LevelDB in {tmp})")
            print(LEGEND)
            if "GET" in args.commands:
                started = time.monotonic()
                await preload(server.port, exe)
                print(f"preloaded {KEYSPACE} strings in {time.monotonic() - started:.1f}s")
            for command in args.commands:
                await bench(server.port, exe, command, STARTUP_REQUESTS, profile=False)
                bare = await bench(server.port, exe, command, args.requests, profile=False)
                prof = await bench(server.port, exe, command, args.requests, profile=True)
                report(command, args.requests, bare, prof, args.top, args.sort)
        finally:
            await server.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=20_000, help="requests per run")
    ap.add_argument("--commands", default=",".join(COMMANDS),
                    help="comma-separated redis-benchmark tests (SET,GET,HSET,ZADD,LPUSH...)")
    ap.add_argument("--top", type=int, default=15, help="functions listed per command")
    ap.add_argument("--sort", choices=("self", "cumulative"), default="self")
    args = ap.parse_args(argv)
    args.commands = [c.strip().upper() for c in args.commands.split(",") if c.strip()]
    exe = find_redis_benchmark()
    if exe is None:
        print("redis-benchmark is needed", file=sys.stderr)
        return 2
    try:
        import uvloop
        run = uvloop.run
    except (ImportError, AttributeError):
        run = asyncio.run
    run(main_async(args, exe))
    return 0


if __name__ == "__main__":
    sys.exit(main())
