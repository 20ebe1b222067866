"""Random elements and SCAN cursors for collections stored one subkey per element
(HRANDFIELD, SRANDMEMBER, SPOP, HSCAN, SSCAN).

LevelDB cannot jump to the i-th entry of a range, so a uniform pick costs a scan. Collections
up to ``EXACT_LIMIT`` elements (and requests that take a large share of a collection) are
sampled exactly: random positions are drawn first and one forward scan, stopping at the last
wanted position, collects them. Bigger collections are probed: a seek to a random key between
the first and the last element, then a random walk of up to ``WINDOW`` steps to smooth the bias
a seek has towards elements that follow large gaps in key space. That keeps SPOP and a small
SRANDMEMBER O(1) seeks on a million-member set, at the price of a distribution that is only
approximately uniform there.
"""
from __future__ import annotations

import random
from photon.commands.keys import CURSORS, parse_scan_options
from photon.keyspace.keyspace import Collection
from photon.util.glob import compile_glob


class Coll(Collection):
    """Collection with a slot for the ``created`` attribute ``Collection.save`` assigns (the
    base class's __slots__ lacks it, so save() raised AttributeError)."""

    __slots__ = ("created",)

EXACT_LIMIT = 4096
WINDOW = 32
# Above EXACT_LIMIT an exact scan still wins when the request is a large share of the set.
_PROBE_COST = 24

Item = tuple[bytes, bytes]


def at_positions(coll, positions) -> dict[int, Item]:
    """The elements at the given positions of field order, read with one scan."""
    wanted = sorted(set(positions))
    out: dict[int, Item] = {}
    if not wanted:
        return out
    it = iter(wanted)
    nxt = next(it)
    for i, item in enumerate(coll.items()):
        if i == nxt:
            out[i] = item
            nxt = next(it, None)
            if nxt is None:
                break
    return out


class _Prober:
    """Approximately uniform random elements of a big collection, by seeks."""

    def __init__(self, coll) -> None:
        self.coll = coll
        first = next(iter(coll.items()), None)
        last = next(iter(coll.items(reverse=True)), None)
        self.ok = first is not None and last is not None
        if not self.ok:
            return
        lo, hi = first[0], last[0]
        k = 0
        while k < len(lo) and k < len(hi) and lo[k] == hi[k]:
            k += 1
        self.common = lo[:k]
        self.low = lo[k] if k < len(lo) else 0
        self.high = hi[k] if k < len(hi) else 255

    def one(self) -> Item | None:
        if not self.ok:
            return None
        probe = (self.common + bytes((random.randint(self.low, self.high),))
                 + random.randbytes(7))
        steps = random.randrange(WINDOW)
        for _ in range(WINDOW + 1):
            for item in self.coll.items(probe):
                if steps == 0:
                    return item
                steps -= 1
            probe = b""  # wrap around to the first element
        return None


def _exact(coll, size: int, count: int) -> bool:
    return size <= EXACT_LIMIT or count * _PROBE_COST >= size


def random_one(coll) -> Item | None:
    size = coll.meta.size
    if size <= 0:
        return None
    if _exact(coll, size, 1):
        i = random.randrange(size)
        return at_positions(coll, [i]).get(i) or next(iter(coll.items()), None)
    return _Prober(coll).one() or next(iter(coll.items()), None)


def random_repeats(coll, count: int) -> list[Item]:
    """``count`` random elements, each drawn independently (duplicates possible)."""
    size = coll.meta.size
    if size <= 0 or count <= 0:
        return []
    if _exact(coll, size, count):
        positions = [random.randrange(size) for _ in range(count)]
        found = at_positions(coll, positions)
        if len(found) == len(set(positions)):
            return [found[p] for p in positions]
        items = list(coll.items())  # the size was off: fall back to what is there
        return [random.choice(items) for _ in range(count)] if items else []
    prober = _Prober(coll)
    out = []
    for _ in range(count):
        item = prober.one()
        if item is None:
            break
        out.append(item)
    return out


def random_distinct(coll, count: int) -> list[Item]:
    """``count`` distinct random elements (count below the size), in random order."""
    size = coll.meta.size
    if size <= 0 or count <= 0:
        return []
    count = min(count, size)
    if not _exact(coll, size, count):
        prober = _Prober(coll)
        seen: dict[bytes, Item] = {}
        for _ in range(4 * count + 64):
            item = prober.one()
            if item is None:
                break
            seen.setdefault(item[0], item)
            if len(seen) == count:
                out = list(seen.values())
                random.shuffle(out)
                return out
    positions = random.sample(range(size), count)
    found = at_positions(coll, positions)
    return [found[p] for p in positions if p in found]


# --- HSCAN / SSCAN -------------------------------------------------------------------------

def scan(argv: list[bytes], cursor: int, coll, compact: bool, with_values: bool) -> list:
    """The reply of HSCAN/SSCAN once the cursor is parsed and the key found.

    A collection in a compact Redis encoding (listpack, intset) is returned whole with cursor
    0, as Redis does; a big one ``count`` elements at a time, the cursor naming the last
    element returned.
    """
    pattern, count, _ = parse_scan_options(argv, 3, False)
    match = compile_glob(pattern) if pattern is not None and pattern != b"*" else None
    out: list[bytes] = []

    def take(field: bytes, value: bytes) -> None:
        if match is None or match(field):
            out.append(field)
            if with_values:
                out.append(value)

    if compact:
        for field, value in coll.items():
            take(field, value)
        return [b"0", out]
    start = b""
    if cursor:
        position = CURSORS.load(cursor)
        if position is not None and position[0] == "element":
            start = position[1] + b"\0"
    seen = 0
    last = None
    for field, value in coll.items(start):
        if seen == count:
            return [b"%d" % CURSORS.save(("element", last)), out]
        seen += 1
        last = field
        take(field, value)
    return [b"0", out]
