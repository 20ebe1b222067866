"""The master side through the real gate, on in-memory shards: entries and positions, partial
resync decisions, quorum refusals and waits, acks, WAIT, and what a standalone node skips.

A replica link here is a fake client that speaks PHOTON.SYNC / PHOTON.ACK itself."""
from __future__ import annotations

import asyncio
import time

import hiredis

from photon.replication.master import NOQUORUM
from photon.replication.stream import REPL_KEY, Position, decode_ops
from tests.unit.fakes import FakeServer

SHARDS = 4


def run(coro):
    return asyncio.run(coro)


def replies(data: bytes) -> list:
    r = hiredis.Reader()
    r.feed(bytes(data))
    out = []
    while (x := r.gets()) is not False:
        out.append(x)
    return out


def attach(server, node_id="r1", offsets=None, replid=None):
    """A fake replica link asking for every shard from (replid, offset)."""
    rc = server.new_client()
    args = ["PHOTON.SYNC", node_id, "127.0.0.1", "7000", str(SHARDS)]
    for shard in range(SHARDS):
        pos = server.shardlog.positions[shard]
        off = offsets[shard] if offsets else pos.offset
        args += [str(shard), replid or pos.replid, str(off)]
    rc.send(*args)
    return rc


def ack(server, rc, shards=None):
    """The link acknowledges the master's current offsets."""
    args = ["PHOTON.ACK", str(int(time.monotonic() * 1000))]
    for shard in shards if shards is not None else range(SHARDS):
        args += [str(shard), str(server.shardlog.positions[shard].offset)]
    rc.send(*args)


async def settle():
    for _ in range(3):
        await asyncio.sleep(0)


def test_standalone_skips_the_stream_and_the_checks():
    server = FakeServer(SHARDS)
    assert not server.master.checks_writes  # the command path's fast path is kept
    c = server.new_client()
    assert c.send("SET", "a", "1") == b"OK"
    assert all(p.offset == 0 for p in server.shardlog.positions)
    assert all(e.get(REPL_KEY) is None for e in server.engines)
    assert c.send("WAIT", "0", "0") == 0
    assert server.master.quorum_active is False


def test_master_records_entries_with_positions():
    server = FakeServer(SHARDS, role="master", write_quorum=1)
    c = server.new_client()
    assert server.shardlog.active
    c.send("SET", "a", "1")
    shard = server.keyspace.shard_of(b"a")
    pos = server.shardlog.positions[shard]
    assert pos.offset > 0
    stored = Position.parse(server.engines[shard].get(REPL_KEY))
    assert (stored.replid, stored.offset) == (pos.replid, pos.offset)
    (start, end, msg), = server.shardlog.backlogs[shard].entries
    assert (start, end) == (0, pos.offset)
    kind, s, st, blob = replies(msg)[0]
    assert (kind, s, st) == (b"W", shard, 0) and len(blob) == end
    assert REPL_KEY not in decode_ops(blob)  # each node stores its own position
    assert any(k.endswith(b"a") for k in decode_ops(blob))


def test_refused_before_applying_without_replicas():
    server = FakeServer(SHARDS, role="master")
    c = server.new_client()
    err = c.send("SET", "a", "1")
    assert isinstance(err, hiredis.ReplyError) and str(err) == NOQUORUM
    assert c.send("EXISTS", "a") == 0
    assert all(p.offset == 0 for p in server.shardlog.positions)
    assert c.send("GET", "a") is None  # reads are served
    # a transaction holding a write is refused when queued...
    assert c.send("MULTI") == b"OK"
    assert str(c.send("SET", "a", "1")) == NOQUORUM
    assert str(c.send("EXEC")).startswith("EXECABORT")
    # ... and so is EXEC when the replicas went away after the queueing
    server.config.write_quorum = 1  # queue under quorum 1
    assert c.send("MULTI") == b"OK"
    assert c.send("SET", "a", "1") == b"QUEUED"
    server.config.write_quorum = 2
    err = c.send("EXEC")
    assert str(err) == "EXECABORT Transaction discarded because of: " + NOQUORUM
    assert c.multi is None
    assert c.send("EXISTS", "a") == 0
    # write quorum 1: no replica needed
    server.config.write_quorum = 1
    assert c.send("SET", "a", "1") == b"OK"


