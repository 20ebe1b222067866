"""Replication under faults, with real processes: replicas killed -9 mid-load and coming back
(partial resync), kept away past the backlog (full sync), the master killed mid full sync and
restarted, quorum refusals and timeouts, the master restarted without resyncing replicas in
step, REPLICAOF at run time and promotion, a throttled full sync while writes go on.

The long forms (more data, more kill cycles) are marked slow; each has a short form that
always runs."""
from __future__ import annotations

import re
import signal
import threading
import time

import pytest
import redis

from tests.integration.replication_support import (
    admin, assert_same_shards, check_loaded, info, load, logical_dump, raw_shards, spec_env,
    start_group, sync_counts, wait_in_step, wait_until,
)

NOQUORUM = "Insufficient replicas for write quorum"


class Loader(threading.Thread):
    """Writes k<i> = v<i> to the master as fast as it answers, until stopped; remembers which
    writes were acknowledged."""

    def __init__(self, node, prefix: str = "ld:", size: int = 64) -> None:
        super().__init__(daemon=True)
        self.node = node
        self.prefix = prefix
        self.pad = "x" * size
        self.acked: list[int] = []
        self.failed: list[tuple[int, str]] = []
        self.halt = threading.Event()
        self.i = 0

    def run(self) -> None:
        c = self.node.client(socket_timeout=10)
        while not self.halt.is_set():
            try:
                c.set(f"{self.prefix}{self.i}", f"v{self.i}{self.pad}")
                self.acked.append(self.i)
            except redis.RedisError as e:
                self.failed.append((self.i, str(e)))
                time.sleep(0.01)
            self.i += 1
        c.close()

    def stop(self) -> "Loader":
        self.halt.set()
        self.join(30)
        return self

    def check(self, client: redis.Redis) -> None:
        """Every acknowledged write is there."""
        keys = [f"{self.prefix}{i}" for i in self.acked]
        for lo in range(0, len(keys), 500):
            values = client.mget(keys[lo:lo + 500])
            for i, v in zip(self.acked[lo:lo + 500], values):
                assert v == f"v{i}{self.pad}".encode(), f"{self.prefix}{i}"


def compare_all(master, replicas, dbs=(0,)) -> None:
    """Same contents through Redis commands, then (after stopping) shard by shard on disk."""
    wait_in_step(master, replicas)
    with master.client() as m:
        expected = logical_dump(m, dbs)
    for r in replicas:
        with r.client() as c:
            assert logical_dump(c, dbs) == expected
    ids = [n.env["NODE_ID"] for n in (master, *replicas)]
    for n in (master, *replicas):
        assert n.stop() == 0
    reference = raw_shards(master, ids[0])
    for r, node_id in zip(replicas, ids[1:]):
        assert_same_shards(reference, raw_shards(r, node_id), node_id)


def count_in_log(node, pattern: str) -> int:
    return len(re.findall(pattern, node.logs()))


# --- the "how it will be checked" scenario ------------------------------------------

