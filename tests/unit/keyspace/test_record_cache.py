"""The record cache in front of the engines: hot reads skip the engine, only read-only commands
fill it, and whatever writes an engine (a turn's staged commits, cross-shard commits, a
replica's batches, shard swaps, FLUSHALL, reclaiming) leaves the cache agreeing with it."""
from __future__ import annotations

import itertools

from hypothesis import given, settings, strategies as st

from photon.keyspace import maintenance
from photon.keyspace.keyspace import Keyspace
from photon.storage.memory import MemoryEngine

SHARDS = 4


class CountingEngine(MemoryEngine):
    gets = 0

    def get(self, key):
        self.gets += 1
        return super().get(key)


def _read(ks: Keyspace, key: bytes) -> bytes | None:
    """GET as the gate runs it: a read-only command."""
    ks.reading = True
    try:
        return ks.get_string(0, key)
    finally:
        ks.reading = False


def _staging(ks: Keyspace) -> Keyspace:
    ks.on_staged = lambda: None  # a turn's end is write_staged, called by the test
    ks.new_version = itertools.count(1 << 40).__next__  # the same in both keyspaces
    return ks


def test_a_hot_key_is_read_from_the_cache():
    ks = Keyspace([CountingEngine() for _ in range(SHARDS)], cache_records=100)
    ks.set_string(0, b"a", b"1")
    ks.commit()
    ks.drop_cache()
    engine = ks.engines[ks.shard_of(b"a")]
    before = engine.gets
    for _ in range(5):
        assert _read(ks, b"a") == b"1"
    assert engine.gets == before + 1  # the first read went to the engine, the others did not


def test_generations_keep_at_most_twice_the_limit_and_stay_right():
    ks = Keyspace([MemoryEngine() for _ in range(SHARDS)], cache_records=8)
    for i in range(100):
        ks.set_string(0, b"k%d" % i, b"v%d" % i)
        ks.commit()
        assert _read(ks, b"k%d" % i) == b"v%d" % i  # reads fill the cache
        assert 0 < len(ks._young) + len(ks._old) <= 8
    assert [ks.get_string(0, b"k%d" % i) for i in range(100)] == [b"v%d" % i for i in range(100)]


def test_writes_update_cached_records_and_add_none():
    ks = Keyspace([MemoryEngine() for _ in range(SHARDS)], cache_records=100)
    ks.set_string(0, b"a", b"1")
    ks.set_string(0, b"b", b"1")
    ks.commit()
    ks.set_string(0, b"b", b"2")  # a write command's read of the old record
    ks.commit()
    assert ks._young == {}
    assert _read(ks, b"a") == b"1"
    ks.set_string(0, b"a", b"2")
    ks.commit()
    assert list(ks._young) == [bytes((0, ord("m"))) + b"a"]
    assert _read(ks, b"a") == b"2"
    ks.delete(0, b"a")
    ks.commit()
    assert ks._young == {}


def test_without_a_cache_nothing_is_kept():
    ks = Keyspace([MemoryEngine() for _ in range(SHARDS)])
    ks.set_string(0, b"a", b"1")
    ks.commit()
    assert _read(ks, b"a") == b"1"
    assert ks._young == {} and ks._old == {}


keys = st.sampled_from([b"a", b"b", b"c", b"d", b"e", b"{a}x", b"{b}y"])
values = st.binary(min_size=1, max_size=4)
steps = st.lists(st.one_of(
    st.tuples(st.just("set"), keys, values),
    st.tuples(st.just("setex"), keys, values),
    st.tuples(st.just("del"), keys),
    st.tuples(st.just("hset"), keys, values),
    st.tuples(st.just("mset"), keys, keys, values),
    st.tuples(st.just("turn")),
    st.tuples(st.just("replicate"), keys, values),
    st.tuples(st.just("replace")),
    st.tuples(st.just("flushall")),
    st.tuples(st.just("reclaim")),
), max_size=40)


def _apply(ks: Keyspace, step: tuple) -> None:
    from photon.keyspace.encoding import HASH
    from photon.keyspace.keyspace import Collection
    op = step[0]
    if op == "set":
        ks.set_string(0, step[1], step[2])
        ks.commit()
    elif op == "setex":
        ks.set_string(0, step[1], step[2], expire=ks.clock_ms + 100_000)
        ks.commit()
    elif op == "del":
        ks.delete(0, step[1])
        ks.commit()
    elif op == "hset":
        ks.delete(0, step[1])
        coll = Collection.open_or_create(ks, 0, step[1], HASH)
        coll.put(b"f", step[2])
        coll.meta.size += 1
        coll.save()
        ks.commit()
    elif op == "mset":  # often two shards: the journal's path
        ks.set_string(0, step[1], step[3])
        ks.set_string(0, step[2], step[3])
        ks.commit()
    elif op == "turn":
        ks.write_staged()
    elif op == "replicate":  # a master's batch applied on this node
        shard = ks.shard_of(step[1])
        ks.apply_batch(shard, {bytes((0, ord("m"))) + step[1]: bytes(10) + step[2]},
                       b"position")
        ks.write_batches()
    elif op == "replace":  # a full sync: shard 0 replaced whole, empty
        ks.replace_shard(0, {}, b"position", 10_000)
    elif op == "flushall":
        ks.flush()
    elif op == "reclaim":
        ks.write_staged()
        maintenance.reclaim(ks)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_the_cache_always_agrees_with_the_engines(steps):
    cached = _staging(Keyspace([MemoryEngine() for _ in range(SHARDS)], cache_records=4))
    plain = _staging(Keyspace([MemoryEngine() for _ in range(SHARDS)]))
    names = [b"a", b"b", b"c", b"d", b"e", b"{a}x", b"{b}y"]
    for step in steps:
        for ks in (cached, plain):
            ks.clock_ms = 1_000_000
            _apply(ks, step)
        for name in names:
            mk = bytes((0, ord("m"))) + name
            shard = cached.shard_of(name)
            cached.reading = True  # fills the cache, as a read-only command does
            assert cached.rget(shard, mk) == plain.rget(shard, mk)
            cached.reading = False
    for ks in (cached, plain):
        ks.write_staged()
    for shard in range(SHARDS):
        assert list(cached.engines[shard].items(b"")) == list(plain.engines[shard].items(b""))
