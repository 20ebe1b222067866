"""String commands (Redis's t_string.c)."""
from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from photon.commands.table import command
from photon.errors import NOT_FLOAT, NOT_INTEGER, OVERFLOW, STRING_TOO_LONG, RedisError, syntax
from photon.keyspace.encoding import FLAG_RAW, STRING, Meta
from photon.protocol.reply import OK

# A string Redis keeps as a string object even when it reads as an integer (INCRBYFLOAT's
# result is created with createStringObject, never tryObjectEncoding): OBJECT ENCODING says
# embstr or raw by length, never int. Strings only; collections use bit 2 for FLAG_BIG.
FLAG_NOT_INT = 4
from photon.util.long_double import _LD_MAX, round_ld
from photon.util.numbers import (
    INT64_MAX, INT64_MIN, add_long_double, format_long_double, parse_int, string2ll,
)

_UNITS = {b"ex": 1000, b"px": 1, b"exat": 1000, b"pxat": 1}
_ABSOLUTE = {b"exat", b"pxat"}


def expire_at(ks, value: bytes, unit: int, absolute: bool, name: str) -> int:
    """An expiry option's absolute time in ms, with Redis's checks and error texts."""
    n = parse_int(value)
    if n <= 0 or n > INT64_MAX // unit:
        raise RedisError(f"ERR invalid expire time in '{name}' command")
    ms = n * unit
    if not absolute:
        if ms > INT64_MAX - ks.clock_ms:
            raise RedisError(f"ERR invalid expire time in '{name}' command")
        ms += ks.clock_ms
    return ms


def parse_set_options(argv: list[bytes], start: int, getex: bool):
    """SET/GETEX flags: returns (nx, xx, get, keepttl, persist, expire option, expire arg).

    Mirrors Redis's parseExtendedStringArgumentsOrReply: an expiry option conflicts with the
    other expiry forms, KEEPTTL and PERSIST, but not with itself (``EX 1 EX 2`` keeps the last).
    """
    nx = xx = get = keepttl = persist = False
    exp_opt: bytes | None = None
    exp_arg = b""
    i = start
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        if (opt in _UNITS and (exp_opt is None or exp_opt == opt) and not keepttl
                and not persist and i + 1 < n):
            exp_opt, exp_arg = opt, argv[i + 1]
            i += 2
            continue
        if not getex and opt == b"nx" and not xx:
            nx = True
        elif not getex and opt == b"xx" and not nx:
            xx = True
        elif not getex and opt == b"get":
            get = True
        elif not getex and opt == b"keepttl" and exp_opt is None:
            keepttl = True
        elif getex and opt == b"persist" and exp_opt is None:
            persist = True
        else:
            raise syntax()
        i += 1
    return nx, xx, get, keepttl, persist, exp_opt, exp_arg


def check_size(c, size: int) -> None:
    if size > c.server.config.proto_max_bulk_len:
        raise RedisError(STRING_TOO_LONG)


@command("get", 2, "readonly fast", 1, 1, 1)
def get(c, argv):
    return c.server.keyspace.get_string(c.db, argv[1])


@command("set", -3, "write denyoom", 1, 1, 1)
def set_(c, argv):
    ks = c.server.keyspace
    key = argv[1]
    if len(argv) == 3:
        ks.set_string(c.db, key, argv[2])
        return OK
    nx, xx, get, keepttl, _, exp_opt, exp_arg = parse_set_options(argv, 3, False)
    expire = 0
    if exp_opt is not None:
        expire = expire_at(ks, exp_arg, _UNITS[exp_opt], exp_opt in _ABSOLUTE, "set")
    old = ks.get_string(c.db, key) if get else None
    if nx or xx:
        exists = ks.lookup(c.db, key) is not None
        if (nx and exists) or (xx and not exists):
            return old
    ks.set_string(c.db, key, argv[2], expire, keep_ttl=keepttl)
    return old if get else OK


@command("setnx", 3, "write denyoom fast", 1, 1, 1)
def setnx(c, argv):
    ks = c.server.keyspace
    if ks.lookup(c.db, argv[1]) is not None:
        return 0
    ks.set_string(c.db, argv[1], argv[2])
    return 1


def _setex(c, argv, unit: int, name: str):
    ks = c.server.keyspace
    expire = expire_at(ks, argv[2], unit, False, name)
    ks.set_string(c.db, argv[1], argv[3], expire)
    return OK


