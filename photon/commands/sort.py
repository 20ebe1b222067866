"""SORT and SORT_RO (Redis 7.0's sort.c).

The elements of a list, set or sorted set are sorted by their own value or by a value looked
up through a BY pattern (``weight_*`` or ``obj_*->field``), numerically (strtod) or with
ALPHA; LIMIT picks a window, GET patterns replace each element by looked-up values, STORE
writes the result as a list. ``BY nosort`` (a pattern without ``*``) keeps the native order.

ALPHA compares bytes: Redis uses strcoll, which is byte order under the C locale.
"""
from __future__ import annotations

import functools
import math

from photon.commands.table import command
from photon.commands.zsets import _strtod
from photon.errors import WRONGTYPE, RedisError, syntax
from photon.keyspace.encoding import FLAG_BIG, HASH, LIST, SET, STRING, ZSET
from photon.keyspace.keyspace import Collection
from photon.util.numbers import parse_int, string2ll

_SPACE = b" \t\n\v\f\r"
_DBL_MIN = 2.2250738585072014e-308


def _sort_keys(argv: list[bytes]) -> list[int]:
    """sortGetKeys: the sorted key and the last STORE destination."""
    keys = [1]
    store = None
    skip = {b"limit": 2, b"get": 1, b"by": 1}
    i = 2
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        if opt in skip:
            i += skip[opt]
        elif opt == b"store" and i + 1 < n:
            store = i + 1
        i += 1
    if store is not None:
        keys.append(store)
    return keys


def _first_key(argv: list[bytes]) -> list[int]:
    return [1]


def _full_key_access(c) -> bool:
    """ACLUserCheckKeyPerm(user, "*", is_pattern, CMD_KEY_ACCESS): may the user read any key."""
    return c.server.security.may_read_all_keys(c)


def _lookup_by_pattern(c, pattern: bytes, subst: bytes) -> bytes | None:
    """lookupKeyByPattern: '#' is the element itself; else the first '*' is replaced by it
    and the key read (a string, or with '->field' a hash field)."""
    if pattern == b"#":
        return subst
    spat = pattern.split(b"\0", 1)[0]  # Redis reads the pattern as a C string here
    p = spat.find(b"*")
    if p < 0:
        return None
    f = spat.find(b"->", p + 1)
    field = None
    if f >= 0 and f + 2 < len(spat):
        field = pattern[f + 2:]
        key = pattern[:p] + subst + pattern[p + 1:f]
    else:
        key = pattern[:p] + subst + pattern[p + 1:]
    ks = c.server.keyspace
    meta = ks.lookup(c.db, key)
    if meta is None:
        return None
    if field is not None:
        if meta.type != HASH:
            return None
        return Collection(ks, c.db, key, meta, meta).get(field)
    if meta.type != STRING:
        return None
    return meta.value


def _score(value: bytes) -> float | None:
    """strtod(value) as SORT checks it: None where Redis says the score can't be converted
    (trailing characters, ERANGE, NaN). An empty string is 0."""
    s = value.split(b"\0", 1)[0]
    stripped = s.lstrip(_SPACE)
    if not stripped:
        return 0.0 if not s else None
    r = _strtod(stripped)
    if r is None or r[1] or math.isnan(r[0]):
        return None
    if r[0] != 0.0 and abs(r[0]) < _DBL_MIN:
        return None  # glibc's strtod sets ERANGE for a subnormal result as well
    return r[0]


def _elements(coll: Collection | None, type_: int) -> list[bytes]:
    if coll is None:
        return []
    if type_ == LIST:
        from photon.commands.lists import values
        return values(coll)
    if type_ == ZSET:
        return [s[8:] for s in coll.zitems()]
    members = [m for m, _ in coll.items()]
    if not coll.meta.flags & FLAG_BIG:  # an intset iterates in numeric order
        members.sort(key=lambda m: string2ll(m))
    return members


