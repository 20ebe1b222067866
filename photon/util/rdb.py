"""Redis's serialized value format: the payloads of DUMP and RESTORE (Redis 7.0, RDB 10).

A payload is one RDB object (a type byte, then the value in that type's encoding), the RDB
version as two little-endian bytes, and the CRC64 (Jones polynomial, reflected, as Redis's
crc64.c) of everything before it, eight bytes little-endian.

Writing follows Redis 7.0's rdbSaveObject byte for byte where photon knows what Redis would
hold: strings (integer encodings, LZF compression past 20 bytes, as rdbSaveRawString),
quicklist 2 lists (listpack nodes filled the way RPUSH fills them), intsets, listpack hashes
and sorted sets, ZSET_2 sorted sets (tail first, binary doubles), plain sets and hashes.

Reading accepts every object encoding Redis 7.0 can load for strings, lists, sets, hashes and
sorted sets: plain types, ziplists, zipmaps, intsets, listpacks and both quicklists. Each value
is checked whole, as Redis's ``sanitize-dump-payload yes`` would, and any fault raises
``RdbError``, which RESTORE answers with "Bad data format". Redis 7.0's default (shallow)
checks let a few corrupt values in that photon cannot hold and refuses (a listpack hash with a
repeated field or an odd entry count, a NaN score); an unsorted intset, which still holds a set,
is taken.

Only the standard library is used; LZF and CRC64 are pure Python ports of liblzf 3.6 (with the
settings Redis compiles it with) and of crc64.c.
"""
from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable, Iterator

RDB_VERSION = 10

# Object types (rdb.h).
TYPE_STRING = 0
TYPE_LIST = 1
TYPE_SET = 2
TYPE_ZSET = 3
TYPE_HASH = 4
TYPE_ZSET_2 = 5
TYPE_MODULE = 6
TYPE_MODULE_2 = 7
TYPE_HASH_ZIPMAP = 9
TYPE_LIST_ZIPLIST = 10
TYPE_SET_INTSET = 11
TYPE_ZSET_ZIPLIST = 12
TYPE_HASH_ZIPLIST = 13
TYPE_LIST_QUICKLIST = 14
TYPE_STREAM_LISTPACKS = 15
TYPE_HASH_LISTPACK = 16
TYPE_ZSET_LISTPACK = 17
TYPE_LIST_QUICKLIST_2 = 18
TYPE_STREAM_LISTPACKS_2 = 19

# What each object type holds, for the types photon has.
KIND_OF_TYPE = {
    TYPE_STRING: "string",
    TYPE_LIST: "list", TYPE_LIST_ZIPLIST: "list", TYPE_LIST_QUICKLIST: "list",
    TYPE_LIST_QUICKLIST_2: "list",
    TYPE_SET: "set", TYPE_SET_INTSET: "set",
    TYPE_ZSET: "zset", TYPE_ZSET_2: "zset", TYPE_ZSET_ZIPLIST: "zset",
    TYPE_ZSET_LISTPACK: "zset",
    TYPE_HASH: "hash", TYPE_HASH_ZIPMAP: "hash", TYPE_HASH_ZIPLIST: "hash",
    TYPE_HASH_LISTPACK: "hash",
}

QUICKLIST_NODE_PLAIN = 1
QUICKLIST_NODE_PACKED = 2

# Lengths (rdbSaveLen / rdbLoadLen) and special string encodings.
_LEN_32BIT, _LEN_64BIT = 0x80, 0x81
_ENC_INT8, _ENC_INT16, _ENC_INT32, _ENC_LZF = 0, 1, 2, 3

# list-max-listpack-size -2: a quicklist node holds at most 8 KB (quicklist.c).
QUICKLIST_NODE_LIMIT = 8192
_SIZE_ESTIMATE_OVERHEAD = 8
# Elements this large go to plain nodes (quicklist.c's packed_threshold, 1 GB).
PACKED_THRESHOLD = 1 << 30

# rdbSaveRawString compresses values above 20 bytes. Compressing is a Python loop over every
# byte (0.5 to 0.7 s a megabyte), so a value above LZF_MAX_INPUT, and every value once one
# payload has compressed LZF_BUDGET bytes, is stored verbatim: Redis reads both forms alike,
# DUMP of huge values stays fast, and small values keep the bytes Redis writes.
LZF_MAX_INPUT = 1 << 20
LZF_BUDGET = 2 << 20

_F64 = struct.Struct("<d")
_U32 = struct.Struct("<I")


class RdbError(Exception):
    """The payload is not a value Redis 7.0 would load (RESTORE: 'Bad data format')."""