@command("setex", 4, "write denyoom", 1, 1, 1)
def setex(c, argv):
    return _setex(c, argv, 1000, "setex")


@command("psetex", 4, "write denyoom", 1, 1, 1)
def psetex(c, argv):
    return _setex(c, argv, 1, "psetex")


@command("getset", 3, "write denyoom fast", 1, 1, 1)
def getset(c, argv):
    ks = c.server.keyspace
    old = ks.get_string(c.db, argv[1])
    ks.set_string(c.db, argv[1], argv[2])
    return old


@command("getdel", 2, "write fast", 1, 1, 1)
def getdel(c, argv):
    ks = c.server.keyspace
    value = ks.get_string(c.db, argv[1])
    if value is not None:
        ks.delete(c.db, argv[1])
    return value


@command("getex", -2, "write fast", 1, 1, 1)
def getex(c, argv):
    ks = c.server.keyspace
    _, _, _, _, persist, exp_opt, exp_arg = parse_set_options(argv, 2, True)
    meta = ks.lookup_typed(c.db, argv[1], STRING)
    if meta is None:
        return None
    if exp_opt is not None:
        expire = expire_at(ks, exp_arg, _UNITS[exp_opt], exp_opt in _ABSOLUTE, "getex")
        if expire <= ks.clock_ms:
            ks.delete(c.db, argv[1])
            return meta.value
        _rewrite(ks, c.db, argv[1], meta, meta.value, expire=expire)
    elif persist and meta.expire:
        _rewrite(ks, c.db, argv[1], meta, meta.value, expire=0)
    return meta.value


def _rewrite(ks, db: int, key: bytes, old: Meta, value: bytes, expire: int | None = None,
             flags: int | None = None) -> None:
    """Change a string's value in place, keeping its TTL unless told otherwise."""
    new = Meta(STRING, old.flags if flags is None else flags,
               old.expire if expire is None else expire, value=value)
    ks.put(db, key, new, old)


@command("mget", -2, "readonly fast", 1, -1, 1)
def mget(c, argv):
    ks = c.server.keyspace
    out = []
    for key in argv[1:]:
        meta = ks.lookup(c.db, key)
        out.append(meta.value if meta is not None and meta.type == STRING else None)
    return out


@command("mset", -3, "write denyoom", 1, -1, 2)
def mset(c, argv):
    if len(argv) % 2 == 0:
        raise RedisError("ERR wrong number of arguments for 'mset' command")
    ks = c.server.keyspace
    for i in range(1, len(argv), 2):
        ks.set_string(c.db, argv[i], argv[i + 1])
    return OK


@command("msetnx", -3, "write denyoom", 1, -1, 2)
def msetnx(c, argv):
    if len(argv) % 2 == 0:
        raise RedisError("ERR wrong number of arguments for 'msetnx' command")
    ks = c.server.keyspace
    if any(ks.lookup(c.db, argv[i]) is not None for i in range(1, len(argv), 2)):
        return 0
    for i in range(1, len(argv), 2):
        ks.set_string(c.db, argv[i], argv[i + 1])
    return 1


@command("append", 3, "write denyoom fast", 1, 1, 1)
def append(c, argv):
    ks = c.server.keyspace
    meta = ks.lookup_typed(c.db, argv[1], STRING)
    if meta is None:
        ks.set_string(c.db, argv[1], argv[2])
        return len(argv[2])
    check_size(c, len(meta.value) + len(argv[2]))
    value = meta.value + argv[2]
    _rewrite(ks, c.db, argv[1], meta, value, flags=meta.flags | FLAG_RAW)
    return len(value)


@command("strlen", 2, "readonly fast", 1, 1, 1)
def strlen(c, argv):
    value = c.server.keyspace.get_string(c.db, argv[1])
    return 0 if value is None else len(value)


def incr_by(c, key: bytes, delta: int) -> int:
    ks = c.server.keyspace
    meta = ks.lookup_typed(c.db, key, STRING)
    current = 0
    if meta is not None:
        v = string2ll(meta.value)
        if v is None:
            raise RedisError(NOT_INTEGER)
        current = v
    result = current + delta
    if result > INT64_MAX or result < INT64_MIN:
        raise RedisError(OVERFLOW)
    value = b"%d" % result
    if meta is None:
        ks.set_string(c.db, key, value)
    else:
        _rewrite(ks, c.db, key, meta, value, flags=0)
    return result


@command("incr", 2, "write denyoom fast", 1, 1, 1)
def incr(c, argv):
    return incr_by(c, argv[1], 1)