def test_checker_scenario(photon_factory):
    """One master and two replicas started with the spec's environment variables, 1,000 keys
    loaded on the master and read back from each replica, a write sent to a replica, WAIT,
    one then both replicas killed, both restarted on their old data and catching up."""
    master = photon_factory(name="master1", env=spec_env("master1", "master"))
    replicas = [photon_factory(name=f"replica{i}",
                               env=spec_env(f"replica{i}", "replica", master))
                for i in (1, 2)]
    m = master.client()
    for i in range(1000):  # no waiting for the replicas to be in step first
        assert m.set(f"key:{i}", f"value:{i}") is True
    for node in replicas:
        with node.client() as r:
            values = r.mget([f"key:{i}" for i in range(1000)])
            missing = [i for i, v in enumerate(values) if v != f"value:{i}".encode()]
            if missing:  # the replica that did not answer the quorum may be a moment behind
                wait_until(lambda: r.get("key:999") == b"value:999", 2, what="replica")
                values = r.mget([f"key:{i}" for i in range(1000)])
            assert values == [f"value:{i}".encode() for i in range(1000)]
            # a write sent to a replica: forwarded, answered with the master's reply
            assert r.set(f"via:{node.port}", "x") is True
            assert r.get(f"via:{node.port}") == b"x"
            assert m.get(f"via:{node.port}") == b"x"
    assert m.wait(2, 2000) == 2
    full_before, _ = sync_counts(master)

    # one replica down: master + one replica still make the quorum of 2
    replicas[0].kill()
    assert m.set("after:one", "1") is True
    assert m.wait(2, 100) == 1
    # both down: refused at once, before anything is written
    replicas[1].kill()
    wait_until(lambda: info(master)["connected_slaves"] == 0, 5, what="links dropped")
    t = time.monotonic()
    with pytest.raises(redis.ResponseError, match=NOQUORUM) as e:
        m.set("after:both", "2")
    assert time.monotonic() - t < 0.5
    assert str(e.value) == "NOQUORUM Insufficient replicas for write quorum"
    with pytest.raises(redis.ResponseError, match=NOQUORUM):
        m.hset("after:hash", "f", "v")
    assert m.get("after:both") is None and m.exists("after:hash") == 0
    assert m.get("after:one") == b"1"  # reads go on

    # both back on their old data: they catch up from their positions
    for node in replicas:
        node.start()
    wait_in_step(master, replicas)
    assert m.set("after:back", "3") is True
    for node in replicas:
        with node.client() as r:
            assert r.get("after:one") == b"1"
            assert r.get("after:back") == b"3"
            assert r.get("after:both") is None
            assert r.dbsize() == m.dbsize()
    full_after, partial_after = sync_counts(master)
    assert full_after == full_before  # no full resync needed
    assert partial_after >= 2
    m.close()


# --- replicas killed and brought back -------------------------------------------------------

def _kill_replica_mid_load(photon_factory, cycles: int, pause: float) -> None:
    master, replicas = start_group(photon_factory)
    loader = Loader(master)
    loader.start()
    for _ in range(cycles):
        time.sleep(pause)
        victim = replicas[0]
        victim.kill()
        n = len(loader.acked)
        wait_until(lambda: len(loader.acked) > n + 200, 20, what="writes without the replica")
        victim.start()
        wait_until(lambda: info(victim)["master_link_status"] == "up", 20, what="replica back")
    time.sleep(pause)
    loader.stop()
    assert not loader.failed, loader.failed[:3]
    assert len(loader.acked) > 500
    full, partial = sync_counts(master)
    assert full == 2  # only the first sync of each replica
    assert partial >= cycles
    assert count_in_log(replicas[0], "Partial resync accepted") >= cycles
    wait_in_step(master, replicas)
    for node in (master, *replicas):
        with node.client() as c:
            loader.check(c)
    compare_all(master, replicas)


def test_kill_replica_mid_load_partial_resync(photon_factory):
    _kill_replica_mid_load(photon_factory, cycles=1, pause=0.3)


@pytest.mark.slow
def test_kill_replica_mid_load_many_times(photon_factory):
    _kill_replica_mid_load(photon_factory, cycles=5, pause=1.0)


def test_replica_away_past_backlog_gets_full_sync(photon_factory):
    master, replicas = start_group(photon_factory, args=("--repl-backlog-size", "16kb"))
    m = master.client()
    load(m, 500, prefix="a:")
    wait_in_step(master, replicas)
    replicas[0].kill()
    load(m, 4000, prefix="b:", size=100)  # ~30 kB per shard, past a 16 kB backlog
    m.delete(*[f"a:{i}" for i in range(0, 500, 2)])
    replicas[0].start()
    wait_in_step(master, replicas)
    full, _ = sync_counts(master)
    assert full == 3  # two at start-up, one now
    assert count_in_log(replicas[0], r"Full sync from master done: \d+ shard") >= 2
    view = admin(master)
    (x,) = [x for x in view["replicas"] if x["id"] == "replica1"]
    assert x["full_syncs"] == 1 and x["full_sync_shards"] > 0
    with replicas[0].client() as r:
        check_loaded(r, 4000, prefix="b:", size=100)
        assert r.exists(*[f"a:{i}" for i in range(0, 500, 2)]) == 0
        assert r.dbsize() == m.dbsize()
    m.close()
    compare_all(master, replicas)


