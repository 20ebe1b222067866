"""Per-turn staging: a turn's single-shard commits become one engine write per shard at the
turn's end; reads see them before that, every direct engine access writes them first, and no
reply leaves before its write (photon/durability.py)."""
from __future__ import annotations

import asyncio

import pytest

from photon.client import Client
from photon.keyspace.keyspace import Keyspace
from photon.storage.memory import MemoryEngine
from tests.unit.fakes import FakeServer

SHARDS = 4


class FailingEngine(MemoryEngine):
    fail = False

    def write(self, ops):
        if self.fail:
            raise OSError("disk full")
        super().write(ops)

    def write_one(self, key, value):
        self.write({key: value})


@pytest.fixture
def ks():
    ks = Keyspace([FailingEngine() for _ in range(SHARDS)])
    ks.turns = 0

    def hook():
        ks.turns += 1
    ks.on_staged = hook
    return ks


def _meta_key(key: bytes) -> bytes:
    return bytes((0, ord("m"))) + key


def _other_shard_key(ks: Keyspace, key: bytes) -> bytes:
    return next(b"k%d" % i for i in range(1000) if ks.shard_of(b"k%d" % i) != ks.shard_of(key))


def test_commits_wait_for_the_turn_and_reads_see_them(ks):
    ks.set_string(0, b"a", b"1")
    ks.commit()
    ks.set_string(0, b"a", b"2")  # an overwrite of a staged key
    ks.commit()
    ks.set_string(0, b"b", b"3")
    ks.commit()
    assert ks.turns == 1  # the hook is told once, at the turn's first commit
    engine = ks.engines[ks.shard_of(b"a")]
    assert engine.get(_meta_key(b"a")) is None
    assert ks.get_string(0, b"a") == b"2"
    assert ks.lookup(0, b"b") is not None
    assert ks.count_keys(0) == 2
    ks.write_staged()
    assert ks.staged == {}
    assert engine.get(_meta_key(b"a")) is not None
    assert ks.get_string(0, b"a") == b"2"
    assert ks.delete(0, b"a")
    ks.commit()
    assert ks.get_string(0, b"a") is None  # a staged delete hides the stored record
    ks.write_staged()
    assert engine.get(_meta_key(b"a")) is None
    assert ks.turns == 2


def test_range_reads_and_cross_shard_commits_write_the_staged_commits_first(ks):
    ks.set_string(0, b"a", b"old")
    ks.commit()
    assert [k for k, _ in ks.iter_keys(0, ks.shard_of(b"a"))] == [b"a"]
    assert ks.staged == {}  # the scan wrote them
    ks.set_string(0, b"a", b"staged")
    ks.commit()
    other = _other_shard_key(ks, b"a")
    ks.set_string(0, b"a", b"newest")
    ks.set_string(0, other, b"x")
    ks.commit()  # two shards: straight to the engines, after what was staged
    assert ks.staged == {}
    assert ks.engines[ks.shard_of(b"a")].get(_meta_key(b"a")).endswith(b"newest")


def test_a_failed_write_reraises_and_rereads_the_counts(ks):
    ks.set_string(0, b"a", b"1")
    ks.commit()
    ks.write_staged()
    ks.set_string(0, b"b", b"1")
    ks.commit()
    assert ks.count_keys(0) == 2
    for e in ks.engines:
        e.fail = True
    with pytest.raises(OSError):
        ks.write_staged()
    assert ks.staged == {}
    assert ks.count_keys(0) == 1  # what is stored
    assert ks.get_string(0, b"b") is None


def test_without_a_hook_commits_write_through():
    ks = Keyspace([MemoryEngine() for _ in range(SHARDS)])
    ks.set_string(0, b"a", b"1")
    ks.commit()
    assert ks.staged == {}
    assert ks.engines[ks.shard_of(b"a")].get(_meta_key(b"a")) is not None


def _request(*argv: bytes) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in argv)


def test_replies_wait_for_the_turns_write():
    async def scenario():
        server = FakeServer(shards=SHARDS)
        writer, reader = server.new_client(), server.new_client()
        Client.data_received(writer, _request(b"SET", b"a", b"1"))
        Client.data_received(reader, _request(b"GET", b"a"))
        # staged: neither the write's reply nor a read of it has left
        assert server.keyspace.staged
        assert writer.transport.data == b"" and reader.transport.data == b""
        await asyncio.sleep(0)
        assert not server.keyspace.staged
        assert writer.transport.data == b"+OK\r\n"
        assert reader.transport.data == b"$1\r\n1\r\n"
    asyncio.run(scenario())


def test_a_failed_turn_write_closes_the_held_clients():
    async def scenario():
        server = FakeServer(shards=SHARDS)
        server.keyspace.engines[:] = [FailingEngine() for _ in range(SHARDS)]
        for shard, engine in zip(server.keyspace.shards, server.keyspace.engines):
            shard.engine = engine
        c = server.new_client()
        Client.data_received(c, _request(b"SET", b"a", b"1"))
        for e in server.keyspace.engines:
            e.fail = True
        await asyncio.sleep(0)
        assert c.transport.closed
        assert c.transport.data == b""  # no +OK for a write that did not happen
    asyncio.run(scenario())