def test_write_answered_once_a_replica_acknowledges():
    async def main():
        server = FakeServer(SHARDS, role="master")
        rc = attach(server)
        link = next(iter(server.master.links.values()))
        assert link.is_online and link.host == "127.0.0.1" and link.port == 7000
        c = server.new_client()
        c.send("SET", "a", "1")
        assert bytes(c.transport.data) == b""  # waiting for the quorum
        assert c.waiting is not None and c.blocked is None  # later commands may run
        ack(server, rc)
        await settle()
        assert bytes(c.transport.data) == b"+OK\r\n"
        # a read after it goes straight through
        assert c.send("GET", "a") == b"1"
        assert c.send("WAIT", "1", "0") == 1
    run(main())


def _pipeline(*commands: tuple[str, ...]) -> bytes:
    return b"".join(b"*%d\r\n" % len(cmd) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a.encode())
                                                    for a in cmd) for cmd in commands)


def test_pipelined_writes_run_while_earlier_ones_wait_for_their_quorum():
    """Redis executes a whole pipeline and only the replies wait: every write of the pipeline
    is applied (and streamed) before the first quorum ack, a read in it sees the earlier
    writes, and the replies leave in order once each write's copies are there."""
    async def main():
        server = FakeServer(SHARDS, role="master")
        rc = attach(server)
        c = server.new_client()
        c.data_received(_pipeline(("SET", "a", "1"), ("INCR", "n"), ("GET", "a"),
                                  ("INCR", "n"), ("SET", "b", "2")))
        assert bytes(c.transport.data) == b""  # the first reply waits, so all do
        assert c.blocked is None
        assert server.keyspace.get_string(0, b"n") == b"2"  # every command ran
        assert server.keyspace.get_string(0, b"b") == b"2"
        ack(server, rc)
        await settle()
        assert replies(c.transport.data) == [b"OK", 1, b"1", 2, b"OK"]
        assert c.waiting is None
    run(main())


def test_pipelined_quorum_replies_keep_their_order_with_timeouts_wait_and_quit():
    async def main():
        server = FakeServer(SHARDS, role="master", quorum_timeout_ms=50)
        rc = attach(server)
        c = server.new_client()
        # WAIT holds the commands after it (Redis blocks the client), and counts the
        # pipeline's earlier writes; PING after it runs once WAIT returned
        c.data_received(_pipeline(("SET", "a", "1"), ("WAIT", "1", "0"), ("PING",)))
        assert c.blocked is not None
        ack(server, rc)
        await settle()
        assert replies(c.transport.data) == [b"OK", 1, b"PONG"]
        # no ack: the first write times out (NOQUORUM, still applied), and so does the read
        # that would show it; QUIT closes only after all of them left
        c.transport.data.clear()
        c.data_received(_pipeline(("SET", "x", "1"), ("GET", "x"), ("QUIT",)))
        assert not c.transport.closed
        await asyncio.sleep(0.1)
        assert [str(r) if isinstance(r, hiredis.ReplyError) else r
                for r in replies(c.transport.data)] == [NOQUORUM, NOQUORUM, b"OK"]
        assert c.transport.closed
    run(main())


def test_quorum_timeout_keeps_the_write():
    async def main():
        server = FakeServer(SHARDS, role="master", quorum_timeout_ms=50)
        rc = attach(server)
        c = server.new_client()
        c.send("SET", "a", "1")
        await asyncio.sleep(0.1)
        assert str(replies(c.transport.data)[0]) == NOQUORUM
        # Applied on the master, and readable there once the quorum holds it: a read that
        # showed it before could have seen a write a failover then loses.
        c.transport.data.clear()
        assert c.send("GET", "a") is False  # waits
        await asyncio.sleep(0.1)
        assert str(replies(c.transport.data)[0]) == NOQUORUM
        c.transport.data.clear()
        c.send("GET", "a")
        ack(server, rc)
        await settle()
        assert replies(c.transport.data) == [b"1"]
        assert c.send("GET", "a") == b"1"  # now at once
    run(main())


def test_reads_wait_only_for_their_own_shards_writes():
    async def main():
        server = FakeServer(SHARDS, role="master", quorum_timeout_ms=10_000)
        rc = attach(server)
        c = server.new_client()
        ks = server.keyspace
        a, b = "a", next(k for k in (f"b{i}" for i in range(100))
                         if ks.shard_of(k.encode()) != ks.shard_of(b"a"))
        assert c.send("SET", b, "1") is False
        ack(server, rc)
        await settle()
        c.send("SET", a, "2")  # waits for its quorum
        reader = server.new_client()
        assert reader.send("GET", b) == b"1"  # another shard: nothing in flight there
        assert reader.send("GET", a) is False  # waits with the write it would show
        assert reader.send("DBSIZE") is False  # every shard
        assert reader.send("PING") is False  # (queued behind the waiting replies)
        ack(server, rc)
        await settle()
        assert replies(reader.transport.data)[-3:] == [b"2", 2, b"PONG"]
    run(main())


