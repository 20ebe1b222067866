"""Sorted-set commands (Redis's t_zset.c) over two indexes per key.

A member's subkey holds its encoded score (point reads: ZSCORE, ZADD, ZREM); the score index
holds ``encode_score(score) + member`` with an empty value, so (score, member) order is key
order: score ranges are key ranges, ranks are scans (O(offset + count), as in Kvrocks).

Parsing, checks and error texts follow Redis 7.0's t_zset.c step by step, including the order
in which arguments are validated and keys looked up. Lexicographic ranges walk the score index
the way Redis walks a listpack, which is what it does for sets whose scores are all equal.
"""
from __future__ import annotations

import inspect
import math
import re
import sys
from collections.abc import Iterator
from itertools import islice

from photon.commands import blocking, sampling
from photon.commands.keys import CURSORS, ENCODINGS, parse_cursor, parse_scan_options
from photon.commands.table import command
from photon.errors import NOT_FLOAT, WRONGTYPE, RedisError, syntax
from photon.keyspace.encoding import (
    FLAG_BIG, SET, ZSET, Meta, decode_score, encode_score, prefix_end,
)
from photon.keyspace.keyspace import Collection
from photon.protocol.encoder import format_double
from photon.protocol.reply import NULL_ARRAY, Double
from photon.util.glob import compile_glob
from photon.util.numbers import INT64_MAX, parse_int, string2ll
from photon.util.ranges import rank_range

# Redis's zset-max-listpack-entries / zset-max-listpack-value defaults.
LISTPACK_ENTRIES = 128
LISTPACK_VALUE = 64

NAN_ERROR = "ERR resulting score is not a number (NaN)"
RANGE_ERROR = "ERR min or max is not a float"
LEX_ERROR = "ERR min or max not valid string range item"
POSITIVE_ERROR = "ERR value is out of range, must be positive"


# --- numbers: glibc strtod, as Redis calls it --------------------------------------------