@command("decr", 2, "write denyoom fast", 1, 1, 1)
def decr(c, argv):
    return incr_by(c, argv[1], -1)


@command("incrby", 3, "write denyoom fast", 1, 1, 1)
def incrby(c, argv):
    return incr_by(c, argv[1], parse_int(argv[2]))


@command("decrby", 3, "write denyoom fast", 1, 1, 1)
def decrby(c, argv):
    delta = parse_int(argv[2])
    if delta == INT64_MIN:
        raise RedisError("ERR decrement would overflow")
    return incr_by(c, argv[1], -delta)


_LD_TEXT = re.compile(
    rb"([+-]?)(?:(?P<dec>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    rb"|0[xX](?P<hex>[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP](?P<pexp>[+-]?[0-9]+))?"
    rb"|(?P<inf>[iI][nN][fF](?:[iI][nN][iI][tT][yY])?))")
_LD_MAX_CHARS = 5 * 1024
_LD_MIN_SUBNORMAL_EXP = -16445  # the smallest long double is 2**-16445


def strtold(s: bytes) -> Fraction | float | None:
    """Redis's string2ld: the whole text as a long double (strtold: decimal or hex, inf and
    infinity; values past double's range are fine), or None where Redis says 'not a valid
    float' (spaces, NaN, overflow or underflow to zero, 5 KiB or longer)."""
    if not s or len(s) >= _LD_MAX_CHARS:
        return None
    m = _LD_TEXT.fullmatch(s)
    if m is None:
        return None
    neg = m.group(1) == b"-"
    if m.group("inf"):
        return -math.inf if neg else math.inf
    if m.group("dec") is not None:
        try:
            d = Decimal(m.group("dec").decode())
        except InvalidOperation:
            return None
        if d == 0:
            return Fraction(0)
        if d.adjusted() > 4940:  # far past the long double range: ERANGE
            return None
        if d.adjusted() < -4960:  # far below the smallest subnormal: ERANGE, zero
            return None
        exact = Fraction(d)
    else:
        digits = m.group("hex").decode()
        whole, _, frac = digits.partition(".")
        mant = int((whole + frac) or "0", 16)
        exp = int(m.group("pexp") or b"0") - 4 * len(frac)
        if mant == 0:
            return Fraction(0)
        top = mant.bit_length() + exp
        if top > 16400 or top < _LD_MIN_SUBNORMAL_EXP - 2:
            return None
        exact = mant * (Fraction(2) ** exp)
    value = round_ld(exact)
    if value == 0 or abs(value) > _LD_MAX:
        return None
    return -value if neg else value


def _long_double_arg(s: bytes) -> Fraction | float:
    v = strtold(s)
    if v is None:
        raise RedisError(NOT_FLOAT)
    return v


@command("incrbyfloat", 3, "write denyoom fast", 1, 1, 1)
def incrbyfloat(c, argv):
    ks = c.server.keyspace
    meta = ks.lookup_typed(c.db, argv[1], STRING)
    current = _long_double_arg(meta.value) if meta is not None else Fraction(0)
    delta = _long_double_arg(argv[2])
    result = add_long_double(current, delta)
    if isinstance(result, float):
        raise RedisError("ERR increment would produce NaN or Infinity")
    value = format_long_double(result)
    if meta is None:
        ks.set_string(c.db, argv[1], value, flags=FLAG_NOT_INT)
    else:
        _rewrite(ks, c.db, argv[1], meta, value, flags=FLAG_NOT_INT)
    return value


def string_range(length: int, start: int, end: int) -> tuple[int, int] | None:
    """GETRANGE's index rules: negatives count from the end; None when empty."""
    if start < 0 and end < 0 and start > end:
        return None
    if start < 0:
        start = max(0, length + start)
    if end < 0:
        end = max(0, length + end)
    end = min(end, length - 1)
    if start > end or length == 0:
        return None
    return start, end


@command("getrange", 4, "readonly", 1, 1, 1)
def getrange(c, argv):
    start, end = parse_int(argv[2]), parse_int(argv[3])
    value = c.server.keyspace.get_string(c.db, argv[1])
    if value is None:
        return b""
    span = string_range(len(value), start, end)
    return b"" if span is None else value[span[0]:span[1] + 1]


@command("substr", 4, "readonly", 1, 1, 1)
def substr(c, argv):
    return getrange(c, argv)