def test_wait_that_can_no_longer_be_met_fails_when_replicas_drop():
    async def main():
        server = FakeServer(SHARDS, role="master", quorum_timeout_ms=10_000)
        rc = attach(server)
        c = server.new_client()
        c.send("SET", "a", "1")
        rc.connection_lost(None)  # the replica goes away during the wait
        await settle()
        assert str(replies(c.transport.data)[0]) == NOQUORUM
    run(main())


def test_acks_count_only_for_streaming_shards():
    async def main():
        server = FakeServer(SHARDS, role="master")
        c = server.new_client()
        server.config.write_quorum = 1
        for i in range(20):
            c.send("SET", f"k{i}", "v")
        server.config.write_quorum = 2
        # a replica from another history: every shard needs a full sync, which cannot run on
        # in-memory shards here; its acks must not count meanwhile
        rc = attach(server, replid="f" * 40, offsets=[10**6] * SHARDS)
        link = next(iter(server.master.links.values()))
        link.task.cancel()
        assert not link.online
        ack(server, rc)
        assert link.acked == {s: -1 for s in range(SHARDS)}
        assert server.master.acked_by({0: 0}) == 0
        assert c.send("WAIT", "0", "0") == 0
        assert server.master.connected_links() == 1
    run(main())


def test_partial_resync_from_backlog_and_offsets():
    async def main():
        server = FakeServer(SHARDS, role="master")
        server.config.write_quorum = 1
        c = server.new_client()
        c.send("SET", "a", "1")
        shard = server.keyspace.shard_of(b"a")
        behind = [p.offset for p in server.shardlog.positions]
        c.send("SET", "a", "2")
        c.send("SET", "a", "3")
        rc = attach(server, offsets=behind)
        await settle()
        msgs = replies(rc.transport.data)
        assert msgs[0] == [b"MASTER", b"unit", 1]  # its id and its claim's epoch
        cont = [m for m in msgs if m[0] == b"CONTINUE"]
        assert len(cont) == SHARDS
        entries = [m for m in msgs if m[0] == b"W"]
        assert [(m[1], m[2]) for m in entries][0] == (shard, behind[shard])
        assert len(entries) == 2
        assert server.info_counters["sync_partial_ok"] == 1
        assert "sync_full" not in server.info_counters
        # the same node id attaching again replaces the old link at once
        attach(server)
        assert len(server.master.links) == 1
    run(main())


def test_background_writes_do_not_make_reads_wait():
    """An expired key deleted by a read, or offsets left by background writes, never hold
    that read's reply for the quorum (nor fail it when replicas are gone); a later read of
    the shard waits for the deletion like for any write."""
    async def main():
        server = FakeServer(SHARDS, role="master")
        rc = attach(server)
        c = server.new_client()
        c.send("SET", "a", "1", "PX", "1")
        ack(server, rc)
        await settle()
        await asyncio.sleep(0.01)
        rc.connection_lost(None)
        server.keyspace.marks[0] = 10**9  # as a blocked client served in the background
        c.transport.data.clear()
        assert c.send("GET", "a") is None  # expired: deleted on the way, answered at once
        assert c.blocked is None and c.waiting is None
        assert str(c.send("DBSIZE")) == NOQUORUM  # the deletion is not on enough copies
    run(main())


def test_replica_node_refuses_sync_and_wait():
    async def main():
        server = FakeServer(SHARDS, role="master")
        server.follow("127.0.0.1", 1)  # nothing listens there: stays connecting
        c = server.new_client()
        assert str(c.send("WAIT", "1", "0")).startswith("ERR WAIT cannot be used with replica")
        rc = server.new_client()
        err = rc.send("PHOTON.SYNC", "x", "h", "1", str(SHARDS), "0", "0" * 40, "0")
        assert "is a replica" in str(err)
        role = c.send("ROLE")
        assert role[0] == b"slave" and role[1:3] == [b"127.0.0.1", 1]
        assert c.send("READONLY") == b"OK"
        assert str(c.send("SET", "a", "1")).startswith("READONLY")
        server.replica.close()
    run(main())


def test_sync_refuses_another_shard_count():
    server = FakeServer(SHARDS, role="master")
    rc = server.new_client()
    err = rc.send("PHOTON.SYNC", "x", "h", "1", "16", "0", "0" * 40, "0")
    assert "same --shards" in str(err)
    assert not server.master.links
