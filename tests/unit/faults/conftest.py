"""Fixtures for the fault tools' own tests."""
from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.unit.faults.servers import EchoServer, start_redis


@pytest.fixture
def echo_server() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory) -> Iterator[int]:
    """A real redis-server 7, shared by a module; tests flush what they use."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    proc, port = start_redis(tmp_path_factory.mktemp("redis"))
    yield port
    proc.kill()
    proc.wait()