def test_kill_replica_mid_full_sync_keeps_old_data(photon_factory):
    """A replica killed during its full sync restarts on its previous shards (whole: synced
    shards have the new data, the others the old), then completes. Two shards of 1.5 MB
    each: past the in-memory limit, so each goes through a fresh LevelDB swapped in."""
    master, replicas = start_group(photon_factory, shards=2,
                                   args=("--repl-backlog-size", "16kb"))
    m = master.client()
    load(m, 300, prefix="old:")
    wait_in_step(master, replicas)
    replica = replicas[0]
    replica.kill()
    load(m, 3000, prefix="new:", size=1000)
    m.config_set("repl-sync-rate", "1mb")
    replica.start()
    wait_until(lambda: info(replica).get("master_sync_read_bytes", 0) > 1_100_000, 15,
               what="1.1 MB of the first shard received")
    replica.kill()
    assert list(replica.data_dir.glob("replica1/shard-*.sync"))  # the interrupted sync
    m.config_set("repl-sync-rate", "0")
    replica.start()
    with replica.client() as r:
        # whatever the moment, every old key is readable (no shard is half replaced)
        assert r.mget([f"old:{i}" for i in range(300)]) == [
            f"v{i}".encode() for i in range(300)]
    wait_in_step(master, replicas)
    assert not list(replica.data_dir.glob("replica1/shard-*.sync"))
    assert not list(replica.data_dir.glob("replica1/shard-*.old"))
    with replica.client() as r:
        check_loaded(r, 3000, prefix="new:", size=1000)
    m.close()
    compare_all(master, replicas)


# --- the master killed or restarted -------------------------------------------------------

def test_kill_master_mid_full_sync_and_restart(photon_factory):
    master, replicas = start_group(photon_factory, args=("--repl-backlog-size", "16kb"))
    m = master.client()
    load(m, 300, prefix="old:")
    wait_in_step(master, replicas)
    replica = replicas[1]
    replica.kill()
    load(m, 4000, prefix="new:", size=250)  # ~1 MB, past the backlog
    m.close()
    master.kill()
    master.args += ["--repl-sync-rate", "400kb"]
    master.start()
    replica.start()
    wait_until(lambda: info(replica)["master_sync_in_progress"] == 1, 10, what="sync start")
    time.sleep(0.6)
    master.kill()  # mid full sync
    wait_until(lambda: info(replica)["master_link_status"] == "down", 5, what="link down")
    with replica.client() as r:
        assert r.mget([f"old:{i}" for i in range(300)]) == [
            f"v{i}".encode() for i in range(300)]
        ri = r.info("replication")
        assert ri["master_sync_in_progress"] == 0
        assert ri["master_link_down_since_seconds"] >= 0
    assert "abandoned; the shard keeps its previous data" in replica.logs()
    master.args = master.args[:-2]
    master.start()
    wait_in_step(master, replicas)
    with master.client() as m:
        assert m.set("after", "1") is True
    # the replica that was in step continued from its position: one full sync in all (the
    # interrupted one restarted), the in-step replica resumed partially
    assert count_in_log(replicas[0], "Partial resync accepted") >= 1
    assert count_in_log(replicas[0], "Full sync from master done") == 1  # start-up only
    compare_all(master, replicas)


def test_master_restart_keeps_replicas_in_step(photon_factory):
    """Neither a kill -9 nor a clean restart of the master forces a full resync of replicas
    that were in step: their positions are the master's."""
    master, replicas = start_group(photon_factory)
    m = master.client()
    load(m, 1000, prefix="r:")
    m.close()
    wait_in_step(master, replicas)
    for how in ("kill", "stop"):
        master.kill() if how == "kill" else master.stop()
        master.start()
        wait_in_step(master, replicas)
        full, partial = sync_counts(master)  # counters of the fresh process
        assert full == 0 and partial == 2, how
        with master.client() as m:
            assert m.set(f"after:{how}", "1") is True
            assert m.wait(2, 2000) == 2
    for r in replicas:
        assert count_in_log(r, "Full sync from master done") == 1  # the first start only
        assert count_in_log(r, "Partial resync accepted") == 2
    compare_all(master, replicas)


# --- quorum ---------------------------------------------------------------------------------