def _string2ll(s: bytes) -> int | None:
    """Redis's string2ll (and listpack's lpStringToInt64): canonical decimal int64 only."""
    n = len(s)
    if n == 0 or n > 20:
        return None
    neg = s[0] == 45
    digits = s[1:] if neg else s
    if not digits or not digits.isdigit() or (digits[0] == 48 and (len(digits) > 1 or neg)):
        return None
    v = -int(digits) if neg else int(digits)
    if -(1 << 63) <= v < (1 << 63):
        return v
    return None


# --- CRC64 (Redis's crc64.c: Jones polynomial, reflected, init 0, no final xor) --------------

_POLY = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9 reflected


def _crc_tables() -> list[list[int]]:
    t0 = []
    for b in range(256):
        c = b
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        t0.append(c)
    tables = [t0]
    for _ in range(7):
        prev = tables[-1]
        tables.append([(v >> 8) ^ t0[v & 0xFF] for v in prev])
    return tables


_T = _crc_tables()


def crc64(data: bytes, crc: int = 0) -> int:
    """CRC64 of data continuing from crc, eight bytes per step (slicing-by-8)."""
    t0, t1, t2, t3, t4, t5, t6, t7 = _T
    n = len(data)
    head = n - n % 8
    mv = memoryview(data)
    for word in struct.unpack_from("<%dQ" % (head // 8), mv):
        c = crc ^ word
        crc = (t7[c & 0xFF] ^ t6[(c >> 8) & 0xFF] ^ t5[(c >> 16) & 0xFF] ^ t4[(c >> 24) & 0xFF]
               ^ t3[(c >> 32) & 0xFF] ^ t2[(c >> 40) & 0xFF] ^ t1[(c >> 48) & 0xFF]
               ^ t0[c >> 56])
    for b in mv[head:]:
        crc = t0[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


# --- LZF (liblzf as Redis builds it: HLOG 16, VERY_FAST, CHECK_INPUT) ------------------------

_MAX_LIT = 1 << 5
_MAX_OFF = 1 << 13
_MAX_REF = (1 << 8) + (1 << 3)


# The hash table of lzf_compress, shared by every call: a slot holds base + position, and each
# call takes a base above every value stored before, so stale slots read as empty without
# clearing 65536 entries per call.
_HTAB = [0] * (1 << 16)
_htab_base = 0


def lzf_compress(data: bytes, out_len: int) -> bytes | None:
    """lzf_compress into at most out_len bytes; None when it does not fit (the C returns 0).

    A port of liblzf 3.6's lzf_c.c with Redis's settings (HLOG 16, VERY_FAST), including where
    it gives up, so the bytes equal Redis's. Redis leaves its hash table uninitialised
    (INIT_HTAB 0); this port starts it empty, which is what a fresh table means: stale slots of
    an earlier call can only add matches (rarely, and the output stays valid either way).
    The output is counted as the C writes it (``op``) and assembled from slices at the end.
    """
    global _htab_base
    in_end = len(data)
    if not in_end or out_len <= 0:
        return None
    htab = _HTAB
    base = _htab_base
    _htab_base = base + in_end + 1
    d = data
    limit = in_end - 2
    # The slot of each position: IDX(h) of its three bytes, ((h >> 8) - h * 5) mod 2**16.
    slots = [((a << 8 | b) - 5 * (b << 8 | c)) & 0xFFFF
             for a, b, c in zip(d, d[1:limit + 1], d[2:])]
    pieces: list[bytes] = []
    op = 1  # output bytes so far, the current literal run's header included
    lit = 0
    run = 0  # where the current literal run starts in data
    ip = 0
    while ip < limit:
        slot = slots[ip]
        ref = htab[slot] - base
        htab[slot] = base + ip
        if (ref > 0 and ip - ref <= _MAX_OFF and d[ref] == d[ip] and d[ref + 1] == d[ip + 1]
                and d[ref + 2] == d[ip + 2]):
            if op + 4 >= out_len and op - (not lit) + 4 >= out_len:
                return None
            off = ip - ref - 1
            maxlen = in_end - ip - 2
            if maxlen > _MAX_REF:
                maxlen = _MAX_REF
            # The match length, as the C's compare loops find it: 16 unchecked steps when
            # maxlen > 16, then one step at a time below maxlen.
            length = 2
            mismatch = False
            if maxlen > 16:
                for _ in range(16):
                    length += 1
                    if d[ref + length] != d[ip + length]:
                        mismatch = True
                        break
            if not mismatch:
                length += 1
                while length < maxlen and d[ref + length] == d[ip + length]:
                    length += 1
            if lit:
                pieces.append(bytes((lit - 1,)))
                pieces.append(d[run:run + lit])
            else:
                op -= 1  # undo the empty run's header
            length -= 2
            if length < 7:
                pieces.append(bytes(((off >> 8) + (length << 5), off & 0xFF)))
                op += 2
            else:
                pieces.append(bytes(((off >> 8) + (7 << 5), length - 7, off & 0xFF)))
                op += 3
            op += 1  # the next run's header
            lit = 0
            ip += length + 2
            run = ip
            if ip >= limit:
                break
            # VERY_FAST: hash the last two positions of the match.
            htab[slots[ip - 2]] = base + ip - 2
            htab[slots[ip - 1]] = base + ip - 1
        else:
            if op >= out_len:
                return None
            lit += 1
            op += 1
            ip += 1
            if lit == _MAX_LIT:
                pieces.append(b"\x1f")
                pieces.append(d[run:ip])
                run = ip
                lit = 0
                op += 1
    if op + 3 > out_len:
        return None
    while ip < in_end:  # at most two bytes left
        lit += 1
        op += 1
        ip += 1
        if lit == _MAX_LIT:
            pieces.append(b"\x1f")
            pieces.append(d[run:ip])
            run = ip
            lit = 0
            op += 1
    if lit:
        pieces.append(bytes((lit - 1,)))
        pieces.append(d[run:run + lit])
    else:
        op -= 1
    return b"".join(pieces)


def lzf_decompress(data: bytes, out_len: int) -> bytes | None:
    """lzf_decompress: the output, or None where the C returns 0 (E2BIG, EINVAL)."""
    out = bytearray()
    ip = 0
    in_end = len(data)
    while ip < in_end:
        ctrl = data[ip]
        ip += 1
        if ctrl < 32:  # literal run of ctrl + 1 bytes
            ctrl += 1
            if len(out) + ctrl > out_len:
                return None
            if ip + ctrl > in_end:
                return None
            out += data[ip:ip + ctrl]
            ip += ctrl
            continue
        length = ctrl >> 5
        ref = len(out) - ((ctrl & 0x1F) << 8) - 1
        if ip >= in_end:
            return None
        if length == 7:
            length += data[ip]
            ip += 1
            if ip >= in_end:
                return None
        ref -= data[ip]
        ip += 1
        length += 2
        if len(out) + length > out_len:
            return None
        if ref < 0:
            return None
        dist = len(out) - ref
        if dist >= length:
            out += out[ref:ref + length]
        else:  # overlapping copy: the pattern repeats
            chunk = out[ref:]
            reps, rest = divmod(length, dist)
            out += chunk * reps + chunk[:rest]
    return bytes(out)


# --- writing ----------------------------------------------------------------------------------

def encode_len(n: int) -> bytes:
    """rdbSaveLen."""
    if n < 1 << 6:
        return bytes((n,))
    if n < 1 << 14:
        return bytes(((n >> 8) | 0x40, n & 0xFF))
    if n <= 0xFFFFFFFF:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


def encode_integer(v: int) -> bytes | None:
    """rdbEncodeInteger: the INT8/16/32 string encodings, None beyond 32 bits."""
    if -(1 << 7) <= v < 1 << 7:
        return bytes((0xC0, v & 0xFF))
    if -(1 << 15) <= v < 1 << 15:
        return b"\xc1" + (v & 0xFFFF).to_bytes(2, "little")
    if -(1 << 31) <= v < 1 << 31:
        return b"\xc2" + (v & 0xFFFFFFFF).to_bytes(4, "little")
    return None


class Budget:
    """How many more bytes one payload may put through LZF."""

    __slots__ = ("left",)

    def __init__(self, left: int = LZF_BUDGET) -> None:
        self.left = left


def encode_string(s: bytes, budget: Budget | None = None) -> bytes:
    """rdbSaveRawString: an integer encoding for short canonical integers, LZF for values
    above 20 bytes that shrink by at least 4, else the length and the bytes."""
    n = len(s)
    if n <= 11:
        v = _string2ll(s)
        if v is not None:
            e = encode_integer(v)
            if e is not None:
                return e
    if 20 < n <= LZF_MAX_INPUT and (budget is None or budget.left >= n):
        if budget is not None:
            budget.left -= n
        c = lzf_compress(s, n - 4)
        if c is not None:
            return b"\xc3" + encode_len(len(c)) + encode_len(n) + c
    return encode_len(n) + s


def d2string(d: float) -> bytes:
    """Redis 7.0's d2string, as sorted-set listpacks store scores: nan and infinities by
    name, integral values within +-LLONG_MAX/2 (zero of either sign too) as integers (its
    double2ll), the rest with %.17g."""
    if math.isnan(d):
        return b"nan"
    if math.isinf(d):
        return b"inf" if d > 0 else b"-inf"
    if -_HALF_LLONG <= d <= _HALF_LLONG and d == math.floor(d):
        return b"%d" % int(d)
    return b"%.17g" % d


_HALF_LLONG = float((2**63 - 1) // 2)


def _backlen(n: int) -> bytes:
    """lpEncodeBacklen: the entry size, 7 bits a byte, read from the right."""
    if n <= 127:
        return bytes((n,))
    if n < 16383:
        return bytes((n >> 7, (n & 127) | 128))
    if n < 2097151:
        return bytes((n >> 14, ((n >> 7) & 127) | 128, (n & 127) | 128))
    if n < 268435455:
        return bytes((n >> 21, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128,
                      (n & 127) | 128))
    return bytes(((n >> 28) & 0xFF, ((n >> 21) & 127) | 128, ((n >> 14) & 127) | 128,
                  ((n >> 7) & 127) | 128, (n & 127) | 128))


def listpack_entry(s: bytes) -> bytes:
    """One listpack entry as lpAppend writes it: integers in the smallest int encoding."""
    v = _string2ll(s) if len(s) <= 20 else None
    if v is not None:
        if 0 <= v <= 127:
            enc = bytes((v,))
        elif -4096 <= v <= 4095:
            u = v & 0x1FFF
            enc = bytes((0xC0 | (u >> 8), u & 0xFF))
        elif -32768 <= v <= 32767:
            enc = b"\xf1" + (v & 0xFFFF).to_bytes(2, "little")
        elif -8388608 <= v <= 8388607:
            enc = b"\xf2" + (v & 0xFFFFFF).to_bytes(3, "little")
        elif -2147483648 <= v <= 2147483647:
            enc = b"\xf3" + (v & 0xFFFFFFFF).to_bytes(4, "little")
        else:
            enc = b"\xf4" + (v & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")
    else:
        n = len(s)
        if n < 64:
            enc = bytes((0x80 | n,)) + s
        elif n < 4096:
            enc = bytes((0xE0 | (n >> 8), n & 0xFF)) + s
        else:
            enc = b"\xf0" + n.to_bytes(4, "little") + s
    return enc + _backlen(len(enc))


def listpack_from_entries(entries: list[bytes]) -> bytes:
    """A listpack of already-encoded entries: header (total bytes, count), entries, 0xFF."""
    body = b"".join(entries)
    count = len(entries)
    return ((6 + len(body) + 1).to_bytes(4, "little")
            + (count if count < 65535 else 65535).to_bytes(2, "little") + body + b"\xff")


def listpack(items: Iterable[bytes]) -> bytes:
    return listpack_from_entries([listpack_entry(s) for s in items])


def intset(values: Iterable[int]) -> bytes:
    """An intset blob: encoding width, length, then the sorted values little-endian."""
    vals = sorted(set(values))
    width = 2
    for v in (vals[0], vals[-1]) if vals else ():
        if not -(1 << 15) <= v < 1 << 15:
            width = max(width, 4 if -(1 << 31) <= v < 1 << 31 else 8)
    fmt = {2: "<%dh", 4: "<%di", 8: "<%dq"}[width] % len(vals)
    return _U32.pack(width) + _U32.pack(len(vals)) + struct.pack(fmt, *vals)


def ziplist(items: Iterable[bytes]) -> bytes:
    """A ziplist as Redis up to 6.2 wrote them (RESTORE still reads them; tests build them)."""
    entries: list[bytes] = []
    prev = 0
    for s in items:
        head = bytes((prev,)) if prev < 254 else b"\xfe" + prev.to_bytes(4, "little")
        v = _string2ll(s) if len(s) <= 31 else None
        if v is not None and 0 <= v <= 12:
            enc = bytes((0xF1 + v,))
        elif v is not None and -(1 << 7) <= v < 1 << 7:
            enc = b"\xfe" + (v & 0xFF).to_bytes(1, "little")
        elif v is not None and -(1 << 15) <= v < 1 << 15:
            enc = b"\xc0" + (v & 0xFFFF).to_bytes(2, "little")
        elif v is not None and -(1 << 23) <= v < 1 << 23:
            enc = b"\xf0" + (v & 0xFFFFFF).to_bytes(3, "little")
        elif v is not None and -(1 << 31) <= v < 1 << 31:
            enc = b"\xd0" + (v & 0xFFFFFFFF).to_bytes(4, "little")
        elif v is not None:
            enc = b"\xe0" + (v & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")
        else:
            n = len(s)
            if n < 64:
                enc = bytes((n,)) + s
            elif n < 16384:
                enc = bytes((0x40 | (n >> 8), n & 0xFF)) + s
            else:
                enc = b"\x80" + n.to_bytes(4, "big") + s
        entry = head + enc
        entries.append(entry)
        prev = len(entry)
    body = b"".join(entries)
    tail = 10 + len(body) - len(entries[-1]) if entries else 10
    count = len(entries)
    return ((10 + len(body) + 1).to_bytes(4, "little") + tail.to_bytes(4, "little")
            + (count if count < 65535 else 65535).to_bytes(2, "little") + body + b"\xff")


def zipmap(pairs: list[tuple[bytes, bytes]]) -> bytes:
    """A Redis 2.x zipmap hash (tests build them)."""
    def length(n: int) -> bytes:
        return bytes((n,)) if n < 254 else b"\xfe" + n.to_bytes(4, "little")

    body = b"".join(length(len(f)) + f + length(len(v)) + b"\x00" + v for f, v in pairs)
    return bytes((min(len(pairs), 254),)) + body + b"\xff"


def payload(body: bytes) -> bytes:
    """Append the footer: RDB version and CRC64, both little-endian."""
    body = body + RDB_VERSION.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


def dump_string(value: bytes) -> bytes:
    return payload(bytes((TYPE_STRING,)) + encode_string(value))


def quicklist_nodes(elements: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(container, data) per quicklist node, packed as RPUSH packs a 7.0 quicklist: an element
    joins the tail node while the node's bytes + the element's size + 8 stay within 8 KB."""
    entries: list[bytes] = []
    size = 0  # the tail node's listpack bytes (lpBytes)
    for e in elements:
        n = len(e)
        if n >= PACKED_THRESHOLD:
            if entries:
                yield QUICKLIST_NODE_PACKED, listpack_from_entries(entries)
                entries = []
            yield QUICKLIST_NODE_PLAIN, e
            continue
        enc = listpack_entry(e)
        if entries and size + n + _SIZE_ESTIMATE_OVERHEAD <= QUICKLIST_NODE_LIMIT:
            entries.append(enc)
            size += len(enc)
        else:
            if entries:
                yield QUICKLIST_NODE_PACKED, listpack_from_entries(entries)
            entries = [enc]
            size = 7 + len(enc)
    if entries:
        yield QUICKLIST_NODE_PACKED, listpack_from_entries(entries)


def dump_list(elements: Iterable[bytes]) -> bytes:
    """RDB_TYPE_LIST_QUICKLIST_2."""
    nodes = list(quicklist_nodes(elements))
    parts = [bytes((TYPE_LIST_QUICKLIST_2,)), encode_len(len(nodes))]
    budget = Budget()
    for container, data in nodes:
        parts.append(encode_len(container))
        parts.append(encode_string(data, budget))
    return payload(b"".join(parts))


def dump_intset(values: Iterable[int]) -> bytes:
    return payload(bytes((TYPE_SET_INTSET,)) + encode_string(intset(values)))


def dump_set(members: Iterable[bytes], count: int) -> bytes:
    """RDB_TYPE_SET: the count, then each member."""
    parts = [bytes((TYPE_SET,)), encode_len(count)]
    budget = Budget()
    parts.extend(encode_string(m, budget) for m in members)
    return payload(b"".join(parts))


def dump_hash_listpack(pairs: Iterable[tuple[bytes, bytes]]) -> bytes:
    items: list[bytes] = []
    for f, v in pairs:
        items.append(f)
        items.append(v)
    return payload(bytes((TYPE_HASH_LISTPACK,)) + encode_string(listpack(items)))


def dump_hash(pairs: Iterable[tuple[bytes, bytes]], count: int) -> bytes:
    """RDB_TYPE_HASH: the count, then field and value of each pair."""
    parts = [bytes((TYPE_HASH,)), encode_len(count)]
    budget = Budget()
    for f, v in pairs:
        parts.append(encode_string(f, budget))
        parts.append(encode_string(v, budget))
    return payload(b"".join(parts))


def dump_zset_listpack(pairs: Iterable[tuple[bytes, float]]) -> bytes:
    """RDB_TYPE_ZSET_LISTPACK from (member, score) pairs in (score, member) order."""
    items: list[bytes] = []
    for m, s in pairs:
        items.append(m)
        items.append(d2string(s))
    return payload(bytes((TYPE_ZSET_LISTPACK,)) + encode_string(listpack(items)))


def dump_zset2(pairs_from_tail: Iterable[tuple[bytes, float]], count: int) -> bytes:
    """RDB_TYPE_ZSET_2 as a skiplist saves it: from the tail (highest first), binary scores."""
    parts = [bytes((TYPE_ZSET_2,)), encode_len(count)]
    budget = Budget()
    for m, s in pairs_from_tail:
        parts.append(encode_string(m, budget))
        parts.append(_F64.pack(s))
    return payload(b"".join(parts))


# --- reading ----------------------------------------------------------------------------------

def verify(data: bytes) -> bool:
    """verifyDumpPayload: at least the footer, a version Redis 7.0 knows, a matching CRC."""
    if len(data) < 10:
        return False
    if int.from_bytes(data[-10:-8], "little") > RDB_VERSION:
        return False
    return crc64(data[:-8]) == int.from_bytes(data[-8:], "little")


class Reader:
    """A cursor over a payload (footer included, as Redis's rio reads the whole argument)."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def read(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise RdbError("short read")
        out = self.data[self.pos:end]
        self.pos = end
        return out

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise RdbError("short read")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def length(self) -> tuple[int, bool]:
        """rdbLoadLenByRef: (length, is_encoded)."""
        b = self.byte()
        kind = b >> 6
        if kind == 3:
            return b & 0x3F, True
        if kind == 0:
            return b & 0x3F, False
        if kind == 1:
            return ((b & 0x3F) << 8) | self.byte(), False
        if b == _LEN_32BIT:
            return int.from_bytes(self.read(4), "big"), False
        if b == _LEN_64BIT:
            return int.from_bytes(self.read(8), "big"), False
        raise RdbError("unknown length encoding")

    def plain_length(self) -> int:
        n, encoded = self.length()
        if encoded:
            raise RdbError("encoded length")
        return n

    def string(self) -> bytes:
        """rdbGenericLoadStringObject: plain, INT8/16/32 or LZF."""
        n, encoded = self.length()
        if not encoded:
            return self.read(n)
        if n == _ENC_INT8:
            return b"%d" % int.from_bytes(self.read(1), "little", signed=True)
        if n == _ENC_INT16:
            return b"%d" % int.from_bytes(self.read(2), "little", signed=True)
        if n == _ENC_INT32:
            return b"%d" % int.from_bytes(self.read(4), "little", signed=True)
        if n == _ENC_LZF:
            clen = self.plain_length()
            ulen = self.plain_length()
            packed = self.read(clen)
            if ulen == 0:  # lzf_decompress's 0 (even an error) equals the length wanted
                return b""
            out = lzf_decompress(packed, ulen)
            if out is None or len(out) != ulen:
                raise RdbError("invalid LZF compressed string")
            return out
        raise RdbError("unknown string encoding")

    def binary_double(self) -> float:
        return _F64.unpack(self.read(8))[0]

    def text_double(self) -> float:
        """rdbLoadDoubleValue: a length byte (253 nan, 254 inf, 255 -inf) and sscanf %lg."""
        n = self.byte()
        if n == 255:
            return -math.inf
        if n == 254:
            return math.inf
        if n == 253:
            return math.nan
        v = strtod_prefix(self.read(n).split(b"\0", 1)[0])
        if v is None:
            raise RdbError("bad double")
        return v


_STRTOD = re.compile(
    rb"[ \t\n\v\f\r]*([+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
    rb"(?:[pP][+-]?[0-9]+)?|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    rb"|inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?))", re.IGNORECASE)


def strtod_prefix(s: bytes) -> float | None:
    """The number strtod reads at the start of s (None where it reads nothing)."""
    m = _STRTOD.match(s)
    if m is None:
        return None
    t = m.group(1)
    low = t.lower()
    if b"nan" in low:
        return math.nan
    if b"inf" in low:
        return -math.inf if t.startswith(b"-") else math.inf
    if b"x" in low:
        try:
            return float.fromhex(t.decode())
        except OverflowError:
            return -math.inf if t.startswith(b"-") else math.inf
    return float(t)


def _int_bytes(v: int) -> bytes:
    return b"%d" % v


def parse_listpack(lp: bytes) -> list[bytes]:
    """Every element of a listpack, integers as their decimal strings; RdbError on any fault
    (lpValidateIntegrity with deep checks)."""
    size = len(lp)
    if size < 7 or int.from_bytes(lp[0:4], "little") != size or lp[-1] != 0xFF:
        raise RdbError("listpack header")
    declared = int.from_bytes(lp[4:6], "little")
    out: list[bytes] = []
    p = 6
    end = size - 1
    while p < end:
        b = lp[p]
        if b < 0x80:
            val = _int_bytes(b)
            n = 1
        elif b < 0xC0:
            slen = b & 0x3F
            n = 1 + slen
            val = lp[p + 1:p + n]
        elif b < 0xE0:
            if p + 1 >= end:
                raise RdbError("listpack entry")
            u = ((b & 0x1F) << 8) | lp[p + 1]
            val = _int_bytes(u - (1 << 13) if u >= 1 << 12 else u)
            n = 2
        elif b < 0xF0:
            if p + 1 >= end:
                raise RdbError("listpack entry")
            slen = ((b & 0x0F) << 8) | lp[p + 1]
            n = 2 + slen
            val = lp[p + 2:p + n]
        elif b == 0xF0:
            if p + 5 > end:
                raise RdbError("listpack entry")
            slen = int.from_bytes(lp[p + 1:p + 5], "little")
            n = 5 + slen
            val = lp[p + 5:p + n]
        elif 0xF1 <= b <= 0xF4:
            w = (2, 3, 4, 8)[b - 0xF1]
            n = 1 + w
            if p + n > end:
                raise RdbError("listpack entry")
            val = _int_bytes(int.from_bytes(lp[p + 1:p + n], "little", signed=True))
        else:
            raise RdbError("listpack encoding")
        if p + n > end:
            raise RdbError("listpack entry")
        bl = _backlen(n)
        if lp[p + n:p + n + len(bl)] != bl:
            raise RdbError("listpack backlen")
        p += n + len(bl)
        out.append(val)
    if p != end:
        raise RdbError("listpack overrun")
    if declared != 65535 and declared != len(out):
        raise RdbError("listpack count")
    return out


def parse_ziplist(zl: bytes) -> list[bytes]:
    """Every element of a ziplist (ziplistValidateIntegrity with deep checks)."""
    size = len(zl)
    if size < 11 or int.from_bytes(zl[0:4], "little") != size or zl[-1] != 0xFF:
        raise RdbError("ziplist header")
    tail = int.from_bytes(zl[4:8], "little")
    declared = int.from_bytes(zl[8:10], "little")
    out: list[bytes] = []
    p = 10
    end = size - 1
    prev_len = 0
    last = 10
    while p < end:
        start = p
        b = zl[p]
        if b < 254:
            prevlen = b
            p += 1
        elif b == 254:
            if p + 5 > end:
                raise RdbError("ziplist entry")
            prevlen = int.from_bytes(zl[p + 1:p + 5], "little")
            p += 5
        else:
            raise RdbError("ziplist entry")
        if prevlen != prev_len:
            raise RdbError("ziplist prevlen")
        if p >= end:
            raise RdbError("ziplist entry")
        e = zl[p]
        kind = e >> 6
        if kind == 0:
            slen = e & 0x3F
            p += 1
        elif kind == 1:
            if p + 2 > end:
                raise RdbError("ziplist entry")
            slen = ((e & 0x3F) << 8) | zl[p + 1]
            p += 2
        elif e == 0x80:
            if p + 5 > end:
                raise RdbError("ziplist entry")
            slen = int.from_bytes(zl[p + 1:p + 5], "big")
            p += 5
        else:
            slen = -1
            width = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}.get(e)
            p += 1
            if width is not None:
                if p + width > end:
                    raise RdbError("ziplist entry")
                val = _int_bytes(int.from_bytes(zl[p:p + width], "little", signed=True))
                p += width
            elif 0xF1 <= e <= 0xFD:
                val = _int_bytes((e & 0x0F) - 1)
            else:
                raise RdbError("ziplist encoding")
        if slen >= 0:
            if p + slen > end:
                raise RdbError("ziplist entry")
            val = zl[p:p + slen]
            p += slen
        out.append(val)
        prev_len = p - start
        last = start
    if p != end:
        raise RdbError("ziplist overrun")
    if (out and tail != last) or (not out and tail != 10):
        raise RdbError("ziplist tail")
    if declared != 65535 and declared != len(out):
        raise RdbError("ziplist count")
    return out


def parse_intset(blob: bytes) -> list[int]:
    if len(blob) < 8:
        raise RdbError("intset header")
    width, count = struct.unpack_from("<II", blob)
    if width not in (2, 4, 8) or len(blob) != 8 + width * count:
        raise RdbError("intset size")
    fmt = {2: "<%dh", 4: "<%di", 8: "<%dq"}[width] % count
    values = list(struct.unpack_from(fmt, blob, 8))
    # Redis only checks the order under sanitize-dump-payload; an unsorted intset still holds
    # a set, a repeated value does not.
    if any(values[i] >= values[i + 1] for i in range(len(values) - 1)):
        values.sort()
        if any(values[i] == values[i + 1] for i in range(len(values) - 1)):
            raise RdbError("intset duplicates")
    return values


def parse_zipmap(zm: bytes) -> list[tuple[bytes, bytes]]:
    """A Redis 2.x zipmap hash (zipmapValidateIntegrity, always deep)."""
    size = len(zm)
    if size < 2 or zm[-1] != 0xFF:
        raise RdbError("zipmap header")
    p = 1
    pairs: list[tuple[bytes, bytes]] = []

    def length() -> int:
        nonlocal p
        if p >= size:
            raise RdbError("zipmap entry")
        b = zm[p]
        if b < 254:
            p += 1
            return b
        if b == 254:
            if p + 5 > size:
                raise RdbError("zipmap entry")
            n = int.from_bytes(zm[p + 1:p + 5], "little")
            p += 5
            return n
        raise RdbError("zipmap entry")

    while p < size and zm[p] != 0xFF:
        klen = length()
        if p + klen > size:
            raise RdbError("zipmap entry")
        key = zm[p:p + klen]
        p += klen
        vlen = length()
        if p >= size:
            raise RdbError("zipmap entry")
        free = zm[p]
        p += 1
        if p + vlen + free > size:
            raise RdbError("zipmap entry")
        value = zm[p:p + vlen]
        p += vlen + free
        pairs.append((key, value))
    if p != size - 1:
        raise RdbError("zipmap end")
    if zm[0] != 254 and zm[0] != len(pairs):
        raise RdbError("zipmap count")
    return pairs


def _pairs(items: list[bytes]) -> list[tuple[bytes, bytes]]:
    if len(items) % 2:
        raise RdbError("odd pair list")
    return list(zip(items[0::2], items[1::2]))


def _listpack_score(s: bytes) -> float:
    """zzlGetScore: an integer entry, or strtod over the first 127 bytes of a string."""
    v = strtod_prefix(s[:127].split(b"\0", 1)[0])
    return 0.0 if v is None else v


class Loaded:
    """A value read from a payload: its kind ('string', 'list', 'set', 'hash', 'zset'), the RDB
    object type it came in, and the data (bytes; a list of elements; a list of members; a
    list of (field, value); a list of (member, score))."""

    __slots__ = ("kind", "rdb_type", "data")

    def __init__(self, kind: str, rdb_type: int, data) -> None:
        self.kind = kind
        self.rdb_type = rdb_type
        self.data = data

    def __repr__(self) -> str:
        return f"Loaded({self.kind}, type={self.rdb_type}, {len(self.data)} items)"


def _no_dups(keys: Iterable[bytes], count: int) -> None:
    if len(set(keys)) != count:
        raise RdbError("duplicate elements")


def load(data: bytes) -> Loaded:
    """Read the object of a payload whose footer was verified; RdbError when Redis 7.0 would
    not load it (unknown or foreign type, bad encoding, empty collection, duplicates...)."""
    r = Reader(data)
    t = r.byte()
    kind = KIND_OF_TYPE.get(t)
    if kind is None:
        raise RdbError("unsupported object type %d" % t)
    if t == TYPE_STRING:
        return Loaded(kind, t, r.string())
    if t == TYPE_LIST:
        n = r.plain_length()
        if n == 0:
            raise RdbError("empty key")
        return Loaded(kind, t, [r.string() for _ in range(n)])
    if t == TYPE_SET:
        n = r.plain_length()
        if n == 0:
            raise RdbError("empty key")
        members = [r.string() for _ in range(n)]
        _no_dups(members, n)
        return Loaded(kind, t, members)
    if t in (TYPE_ZSET, TYPE_ZSET_2):
        n = r.plain_length()
        if n == 0:
            raise RdbError("empty key")
        pairs = []
        for _ in range(n):
            m = r.string()
            score = r.binary_double() if t == TYPE_ZSET_2 else r.text_double()
            if math.isnan(score):
                raise RdbError("NaN score")
            pairs.append((m, score))
        _no_dups((m for m, _ in pairs), n)
        return Loaded(kind, t, pairs)
    if t == TYPE_HASH:
        n = r.plain_length()
        if n == 0:
            raise RdbError("empty key")
        pairs = []
        for _ in range(n):
            f = r.string()
            pairs.append((f, r.string()))
        _no_dups((f for f, _ in pairs), n)
        return Loaded(kind, t, pairs)
    if t in (TYPE_LIST_QUICKLIST, TYPE_LIST_QUICKLIST_2):
        nodes = r.plain_length()
        if nodes == 0:
            raise RdbError("empty key")
        elements: list[bytes] = []
        for _ in range(nodes):
            if t == TYPE_LIST_QUICKLIST_2:
                container = r.plain_length()
                if container not in (QUICKLIST_NODE_PLAIN, QUICKLIST_NODE_PACKED):
                    raise RdbError("quicklist container")
                blob = r.string()
                if container == QUICKLIST_NODE_PLAIN:
                    elements.append(blob)
                    continue
                elements.extend(parse_listpack(blob))
            else:
                elements.extend(parse_ziplist(r.string()))
        if not elements:
            raise RdbError("empty key")
        return Loaded(kind, t, elements)
    # The remaining types are one blob.
    blob = r.string()
    if t == TYPE_LIST_ZIPLIST:
        elements = parse_ziplist(blob)
        if not elements:
            raise RdbError("empty key")
        return Loaded(kind, t, elements)
    if t == TYPE_SET_INTSET:
        values = parse_intset(blob)
        if not values:
            raise RdbError("empty key")
        return Loaded(kind, t, [_int_bytes(v) for v in values])
    if t == TYPE_HASH_ZIPMAP:
        pairs = parse_zipmap(blob)
        if not pairs:
            raise RdbError("empty key")
        _no_dups((f for f, _ in pairs), len(pairs))
        return Loaded(kind, t, pairs)
    items = parse_listpack(blob) if t in (TYPE_HASH_LISTPACK, TYPE_ZSET_LISTPACK) \
        else parse_ziplist(blob)
    pairs = _pairs(items)
    if not pairs:
        raise RdbError("empty key")
    _no_dups((f for f, _ in pairs), len(pairs))
    if kind == "zset":
        zpairs = []
        for m, s in pairs:
            score = _listpack_score(s)
            if math.isnan(score):
                raise RdbError("NaN score")
            zpairs.append((m, score))
        return Loaded(kind, t, zpairs)
    return Loaded(kind, t, pairs)
