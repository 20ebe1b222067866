"""Random elements and SCAN cursors for collections stored one subkey per element
(HRANDFIELD, SRANDMEMBER, SPOP, HSCAN, SSCAN).

LevelDB cannot jump to the i-th entry of a range, so a uniform pick needs some help:

* Small collections (up to ``EXACT_LIMIT``) and requests that take a large share of a
  collection are sampled exactly: random positions are drawn first, then one forward scan,
  stopping at the last wanted position, collects them.
* Bigger collections get a *skeleton*: one scan records every ``BUCKET``-th element, cutting
  the collection into buckets of equal size. A pick then draws a bucket uniformly and an offset
  uniformly below ``SLACK`` times the bucket size, and walks that far from the bucket's first
  element; an offset past the bucket's end is drawn again (rejection sampling). Every element
  is then equally likely as long as no bucket grew past the cap, which is exact right after a
  build and stays exact under deletions (SPOP loops). Additions can crowd one bucket, so the
  skeleton is rebuilt once they reach an eighth of the size, or when the size drifted far from
  the built one. A pick costs one seek and ~BUCKET steps; the build's scan is amortised over
  the picks that follow. Skeletons live in a small LRU keyed by the collection's version, so a
  deleted or rewritten key never meets an old skeleton.
"""
from __future__ import annotations

import math
import random
from collections import OrderedDict

from photon.commands.keys import CURSORS, parse_scan_options
from photon.util.glob import compile_glob


EXACT_LIMIT = 256
BUCKET = 32
MAX_BUCKETS = 8192
SLACK = 1.5
# A request for count elements scans exactly when count * _PICK_COST reaches the size.
_PICK_COST = 64
MAX_SKELETONS = 1024
MAX_SKELETON_BYTES = 32 << 20

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


# --- skeletons -------------------------------------------------------------------------------

class Skeleton:
    __slots__ = ("bounds", "built_size", "added", "nbytes")

    def __init__(self, bounds: list[bytes], built_size: int) -> None:
        self.bounds = bounds
        self.built_size = built_size
        self.added = 0
        self.nbytes = sum(len(b) for b in bounds) + 64 * len(bounds)

    def stale(self, size: int) -> bool:
        built = self.built_size
        return (self.added * 8 > built or size * 2 < built or size > built * 1.5
                or not self.bounds)


_skeletons: OrderedDict[tuple, Skeleton] = OrderedDict()
_skeleton_bytes = 0


def _cache_key(coll) -> tuple:
    return (id(coll.ks), coll.db, coll.key, coll.meta.version)


def _drop(key: tuple) -> None:
    global _skeleton_bytes
    sk = _skeletons.pop(key, None)
    if sk is not None:
        _skeleton_bytes -= sk.nbytes


def skeleton(coll) -> Skeleton:
    global _skeleton_bytes
    key = _cache_key(coll)
    sk = _skeletons.get(key)
    if sk is not None and not sk.stale(coll.meta.size):
        _skeletons.move_to_end(key)
        return sk
    _drop(key)
    size = coll.meta.size
    buckets = max(1, min(MAX_BUCKETS, size // BUCKET))
    step = size / buckets
    bounds: list[bytes] = []
    threshold = 0.0
    count = 0
    for field, _ in coll.items():
        if count >= threshold:
            bounds.append(field)
            threshold += step
        count += 1
    sk = Skeleton(bounds, count)
    _skeletons[key] = sk
    _skeleton_bytes += sk.nbytes
    while _skeletons and (len(_skeletons) > MAX_SKELETONS
                          or _skeleton_bytes > MAX_SKELETON_BYTES):
        _drop(next(iter(_skeletons)))
    return sk


def note_added(coll, n: int) -> None:
    """Writers call this when a collection gained elements (skeletons may need a rebuild)."""
    if n and _skeletons:
        sk = _skeletons.get(_cache_key(coll))
        if sk is not None:
            sk.added += n


def _pick(coll, sk: Skeleton) -> Item | None:
    bounds = sk.bounds
    nb = len(bounds)
    cap = max(1, math.ceil(SLACK * max(sk.built_size, coll.meta.size) / nb))
    for _ in range(200):
        j = random.randrange(nb)
        offset = random.randrange(cap)
        stop = bounds[j + 1] if j + 1 < nb else None
        # The first bucket also holds whatever was added before its first element.
        for item in coll.items(bounds[j] if j else b"", stop):
            if offset == 0:
                return item
            offset -= 1
    return None  # the collection is nearly empty compared with its skeleton


def _exact(size: int, count: int) -> bool:
    return size <= EXACT_LIMIT or count * _PICK_COST >= size


def random_one(coll) -> Item | None:
    size = coll.meta.size
    if size <= 0:
        return None
    if not _exact(size, 1):
        item = _pick(coll, skeleton(coll))
        if item is not None:
            return item
    i = random.randrange(size)
    return at_positions(coll, [i]).get(i) or next(iter(coll.items()), None)


def random_repeats(coll, count: int) -> list[Item]:
    """``count`` random elements, each drawn independently (duplicates possible)."""
    size = coll.meta.size
    if size <= 0 or count <= 0:
        return []
    if not _exact(size, count):
        sk = skeleton(coll)
        out = []
        for _ in range(count):
            item = _pick(coll, sk)
            if item is None:
                break
            out.append(item)
        else:
            return out
    positions = [random.randrange(size) for _ in range(count)]
    found = at_positions(coll, positions)
    if len(found) == len(set(positions)):
        return [found[p] for p in positions]
    items = list(coll.items())  # the size was off: fall back to what is there
    return [random.choice(items) for _ in range(count)] if items else []


def random_distinct(coll, count: int) -> list[Item]:
    """``count`` distinct random elements (count below the size), in random order."""
    size = coll.meta.size
    if size <= 0 or count <= 0:
        return []
    count = min(count, size)
    if not _exact(size, count):
        sk = skeleton(coll)
        seen: dict[bytes, Item] = {}
        for _ in range(4 * count + 64):
            item = _pick(coll, sk)
            if item is None:
                break
            seen.setdefault(item[0], item)
            if len(seen) == count:
                return list(seen.values())
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
