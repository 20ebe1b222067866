"""Fixtures for PhotonDB's benchmarks (``pytest bench/``).

Benchmarks only print figures (pytest-benchmark's table and ``extra_info``); nothing here
asserts a speed, because the machines they run on are shared and noisy.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `tests.support` and `tests.unit.fakes` live beside photon/
    sys.path.insert(0, str(ROOT))

from photon import config as cfg  # noqa: E402
from photon.keyspace.keyspace import Keyspace  # noqa: E402
from photon.server import Server  # noqa: E402
from photon.storage.leveldb import LevelDBEngine  # noqa: E402
from photon.storage.memory import MemoryEngine  # noqa: E402
from tests.support import PhotonProcess  # noqa: E402
from tests.unit.fakes import FakeClient, FakeServer, FakeTransport  # noqa: E402

SHARDS = 16  # photon's default shard count


def _leveldb_engines(path: Path, shards: int = SHARDS) -> list[LevelDBEngine]:
    return [LevelDBEngine(path / f"shard-{i:03d}") for i in range(shards)]


@pytest.fixture(params=["memory", "leveldb"])
def engines(request, tmp_path):
    """One engine per shard: the in-memory engine, or LevelDB in a temporary directory."""
    if request.param == "memory":
        made = [MemoryEngine() for _ in range(SHARDS)]
    else:
        made = _leveldb_engines(tmp_path / "leveldb")
    yield made
    for e in made:
        if isinstance(e, LevelDBEngine):
            e.close()


@pytest.fixture
def keyspace(engines) -> Keyspace:
    return Keyspace(engines)


class LevelDBServer(Server):
    """FakeServer's socketless setup, over LevelDB engines instead of in-memory ones."""

    def __init__(self, path: Path, shards: int = SHARDS) -> None:
        config = cfg.load({"http_port": "0", "data_dir": str(path), "node_id": "bench"}, env={})
        super().__init__(config, engines=_leveldb_engines(path, shards), node_id="bench")

    new_client = FakeServer.new_client

    def close(self) -> None:
        for e in self.engines:
            e.close()


@pytest.fixture(params=["memory", "leveldb"])
def fake_server(request, tmp_path):
    """A whole server (gate, dispatch, keyspace) without sockets, on either engine."""
    if request.param == "memory":
        yield FakeServer(shards=SHARDS)
        return
    server = LevelDBServer(tmp_path / "leveldb")
    yield server
    server.close()


@pytest.fixture
def fake_client(fake_server) -> FakeClient:
    c = FakeClient(fake_server)
    c.connection_made(FakeTransport())
    return c


@pytest.fixture(scope="module")
def live_photon(tmp_path_factory):
    """A real ``photon serve`` node with default settings (standalone, appendfsync everysec)."""
    node = PhotonProcess(tmp_path_factory.mktemp("bench") / "node", http_port=0).start()
    yield node
    node.kill()


@pytest.fixture(scope="session")
def redis_benchmark_exe() -> str:
    exe = os.environ.get("REDIS_BENCHMARK") or shutil.which("redis-benchmark")
    if exe is None:
        pytest.skip("redis-benchmark is not installed")
    return exe
