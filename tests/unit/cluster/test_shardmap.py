"""The shard map as plain data: claims, epochs, conflicts, merging, slot ranges, the wire."""
import pytest

from photon.cluster.shardmap import ShardMap


def spec_map() -> ShardMap:
    m = ShardMap(16)
    m.claim(range(0, 6), "master1", 1)
    m.claim(range(6, 11), "master2", 2)
    m.claim(range(11, 16), "master3", 3)
    return m


def test_the_specs_three_masters_cover_every_shard():
    m = spec_map()
    assert m.ok and m.uncovered() == [] and m.conflicting() == []
    assert m.shards_of("master2") == [6, 7, 8, 9, 10]
    assert m.slot_ranges("master1") == [(0, 6143)]
    assert m.slot_ranges("master3") == [(11264, 16383)]
    assert m.groups() == ["master1", "master2", "master3"]


def test_a_higher_epoch_wins_and_a_lower_one_never_takes_a_shard_back():
    m = spec_map()
    assert m.claim([7], "replica2", 4) == [7]
    assert m.owner(7) == "replica2" and m.epoch(7) == 4
    assert m.claim([7], "master2", 2) == []  # a stale node's memory changes nothing
    assert m.owner(7) == "replica2"
    assert m.slot_ranges("master2") == [(6144, 7167), (8192, 11263)]


def test_same_epoch_from_two_groups_is_a_conflict_until_a_higher_claim():
    m = spec_map()
    assert m.claim([3], "rogue", 1) == [3]
    assert m.owner(3) is None and m.conflicting() == [3] and not m.ok
    assert m.claim([3], "rogue", 1) == []  # nothing new
    assert m.claim([3], "master1", 5) == [3]
    assert m.owner(3) == "master1" and m.ok


def test_uncovered_shards_are_named():
    m = ShardMap(16)
    m.claim(range(0, 6), "master1", 1)
    assert m.uncovered() == list(range(6, 16)) and not m.ok
    assert m.owner(6) is None


def test_merge_keeps_the_higher_epoch_per_shard_both_ways():
    a, b = spec_map(), spec_map()
    b.claim(range(11, 16), "replica3", 7)
    a.claim([0], "replica1", 9)
    assert a.merge(b) == [11, 12, 13, 14, 15]
    assert b.merge(a) == [0]
    assert a.to_wire() == b.to_wire()
    assert a.max_epoch() == 9


def test_conflicts_travel_on_the_wire():
    a = spec_map()
    a.claim([2], "other", 1)
    b = ShardMap.from_wire(16, a.to_wire())
    assert b.conflicting() == [2] and b.owner(2) is None
    c = spec_map()
    assert c.merge(b) == [2] and c.conflicting() == [2]


def test_bad_input():
    with pytest.raises(ValueError):
        ShardMap(12)
    with pytest.raises(ValueError):
        ShardMap.from_wire(16, [16, b"x", 1])
    with pytest.raises(ValueError):
        ShardMap(16).merge(ShardMap(32))
