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


def test_cluster_up_on_etcd_survives_a_killed_master(tmp_path, etcd):
    """What a new user tries: `photon cluster up --coordinator etcd://...`, a client writing
    through one node, kill -9 of a master: a replica takes its key in etcd, no acknowledged
    write is lost, and the supervisor restarts the old master, which comes back as a replica."""
    import os
    import signal
    import threading

    import redis

    from tests.integration.test_cluster_cli import Up, _free_base, _nodes_by_id

    base = _free_base(6)
    prefix = f"/photon/t{uuid.uuid4().hex[:8]}"
    up = Up("--masters", "2", "--replicas", "2", "--base-port", str(base), "--data-dir",
            str(tmp_path / "c"), "--heartbeat-interval-ms", "300", "--dead-after-ms", "1500",
            "--restart-delay", "4", "--coordinator", etcd.url, "--coordinator-prefix", prefix,
            cwd=tmp_path)
    try:
        up.wait_for("Cluster ready")
        nodes = _nodes_by_id(base, 6)
        acked: dict[str, str] = {}
        stop = threading.Event()

        def write() -> None:  # through master2: master1's keys are forwarded
            with redis.Redis(port=nodes["master2"]["port"], socket_timeout=10) as r:
                i = 0
                while not stop.is_set():
                    try:
                        if r.set(f"k{i}", f"v{i}"):
                            acked[f"k{i}"] = f"v{i}"
                    except redis.RedisError:
                        pass
                    i += 1

        writer = threading.Thread(target=write)
        writer.start()
        try:
            time.sleep(1.0)
            os.kill(int(nodes["master1"]["process_id"]), signal.SIGKILL)
            deadline = time.monotonic() + 20
            while etcd_get(etcd, f"{prefix}/groups/0-7/leader") in ("master1", None):
                assert time.monotonic() < deadline, "no replica took master1's key"
                time.sleep(0.1)
            time.sleep(1.0)
        finally:
            stop.set()
            writer.join(15)
        new = etcd_get(etcd, f"{prefix}/groups/0-7/leader")
        assert new in ("master1-r1", "master1-r2")
        assert len(acked) > 20
        with redis.Redis(port=nodes[new]["port"], socket_timeout=10, decode_responses=True) as r:
            assert r.info("replication")["role"] == "master"
        with redis.Redis(port=nodes["master2"]["port"], socket_timeout=10,
                         decode_responses=True) as r:
            lost = [k for k, v in acked.items() if r.get(k) != v]
        assert lost == [], f"{len(lost)} acknowledged writes lost"
        up.wait_for("master1 restarted on its data")
        deadline = time.monotonic() + 30
        while True:
            try:
                with redis.Redis(port=nodes["master1"]["port"], socket_timeout=5,
                                 decode_responses=True) as r:
                    info = r.info("replication")
                    if info["role"] == "slave" and info.get("master_link_status") == "up":
                        key = next(iter(acked))
                        if r.get(key) == acked[key]:
                            break
            except redis.RedisError:
                pass
            assert time.monotonic() < deadline, "the old master did not come back as a replica"
            time.sleep(0.2)
        os.kill(up.proc.pid, signal.SIGINT)
        assert up.finish() == 0, up.output
    finally:
        up.kill_group()


def etcd_get(etcd: EtcdCluster, key: str) -> str | None:
    out = subprocess.run(["etcdctl", "--endpoints", etcd.url.removeprefix("etcd://"), "get",
                          "--print-value-only", key], capture_output=True, text=True,
                         env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"}, timeout=10)
    return out.stdout.strip() or None