def test_quorum_refusals_one_and_two_replicas_down(photon_factory):
    # write quorum 3: every replica needed, one down is enough to refuse
    master, replicas = start_group(photon_factory, args=("--write-quorum", "3"))
    m = master.client(single_connection_client=True)
    assert m.set("q:ok", "1") is True
    replicas[0].kill()
    wait_until(lambda: info(master)["connected_slaves"] == 1, 5, what="link dropped")
    t = time.monotonic()
    with pytest.raises(redis.ResponseError, match=NOQUORUM):
        m.set("q:one", "x")
    assert time.monotonic() - t < 0.5
    assert m.exists("q:one") == 0
    # a transaction holding a write is discarded whole at EXEC
    m.execute_command("MULTI")
    with pytest.raises(redis.ResponseError, match=NOQUORUM):
        m.execute_command("SET", "q:tx", "x")
    with pytest.raises(redis.ResponseError):
        m.execute_command("EXEC")
    assert m.exists("q:tx") == 0
    # reads, and writes through the surviving replica, are refused the same way
    with replicas[1].client() as r:
        assert r.get("q:ok") == b"1"
        with pytest.raises(redis.ResponseError, match=NOQUORUM):
            r.set("q:via", "x")
    assert m.exists("q:via") == 0
    assert admin(master, "/_health")["status"] == "degraded"
    # write quorum 2, at run time: one replica is enough again
    m.config_set("write-quorum", "2")
    assert m.set("q:two", "x") is True
    replicas[1].kill()
    wait_until(lambda: info(master)["connected_slaves"] == 0, 5, what="link dropped")
    t = time.monotonic()
    for cmd in (("SET", "q:none", "x"), ("INCR", "q:n"), ("LPUSH", "q:l", "a"),
                ("DEL", "q:ok"), ("FLUSHALL",)):
        with pytest.raises(redis.ResponseError, match=NOQUORUM):
            m.execute_command(*cmd)
    assert time.monotonic() - t < 0.5
    assert m.exists("q:none", "q:n", "q:l") == 0 and m.get("q:ok") == b"1"
    assert m.wait(1, 50) == 0  # WAIT counts, it does not fail
    m.close()


def test_quorum_timeout_with_stopped_replica(photon_factory):
    """Replicas connected but not answering (SIGSTOP): the write fails with NOQUORUM after
    --quorum-timeout-ms, stays applied on the master (a read of it waits for the quorum too)
    and reaches the replica later."""
    master, replicas = start_group(photon_factory, replicas=1,
                                   args=("--quorum-timeout-ms", "400"))
    replica = replicas[0]
    m = master.client()
    assert m.set("t:before", "1") is True
    replica.proc.send_signal(signal.SIGSTOP)
    try:
        t = time.monotonic()
        with pytest.raises(redis.ResponseError, match=NOQUORUM):
            m.set("t:slow", "x")
        elapsed = time.monotonic() - t
        assert 0.35 < elapsed < 1.5
        assert m.get("t:before") == b"1"  # another shard: nothing in flight there
        with pytest.raises(redis.ResponseError, match=NOQUORUM):
            m.get("t:slow")  # it would show a write no quorum holds
        assert m.info("errorstats")["errorstat_NOQUORUM"]["count"] >= 2
        # the other clients' writes time out the same way, each after its own wait
        t = time.monotonic()
        with pytest.raises(redis.ResponseError, match=NOQUORUM):
            m.incr("t:n")
        assert time.monotonic() - t > 0.35
    finally:
        replica.proc.send_signal(signal.SIGCONT)
    wait_in_step(master, replicas)
    assert m.get("t:slow") == b"x"  # documented: the write is not undone
    with replica.client() as r:
        assert r.get("t:slow") == b"x"
        assert r.get("t:n") == b"1"
    assert m.set("t:after", "1") is True
    m.close()


# --- roles at run time ----------------------------------------------------------------------

