"""Shared helpers for the benchmark scripts: servers on free ports, redis-benchmark runs,
process figures from /proc. Import as ``bench.rbench`` (the scripts put the repo on sys.path)."""
from __future__ import annotations

import csv
import io
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support import free_port, wait_for_port  # noqa: E402,F401

KEYSPACE = 100_000  # redis-benchmark -r: keys key:000000000000 .. key:000000099999
CLIENTS = 50


def find_redis_benchmark() -> str | None:
    return os.environ.get("REDIS_BENCHMARK") or shutil.which("redis-benchmark")


def find_redis_server() -> str | None:
    return os.environ.get("REDIS_SERVER") or shutil.which("redis-server")


class BenchmarkError(RuntimeError):
    pass


def redis_benchmark(port: int, args: list[str], requests: int, clients: int = CLIENTS,
                    keyspace: int = KEYSPACE, pipeline: int = 1, timeout: float = 600,
                    exe: str | None = None) -> dict[str, float | str]:
    """Run one redis-benchmark test and return its CSV row: rps and latencies in ms.

    ``args`` is either ``["-t", "set"]`` or a custom command line (``["ZRANGEBYSCORE", ...]``).
    """
    exe = exe or find_redis_benchmark()
    if exe is None:
        raise BenchmarkError("redis-benchmark is not installed")
    cmd = [exe, "-h", "127.0.0.1", "-p", str(port), "-n", str(requests), "-c", str(clients),
           "-r", str(keyspace), "-P", str(pipeline), "--csv", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    if proc.returncode != 0 or not rows:
        raise BenchmarkError(f"{' '.join(cmd)} exited with {proc.returncode}: "
                             f"{proc.stderr.strip()[-500:] or proc.stdout.strip()[-500:]}")
    row = rows[-1]
    out: dict[str, float | str] = {"test": row["test"]}
    for k, v in row.items():
        if k != "test":
            out[k] = float(v)
    return out


def rss_kb(pid: int) -> int | None:
    """VmRSS of a process in kB (None when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_thread(pid: int) -> dict[int, float]:
    """CPU seconds each live thread of a process has used so far.

    From /proc/<pid>/task/*/schedstat (nanoseconds): /proc/<pid>/stat counts 10 ms ticks, too
    coarse for redis-server, which spends well under 0.1 s on a --quick run. Falls back to
    the whole process from /proc/<pid>/stat (as key 0) when the kernel has no schedstat.
    """
    out: dict[int, float] = {}
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                out[int(task.name)] = int((task / "schedstat").read_text().split()[0]) / 1e9
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        pass
    if not out:
        seconds = cpu_seconds(pid)
        return {} if seconds is None else {0: seconds}
    return out


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two cpu_by_thread readings (a thread that ended in between is
    not counted; a thread that started in between counts whole)."""
    return sum(t - before.get(tid, 0.0) for tid, t in after.items())


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def preload_strings(client, count: int = KEYSPACE, value: bytes = b"xxx") -> None:
    """SET every key redis-benchmark -r can pick, so GET always finds a value."""
    for start in range(0, count, 2000):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(start + 2000, count)):
            pipe.set(b"key:%012d" % i, value)
        pipe.execute()


def wait_until(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} not reached within {timeout:.0f}s")


class RawProcess:
    """bench/raw_server.py as a child process: the raw-stack ceiling beside photon."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = self.data_dir.parent / f"raw-{self.port}.log"

    def start(self) -> "RawProcess":
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("raw_server.py")), "--port",
                 str(self.port), "--data-dir", str(self.data_dir)],
                stdout=log, stderr=subprocess.STDOUT)
        # Its answer to the inline PING is a protocol error reply: alive is all we ask.
        wait_for_port(self.port, self.proc, log=self.log)
        return self

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def client(self, **kw):
        import redis

        kw.setdefault("socket_timeout", 30)
        return redis.Redis(host="127.0.0.1", port=self.port, protocol=2, **kw)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
