"""Instructions per request, counted by valgrind (callgrind): a figure that does not move with
the machine's load, for comparing two commits or the compiled and pure cores.

    python bench/instructions.py [--tests SET,GET,"SET -P16"] [--server photon|raw] [--pure]

Drives a real photon node in this process (or the raw stack's protocol, ``--server raw``)
through ``data_received`` with a transport that drops the replies, one read per event-loop
turn (the loop's turn is counted too: it writes the staged commits and sends the replies held
for them; a real server under load serves several reads per turn). No sockets, so what is
counted is the user-space work of parsing, the command path, the keyspace, LevelDB and reply
encoding, not the kernel's. Each test runs under callgrind twice, with 1000 and 3000 requests,
and the difference over 2000 is the figure, so start-up does not count; the same runs with a
protocol that ignores its input are subtracted, so building the requests does not count
either. SET and GET cycle over 500 keys set first (overwrites and hits, as in
compare_redis.py, which preloads its keys); "SET new" writes a new key every time.
``--pure`` sets PHOTON_NO_EXTENSIONS=1. Needs valgrind; about a minute per test.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def resp(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


# name -> (request for the i-th request, requests per read). SET and GET use keys that exist,
# as after compare_redis.py's preload (an overwrite, a hit); "SET new" writes a new key each time.
PRELOADED = 500  # keys set before the counted requests


def key(i: int) -> bytes:
    return b"key:%012d" % (i % PRELOADED)


TESTS = {
    "SET": (lambda i: resp(b"SET", key(i), b"xxx"), 1),
    "GET": (lambda i: resp(b"GET", key(i)), 1),
    "SET -P16": (lambda i: resp(b"SET", key(i), b"xxx"), 16),
    "GET -P16": (lambda i: resp(b"GET", key(i)), 16),
    "SET new": (lambda i: resp(b"SET", b"new:%012d" % i, b"xxx"), 1),
    "HSET": (lambda i: resp(b"HSET", b"h%03d" % (i % 1000), b"f%012d" % i, b"v"), 1),
    "LPUSH": (lambda i: resp(b"LPUSH", b"mylist", b"xxx"), 1),
    "ZADD": (lambda i: resp(b"ZADD", b"z%02d" % (i % 100), b"%d" % (i % 100000), key(i)), 1),
}
RAW_TESTS = ("SET", "GET", "SET -P16", "GET -P16", "SET new")


class NullTransport:
    def write(self, data: bytes) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def is_closing(self) -> bool:
        return False


def reads(test: str, n: int) -> list[bytes]:
    """The preload's requests (one per read), then the test's."""
    make, pipeline = TESTS[test]
    requests = [make(i) for i in range(n)]
    return ([resp(b"SET", key(i), b"xxx") for i in range(PRELOADED)]
            + [b"".join(requests[i:i + pipeline]) for i in range(0, n, pipeline)])


async def drive_photon(test: str, n: int) -> None:
    from photon import config as cfg
    from photon.client import Client
    from photon.server import Server

    with tempfile.TemporaryDirectory() as tmp:
        server = Server(cfg.load({"port": "0", "http_port": "0", "data_dir": tmp + "/node"}))
        await server.start()
        try:
            client = Client(server)
            client.connection_made(NullTransport())  # type: ignore[arg-type]
            for data in reads(test, n):
                client.data_received(data)
                await asyncio.sleep(0)  # the turn ends, as after each read in a real server
        finally:
            await server.stop()


def drive_raw(test: str, n: int) -> None:
    from bench.raw_server import RawProtocol, open_dbs

    with tempfile.TemporaryDirectory() as tmp:
        protocol = RawProtocol(open_dbs(Path(tmp)))
        protocol.connection_made(NullTransport())  # type: ignore[arg-type]
        for data in reads(test, n):
            protocol.data_received(data)


def drive_null(test: str, n: int) -> None:
    """The baseline: the same requests built and handed to nothing."""
    sink = NullTransport()
    for data in reads(test, n):
        sink.write(data)


def count(server: str, test: str, n: int, env: dict[str, str]) -> int:
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, "--drive", server, test, str(n)],
        capture_output=True, text=True, env=env, cwd=str(ROOT))
    m = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or m is None:
        raise RuntimeError(f"callgrind run failed: {proc.stderr[-500:]}")
    return int(m.group(1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tests", default="SET,GET,SET -P16")
    ap.add_argument("--server", choices=("photon", "raw"), default="photon")
    ap.add_argument("--pure", action="store_true", help="PHOTON_NO_EXTENSIONS=1")
    ap.add_argument("--drive", nargs=3, metavar=("SERVER", "TEST", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.drive:
        server, test, n = args.drive
        if server == "raw":
            drive_raw(test, int(n))
        elif server == "null":
            drive_null(test, int(n))
        else:
            try:  # the loop the server runs on (photon/server.py)
                import uvloop
                uvloop.install()
            except ImportError:
                pass
            asyncio.run(drive_photon(test, int(n)))
        return 0
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if args.pure:
        env["PHOTON_NO_EXTENSIONS"] = "1"
    core = subprocess.run([sys.executable, "-c", "import photon.compiled as c; print(c.build)"],
                          capture_output=True, text=True, env=env, cwd=str(ROOT)).stdout.strip()
    label = "raw stack" if args.server == "raw" else f"photon ({core} core)"
    print(f"instructions per request, {label}, callgrind, in-process, no sockets")
    # one plain run first: .pyc files written inside the counted runs would skew them
    subprocess.run([sys.executable, __file__, "--drive", args.server, "GET", "10"], env=env,
                   cwd=str(ROOT), check=True)
    for test in args.tests.split(","):
        if args.server == "raw" and test not in RAW_TESTS:
            continue
        per_request = [
            (count(server, test, 3000, env) - count(server, test, 1000, env)) / 2000
            for server in (args.server, "null")]
        print(f"  {test:<10} {per_request[0] - per_request[1]:>9,.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
