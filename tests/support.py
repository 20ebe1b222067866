"""Test helpers: real server processes on free ports, and a fake client for unit tests."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 20.0,
                  log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            text = log.read_text() if log and log.exists() else ""
            raise RuntimeError(f"server exited with {proc.returncode}:\n{text}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith((b"+PONG", b"-")):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"nothing answered on port {port}")


class PhotonProcess:
    """A ``photon serve`` child process with its own data dir and ports."""

    def __init__(self, data_dir: Path, *args: str, env: dict[str, str] | None = None,
                 port: int | None = None, http_port: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.http_port = http_port if http_port is not None else free_port()
        self.args = list(args)
        self.env = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.log = self.data_dir.parent / f"photon-{self.port}.log"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "photon", "serve", "--port", str(self.port),
                "--http-port", str(self.http_port), "--data-dir", str(self.data_dir),
                *self.args]

    def start(self, wait: bool = True) -> "PhotonProcess":
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self._logf, stderr=subprocess.STDOUT,
                                     env=env, cwd=str(self.data_dir.parent))
        if wait:
            wait_for_port(self.port, self.proc, log=self.log)
        return self

    def wait(self) -> "PhotonProcess":
        """Until it answers (after start(wait=False))."""
        wait_for_port(self.port, self.proc, log=self.log)
        return self

    def client(self, **kw) -> redis.Redis:
        kw.setdefault("socket_timeout", 30)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self._logf.close()

    def stop(self) -> int | None:
        self.kill(signal.SIGTERM)
        return self.proc.returncode if self.proc is not None else None

    def restart(self) -> "PhotonProcess":
        self.kill()
        return self.start()

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class RedisProcess:
    """A real redis-server, for side-by-side comparisons."""

    def __init__(self, workdir: Path, *args: str) -> None:
        self.port = free_port()
        self.workdir = Path(workdir)
        self.args = list(args)
        self.proc: subprocess.Popen | None = None

    def start(self) -> "RedisProcess":
        exe = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--dir", str(self.workdir), "--enable-debug-command", "yes", *self.args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc)
        return self

    def client(self, **kw) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def raw_exchange(port: int, data: bytes, wait: float = 0.3) -> tuple[bytes, bool]:
    """Send raw bytes; return what came back within ``wait`` seconds and whether the server
    closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out, True
                out += chunk
        except socket.timeout:
            return out, False
