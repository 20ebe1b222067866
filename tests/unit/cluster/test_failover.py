"""The vote rules of cluster/failover.py on one node, without a network: a vote per epoch, none
while the master is heard from, the entries a candidate lacks sent with the vote (per shard),
no vote for a candidate the backlog cannot bring up to date, a master's vote only for the
handover it agreed to; and the per-command fencing of a master cut off from its group."""
from __future__ import annotations

import asyncio
import time

import pytest

from photon.cluster.failover import FENCED
from tests.unit.fakes import FakeServer

SHARDS = 4


def _replica(**settings):
    server = FakeServer(SHARDS, role="replica", master_addr="127.0.0.1:1",
                        dead_after_ms=1000, heartbeat_interval_ms=100, **settings)
    server.follow("127.0.0.1", 1)  # nothing listens there: the link stays down
    server.replica.master_id = "m1"
    server.replica.last_io = time.monotonic() - 5  # its master is silent
    return server


def _positions(server, offsets=None):
    return [[s, p.replid.decode(), (offsets or {}).get(s, p.offset)]
            for s, p in enumerate(server.shardlog.positions)]


def _apply(server, shard, blob=b"*2\r\n$5\r\n\x00mkey\r\n$1\r\nv\r\n"):
    pos = server.shardlog.positions[shard]
    server.shardlog.apply(shard, pos.offset, blob)
    server.keyspace.write_batches()
    return pos.offset


def run(coro):
    return asyncio.run(coro)


def test_one_vote_per_epoch():
    async def main():
        s = _replica()
        fo = s.cluster.coordinator
        granted, _, _ = fo.vote(5, "m1", "a", _positions(s), False)
        assert granted == 1 and (fo.voted_epoch, fo.voted_for) == (5, "a")
        again, _, _ = fo.vote(5, "m1", "a", _positions(s), False)
        assert again == 1  # the same candidate asking twice
        other, why, _ = fo.vote(5, "m1", "b", _positions(s), False)
        assert other == 0 and b"already voted for a in epoch 5" in why
        old, why, _ = fo.vote(4, "m1", "b", _positions(s), False)
        assert old == 0 and b"behind" in why
        assert s.replica.suspended  # it stopped taking the old master's stream
        s.replica.close()
    run(main())


def test_no_vote_while_the_master_is_heard_from():
    async def main():
        s = _replica()
        s.replica.last_io = time.monotonic()
        granted, why, _ = s.cluster.coordinator.vote(2, "m1", "a", _positions(s), False)
        assert granted == 0 and b"master was heard from" in why
        granted, why, _ = s.cluster.coordinator.vote(2, "other", "a", _positions(s), False)
        assert granted == 0 and b"not in group other" in why
        s.replica.close()
    run(main())


def test_the_vote_carries_the_entries_the_candidate_lacks_per_shard():
    async def main():
        s = _replica()
        behind = {1: s.shardlog.positions[1].offset, 3: s.shardlog.positions[3].offset}
        _apply(s, 1)
        _apply(s, 1)
        _apply(s, 3)
        granted, _, flat = s.cluster.coordinator.vote(2, "m1", "a", _positions(s, behind), False)
        tails = dict(zip(flat[::2], flat[1::2]))
        assert granted == 1 and sorted(tails) == [1, 3]
        assert len(tails[1]) == 2 and len(tails[3]) == 1
        s.replica.close()
    run(main())


def test_no_vote_for_a_candidate_past_the_backlog_or_on_another_history():
    async def main():
        s = _replica(repl_backlog_size="16kb")
        start = s.shardlog.positions[0].offset
        for _ in range(200):
            _apply(s, 0, b"*2\r\n$5\r\n\x00mkey\r\n$100\r\n" + b"x" * 100 + b"\r\n")
        fo = s.cluster.coordinator
        granted, why, _ = fo.vote(2, "m1", "a", _positions(s, {0: start}), False)
        assert granted == 0 and b"past this node's backlog" in why
        foreign = _positions(s)
        foreign[0] = [0, "f" * 40, 1]
        granted, why, _ = fo.vote(3, "m1", "b", foreign, False)
        assert granted == 0 and b"another history" in why
        s.replica.close()
    run(main())


def test_a_master_votes_only_for_the_handover_it_agreed_to():
    async def main():
        s = FakeServer(SHARDS, role="master", write_quorum=1)
        fo = s.cluster.coordinator
        granted, why, _ = fo.vote(2, "unit", "r1", _positions(s), False)
        assert granted == 0 and b"master is alive" in why
        fo.prepare_handover("r1", 1000)
        assert s.pause.ended is not None  # writes are paused
        granted, _, _ = fo.vote(2, "unit", "r1", _positions(s), True)
        assert granted == 1
        s.pause.stop()
    run(main())


@pytest.mark.parametrize("started_as", ["master", "replica"])
def test_a_master_cut_off_from_its_group_refuses_writes_and_reads(started_as):
    """Whether it started as the master or is a replica promoted since."""
    async def main():
        extra = {"master_addr": "127.0.0.1:1"} if started_as == "replica" else {}
        s = FakeServer(SHARDS, role=started_as, write_quorum=1, dead_after_ms=1000,
                       heartbeat_interval_ms=100, **extra)
        if started_as == "replica":
            s.follow("127.0.0.1", 1)
            s.promote(2)
        from photon.cluster.state import NodeInfo
        s.cluster.state.nodes["r1"] = NodeInfo("r1", "replica", "127.0.0.1:2", (0, 3),
                                               master_id="unit")
        s.routing_changed()
        c = s.new_client()
        assert c.send("SET", "a", "1") == b"OK"  # within dead_after of its start
        s.cluster.coordinator.majority_seen = time.monotonic() - 5
        assert str(c.send("SET", "a", "2")) == FENCED
        assert str(c.send("GET", "a")) == FENCED
        assert c.send("PING") == b"PONG"
    run(main())


@pytest.mark.parametrize("role", ["standalone", "master"])
def test_a_master_with_no_replica_known_is_never_fenced(role):
    async def main():
        s = FakeServer(SHARDS, role=role, write_quorum=1, dead_after_ms=1000,
                       heartbeat_interval_ms=100)
        s.cluster.coordinator.majority_seen = time.monotonic() - 5
        assert s.new_client().send("SET", "a", "1") == b"OK"
    run(main())
