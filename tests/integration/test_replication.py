"""Replication with real processes: one master and two replicas started with the spec's
environment variables (NODE_ID, NODE_ROLE, MASTER_ADDR), sharing one group per module for the
tests that leave the nodes running; every data type replicating, writes sent to replicas,
READONLY clients, read your writes, WAIT, INFO / ROLE / /_admin/replication."""
from __future__ import annotations

import socket
import threading
import time

import pytest
import redis

from tests.integration.replication_support import (
    admin, assert_same_shards, check_loaded, in_step, info, load, logical_dump, raw_shards,
    spec_env, start_group, wait_in_step, wait_until,
)
from tests.support import PhotonProcess, raw_exchange

READONLY_ERR = "READONLY You can't write against a read only replica."


@pytest.fixture(scope="module")
def group(tmp_path_factory):
    root = tmp_path_factory.mktemp("repl")
    started: list[PhotonProcess] = []

    def make(*args, name="node", env=None):
        node = PhotonProcess(root / f"{name}-{len(started)}", *args, env=env)
        started.append(node)
        return node.start()

    try:
        master, replicas = start_group(make)
        yield master, replicas
    finally:
        for node in started:
            node.kill()


@pytest.fixture
def nodes(group):
    """The shared group, in step, with clients; each test uses its own key names."""
    master, replicas = group
    wait_in_step(master, replicas)
    m = master.client()
    rs = [r.client() for r in replicas]
    yield m, rs
    for c in (m, *rs):
        c.close()


def settle(group) -> None:
    master, replicas = group
    wait_in_step(master, replicas)


# --- the spec's start-up and the basic flow ----------------------------------------------

def test_roles_from_spec_environment(group, nodes):
    master, replicas = group
    m, rs = nodes
    assert m.execute_command("ROLE")[0] == b"master"
    for r, node in zip(rs, replicas):
        role = r.execute_command("ROLE")
        assert role[:3] == [b"slave", b"127.0.0.1", master.port]
        assert role[3] == b"connected"
        ri = r.info("replication")
        assert ri["role"] == "slave" and ri["master_link_status"] == "up"
        assert ri["master_port"] == master.port
    mi = m.info("replication")
    assert mi["role"] == "master" and mi["connected_slaves"] == 2
    assert mi["write_quorum"] == 2


def test_thousand_keys_read_back_from_each_replica(nodes):
    m, rs = nodes
    load(m, 1000, prefix="bulk:", batch=1)  # one request per key, as a plain loader
    check_loaded(m, 1000, prefix="bulk:")
    for r in rs:
        # quorum 2: one replica held each write when it was answered; the other follows
        # within milliseconds
        wait_until(lambda: r.get("bulk:999") == b"v999", 5, what="last key on replica")
        check_loaded(r, 1000, prefix="bulk:")
        assert r.dbsize() == m.dbsize()


