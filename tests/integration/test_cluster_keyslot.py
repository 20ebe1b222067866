"""CLUSTER KEYSLOT answers as a cluster-enabled Redis does: every photon node routes keys by
Redis Cluster's slots, standalone included."""
import shutil

import pytest

from tests.support import RedisProcess, free_port

KEYS = [b"foo", b"{user1000}.following", b"{user1000}.followers", b"foo{}{bar}",
        b"foo{{bar}}zap", b"foo{bar}{zap}", b"", b"\xff\x00{x}", b"user:12345", b"123456789"]


def test_keyslot_equals_cluster_redis(photon, tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    # The cluster bus needs its own port (by default port + 10000, which may not exist).
    ref = RedisProcess(tmp_path / "redis", "--cluster-enabled", "yes", "--cluster-config-file",
                       str(tmp_path / "nodes.conf"), "--cluster-port", str(free_port())).start()
    try:
        ours, theirs = photon.client(), ref.client()
        for key in KEYS:
            assert ours.execute_command("CLUSTER", "KEYSLOT", key) == \
                theirs.execute_command("CLUSTER", "KEYSLOT", key), key
        assert ours.execute_command("CLUSTER", "KEYSLOT", b"foo") == 12182
    finally:
        ref.stop()
