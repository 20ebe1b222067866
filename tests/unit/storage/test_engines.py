"""Both engines honour the same contract: [start, stop) ranges in either direction, atomic
batches, snapshots frozen in time."""
import pytest
from hypothesis import given, settings, strategies as st

from photon.storage.leveldb import LevelDBEngine
from photon.storage.memory import MemoryEngine


@pytest.fixture(params=["memory", "leveldb"])
def engine(request, tmp_path):
    if request.param == "memory":
        yield MemoryEngine()
    else:
        e = LevelDBEngine(tmp_path / "db")
        yield e
        e.close()


def test_put_get_delete(engine):
    engine.write({b"a": b"1", b"b": b"2"})
    engine.write({b"a": None})
    assert engine.get(b"a") is None and engine.get(b"b") == b"2"


keys = st.lists(st.binary(min_size=0, max_size=3), max_size=12, unique=True)


@settings(max_examples=150, deadline=None)
@given(keys=keys, start=st.binary(max_size=3), stop=st.one_of(st.none(), st.binary(max_size=3)))
def test_ranges_match_a_sorted_list(tmp_path_factory, keys, start, stop):
    ref = sorted(k for k in keys if k >= start and (stop is None or k < stop))
    leveldb = LevelDBEngine(tmp_path_factory.mktemp("db"))
    try:
        for engine in (MemoryEngine(), leveldb):
            if keys:
                engine.write({k: b"v" + k for k in keys})
            assert list(engine.keys(start, stop)) == ref
            assert list(engine.keys(start, stop, reverse=True)) == ref[::-1]
            assert list(engine.items(start, stop, reverse=True)) == [(k, b"v" + k)
                                                                     for k in ref[::-1]]
            snap = engine.snapshot()
            assert list(snap.keys(start, stop, reverse=True)) == ref[::-1]
    finally:
        leveldb.close()


def test_reverse_range_holding_only_its_start(engine):
    """plyvel 1.5 returns nothing here when given both bounds; the engine must not."""
    engine.write({b"a": b"1", b"b": b"2", b"c": b"3"})
    assert list(engine.keys(b"b", b"c", reverse=True)) == [b"b"]


def test_snapshot_is_frozen(engine):
    engine.write({b"a": b"1"})
    snap = engine.snapshot()
    engine.write({b"a": b"2", b"b": b"3"})
    assert snap.get(b"a") == b"1" and list(snap.keys(b"")) == [b"a"]


def test_sync_survives_fresh_log(tmp_path):
    e = LevelDBEngine(tmp_path / "db")
    e.write({b"k": b"v"})
    e.sync()
    e.close()
    again = LevelDBEngine(tmp_path / "db")
    assert again.get(b"k") == b"v"
    again.close()
