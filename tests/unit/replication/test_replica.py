"""The replica side without a network: stream messages handed to Replica.handle, on real
LevelDB shards (full syncs swap or rewrite them)."""
from __future__ import annotations

import asyncio

import hiredis
import pytest

from photon import config as cfg
from photon.replication import replica as replica_mod
from photon.replication.replica import Replica
from photon.replication.stream import REPL_KEY, Position, encode_ops, new_replid
from photon.server import Server
from photon.storage.leveldb import LevelDBEngine
from photon.storage.memory import MemoryEngine
from tests.unit.fakes import FakeClient, FakeTransport


@pytest.fixture
def root(tmp_path):
    """The node's directory: its shards, and the staged copies of full syncs."""
    return tmp_path / "u"


@pytest.fixture
def server(tmp_path):
    config = cfg.load({"http_port": "0", "data_dir": str(tmp_path), "node_id": "u",
                       "shards": "2", "role": "replica", "master_addr": "127.0.0.1:1"},
                      env={})
    s = Server(config)
    s.role = "replica"
    yield s
    s.keyspace.close()


def pairs(engine) -> dict:
    return dict(engine.items(b""))


def test_entries_apply_with_their_position(server):
    r = Replica(server, "127.0.0.1", 1)
    pos = server.shardlog.positions[1]
    start = pos.offset
    blob = encode_ops({b"\x00mkey": b"v", b"gone": None})
    r.handle([b"W", 1, start, blob])
    assert pos.offset == start + len(blob)
    assert server.keyspace.engines[1].get(b"\x00mkey") is None  # written once per read
    server.keyspace.write_batches()
    stored = Position.parse(server.keyspace.engines[1].get(REPL_KEY))
    assert stored.offset == pos.offset
    assert server.keyspace.engines[1].get(b"\x00mkey") == b"v"
    assert r.unacked == {1: pos.offset}
    with pytest.raises(ValueError):  # a gap: the link is dropped and resynced
        r.handle([b"W", 1, start, blob])
    # a backlog is kept so that, once promoted, this node can serve partial resyncs
    assert server.shardlog.backlogs[1].since(start, pos.offset) is not None


def test_continue_under_a_new_history(server):
    r = Replica(server, "127.0.0.1", 1)
    pos = server.shardlog.positions[0]
    old = pos.replid
    new = new_replid()
    r.handle([b"CONTINUE", 0, new, pos.offset])
    assert (pos.replid, pos.replid2, pos.offset2) == (new, old, pos.offset)
    assert Position.parse(server.keyspace.engines[0].get(REPL_KEY)).replid == new
    with pytest.raises(ValueError):
        r.handle([b"CONTINUE", 0, new, pos.offset + 5])


def _full_sync(r, shard, snapshot: dict, replid=b"m" * 40, offset=777, chunks=3,
               end=True):
    r.handle([b"FULLSYNC", shard, replid, offset])
    items = list(snapshot.items())
    for i in range(chunks):
        part = dict(items[i::chunks])
        if part:
            r.handle([b"SNAP", shard, encode_ops(part)])
    if end:
        r.handle([b"SNAPEND", shard])


def test_small_full_sync_replaces_the_shard_in_one_write(server, root):
    engine = server.keyspace.engines[0]
    engine.write({b"\x00mold": b"1", b"\x00mold2": b"2"})
    r = Replica(server, "127.0.0.1", 1)
    snap = {b"\x00mnew%d" % i: b"v" * 100 for i in range(50)}
    _full_sync(r, 0, snap, end=False)
    assert pairs(engine)[b"\x00mold"] == b"1"  # old data served until the end
    r.handle([b"SNAPEND", 0])
    assert server.keyspace.engines[0] is engine  # rewritten in place
    got = pairs(engine)
    assert got.pop(REPL_KEY) == Position(b"m" * 40, 777).record()
    assert got == snap
    pos = server.shardlog.positions[0]
    assert (pos.replid, pos.offset, pos.offset2) == (b"m" * 40, 777, -1)
    assert not list(root.glob("*.sync")) and not list(root.glob("*.old"))
    assert r.full_syncs == 1


