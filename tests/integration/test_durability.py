"""What an acknowledged write survives: kill -9 in every appendfsync mode, group commit."""
import pytest


def _load(client, n, prefix="k"):
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        pipe.set(f"{prefix}:{i}", f"v{i}")
    assert all(pipe.execute())


@pytest.mark.parametrize("mode", ["always", "everysec", "no"])
def test_acknowledged_writes_survive_kill_9(photon_factory, mode):
    node = photon_factory("--appendfsync", mode)
    client = node.client()
    _load(client, 2000)
    client.hset("h", mapping={f"f{i}": i for i in range(300)})
    node.restart()
    client = node.client()
    assert client.dbsize() == 2001
    values = client.mget([f"k:{i}" for i in range(2000)])
    assert values == [f"v{i}".encode() for i in range(2000)]
    assert client.hlen("h") == 300


def test_always_groups_fsyncs_and_replies_after_them(photon_factory):
    node = photon_factory("--appendfsync", "always")
    client = node.client()
    before = client.info("persistence")["fsyncs"]
    _load(client, 2000)
    fsyncs = client.info("persistence")["fsyncs"] - before
    assert 1 <= fsyncs < 2000  # one per event-loop turn, not one per write
    assert client.config_get("appendfsync") == {"appendfsync": "always"}


def test_appendfsync_can_change_at_run_time(photon):
    client = photon.client()
    client.config_set("appendfsync", "always")
    client.set("a", "1")
    assert client.info("persistence")["fsyncs"] >= 1
    client.config_set("appendfsync", "no")
    assert client.config_get("appendfsync") == {"appendfsync": "no"}
    photon.restart()
    assert photon.client().get("a") == b"1"


def test_sigterm_shuts_down_cleanly(photon):
    photon.client().set("x", "1")
    assert photon.stop() == 0
    assert "ready to exit" in photon.logs()
    assert "Received SIGTERM" in photon.logs()
    photon.start()
    assert photon.client().get("x") == b"1"