def test_replicaof_at_run_time_and_promotion(photon_factory):
    master, replicas = start_group(photon_factory, replicas=1)
    spare = photon_factory(name="spare", env={"NODE_ID": "spare"})  # standalone
    m = master.client()
    load(m, 500, prefix="p:")
    m.hset("p:h", mapping={"a": "1", "b": "2"})
    with spare.client() as s:
        s.set("spare:own", "gone after the sync")
        assert s.execute_command("REPLICAOF", "127.0.0.1", str(master.port)) == b"OK"
        assert s.execute_command("REPLICAOF", "127.0.0.1", str(master.port)) == (
            b"OK Already connected to specified master")
        wait_in_step(master, [replicas[0], spare])
        assert s.get("spare:own") is None
        check_loaded(s, 500, prefix="p:")
        assert s.execute_command("ROLE")[0] == b"slave"
        with pytest.raises(redis.ResponseError, match="Invalid master port"):
            s.execute_command("REPLICAOF", "127.0.0.1", "0")
    wait_in_step(master, [replicas[0], spare])
    # the master goes away; replica1 is promoted and keeps everything
    m.close()
    master.kill()
    old = replicas[0]
    with old.client() as r:
        wait_until(lambda: r.info("replication")["master_link_status"] == "down", 5,
                   what="link down")
        assert r.get("p:1") == b"v1"  # stale reads go on (until dead-after)
        # (a write sent now would wait for the group's failover: test_failover.py)
        assert r.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
        assert r.execute_command("ROLE")[0] == b"master"
        assert r.info("replication")["role"] == "master"
        check_loaded(r, 500, prefix="p:")
        # a write needs the quorum: the spare has to follow the new master first
        with pytest.raises(redis.ResponseError, match=NOQUORUM):
            r.set("p:new", "1")
    with spare.client() as s:
        assert s.execute_command("SLAVEOF", "127.0.0.1", str(old.port)) is True
    wait_in_step(old, [spare])
    # it continued from its position under the promoted node's new history: no full sync
    full, partial = sync_counts(old)
    assert full == 0 and partial == 1
    with old.client() as r:
        assert r.set("p:new", "1") is True
        assert r.wait(1, 1000) == 1
        assert r.info("replication")["master_replid2"] != 0
    with spare.client() as s:
        assert s.get("p:new") == b"1"
        check_loaded(s, 500, prefix="p:")
        assert s.hgetall("p:h") == {b"a": b"1", b"b": b"2"}
    # the old master comes back, learns the promoted node's newer epoch from the nodes it
    # knew, and follows it by itself: it wrote nothing after the promotion point, so it
    # continues from its own offsets
    master.start()
    with master.client() as om:
        wait_until(lambda: om.execute_command("ROLE")[0] == b"slave", 20,
                   what="the old master following the promoted node")
        assert om.execute_command("REPLICAOF", "127.0.0.1", str(old.port)) == (
            b"OK Already connected to specified master")
    wait_in_step(old, [spare, master])
    full, partial = sync_counts(old)
    assert full == 0 and partial == 2
    with master.client() as om:
        assert om.get("p:new") == b"1"
        assert om.set("p:via-old", "2") is True  # forwarded to the new master
    with old.client() as r:
        assert r.get("p:via-old") == b"2"
    with spare.client() as s:
        # REPLICAOF NO ONE on a standalone node after following: a master again, data kept
        assert s.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
        assert s.set("spare:mine", "1") is True  # standalone: no quorum
        check_loaded(s, 500, prefix="p:")


# --- throttled full sync while writes go on ---------------------------------------------------

def _slow_full_sync(photon_factory, keys: int, size: int, rate: str, min_seconds: float):
    master, replicas = start_group(photon_factory, replicas=1)
    m = master.client()
    load(m, keys, prefix="big:", size=size)
    m.config_set("repl-sync-rate", rate)
    loader = Loader(master, prefix="live:")
    loader.start()
    late = photon_factory(name="replica2", env=spec_env("replica2", "replica", master))
    wait_until(lambda: info(late)["master_sync_in_progress"] == 1, 10, what="sync start")
    t = time.monotonic()
    seen_syncing = admin(master)["replicas"]
    assert any(x["syncing_shards"] for x in seen_syncing)
    wait_until(lambda: info(late)["master_sync_in_progress"] == 0, 60, interval=0.1,
               what="sync end")
    took = time.monotonic() - t
    time.sleep(0.3)
    loader.stop()
    assert not loader.failed, loader.failed[:3]  # writes never stopped, quorum via replica1
    assert took > min_seconds
    assert len(loader.acked) > 100
    assert count_in_log(master, r"Full sync to replica replica2: shard \d+") >= 1  # progress
    nodes = [replicas[0], late]
    wait_in_step(master, nodes)
    with late.client() as r:
        check_loaded(r, keys, prefix="big:", size=size)
        loader.check(r)
    m.close()
    compare_all(master, nodes)


def test_slow_full_sync_while_writes_continue(photon_factory):
    _slow_full_sync(photon_factory, keys=3000, size=500, rate="600kb", min_seconds=1.5)


@pytest.mark.slow
def test_slow_full_sync_big(photon_factory):
    _slow_full_sync(photon_factory, keys=20000, size=1000, rate="4mb", min_seconds=3)