def test_write_sent_to_replica_is_answered_by_master(group, nodes):
    m, rs = nodes
    r = rs[0]
    assert r.set("fwd:a", "1") is True
    assert r.get("fwd:a") == b"1"  # read your writes on the same connection
    assert m.get("fwd:a") == b"1"
    assert r.incr("fwd:n") == 1
    assert r.incr("fwd:n") == 2
    # the master's own errors come back as they are
    r.set("fwd:s", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.lpush("fwd:s", "a")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        r.incr("fwd:s")
    # replies in the client's protocol, byte for byte
    with group[1][1].client(protocol=3) as r3:
        assert r3.hset("fwd:h", mapping={"f": "v"}) == 1
        assert r3.hgetall("fwd:h") == {b"f": b"v"}
        assert r3.zadd("fwd:z", {"a": 1.5}) == 1
        assert r3.zincrby("fwd:z", 1, "a") == 2.5
    settle(group)
    for c in rs:
        assert c.get("fwd:n") == b"2"
        assert c.hgetall("fwd:h") == {b"f": b"v"}


def test_forwarded_select_and_blocking_pop(group, nodes):
    m, rs = nodes
    r = group[1][0].client(db=3)
    try:
        assert r.set("fwd:db3", "x")
        assert m.get("fwd:db3") is None
        m.execute_command("SELECT", 3)
        assert m.get("fwd:db3") == b"x"
        m.execute_command("SELECT", 0)
        # a blocking pop sent to a replica waits on the master and is woken by a push there
        out = {}

        def pop():
            with group[1][1].client() as c:
                out["v"] = c.blpop(["fwd:q"], timeout=5)

        t = threading.Thread(target=pop)
        t.start()
        time.sleep(0.3)
        assert m.rpush("fwd:q", "job") == 1
        t.join(10)
        assert out["v"] == (b"fwd:q", b"job")
        assert m.exists("fwd:q") == 0
    finally:
        r.close()


def test_wait(group, nodes):
    m, rs = nodes
    assert m.wait(0, 0) == 2  # no write yet on this connection: every replica counts
    m.set("wait:a", "1")
    assert m.wait(2, 1000) == 2
    assert m.wait(1, 0) == 2  # already satisfied: timeout 0 does not block
    t = time.monotonic()
    assert m.wait(3, 200) == 2  # only two replicas: the timeout ends it, with the count
    assert 0.15 < time.monotonic() - t < 2
    with pytest.raises(redis.ResponseError, match="timeout is negative"):
        m.wait(1, -1)
    with pytest.raises(redis.ResponseError, match="timeout is not an integer"):
        m.execute_command("WAIT", 1, "x")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        m.execute_command("WAIT", "x", 0)
    with pytest.raises(redis.ResponseError, match="WAIT cannot be used with replica"):
        rs[0].wait(1, 0)
    # in MULTI, WAIT answers at once with the count
    p = m.pipeline(transaction=True)
    p.set("wait:b", "2")
    p.wait(2, 0)
    assert p.execute() == [True, 2]
    # WAIT with timeout 0 blocks until the replicas acknowledge (here: at once)
    m.set("wait:c", "3")
    assert m.wait(2, 0) == 2


def test_wait_timeout_zero_blocks_until_acknowledged(group, nodes):
    m, rs = nodes
    # three replicas will never hold it: WAIT 3 0 blocks, as Redis does
    out, closed = raw_exchange(group[0].port, b"SET wait0:a 1\r\nWAIT 3 0\r\n", wait=0.5)
    assert out == b"+OK\r\n" and not closed
    # the hung-up waiter is forgotten; the master goes on
    assert m.set("wait0:b", "2") is True
    assert m.wait(2, 0) == 2


def test_reads_forwarded_when_read_replicas_are_off(group, nodes):
    master, replicas = group
    m, rs = nodes
    r = rs[0]
    m.set("rr:k", "v")
    settle(group)
    calls = lambda: m.info("commandstats").get("cmdstat_get", {}).get("calls", 0)  # noqa: E731
    before = calls()
    assert r.get("rr:k") == b"v"
    assert calls() == before  # served by the replica
    assert r.config_set("enable-read-replicas", "no")
    try:
        assert r.get("rr:k") == b"v"
        assert calls() == before + 1  # asked of the master
        with group[1][0].client(single_connection_client=True) as direct:
            direct.execute_command("READONLY")  # direct replica access still reads here
            assert direct.get("rr:k") == b"v"
        assert calls() == before + 1
    finally:
        r.config_set("enable-read-replicas", "yes")


def test_all_types_replicate(group, nodes):
    m, rs = nodes
    m.hset("t:hash", mapping={f"f{i}": f"v{i}" for i in range(300)})
    m.hincrby("t:hash", "n", 5)
    m.hdel("t:hash", "f1", "f2")
    m.rpush("t:list", *[f"e{i}" for i in range(200)])
    m.lpush("t:list", "head")
    m.lset("t:list", 10, "ten")
    m.linsert("t:list", "BEFORE", "e50", "mid")
    m.lrem("t:list", 0, "e3")
    m.ltrim("t:list", 1, 150)
    m.rpoplpush("t:list", "t:list2")
    m.sadd("t:set", *[f"m{i}" for i in range(150)])
    m.srem("t:set", "m7")
    m.sadd("t:iset", *range(20))
    m.smove("t:set", "t:set2", "m8")
    m.zadd("t:zset", {f"z{i}": i * 1.5 for i in range(200)})
    m.zincrby("t:zset", 100, "z3")
    m.zremrangebyscore("t:zset", 10, 20)
    m.zadd("t:zset2", {"a": 1, "b": 2})
    m.zpopmin("t:zset2")
    m.set("t:str", "hello")
    m.append("t:str", " world")
    m.setrange("t:str", 0, "J")
    m.setbit("t:bits", 100, 1)
    m.incrbyfloat("t:float", 1.25)
    m.mset({"t:m1": "1", "t:m2": "2"})
    m.rename("t:m2", "t:m3")
    m.copy("t:hash", "t:hashcopy")
    # expiry: a TTL that stays, one removed, one that passes (the master deletes it)
    m.set("t:ttl", "v", ex=1000)
    m.hset("t:ttlhash", "f", "v")
    m.pexpire("t:ttlhash", 500000)
    m.set("t:persist", "v", ex=100)
    m.persist("t:persist")
    m.set("t:short", "v", px=150)
    m.rpush("t:shortlist", "a", "b")
    m.pexpire("t:shortlist", 150)
    # big keys dropped in O(1), their subkeys reclaimed on every node
    m.hset("t:bighash", mapping={f"f{i}": "x" * 20 for i in range(5000)})
    m.zadd("t:bigzset", {f"m{i}": i for i in range(3000)})
    m.delete("t:bighash")
    m.unlink("t:bigzset")
    m.sadd("t:bigset", *range(3000))
    m.set("t:bigset", "now a string")  # overwrite drops the set's subkeys
    # MULTI/EXEC on the master
    p = m.pipeline(transaction=True)
    p.incr("t:tx")
    p.lpush("t:txlist", "a")
    p.hset("t:txhash", "f", "1")
    p.execute()
    wait_until(lambda: m.exists("t:short", "t:shortlist") == 0, 5, what="expiry on master")
    settle(group)
    expected = logical_dump(m)
    for r in rs:
        got = logical_dump(r)
        assert got == expected
        assert r.ttl("t:ttl") > 900
        assert r.pttl("t:ttlhash") > 400000
        assert r.ttl("t:persist") == -1
        assert r.exists("t:short", "t:shortlist", "t:bighash", "t:bigzset") == 0
        assert r.object("encoding", "t:iset") == m.object("encoding", "t:iset")
        assert r.object("encoding", "t:hash") == m.object("encoding", "t:hash")
        assert r.dbsize() == m.dbsize()


def test_expired_key_is_gone_on_replica_before_master_deletes_it(group, nodes):
    m, rs = nodes
    m.set("exp:k", "v", px=300)
    m.rpush("exp:l", "a")
    m.pexpire("exp:l", 300)
    settle(group)
    assert rs[0].get("exp:k") == b"v"
    time.sleep(0.4)
    for r in rs:  # logically expired on the replica, whether or not the DEL arrived yet
        assert r.get("exp:k") is None
        assert r.lrange("exp:l", 0, -1) == []
        assert r.exists("exp:k", "exp:l") == 0


def test_multi_exec_through_replica(group, nodes):
    m, rs = nodes
    r = rs[0]
    p = r.pipeline(transaction=True)
    p.set("tx:a", "1")
    p.incr("tx:a")
    p.get("tx:a")
    p.rpush("tx:l", "x", "y")
    assert p.execute() == [True, 2, b"2", 2]
    assert r.get("tx:a") == b"2"
    assert m.lrange("tx:l", 0, -1) == [b"x", b"y"]
    # a read-only transaction is answered by the replica itself
    p = r.pipeline(transaction=True)
    p.get("tx:a")
    p.lrange("tx:l", 0, -1)
    assert p.execute() == [b"2", [b"x", b"y"]]
    # WATCH on the replica: a change seen by the replica aborts the forwarded EXEC
    with group[1][0].client(single_connection_client=True) as w:
        w.execute_command("WATCH", "tx:w")
        m.set("tx:w", "changed")
        wait_until(lambda: w.execute_command("EXISTS", "tx:w") == 1, 5, what="replicated")
        w.execute_command("MULTI")
        w.execute_command("SET", "tx:w", "mine")
        assert w.execute_command("EXEC") is None
        assert m.get("tx:w") == b"changed"
        # an unchanged WATCH lets it through
        w.execute_command("WATCH", "tx:w2")
        w.execute_command("MULTI")
        w.execute_command("SET", "tx:w2", "mine")
        assert w.execute_command("EXEC") == [b"OK"]
    assert m.get("tx:w2") == b"mine"
    # queueing errors abort as in Redis
    p = r.pipeline(transaction=True)
    p.set("tx:bad", "1")
    p.execute_command("NOSUCHCOMMAND")
    with pytest.raises(redis.ResponseError):
        p.execute()
    assert m.exists("tx:bad") == 0


def test_readonly_clients_get_readonly_error(group, nodes):
    m, rs = nodes
    m.set("ro:k", "v")
    settle(group)
    with group[1][0].client(single_connection_client=True) as r:
        assert r.execute_command("READONLY") is True
        assert r.get("ro:k") == b"v"
        for args in (("SET", "ro:k", "x"), ("DEL", "ro:k"), ("LPUSH", "ro:l", "a"),
                     ("FLUSHALL",), ("EXPIRE", "ro:k", "10")):
            with pytest.raises(redis.ReadOnlyError, match="You can't write against a read only"):
                r.execute_command(*args)
        # in a transaction the write is refused when queued, and EXEC aborts
        r.execute_command("MULTI")
        with pytest.raises(redis.ReadOnlyError):
            r.execute_command("SET", "ro:k", "x")
        with pytest.raises(redis.exceptions.ExecAbortError):
            r.execute_command("EXEC")
        assert r.execute_command("READWRITE") is True
        assert r.set("ro:k", "forwarded") is True
    assert m.get("ro:k") == b"forwarded"
    # a master ignores READONLY
    with group[0].client(single_connection_client=True) as c:
        c.execute_command("READONLY")
        assert c.set("ro:k2", "v") is True


def test_readonly_error_bytes(group):
    port = group[1][1].port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"READONLY\r\nSET a b\r\n")
        data = b""
        while data.count(b"\r\n") < 2:
            data += s.recv(4096)
    assert data == b"+OK\r\n-" + READONLY_ERR.encode() + b"\r\n"


