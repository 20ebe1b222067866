"""Coordination on etcd with real processes and a real etcd (Debian's etcd-server): the
failover scenarios again with --coordinator etcd:// (kill -9 of the master under load, a
partitioned master, the stale-replica trap), a 3-member etcd losing a member during a
failover, etcd stopped for a while under load (masters keep serving, nothing is promoted,
everything converges when it is back), the keys in etcd, and bad input that stops the start.
The same recorder and checkers: no acknowledged write lost, none refused seen, linearizable."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest

from tests.etcd_support import EtcdCluster, etcd_binary
from tests.integration import test_failover as fo
from tests.integration.cluster_support import cluster_info
from tests.support import ROOT

pytestmark = pytest.mark.skipif(etcd_binary() is None, reason="etcd is not installed")


@pytest.fixture
def etcd(tmp_path):
    cluster = EtcdCluster(tmp_path / "etcd").start()
    yield cluster
    cluster.stop()


def coordinated(etcd: EtcdCluster) -> tuple:
    return ("--coordinator", etcd.url, "--coordinator-prefix",
            f"/photon/t{uuid.uuid4().hex[:8]}")


make = fo.make


def test_kill_master_under_load_with_etcd(make, tmp_path, etcd):
    fo._kill_master_rounds(make, tmp_path, rounds=2, extra=coordinated(etcd))


def test_partitioned_master_with_etcd(make, tmp_path, etcd):
    fo.test_partitioned_master_stops_taking_writes_then_follows(make, tmp_path,
                                                               extra=coordinated(etcd))


def test_stale_replica_trap_with_etcd(make, tmp_path, etcd):
    fo.test_stale_replica_trap(make, tmp_path, extra=coordinated(etcd))


def test_a_three_member_etcd_losing_a_member_during_a_failover(make, tmp_path):
    etcd = EtcdCluster(tmp_path / "etcd3", members=3).start()
    try:
        master, replicas, _, _ = fo.start_group(make, tmp_path, extra=coordinated(etcd))
        rec = fo.recorder([master, *replicas], seed=21).start()
        try:
            time.sleep(0.8)
            rec.note("kill -9 master1 and etcd member etcd0")
            fo.kill(master.proc.pid)
            etcd.kill("etcd0")
            new, took = fo.wait_master(replicas)
            rec.note(f"{new.data_dir.name} took over in {took:.2f}s")
            time.sleep(0.8)
        finally:
            history = rec.stop()
        fo.verify(history, new, tmp_path)
    finally:
        etcd.stop()


def test_etcd_stopped_for_a_while_under_load(make, tmp_path, etcd):
    master, replicas, _, _ = fo.start_group(make, tmp_path, extra=coordinated(etcd))
    rec = fo.recorder([master, *replicas], seed=23).start()
    try:
        time.sleep(0.8)
        rec.note("etcd stopped")
        etcd.kill()
        time.sleep(2.5)  # more than dead-after: leases lapse, nothing may be promoted
        assert fo.role(master) == "master"
        assert all(fo.role(r) == "slave" for r in replicas)
        info = master.client().info("cluster")
        assert info["cluster_coordinator_problem"].startswith("etcd unreachable")
        status, health = fo_http(master)
        assert health["coordinator_problem"] and health["status"] == "degraded"
        assert master.client().set("during-outage", "x") is True
        rec.note("etcd back")
        etcd.start()
        deadline = time.monotonic() + 20
        while master.client().info("cluster")["cluster_coordinator_problem"]:
            assert time.monotonic() < deadline, "the master did not reach etcd again"
            time.sleep(0.1)
        time.sleep(1.0)
    finally:
        history = rec.stop()
    assert fo.role(master) == "master"
    fo.verify(history, master, tmp_path)
    assert "nothing is promoted" in master.logs()


def fo_http(node):
    from tests.integration.cluster_support import http
    return http(node, "/_health")


def test_the_keys_in_etcd(make, tmp_path, etcd):
    extra = coordinated(etcd)
    prefix = extra[3]
    master, replicas, _, _ = fo.start_group(make, tmp_path, extra=extra)
    assert cluster_info(master)["cluster_state"] == "ok"
    out = subprocess.run(["etcdctl", "--endpoints", etcd.url.removeprefix("etcd://"), "get",
                          "--prefix", prefix + "/"], capture_output=True, text=True,
                         env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"})
    if out.returncode != 0:
        pytest.skip(f"etcdctl: {out.stderr.strip()}")
    lines = out.stdout.splitlines()
    keys = dict(zip(lines[::2], lines[1::2]))
    assert json.loads(keys[prefix + "/cluster"]) == {"shards": 16}
    assert keys[prefix + "/groups/0-15/leader"] == "master1"
    assert {k for k in keys if "/members/" in k} == {
        f"{prefix}/members/{n}" for n in ("master1", "replica-a", "replica-b")}
    assert all(json.loads(keys[f"{prefix}/shards/{s}"]) == {"group": "master1"}
               for s in range(16))


def test_bad_coordinator_input_stops_the_start(tmp_path, etcd):
    def serve(*args):
        return subprocess.run([sys.executable, "-m", "photon", "serve", "--port", "0",
                               "--http-port", "0", "--data-dir", str(tmp_path / "d"), *args],
                              capture_output=True, text=True, timeout=60,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    bad = serve("--coordinator", "etcd://nohost")
    assert bad.returncode == 1 and "invalid value for coordinator" in bad.stderr
    bad = serve("--coordinator", etcd.url, "--coordinator-prefix", "photon/x")
    assert bad.returncode == 1 and "invalid value for coordinator_prefix" in bad.stderr
    prefix = f"/photon/t{uuid.uuid4().hex[:8]}"
    subprocess.run(["etcdctl", "--endpoints", etcd.url.removeprefix("etcd://"), "put",
                    prefix + "/cluster", '{"shards": 32}'], check=True, capture_output=True,
                   env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"})
    bad = serve("--role", "master", "--coordinator", etcd.url, "--coordinator-prefix", prefix)
    assert bad.returncode == 1
    assert "holds a cluster of 32 shards and this node has 16" in bad.stderr, bad.stderr
    bad = serve("--role", "master", "--coordinator", "etcd://no-such-host.invalid:2379")
    assert bad.returncode == 1 and "resolves" in bad.stderr, bad.stderr
