"""Cross-shard commits through the intent journal: a crash between two shards' batches is
finished at the next start, a torn intent is dropped, single-shard commits skip it."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from photon.keyspace import journal as jmod
from photon.keyspace.journal import Journal
from photon.keyspace.keyspace import Keyspace
from photon.storage.memory import MemoryEngine

SHARDS = 16


class Crash(Exception):
    pass


class CrashingEngine(MemoryEngine):
    """Dies (as a killed process would) on its next write while ``armed``."""

    armed = False

    def write(self, ops):
        if self.armed:
            raise Crash
        super().write(ops)


def _keys_on_two_shards(ks: Keyspace) -> tuple[bytes, bytes]:
    a = b"a"
    for i in range(1000):
        b = b"b%d" % i
        if ks.shard_of(b) != ks.shard_of(a):
            return a, b
    raise AssertionError("no second shard")


ops_st = st.dictionaries(st.binary(max_size=20), st.one_of(st.none(), st.binary(max_size=50)),
                         max_size=8)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.integers(0, SHARDS - 1), ops_st, max_size=4))
def test_encode_decode_roundtrip(pending):
    assert jmod.decode(jmod.encode(pending)) == pending


def test_torn_intents_are_refused():
    blob = jmod.encode({1: {b"k": b"v"}, 3: {b"x": None}})
    for cut in range(len(blob)):
        assert jmod.decode(blob[:cut]) is None
    flipped = blob[:-1] + bytes([blob[-1] ^ 1])
    assert jmod.decode(flipped) is None


def _store():
    """Shards holding a=old-a, with a command setting a and b (another shard) pending."""
    engines = [CrashingEngine() for _ in range(SHARDS)]
    journal = Journal(MemoryEngine())
    ks = Keyspace(engines, 16, journal)
    a, b = _keys_on_two_shards(ks)
    ks.set_string(0, a, b"old-a")
    ks.commit()
    ks.set_string(0, a, b"new-a")
    ks.set_string(0, b, b"new-b")
    return engines, journal, ks, a, b


def test_crash_between_shards_is_finished_at_start():
    engines, journal, ks, a, b = _store()
    order = list(ks.pending)
    engines[order[1]].armed = True  # the first shard's batch lands, then the process dies
    with pytest.raises(Crash):
        ks.commit()
    assert journal.engine.get(Journal.KEY) is not None
    engines[order[1]].armed = False

    restarted = Journal(journal.engine)
    assert restarted.recover(engines) is True
    assert journal.engine.get(Journal.KEY) is None
    ks2 = Keyspace(engines, 16)
    assert ks2.get_string(0, a) == b"new-a" and ks2.get_string(0, b) == b"new-b"
    assert sum(s.keys[0] for s in ks2.shards) == 2  # the key counts came with the batches


def test_an_unreadable_intent_is_dropped():
    engines, journal, ks, a, b = _store()
    journal.engine.write({Journal.KEY: jmod.encode(ks.pending)[:-3]})  # not a whole intent
    ks.pending = {}
    assert Journal(journal.engine).recover(engines) is False
    assert journal.engine.get(Journal.KEY) is None
    ks2 = Keyspace(engines, 16)
    assert ks2.get_string(0, a) == b"old-a" and ks2.get_string(0, b) is None


def test_intent_only_for_commits_that_span_shards():
    engines, journal, ks, a, b = _store()
    assert journal.intents == 0  # the first commit wrote one shard
    ks.commit()
    assert journal.intents == 1
    assert journal.engine.get(Journal.KEY) is None
    assert Journal(journal.engine).recover(engines) is False