def test_read_your_writes_through_read_replicas(group, nodes):
    m, rs = nodes
    for r in rs:
        for i in range(200):
            assert r.set("ryw:k", i) is True
            assert r.get("ryw:k") == str(i).encode()
            n = r.incr("ryw:n")
            assert r.get("ryw:n") == str(n).encode()
            r.rpush("ryw:l", i)
            assert r.lindex("ryw:l", -1) == str(i).encode()
    # pipelines too: every reply after the write sees it
    p = rs[1].pipeline(transaction=False)
    for i in range(50):
        p.set(f"ryw:p{i}", i)
        p.get(f"ryw:p{i}")
    out = p.execute()
    assert out[1::2] == [str(i).encode() for i in range(50)]


def test_info_role_and_admin_fields(group, nodes):
    master, replicas = group
    m, rs = nodes
    m.set("info:k", "v")
    settle(group)
    mi = m.info("replication")
    for field in ("role", "connected_slaves", "master_replid", "master_repl_offset",
                  "repl_backlog_active", "repl_backlog_size", "second_repl_offset"):
        assert field in mi
    assert len(mi["master_replid"]) == 40
    assert mi["master_repl_offset"] > 0
    slaves = sorted((mi[f"slave{i}"] for i in range(2)), key=lambda s: s["port"])
    assert [s["port"] for s in slaves] == sorted(r.port for r in replicas)
    for s in slaves:
        assert s["ip"] == "127.0.0.1" and s["state"] == "online"
        assert s["offset"] == mi["master_repl_offset"] and s["lag"] <= 1
    for r in rs:
        ri = r.info("replication")
        assert ri["role"] == "slave"
        assert ri["master_host"] == "127.0.0.1"
        assert ri["master_link_status"] == "up"
        assert ri["master_last_io_seconds_ago"] <= 2
        assert ri["master_sync_in_progress"] == 0
        assert ri["slave_repl_offset"] == mi["master_repl_offset"]
        assert ri["master_replid"] == mi["master_replid"]
        assert ri["slave_read_only"] == 1
    role = m.execute_command("ROLE")
    assert role[0] == b"master" and role[1] == mi["master_repl_offset"]
    assert sorted(int(x[1]) for x in role[2]) == sorted(r.port for r in replicas)
    assert all(int(x[2]) == mi["master_repl_offset"] for x in role[2])
    rrole = rs[0].execute_command("ROLE")
    assert rrole[4] == mi["master_repl_offset"]
    # the HTTP view
    view = admin(master)
    assert view["role"] == "master" and view["node_id"] == "master1"
    assert view["write_quorum"] == 2
    assert view["offset"] == mi["master_repl_offset"]
    assert sorted(x["id"] for x in view["replicas"]) == ["replica1", "replica2"]
    for x in view["replicas"]:
        assert x["state"] == "online"
        assert x["lag_bytes"] == 0 and x["lag_seconds"] == 0
        assert x["offset"] == view["offset"]
        assert x["last_ack_seconds_ago"] < 2
    rview = admin(replicas[0])
    assert rview["role"] == "replica" and rview["master"]["link"] == "connected"
    assert rview["master"]["id"] == "master1"
    assert rview["master"]["addr"] == f"127.0.0.1:{master.port}"
    health = admin(replicas[0], "/_health")
    assert health["role"] == "replica"
    assert admin(master, "/_health")["connected_replicas"] == 2
    # INFO stats counts the syncs: two replicas, each fully synced once at start-up
    stats = m.info("stats")
    assert stats["sync_full"] >= 2


