import shutil

import pytest

from tests.support import PhotonProcess, RedisProcess


@pytest.fixture
def photon_factory(tmp_path):
    """Start photon nodes on free ports; all are killed at teardown, even on failure."""
    started: list[PhotonProcess] = []

    def make(*args: str, name: str = "node", env=None, start: bool = True) -> PhotonProcess:
        node = PhotonProcess(tmp_path / f"{name}-{len(started)}", *args, env=env)
        started.append(node)
        return node.start() if start else node

    yield make
    for node in started:
        node.kill()


@pytest.fixture
def photon(photon_factory) -> PhotonProcess:
    return photon_factory()


@pytest.fixture(scope="module")
def shared_photon(tmp_path_factory):
    """One node shared by a test module (tests flush what they need)."""
    node = PhotonProcess(tmp_path_factory.mktemp("shared") / "node").start()
    yield node
    node.kill()


@pytest.fixture(scope="module")
def redis_ref(tmp_path_factory):
    """A real redis-server 7 to compare replies with; the test is skipped without one."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()