@command("setrange", 4, "write denyoom", 1, 1, 1)
def setrange(c, argv):
    ks = c.server.keyspace
    offset = parse_int(argv[2])
    if offset < 0:
        raise RedisError("ERR offset is out of range")
    patch = argv[3]
    meta = ks.lookup_typed(c.db, argv[1], STRING)
    current = meta.value if meta is not None else b""
    if not patch:
        return len(current)
    check_size(c, offset + len(patch))
    if len(current) < offset:
        current += b"\0" * (offset - len(current))
    value = current[:offset] + patch + current[offset + len(patch):]
    if meta is None:
        ks.set_string(c.db, argv[1], value, flags=FLAG_RAW)
    else:
        _rewrite(ks, c.db, argv[1], meta, value, flags=meta.flags | FLAG_RAW)
    return len(value)


def string_encoding(meta: Meta) -> bytes:
    """OBJECT ENCODING of a string: int, embstr (up to 44 bytes) or raw."""
    v = meta.value
    if not meta.flags & (FLAG_RAW | FLAG_NOT_INT) and len(v) <= 20 and string2ll(v) is not None:
        return b"int"
    if meta.flags & FLAG_RAW:
        return b"raw"
    return b"embstr" if len(v) <= 44 else b"raw"


# --- LCS (Redis 7.0's lcsCommand) --------------------------------------------------------

def _lcs_table(a: bytes, b: bytes) -> list[list[int]]:
    """rows[i][j] = length of the LCS of a[:i] and b[:j] (Redis's LCS(i,j) table)."""
    blen = len(b)
    prev = [0] * (blen + 1)
    rows = [prev]
    for ca in a:
        cur = [0] * (blen + 1)
        left = 0
        for j in range(1, blen + 1):
            if ca == b[j - 1]:
                left = prev[j - 1] + 1
            else:
                up = prev[j]
                if up > left:
                    left = up
            cur[j] = left
        rows.append(cur)
        prev = cur
    return rows


@command("lcs", -3, "readonly", 1, 2, 1)
def lcs(c, argv):
    ks = c.server.keyspace
    metas = [ks.lookup(c.db, argv[1]), ks.lookup(c.db, argv[2])]
    if any(m is not None and m.type != STRING for m in metas):
        raise RedisError("ERR The specified keys must contain string values")
    a, b = (m.value if m is not None else b"" for m in metas)
    getidx = getlen = withmatchlen = False
    minmatchlen = 0
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"idx":
            getidx = True
        elif opt == b"len":
            getlen = True
        elif opt == b"withmatchlen":
            withmatchlen = True
        elif opt == b"minmatchlen" and j + 1 < len(argv):
            minmatchlen = max(parse_int(argv[j + 1]), 0)
            j += 1
        else:
            raise syntax()
        j += 1
    if getidx and getlen:
        raise RedisError("ERR If you want both the length and indexes, please just use IDX.")
    alen, blen = len(a), len(b)
    if alen >= 0xFFFFFFFF - 1 or blen >= 0xFFFFFFFF - 1:
        raise RedisError("ERR String too long for LCS")
    if (alen + 1) * (blen + 1) * 4 > c.server.config.proto_max_bulk_len:
        raise RedisError(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
    table = _lcs_table(a, b)
    total = table[alen][blen]
    if getlen:
        return total
    # Walk back from the end as Redis does, collecting the LCS and the matched ranges.
    result = bytearray(total)
    idx = total
    matches = []
    unset = alen  # Redis's marker: no range in progress
    astart, aend, bstart, bend = unset, 0, 0, 0
    i, j = alen, blen
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result[idx - 1] = a[i - 1]
            if astart == unset:
                astart = aend = i - 1
                bstart = bend = j - 1
            elif astart == i and bstart == j:
                astart -= 1
                bstart -= 1
            else:
                emit = True
            if astart == 0 or bstart == 0:
                emit = True
            idx -= 1
            i -= 1
            j -= 1
        else:
            if table[i - 1][j] > table[i][j - 1]:
                i -= 1
            else:
                j -= 1
            if astart != unset:
                emit = True
        if emit:
            match_len = aend - astart + 1
            if getidx and (minmatchlen == 0 or match_len >= minmatchlen):
                item = [[astart, aend], [bstart, bend]]
                if withmatchlen:
                    item.append(match_len)
                matches.append(item)
            astart = unset
    if getidx:
        return {b"matches": matches, b"len": total}
    return bytes(result)