def test_big_full_sync_goes_through_a_fresh_leveldb(server, root, monkeypatch):
    monkeypatch.setattr(replica_mod, "IN_PLACE_SYNC_BYTES", 1000)
    old_engine = server.keyspace.engines[1]
    old_engine.write({b"\x00mold": b"1"})
    r = Replica(server, "127.0.0.1", 1)
    snap = {b"\x00mnew%d" % i: b"v" * 100 for i in range(50)}
    _full_sync(r, 1, snap, end=False)
    assert (root / "shard-001.sync").is_dir()
    assert old_engine.get(b"\x00mold") == b"1"
    r.handle([b"SNAPEND", 1])
    fresh = server.keyspace.engines[1]
    assert fresh is not old_engine and server.keyspace.shards[1].engine is fresh
    got = pairs(fresh)
    assert got.pop(REPL_KEY) == Position(b"m" * 40, 777).record()
    assert got == snap
    assert not (root / "shard-001.sync").exists()
    assert not (root / "shard-001.old").exists()


def test_too_many_old_keys_swap_instead_of_deleting(server, monkeypatch):
    monkeypatch.setattr(replica_mod, "IN_PLACE_MAX_DELETES", 5)
    server.keyspace.engines[0].write({b"\x00mold%d" % i: b"x" for i in range(20)})
    r = Replica(server, "127.0.0.1", 1)
    _full_sync(r, 0, {b"\x00ma": b"1"})
    got = pairs(server.keyspace.engines[0])
    got.pop(REPL_KEY)
    assert got == {b"\x00ma": b"1"}


def test_broken_full_sync_keeps_the_old_shard(server, root, monkeypatch):
    monkeypatch.setattr(replica_mod, "IN_PLACE_SYNC_BYTES", 1000)
    engine = server.keyspace.engines[0]
    engine.write({b"\x00mold": b"1"})
    before = pairs(engine)
    r = Replica(server, "127.0.0.1", 1)
    _full_sync(r, 0, {b"\x00mnew%d" % i: b"v" * 100 for i in range(50)}, end=False)
    assert (root / "shard-000.sync").is_dir()
    r._abandon_syncs()  # the link dropped
    assert not (root / "shard-000.sync").exists()
    assert server.keyspace.engines[0] is engine and pairs(engine) == before


def test_counters_follow_the_stream(server):
    """Key counts (DBSIZE) are reloaded when an entry or a full sync changes them."""
    async def main():
        primary = Server(cfg.load({"http_port": "0", "data_dir": "/nonexistent",
                                   "node_id": "p", "shards": "2", "role": "master",
                                   "write_quorum": "1"}, env={}),
                         engines=[MemoryEngine() for _ in range(2)], node_id="p")
        c = FakeClient(primary)
        c.connection_made(FakeTransport())
        r = Replica(server, "127.0.0.1", 1)
        # the master's entries, replayed to the replica
        for i in range(10):
            c.send("SET", f"k{i}", "v")
        for shard, backlog in enumerate(primary.shardlog.backlogs):
            server.shardlog.positions[shard].offset = 0
            for start, end, msg in backlog.entries:
                reader = hiredis.Reader()
                reader.feed(msg)
                r.handle(reader.gets())
        client = FakeClient(server)
        client.connection_made(FakeTransport())
        server.role = "master"  # read it directly, without the replica gate
        server.config.write_quorum = 1  # (nor the quorum a master's reads wait for)
        assert client.send("DBSIZE") == 10
    asyncio.run(main())


def test_start_up_finishes_a_swap_cut_by_a_crash(tmp_path, root):
    """A crash between the two renames of a swap: the shard opens empty beside a complete
    staged copy, which the start-up puts in place; leftovers of other syncs are removed."""
    staged = LevelDBEngine(root / "shard-000.sync")
    staged.write({b"\x00mkey": b"v", REPL_KEY: Position(b"m" * 40, 99).record()})
    staged.close()
    partial = LevelDBEngine(root / "shard-001.sync")  # an interrupted sync: no position
    partial.write({b"\x00mhalf": b"v"})
    partial.close()
    (root / "shard-001.old").mkdir()
    mine = LevelDBEngine(root / "shard-001")
    mine.write({b"\x00mmine": b"1"})
    mine.close()
    config = cfg.load({"http_port": "0", "data_dir": str(tmp_path), "node_id": "u",
                       "shards": "2"}, env={})
    s = Server(config)
    try:
        assert s.keyspace.engines[0].get(b"\x00mkey") == b"v"
        assert s.engines[0] is s.keyspace.engines[0] is s.keyspace.shards[0].engine
        pos = s.shardlog.positions[0]
        assert (pos.replid, pos.offset) == (b"m" * 40, 99)
        assert s.keyspace.engines[1].get(b"\x00mmine") == b"1"
        assert s.keyspace.engines[1].get(b"\x00mhalf") is None
        assert sorted(p.name for p in root.iterdir() if p.name.startswith("shard")) == [
            "shard-000", "shard-001"]
    finally:
        s.keyspace.close()