def _sort_generic(c, argv: list[bytes], readonly: bool):
    desc = alpha = dontsort = False
    limit_start, limit_count = 0, -1
    sortby: bytes | None = None
    storekey: bytes | None = None
    getops: list[bytes] = []
    full_access: bool | None = None
    cluster = getattr(c.server, "mode", "") == "cluster"
    j = 2
    n = len(argv)
    while j < n:
        left = n - j - 1
        opt = argv[j].lower()
        if opt == b"asc":
            desc = False
        elif opt == b"desc":
            desc = True
        elif opt == b"alpha":
            alpha = True
        elif opt == b"limit" and left >= 2:
            limit_start = parse_int(argv[j + 1])
            limit_count = parse_int(argv[j + 2])
            j += 2
        elif not readonly and opt == b"store" and left >= 1:
            storekey = argv[j + 1]
            j += 1
        elif opt == b"by" and left >= 1:
            sortby = argv[j + 1]
            if b"*" not in sortby.split(b"\0", 1)[0]:
                dontsort = True
            else:
                if cluster:
                    raise RedisError("ERR BY option of SORT denied in Cluster mode.")
                if full_access is None:
                    full_access = _full_key_access(c)
                if not full_access:
                    raise RedisError(
                        "ERR BY option of SORT denied due to insufficient ACL permissions.")
            j += 1
        elif opt == b"get" and left >= 1:
            if cluster:
                raise RedisError("ERR GET option of SORT denied in Cluster mode.")
            if full_access is None:
                full_access = _full_key_access(c)
            if not full_access:
                raise RedisError(
                    "ERR GET option of SORT denied due to insufficient ACL permissions.")
            getops.append(argv[j + 1])
            j += 1
        else:
            raise syntax()
        j += 1

    ks = c.server.keyspace
    meta = ks.lookup(c.db, argv[1])
    if meta is not None and meta.type not in (LIST, SET, ZSET):
        raise RedisError(WRONGTYPE)
    type_ = meta.type if meta is not None else LIST
    coll = Collection(ks, c.db, argv[1], meta, meta) if meta is not None else None
    if dontsort and type_ == SET and storekey is not None:
        # A set's order is not defined: when storing, sort it so the result is reproducible.
        dontsort, alpha, sortby = False, True, None

    vector = _elements(coll, type_)
    size = len(vector)
    start = max(limit_start, 0)
    end = size - 1 if limit_count < 0 else start + limit_count - 1
    if start >= size:
        start, end = size - 1, size - 2
    if end >= size:
        end = size - 1

    if dontsort:
        if desc and type_ in (LIST, ZSET):
            vector.reverse()
    else:
        conversion_error = False
        if alpha:
            if sortby is not None:
                cmpobjs = [_lookup_by_pattern(c, sortby, e) for e in vector]

                def cmp(x, y):
                    a, b = cmpobjs[x], cmpobjs[y]
                    if a is None or b is None:
                        return 0 if a is b else (-1 if a is None else 1)
                    if storekey is None:  # strcoll reads C strings
                        a, b = a.split(b"\0", 1)[0], b.split(b"\0", 1)[0]
                    return (a > b) - (a < b)
            else:
                def cmp(x, y):
                    a, b = vector[x], vector[y]
                    if storekey is None:
                        a, b = a.split(b"\0", 1)[0], b.split(b"\0", 1)[0]
                    return (a > b) - (a < b)
        else:
            scores = []
            for e in vector:
                byval = _lookup_by_pattern(c, sortby, e) if sortby is not None else e
                if byval is None:
                    scores.append(0.0)
                    continue
                s = _score(byval)
                if s is None:
                    conversion_error = True
                    s = 0.0
                scores.append(s)

            def cmp(x, y):
                a, b = scores[x], scores[y]
                if a != b:
                    return 1 if a > b else -1
                ea, eb = vector[x], vector[y]
                return (ea > eb) - (ea < eb)
        order = sorted(range(size), key=functools.cmp_to_key(
            (lambda x, y: -cmp(x, y)) if desc else cmp))
        vector = [vector[i] for i in order]
        if conversion_error:
            raise RedisError("ERR One or more scores can't be converted into double")

    window = vector[start:end + 1] if end >= start else []
    if storekey is None:
        if not getops:
            return window
        out: list = []
        for e in window:
            for pattern in getops:
                out.append(_lookup_by_pattern(c, pattern, e))
        return out

    if getops:
        values = []
        for e in window:
            for pattern in getops:
                v = _lookup_by_pattern(c, pattern, e)
                values.append(v if v is not None else b"")
    else:
        values = window
    if values:
        from photon.commands.lists import BASE, push
        dst = Collection.create(ks, c.db, storekey, LIST)
        dst.meta.head = dst.meta.tail = BASE
        push(dst, values, False)
        dst.save()
    else:
        ks.delete(c.db, storekey)
    return len(values)


@command("sort", -2, "write denyoom", 1, 1, 1, keys=_sort_keys)
def sort(c, argv):
    return _sort_generic(c, argv, False)


@command("sort_ro", -2, "readonly", 1, 1, 1, keys=_first_key)
def sort_ro(c, argv):
    return _sort_generic(c, argv, True)