def test_replicas_lag_visible_when_replica_stalls(group, nodes):
    """A SIGSTOPped replica: its lag grows in bytes and seconds, writes still meet the quorum
    with the other one, and it catches up when it continues."""
    import signal

    master, replicas = group
    m, rs = nodes
    stalled = replicas[1]
    stalled.proc.send_signal(signal.SIGSTOP)
    try:
        for i in range(50):
            assert m.set(f"lag:{i}", "x" * 100) is True
        time.sleep(1.2)
        view = admin(master)
        (x,) = [x for x in view["replicas"] if x["id"] == "replica2"]
        assert x["lag_bytes"] > 5000
        assert x["lag_seconds"] >= 1
        (y,) = [y for y in view["replicas"] if y["id"] == "replica1"]
        assert y["lag_bytes"] == 0
        # past the quorum timeout (2 s) the master's log says it is falling behind
        wait_until(lambda: "Replica replica2 is falling behind" in master.logs(), 5,
                   what="falling-behind log line")
    finally:
        stalled.proc.send_signal(signal.SIGCONT)
    settle(group)
    assert rs[1].get("lag:49") == b"x" * 100
    wait_until(lambda: "Replica replica2 caught up" in master.logs(), 5, what="caught-up log")


def test_flushall_replicates(group, nodes):
    m, rs = nodes
    m.set("fl:a", "1")
    m.execute_command("SELECT", 2)
    m.hset("fl:h", mapping={f"f{i}": i for i in range(100)})
    m.execute_command("SELECT", 0)
    settle(group)
    assert rs[0].dbsize() > 0
    m.flushall()
    settle(group)
    for r in rs:
        assert r.dbsize() == 0
        r.execute_command("SELECT", 2)
        assert r.dbsize() == 0
        r.execute_command("SELECT", 0)
    # and writes after it flow as before
    m.set("fl:after", "1")
    settle(group)
    assert all(r.get("fl:after") == b"1" for r in rs)