_DEC = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX = re.compile(rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?")
_INF = re.compile(rb"[+-]?inf(?:inity)?", re.IGNORECASE)
_NONZERO_MANTISSA = re.compile(rb"[1-9]")
_NONZERO_HEX = re.compile(rb"[1-9a-fA-F]")
_SPACE = b" \t\n\v\f\r"


def _strtod(s: bytes) -> tuple[float, bool] | None:
    """The whole of ``s`` as strtod reads it (decimal, hex, inf; NaN is refused): the value
    and whether strtod would set ERANGE (overflow to inf, or underflow to zero)."""
    if _DEC.fullmatch(s):
        v = float(s)
        if math.isinf(v):
            return v, True
        if v == 0.0:
            mantissa = s.split(b"e")[0].split(b"E")[0]
            return v, _NONZERO_MANTISSA.search(mantissa) is not None
        return v, False
    if _HEX.fullmatch(s):
        text = s.decode("ascii")
        try:
            v = float.fromhex(text)
        except OverflowError:
            return (-math.inf if text[0] == "-" else math.inf), True
        if v == 0.0:
            mantissa = re.split("[pP]", text)[0].lower().replace("0x", "", 1)
            return v, _NONZERO_HEX.search(mantissa.encode()) is not None
        return v, False
    if _INF.fullmatch(s):
        return (-math.inf if s[:1] == b"-" else math.inf), False
    return None


def parse_score(arg: bytes, error: str = NOT_FLOAT) -> float:
    """getDoubleFromObject: the whole string, no leading space, no overflow, no NaN."""
    r = _strtod(arg)
    if r is None or r[1]:
        raise RedisError(error)
    return r[0]


def _range_item(arg: bytes) -> tuple[float, bool]:
    """One end of a score range (zslParseRange): '(' makes it exclusive; strtod allows leading
    spaces, an empty string (0) and overflow (inf)."""
    ex = arg[:1] == b"("
    s = arg[1:] if ex else arg
    if s == b"":
        return 0.0, ex
    r = _strtod(s.lstrip(_SPACE))
    if r is None:
        raise RedisError(RANGE_ERROR)
    return r[0], ex


class ScoreRange:
    __slots__ = ("min", "minex", "max", "maxex")

    def __init__(self, lo: bytes, hi: bytes) -> None:
        self.min, self.minex = _range_item(lo)
        self.max, self.maxex = _range_item(hi)

    def empty(self) -> bool:
        return self.min > self.max or (self.min == self.max and (self.minex or self.maxex))

    def keys(self) -> tuple[bytes, bytes]:
        """The score-index key range [start, stop) holding exactly this range."""
        lo = encode_score(self.min)
        hi = encode_score(self.max)
        return (prefix_end(lo) if self.minex else lo), (hi if self.maxex else prefix_end(hi))


_NEG = object()  # '-': below every string
_POS = object()  # '+': above every string


def _lex_item(arg: bytes):
    first = arg[:1]
    if first == b"+" or first == b"-":
        if len(arg) > 1 and arg[1] != 0:
            raise RedisError(LEX_ERROR)
        return (_POS if first == b"+" else _NEG), True
    if first == b"(":
        return arg[1:], True
    if first == b"[":
        return arg[1:], False
    raise RedisError(LEX_ERROR)


def _lexcmp(a, b) -> int:
    if a is b:
        return 0
    if a is _NEG or b is _POS:
        return -1
    if a is _POS or b is _NEG:
        return 1
    return (a > b) - (a < b)


class LexRange:
    __slots__ = ("min", "minex", "max", "maxex")

    def __init__(self, lo: bytes, hi: bytes) -> None:
        self.min, self.minex = _lex_item(lo)
        self.max, self.maxex = _lex_item(hi)

    def empty(self) -> bool:
        cmp = _lexcmp(self.min, self.max)
        return cmp > 0 or (cmp == 0 and (self.minex or self.maxex))

    def gte_min(self, v: bytes) -> bool:
        m = self.min
        if m is _NEG:
            return True
        if m is _POS:
            return False
        return v > m if self.minex else v >= m

    def lte_max(self, v: bytes) -> bool:
        m = self.max
        if m is _POS:
            return True
        if m is _NEG:
            return False
        return v < m if self.maxex else v <= m


# --- access to one sorted set -------------------------------------------------------------

def _open(c, key: bytes) -> Collection | None:
    return Collection.open(c.server.keyspace, c.db, key, ZSET)


def _score(coll: Collection, member: bytes) -> float | None:
    raw = coll.get(member)
    return None if raw is None else decode_score(raw)


def _insert(coll: Collection, member: bytes, score: float) -> None:
    es = encode_score(score)
    coll.put(member, es)
    coll.zput(es + member)
    meta = coll.meta
    meta.size += 1
    if len(member) > LISTPACK_VALUE or meta.size > LISTPACK_ENTRIES:
        meta.flags |= FLAG_BIG


def _update(coll: Collection, member: bytes, old: float, new: float) -> None:
    es = encode_score(new)
    coll.zdelete(encode_score(old) + member)
    coll.zput(es + member)
    coll.put(member, es)


def _remove(coll: Collection, member: bytes, score: float) -> None:
    coll.delete(member)
    coll.zdelete(encode_score(score) + member)
    coll.meta.size -= 1


def _pairs(suffixes) -> Iterator[tuple[bytes, float]]:
    """(member, score) from score-index suffixes."""
    for s in suffixes:
        yield s[8:], decode_score(s)


def _finish(coll: Collection, size_before: int, changed: bool) -> None:
    """Write the metadata once (deleting an emptied key) when the command changed anything."""
    if changed or coll.meta.size != size_before:
        coll.save()


def _encoding(ks, db, key, meta) -> bytes:
    if meta.flags & FLAG_BIG or meta.size > LISTPACK_ENTRIES:
        return b"skiplist"
    return b"listpack"


ENCODINGS[ZSET] = _encoding


def _store(c, dst: bytes, pairs) -> int:
    """Replace ``dst`` with these (member, score) pairs (the *STORE commands); an empty result
    deletes it. The encoding follows the result, as Redis converts a stored result."""
    coll = Collection.create(c.server.keyspace, c.db, dst, ZSET)
    meta = coll.meta
    big = False
    n = 0
    for member, score in pairs:
        es = encode_score(score)
        coll.put(member, es)
        coll.zput(es + member)
        n += 1
        if len(member) > LISTPACK_VALUE:
            big = True
    meta.size = n
    if big or n > LISTPACK_ENTRIES:
        meta.flags |= FLAG_BIG
    coll.save()
    return n


# --- replies ------------------------------------------------------------------------------

def _with_scores(c, pairs) -> list:
    """WITHSCORES: a flat member, score list in RESP2; [member, score] pairs in RESP3."""
    if c.resp3:
        return [[m, Double(s)] for m, s in pairs]
    out: list = []
    for m, s in pairs:
        out.append(m)
        out.append(Double(s))
    return out


def _range_reply(c, pairs, withscores: bool) -> list:
    if withscores:
        return _with_scores(c, pairs)
    return [m for m, _ in pairs]


# --- ZADD / ZINCRBY -----------------------------------------------------------------------

def _zadd(c, argv: list[bytes], incr: bool):
    nx = xx = gt = lt = ch = False
    i = 2
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt == b"ch":
            ch = True
        elif opt == b"incr":
            incr = True
        elif opt == b"gt":
            gt = True
        elif opt == b"lt":
            lt = True
        else:
            break
        i += 1
    elements = n - i
    if elements % 2 or not elements:
        raise syntax()
    if nx and xx:
        raise RedisError("ERR XX and NX options at the same time are not compatible")
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise RedisError("ERR GT, LT, and/or NX options at the same time are not compatible")
    if incr and elements > 2:
        raise RedisError("ERR INCR option supports a single increment-element pair")
    scores = [parse_score(argv[j]) for j in range(i, n, 2)]
    ks = c.server.keyspace
    key = argv[1]
    meta = ks.lookup_typed(c.db, key, ZSET)
    if meta is None:
        if xx:
            return None if incr else 0
        coll = Collection(ks, c.db, key, Meta(ZSET, version=ks.new_version()), None)
    else:
        coll = Collection(ks, c.db, key, meta, meta)
    size_before = coll.meta.size
    if not (nx or xx or gt or lt or incr):
        added, updated = _zadd_plain(coll, scores, argv[i + 1:n:2])
        _finish(coll, size_before, bool(added or updated))
        return added + updated if ch else added
    added = updated = processed = 0
    result = 0.0
    for score, member in zip(scores, argv[i + 1:n:2]):
        cur = _score(coll, member)
        if cur is None:
            if xx:
                continue
            _insert(coll, member, score)
            added += 1
            processed += 1
            result = score
            continue
        if nx:
            continue
        if incr:
            score = cur + score
            if math.isnan(score):
                _finish(coll, size_before, bool(added or updated))
                raise RedisError(NAN_ERROR)
        if (lt and score >= cur) or (gt and score <= cur):
            continue
        processed += 1
        result = score
        if score != cur:
            _update(coll, member, cur, score)
            updated += 1
    sampling.note_added(coll, added)
    _finish(coll, size_before, bool(added or updated))
    if incr:
        return Double(result) if processed else None
    return added + updated if ch else added


def _zadd_plain(coll: Collection, scores: list[float], members: list[bytes]) -> tuple[int, int]:
    """ZADD without conditions, the bulk-loading path: the same writes as _insert/_update with
    the per-member overhead kept low (equal scores have equal encodings, -0 included)."""
    ks = coll.ks
    rget = ks.rget
    rput = ks.rput
    shard = coll.shard
    p = coll.prefix
    zp = coll.zprefix
    added = updated = 0
    longest = 0
    for score, member in zip(scores, members):
        es = encode_score(score)
        mk = p + member
        raw = rget(shard, mk)
        if raw is None:
            rput(shard, mk, es)
            rput(shard, zp + es + member, b"")
            added += 1
            if len(member) > longest:
                longest = len(member)
        elif raw != es:
            rput(shard, zp + raw + member, None)
            rput(shard, zp + es + member, b"")
            rput(shard, mk, es)
            updated += 1
    meta = coll.meta
    meta.size += added
    if longest > LISTPACK_VALUE or meta.size > LISTPACK_ENTRIES:
        meta.flags |= FLAG_BIG
    sampling.note_added(coll, added)
    return added, updated


@command("zadd", -4, "write denyoom fast", 1, 1, 1)
def zadd(c, argv):
    return _zadd(c, argv, False)


@command("zincrby", 4, "write denyoom fast", 1, 1, 1)
def zincrby(c, argv):
    return _zadd(c, argv, True)


# --- point reads and removal --------------------------------------------------------------

@command("zrem", -3, "write fast", 1, 1, 1)
def zrem(c, argv):
    coll = _open(c, argv[1])
    if coll is None:
        return 0
    size_before = coll.meta.size
    deleted = 0
    for member in argv[2:]:
        score = _score(coll, member)
        if score is not None:
            _remove(coll, member, score)
            deleted += 1
    _finish(coll, size_before, bool(deleted))
    return deleted


@command("zscore", 3, "readonly fast", 1, 1, 1)
def zscore(c, argv):
    coll = _open(c, argv[1])
    if coll is None:
        return None
    score = _score(coll, argv[2])
    return None if score is None else Double(score)


@command("zmscore", -3, "readonly fast", 1, 1, 1)
def zmscore(c, argv):
    coll = _open(c, argv[1])
    if coll is None:
        return [None] * (len(argv) - 2)
    out = []
    for member in argv[2:]:
        score = _score(coll, member)
        out.append(None if score is None else Double(score))
    return out


@command("zcard", 2, "readonly fast", 1, 1, 1)
def zcard(c, argv):
    meta = c.server.keyspace.lookup_typed(c.db, argv[1], ZSET)
    return 0 if meta is None else meta.size


def _rank(coll: Collection, member: bytes, reverse: bool) -> tuple[int, float] | None:
    raw = coll.get(member)
    if raw is None:
        return None
    target = raw + member
    if reverse:
        rank = sum(1 for _ in coll.zitems(target + b"\0"))
    else:
        rank = sum(1 for _ in coll.zitems(b"", target))
    return rank, decode_score(raw)


def _zrank(c, argv, reverse: bool):
    # WITHSCORE comes from Redis 7.2 (the issue asks for it), hence 7.2's arity of -3.
    withscore = False
    if len(argv) > 4:
        raise RedisError(f"ERR wrong number of arguments for '{argv[0].lower().decode()}' "
                         "command")
    if len(argv) == 4:
        if argv[3].lower() != b"withscore":
            raise syntax()
        withscore = True
    coll = _open(c, argv[1])
    if coll is None:
        return NULL_ARRAY if withscore else None
    found = _rank(coll, argv[2], reverse)
    if found is None:
        return NULL_ARRAY if withscore else None
    rank, score = found
    return [rank, Double(score)] if withscore else rank


@command("zrank", -3, "readonly fast", 1, 1, 1)
def zrank(c, argv):
    return _zrank(c, argv, False)


@command("zrevrank", -3, "readonly fast", 1, 1, 1)
def zrevrank(c, argv):
    return _zrank(c, argv, True)


# --- ranges -------------------------------------------------------------------------------

def _by_rank(coll: Collection, start: int, end: int, reverse: bool) -> list[tuple[bytes, float]]:
    """Entries at ranks start..end (already sanitized), from the nearer end of the index."""
    size = coll.meta.size
    if reverse:
        start, end = size - 1 - end, size - 1 - start
    count = end - start + 1
    if start <= size - 1 - end:
        out = list(_pairs(islice(coll.zitems(), start, start + count)))
    else:
        skip = size - 1 - end
        out = list(_pairs(islice(coll.zitems(reverse=True), skip, skip + count)))
        out.reverse()
    if reverse:
        out.reverse()
    return out


def _zrev(coll: Collection, start: bytes, stop: bytes | None) -> Iterator[bytes]:
    """Score-index suffixes in [start, stop), descending.

    The lower bound is applied here rather than handed to the engine: plyvel 1.5's reverse
    iterator yields nothing when the only key of its range equals its ``start``.
    """
    for s in coll.zitems(b"", stop, True):
        if s < start:
            return
        yield s


def _score_iter(coll: Collection, rng: ScoreRange, reverse: bool) -> Iterator[bytes]:
    if rng.empty():
        return iter(())
    lo, hi = rng.keys()
    return _zrev(coll, lo, hi) if reverse else coll.zitems(lo, hi)


def _lex_iter(coll: Collection, rng: LexRange, reverse: bool) -> Iterator[tuple[bytes, float]]:
    """The members a listpack walk finds for a lex range: from the first (last, when reversed)
    member past the near bound, as long as members stay within the far bound."""
    if rng.empty():
        return
    first = next(coll.zitems(), None)
    if first is None:
        return
    last = next(coll.zitems(reverse=True), None)
    if not rng.gte_min(last[8:]) or not rng.lte_max(first[8:]):
        return
    enter, stay = (rng.lte_max, rng.gte_min) if reverse else (rng.gte_min, rng.lte_max)
    if first[:8] == last[:8]:
        # One score for all: score-index order is member order, so seek to the bound.
        score = first[:8]
        if reverse:
            stop = None
            if rng.max is not _POS:
                stop = score + rng.max + (b"" if rng.maxex else b"\0")
            it = _zrev(coll, score, stop)
        else:
            start = score
            if rng.min is not _NEG:
                start = score + rng.min + (b"\0" if rng.minex else b"")
            it = coll.zitems(start)
    else:
        it = coll.zitems(reverse=reverse)
    for s in it:
        if enter(s[8:]):
            break
    else:
        return
    while True:
        member = s[8:]
        if not stay(member):
            return
        yield member, decode_score(s)
        s = next(it, None)
        if s is None:
            return


def _limited(it, offset: int, limit: int) -> list:
    if offset < 0:
        return []
    stop = offset + limit
    return list(islice(it, offset, None if limit < 0 or stop > sys.maxsize else stop))


RANK, SCORE, LEX = 0, 1, 2


def _zrange(c, argv: list[bytes], start_idx: int, store: bytes | None, rangetype: int | None,
            reverse: bool | None):
    """zrangeGenericCommand: every ZRANGE flavour, and ZRANGESTORE when ``store``."""
    key = argv[start_idx]
    minidx, maxidx = start_idx + 1, start_idx + 2
    withscores = False
    offset, limit = 0, -1
    j = start_idx + 3
    n = len(argv)
    while j < n:
        left = n - j - 1
        opt = argv[j].lower()
        if store is None and opt == b"withscores":
            withscores = True
        elif opt == b"limit" and left >= 2:
            offset = parse_int(argv[j + 1])
            limit = parse_int(argv[j + 2])
            j += 2
        elif reverse is None and opt == b"rev":
            reverse = True
        elif rangetype is None and opt == b"bylex":
            rangetype = LEX
        elif rangetype is None and opt == b"byscore":
            rangetype = SCORE
        else:
            raise syntax()
        j += 1
    reverse = bool(reverse)
    if rangetype is None:
        rangetype = RANK
    if limit != -1 and rangetype == RANK:
        raise RedisError("ERR syntax error, LIMIT is only supported in combination with either "
                         "BYSCORE or BYLEX")
    if withscores and rangetype == LEX:
        raise RedisError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    if reverse and rangetype != RANK:
        minidx, maxidx = maxidx, minidx
    if rangetype == RANK:
        start = parse_int(argv[minidx])
        end = parse_int(argv[maxidx])
    elif rangetype == SCORE:
        srange = ScoreRange(argv[minidx], argv[maxidx])
    else:
        lrange = LexRange(argv[minidx], argv[maxidx])
    coll = _open(c, key)
    if coll is None:
        pairs: list = []
    elif rangetype == RANK:
        bounds = rank_range(start, end, coll.meta.size)
        pairs = [] if bounds is None else _by_rank(coll, bounds[0], bounds[1], reverse)
    elif rangetype == SCORE:
        if offset > 0 and offset >= coll.meta.size:
            pairs = []
        else:
            pairs = list(_pairs(_limited(_score_iter(coll, srange, reverse), offset, limit)))
    else:
        pairs = _limited(_lex_iter(coll, lrange, reverse), offset, limit)
    if store is not None:
        return _store(c, store, pairs)
    return _range_reply(c, pairs, withscores)


@command("zrange", -4, "readonly", 1, 1, 1)
def zrange(c, argv):
    return _zrange(c, argv, 1, None, None, None)


@command("zrangestore", -5, "write denyoom", 1, 2, 1)
def zrangestore(c, argv):
    return _zrange(c, argv, 2, argv[1], None, None)


@command("zrevrange", -4, "readonly", 1, 1, 1)
def zrevrange(c, argv):
    return _zrange(c, argv, 1, None, RANK, True)


@command("zrangebyscore", -4, "readonly", 1, 1, 1)
def zrangebyscore(c, argv):
    return _zrange(c, argv, 1, None, SCORE, False)


@command("zrevrangebyscore", -4, "readonly", 1, 1, 1)
def zrevrangebyscore(c, argv):
    return _zrange(c, argv, 1, None, SCORE, True)


@command("zrangebylex", -4, "readonly", 1, 1, 1)
def zrangebylex(c, argv):
    return _zrange(c, argv, 1, None, LEX, False)


@command("zrevrangebylex", -4, "readonly", 1, 1, 1)
def zrevrangebylex(c, argv):
    return _zrange(c, argv, 1, None, LEX, True)


@command("zcount", 4, "readonly fast", 1, 1, 1)
def zcount(c, argv):
    rng = ScoreRange(argv[2], argv[3])
    coll = _open(c, argv[1])
    if coll is None:
        return 0
    return sum(1 for _ in _score_iter(coll, rng, False))


@command("zlexcount", 4, "readonly fast", 1, 1, 1)
def zlexcount(c, argv):
    rng = LexRange(argv[2], argv[3])
    coll = _open(c, argv[1])
    if coll is None:
        return 0
    return sum(1 for _ in _lex_iter(coll, rng, False))


def _remove_pairs(coll: Collection, pairs) -> int:
    size_before = coll.meta.size
    n = 0
    for member, score in pairs:
        _remove(coll, member, score)
        n += 1
    _finish(coll, size_before, bool(n))
    return n


@command("zremrangebyrank", 4, "write", 1, 1, 1)
def zremrangebyrank(c, argv):
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    coll = _open(c, argv[1])
    if coll is None:
        return 0
    bounds = rank_range(start, end, coll.meta.size)
    if bounds is None:
        return 0
    return _remove_pairs(coll, _by_rank(coll, bounds[0], bounds[1], False))


@command("zremrangebyscore", 4, "write", 1, 1, 1)
def zremrangebyscore(c, argv):
    rng = ScoreRange(argv[2], argv[3])
    coll = _open(c, argv[1])
    if coll is None:
        return 0
    return _remove_pairs(coll, list(_pairs(_score_iter(coll, rng, False))))


@command("zremrangebylex", 4, "write", 1, 1, 1)
def zremrangebylex(c, argv):
    rng = LexRange(argv[2], argv[3])
    coll = _open(c, argv[1])
    if coll is None:
        return 0
    return _remove_pairs(coll, list(_lex_iter(coll, rng, False)))


# --- pops ---------------------------------------------------------------------------------

def _pop(coll: Collection, count: int, where_max: bool) -> list[tuple[bytes, float]]:
    pairs = list(_pairs(islice(coll.zitems(reverse=where_max), count)))
    _remove_pairs(coll, pairs)
    return pairs


def _zpop(c, argv, where_max: bool):
    if len(argv) > 3:
        raise syntax()
    count = -1
    if len(argv) == 3:
        count = string2ll(argv[2])
        if count is None or count < 0:
            raise RedisError(POSITIVE_ERROR)
    coll = _open(c, argv[1])
    if coll is None or count == 0:
        return []
    if count == -1:
        member, score = _pop(coll, 1, where_max)[0]
        return [member, Double(score)]
    return _with_scores(c, _pop(coll, count, where_max))


@command("zpopmin", -2, "write fast", 1, 1, 1)
def zpopmin(c, argv):
    return _zpop(c, argv, False)


@command("zpopmax", -2, "write fast", 1, 1, 1)
def zpopmax(c, argv):
    return _zpop(c, argv, True)


def _first_nonempty(c, db: int, keys: list[bytes], strict: bool):
    """The first key holding a sorted set, as a Collection; a key of another type is an error
    (``strict``) or skipped (a blocked client waits on)."""
    ks = c.server.keyspace
    for key in keys:
        meta = ks.lookup(db, key)
        if meta is None:
            continue
        if meta.type != ZSET:
            if strict:
                raise RedisError(WRONGTYPE)
            continue
        return key, Collection(ks, db, key, meta, meta)
    return None


def _ready(c, db: int, keys: list[bytes], key: bytes | None):
    """For a blocked client: the key that became ready when the registry names it (Redis pops
    from that key), else the first of its keys holding a sorted set; other types are waited
    past, as Redis 7.0 does."""
    return _first_nonempty(c, db, keys if key is None else [key], False)


_KEYED = "keyed" in inspect.signature(blocking.block).parameters


def _block(c, keys: list[bytes], timeout: float, serve):
    if _KEYED:
        return blocking.block(c, keys, timeout, serve, NULL_ARRAY, keyed=True)
    return blocking.block(c, keys, timeout, serve, NULL_ARRAY)


def _bzpop_reply(key: bytes, pairs) -> list:
    member, score = pairs[0]
    return [key, member, Double(score)]


def _bzpop(c, argv, where_max: bool):
    timeout = blocking.parse_timeout(argv[-1])
    keys = argv[1:-1]
    found = _first_nonempty(c, c.db, keys, True)
    if found is not None:
        key, coll = found
        return _bzpop_reply(key, _pop(coll, 1, where_max))
    if c.in_exec:
        return NULL_ARRAY
    db = c.db

    def serve(key: bytes | None = None):
        hit = _ready(c, db, keys, key)
        if hit is None:
            return None
        return _bzpop_reply(hit[0], _pop(hit[1], 1, where_max))

    return _block(c, keys, timeout, serve)


@command("bzpopmin", -3, "write noscript blocking fast", 1, -2, 1)
def bzpopmin(c, argv):
    return _bzpop(c, argv, False)


@command("bzpopmax", -3, "write noscript blocking fast", 1, -2, 1)
def bzpopmax(c, argv):
    return _bzpop(c, argv, True)


def _range_long(arg: bytes, error: str) -> int:
    """getRangeLongFromObjectOrReply(1, LONG_MAX) with one message for every failure."""
    v = string2ll(arg)
    if v is None or v < 1:
        raise RedisError(error)
    return v


def _mpop_args(argv: list[bytes], numkeys_idx: int):
    numkeys = _range_long(argv[numkeys_idx], "ERR numkeys should be greater than 0")
    where_idx = numkeys_idx + numkeys + 1
    if where_idx >= len(argv):
        raise syntax()
    where = argv[where_idx].lower()
    if where not in (b"min", b"max"):
        raise syntax()
    count = -1
    j = where_idx + 1
    while j < len(argv):
        if count == -1 and argv[j].lower() == b"count" and j < len(argv) - 1:
            j += 1
            count = _range_long(argv[j], "ERR count should be greater than 0")
        else:
            raise syntax()
        j += 1
    return argv[numkeys_idx + 1:where_idx], where == b"max", 1 if count == -1 else count


def _mpop_reply(key: bytes, pairs) -> list:
    return [key, [[m, Double(s)] for m, s in pairs]]


def _numkeys_fn(numkeys_idx: int, first: tuple[int, ...] = ()):
    """Key positions of a command with a numkeys argument (Redis's getkeys procs): none when
    numkeys is not a count of the arguments that follow it."""
    def keys(argv: list[bytes]) -> list[int]:
        n = string2ll(argv[numkeys_idx]) if len(argv) > numkeys_idx else None
        if n is None or n < 1 or n > len(argv) - numkeys_idx - 1:
            return []
        return [*first, *range(numkeys_idx + 1, numkeys_idx + 1 + n)]
    return keys


@command("zmpop", -4, "write", 0, 0, 0, keys=_numkeys_fn(1))
def zmpop(c, argv):
    keys, where_max, count = _mpop_args(argv, 1)
    found = _first_nonempty(c, c.db, keys, True)
    if found is None:
        return NULL_ARRAY
    key, coll = found
    return _mpop_reply(key, _pop(coll, count, where_max))


@command("bzmpop", -5, "write blocking", 0, 0, 0, keys=_numkeys_fn(2))
def bzmpop(c, argv):
    keys, where_max, count = _mpop_args(argv, 2)
    timeout = blocking.parse_timeout(argv[1])
    found = _first_nonempty(c, c.db, keys, True)
    if found is not None:
        key, coll = found
        return _mpop_reply(key, _pop(coll, count, where_max))
    if c.in_exec:
        return NULL_ARRAY
    db = c.db

    def serve(key: bytes | None = None):
        hit = _ready(c, db, keys, key)
        if hit is None:
            return None
        return _mpop_reply(hit[0], _pop(hit[1], count, where_max))

    return _block(c, keys, timeout, serve)


# --- set operations -----------------------------------------------------------------------

class _Source:
    """One input of ZUNION & co: a sorted set, a plain set (every score 1), or nothing."""

    __slots__ = ("coll", "weight", "is_set", "size")

    def __init__(self, coll: Collection | None, is_set: bool) -> None:
        self.coll = coll
        self.is_set = is_set
        self.weight = 1.0
        self.size = coll.meta.size if coll is not None else 0

    def items(self) -> Iterator[tuple[bytes, float]]:
        if self.coll is None:
            return
        if self.is_set:
            for member, _ in self.coll.items():
                yield member, 1.0
        else:
            for member, raw in self.coll.items():
                yield member, decode_score(raw)

    def find(self, member: bytes) -> float | None:
        if self.coll is None:
            return None
        raw = self.coll.get(member)
        if raw is None:
            return None
        return 1.0 if self.is_set else decode_score(raw)


SUM, MIN, MAX = 0, 1, 2
UNION, INTER, DIFF = 0, 1, 2


def _aggregate(target: float, val: float, how: int) -> float:
    if how == SUM:
        target = target + val
        return 0.0 if math.isnan(target) else target
    if how == MIN:
        return val if val < target else target
    return val if val > target else target


def _setop(c, argv: list[bytes], numkeys_idx: int, op: int, dst: bytes | None,
           card_only: bool = False):
    """zunionInterDiffGenericCommand."""
    name = argv[0].lower().decode("utf-8", "replace")
    setnum = parse_int(argv[numkeys_idx])
    if setnum < 1:
        raise RedisError(f"ERR at least 1 input key is needed for '{name}' command")
    if setnum > len(argv) - (numkeys_idx + 1):
        raise syntax()
    ks = c.server.keyspace
    srcs: list[_Source] = []
    j = numkeys_idx + 1
    for key in argv[j:j + setnum]:
        meta = ks.lookup(c.db, key)
        if meta is None:
            srcs.append(_Source(None, False))
        elif meta.type == ZSET or meta.type == SET:
            srcs.append(_Source(Collection(ks, c.db, key, meta, meta), meta.type == SET))
        else:
            raise RedisError(WRONGTYPE)
    j += setnum
    aggregate = SUM
    withscores = False
    limit = 0
    n = len(argv)
    while j < n:
        remaining = n - j
        opt = argv[j].lower()
        if op != DIFF and not card_only and remaining >= setnum + 1 and opt == b"weights":
            j += 1
            for src in srcs:
                src.weight = parse_score(argv[j], "ERR weight value is not a float")
                j += 1
        elif op != DIFF and not card_only and remaining >= 2 and opt == b"aggregate":
            how = argv[j + 1].lower()
            if how == b"sum":
                aggregate = SUM
            elif how == b"min":
                aggregate = MIN
            elif how == b"max":
                aggregate = MAX
            else:
                raise syntax()
            j += 2
        elif dst is None and not card_only and opt == b"withscores":
            withscores = True
            j += 1
        elif card_only and remaining >= 2 and opt == b"limit":
            limit = string2ll(argv[j + 1])
            if limit is None or limit < 0:
                raise RedisError("ERR LIMIT can't be negative")
            j += 2
        else:
            raise syntax()
    if op != DIFF:
        srcs.sort(key=lambda s: s.size)  # stable, as the smallest-first qsort
    result: dict[bytes, float] = {}
    if op == INTER:
        if srcs[0].size:
            first = srcs[0]
            cardinality = 0
            for member, value in first.items():
                score = first.weight * value
                if math.isnan(score):
                    score = 0.0
                for src in srcs[1:]:
                    other = src.find(member)
                    if other is None:
                        break
                    score = _aggregate(score, other * src.weight, aggregate)
                else:
                    if card_only:
                        cardinality += 1
                        if limit and cardinality >= limit:
                            break
                    else:
                        result[member] = score
            if card_only:
                return cardinality
        elif card_only:
            return 0
    elif op == UNION:
        for src in srcs:
            if not src.size:
                continue
            w = src.weight
            for member, value in src.items():
                score = w * value
                if math.isnan(score):
                    score = 0.0
                old = result.get(member)
                result[member] = score if old is None else _aggregate(old, score, aggregate)
    else:
        first = srcs[0]
        if first.size:
            others = [s for s in srcs[1:] if s.size]
            for member, value in first.items():
                if not any(s.find(member) is not None for s in others):
                    result[member] = value
    pairs = sorted(result.items(), key=lambda p: (p[1], p[0]))
    if dst is not None:
        return _store(c, dst, pairs)
    return _range_reply(c, pairs, withscores)


@command("zunionstore", -4, "write denyoom", 1, 1, 1, keys=_numkeys_fn(2, (1,)))
def zunionstore(c, argv):
    return _setop(c, argv, 2, UNION, argv[1])


@command("zinterstore", -4, "write denyoom", 1, 1, 1, keys=_numkeys_fn(2, (1,)))
def zinterstore(c, argv):
    return _setop(c, argv, 2, INTER, argv[1])


@command("zdiffstore", -4, "write denyoom", 1, 1, 1, keys=_numkeys_fn(2, (1,)))
def zdiffstore(c, argv):
    return _setop(c, argv, 2, DIFF, argv[1])


@command("zunion", -3, "readonly", 0, 0, 0, keys=_numkeys_fn(1))
def zunion(c, argv):
    return _setop(c, argv, 1, UNION, None)


@command("zinter", -3, "readonly", 0, 0, 0, keys=_numkeys_fn(1))
def zinter(c, argv):
    return _setop(c, argv, 1, INTER, None)


@command("zdiff", -3, "readonly", 0, 0, 0, keys=_numkeys_fn(1))
def zdiff(c, argv):
    return _setop(c, argv, 1, DIFF, None)


@command("zintercard", -3, "readonly", 0, 0, 0, keys=_numkeys_fn(1))
def zintercard(c, argv):
    return _setop(c, argv, 1, INTER, None, card_only=True)


# --- ZRANDMEMBER --------------------------------------------------------------------------

@command("zrandmember", -2, "readonly", 1, 1, 1)
def zrandmember(c, argv):
    if len(argv) >= 3:
        count = string2ll(argv[2])
        if count is None:
            raise RedisError("ERR value is not an integer or out of range")
        if count < -INT64_MAX:
            raise RedisError("ERR value is out of range, value must between "
                             "-9223372036854775807 and 9223372036854775807")
        withscores = False
        if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withscores"):
            raise syntax()
        if len(argv) == 4:
            withscores = True
            if count < -(INT64_MAX // 2) or count > INT64_MAX // 2:
                raise RedisError("ERR value is out of range")
        return _randmember_count(c, argv[1], count, withscores)
    coll = _open(c, argv[1])
    if coll is None:
        return None
    item = sampling.random_one(coll)
    return None if item is None else item[0]


def _randmember_count(c, key: bytes, count: int, withscores: bool):
    coll = _open(c, key)
    if coll is None or count == 0:
        return []
    if count < 0 or count == 1:
        # Any member any number of times, in random order.
        items = sampling.random_repeats(coll, abs(count))
    elif count >= coll.meta.size:
        # The whole set, walked from the top as Redis's zset iterator does.
        return _range_reply(c, list(_pairs(coll.zitems(reverse=True))), withscores)
    else:
        items = sampling.random_distinct(coll, count)
    return _range_reply(c, [(m, decode_score(raw)) for m, raw in items], withscores)


# --- ZSCAN --------------------------------------------------------------------------------

_LL_HALF = float((1 << 63) // 2)


def _listpack_score(score: float) -> bytes:
    """A score as a listpack holds it: integral values within +-LLONG_MAX/2 as integers
    (double2ll), others as %.17g text."""
    if -_LL_HALF <= score <= _LL_HALF and score == int(score):
        return b"%d" % int(score)
    return format_double(score)


@command("zscan", -3, "readonly", 1, 1, 1)
def zscan(c, argv):
    cursor = parse_cursor(argv[2])
    coll = _open(c, argv[1])
    if coll is None:
        return [b"0", []]
    pattern, count, _ = parse_scan_options(argv, 3, False)
    match = compile_glob(pattern) if pattern is not None and pattern != b"*" else None
    out: list[bytes] = []
    if _encoding(None, c.db, argv[1], coll.meta) == b"listpack":
        # A compact set comes back whole in one call, in score order, as from Redis.
        for member, score in _pairs(coll.zitems()):
            if match is None or match(member):
                out += (member, _listpack_score(score))
        return [b"0", out]
    position = CURSORS.load(cursor) if cursor else None
    after = b""
    if position is not None and position[:4] == ("zscan", c.db, argv[1], coll.meta.version):
        after = position[4] + b"\0"
    seen = 0
    for member, raw in coll.items(after):
        seen += 1
        if match is None or match(member):
            out += (member, format_double(decode_score(raw)))
        if seen >= count:
            return [b"%d" % CURSORS.save(("zscan", c.db, argv[1], coll.meta.version, member)),
                    out]
    return [b"0", out]
