import pytest

from tests.unit.fakes import FakeServer


@pytest.fixture
def server():
    """A server over in-memory engines, for unit tests of commands and the keyspace."""
    return FakeServer()


@pytest.fixture
def client(server):
    return server.new_client()
