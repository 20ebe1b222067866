"""Real etcd servers for coordination tests (Debian's etcd-server, installed by .ci/run): one
member or a cluster of several, each on free ports with its own data dir, killed at the end."""
from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.support import free_port


def etcd_binary() -> str | None:
    return shutil.which("etcd")


class EtcdCluster:
    def __init__(self, root: Path, members: int = 1) -> None:
        self.root = Path(root)
        self.names = [f"etcd{i}" for i in range(members)]
        self.client_ports = {n: free_port() for n in self.names}
        self.peer_ports = {n: free_port() for n in self.names}
        self.procs: dict[str, subprocess.Popen] = {}

    @property
    def url(self) -> str:
        return "etcd://" + ",".join(f"127.0.0.1:{p}" for p in self.client_ports.values())

    def start(self, name: str | None = None) -> "EtcdCluster":
        initial = ",".join(f"{n}=http://127.0.0.1:{self.peer_ports[n]}" for n in self.names)
        for n in [name] if name else self.names:
            data = self.root / n
            data.mkdir(parents=True, exist_ok=True)
            log = open(self.root / f"{n}.log", "ab")
            self.procs[n] = subprocess.Popen([
                etcd_binary() or "etcd", "--name", n, "--data-dir", str(data),
                "--listen-client-urls", f"http://127.0.0.1:{self.client_ports[n]}",
                "--advertise-client-urls", f"http://127.0.0.1:{self.client_ports[n]}",
                "--listen-peer-urls", f"http://127.0.0.1:{self.peer_ports[n]}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer_ports[n]}",
                "--initial-cluster", initial, "--initial-cluster-state", "new",
                "--heartbeat-interval", "50", "--election-timeout", "500"],
                stdout=log, stderr=subprocess.STDOUT)
        self.wait_ready([name] if name else self.names)
        return self

    def wait_ready(self, names: list[str], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for n in names:
            while True:
                try:
                    with urllib.request.urlopen(
                            f"http://127.0.0.1:{self.client_ports[n]}/health", timeout=1) as r:
                        if b'"true"' in r.read():
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"etcd member {n} did not become healthy")
                time.sleep(0.1)

    def kill(self, name: str | None = None) -> None:
        for n in [name] if name else list(self.procs):
            proc = self.procs.pop(n, None)
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()

    def stop(self) -> None:
        self.kill()