# --- whole contents, shard by shard -----------------------------------------------------

def test_bulk_load_every_shard_identical(photon_factory):
    """Bulk load of every type; stop all three; every shard's LevelDB holds the same pairs
    on the master and both replicas (positions and reclaimable garbage aside)."""
    master, replicas = start_group(photon_factory)
    m = master.client()
    load(m, 3000, prefix="b:", size=50)
    p = m.pipeline(transaction=False)
    for i in range(200):
        p.hset(f"h:{i}", mapping={f"f{j}": j for j in range(20)})
        p.rpush(f"l:{i}", *range(10))
        p.sadd(f"s:{i}", *range(10))
        p.zadd(f"z:{i}", {f"m{j}": j for j in range(10)})
        p.set(f"e:{i}", "v", ex=3600)
    p.execute()
    for i in range(0, 200, 3):
        m.delete(f"h:{i}", f"z:{i}")
        m.lpop(f"l:{i}")
    m.execute_command("SELECT", 5)
    load(m, 200, prefix="db5:")
    m.execute_command("SELECT", 0)
    wait_in_step(master, replicas)
    expected = logical_dump(m, dbs=(0, 5))
    for r in replicas:
        with r.client() as c:
            assert logical_dump(c, dbs=(0, 5)) == expected
    m.close()
    for node in (master, *replicas):
        assert node.stop() == 0
    reference = raw_shards(master, "master1")
    assert sum(len(v) for v in reference.values()) > 5000
    assert len(reference) == 16
    for i, r in enumerate(replicas, 1):
        assert_same_shards(reference, raw_shards(r, f"replica{i}"), f"replica{i}")


def test_shard_range_and_env_flags(photon_factory):
    """SHARD_RANGE and --role/--master-addr flags instead of environment variables."""
    master = photon_factory("--role", "master", "--shards", "4", "--shard-range", "0-3",
                            name="m", env={"NODE_ID": "m"})
    replica = photon_factory("--role", "replica", "--shards", "4", "--shard-range", "0-3",
                             "--master-addr", f"127.0.0.1:{master.port}", name="r",
                             env={"NODE_ID": "r"})
    wait_in_step(master, [replica])
    with master.client() as m, replica.client() as r:
        m.set("a", "1")
        wait_until(lambda: r.get("a") == b"1", 5, what="replicated")
    # a replica with another shard count is refused by the master, with a clear log line
    other = photon_factory(name="o", env=spec_env("o", "replica", master))
    wait_until(lambda: "same --shards" in other.logs(), 10, what="refusal logged")
    assert info(master)["connected_slaves"] == 1
    assert in_step(master, [replica])
