"""Bitmap commands on string values (Redis's bitops.c)."""
from __future__ import annotations

from photon.commands.strings import _rewrite, check_size
from photon.commands.table import command
from photon.errors import RedisError, syntax
from photon.keyspace.encoding import FLAG_RAW, STRING
from photon.util.numbers import parse_int, string2ll

_OFFSET_ERR = "ERR bit offset is not an integer or out of range"


def _bit_offset(c, arg: bytes) -> int:
    """getBitOffsetFromArgument: a bit offset whose byte fits in proto-max-bulk-len."""
    v = string2ll(arg)
    if v is None or v < 0 or (v >> 3) >= c.server.config.proto_max_bulk_len:
        raise RedisError(_OFFSET_ERR)
    return v


@command("setbit", 4, "write denyoom", 1, 1, 1)
def setbit(c, argv):
    offset = _bit_offset(c, argv[2])
    bit = string2ll(argv[3])
    if bit is None or bit & ~1:
        raise RedisError("ERR bit is not an integer or out of range")
    ks = c.server.keyspace
    meta = ks.lookup_typed(c.db, argv[1], STRING)
    value = bytearray(meta.value if meta is not None else b"")
    byte = offset >> 3
    if byte >= len(value):
        check_size(c, byte + 1)
        value.extend(b"\0" * (byte + 1 - len(value)))
    mask = 0x80 >> (offset & 7)
    old = 1 if value[byte] & mask else 0
    if bit:
        value[byte] |= mask
    else:
        value[byte] &= ~mask
    if meta is None:
        ks.set_string(c.db, argv[1], bytes(value), flags=FLAG_RAW)
    else:
        _rewrite(ks, c.db, argv[1], meta, bytes(value), flags=meta.flags | FLAG_RAW)
    return old


@command("getbit", 3, "readonly fast", 1, 1, 1)
def getbit(c, argv):
    offset = _bit_offset(c, argv[2])
    value = c.server.keyspace.get_string(c.db, argv[1]) or b""
    byte = offset >> 3
    if byte >= len(value):
        return 0
    return 1 if value[byte] & (0x80 >> (offset & 7)) else 0


def _unit(arg: bytes) -> bool:
    """True for BIT, False for BYTE."""
    u = arg.lower()
    if u == b"bit":
        return True
    if u == b"byte":
        return False
    raise syntax()


def _clamp(start: int, end: int, total: int) -> tuple[int, int] | None:
    """Negative indexes count from the end, then both are clipped to the string; None when
    the range is empty. (BITCOUNT first answers 0 for two negatives the wrong way round.)"""
    if start < 0:
        start += total
    if end < 0:
        end += total
    start = max(start, 0)
    end = max(end, 0)
    end = min(end, total - 1)
    if start > end:
        return None
    return start, end


def _bits(value: bytes, first: int, last: int) -> tuple[int, int]:
    """The bits first..last (inclusive) of value as an int, and how many there are."""
    chunk = value[first >> 3:(last >> 3) + 1]
    x = int.from_bytes(chunk, "big")
    x >>= 7 - (last & 7)
    n = last - first + 1
    return x & ((1 << n) - 1), n


@command("bitcount", -2, "readonly", 1, 1, 1)
def bitcount(c, argv):
    # Redis's order: the key first (a missing key is 0 whatever the other arguments say),
    # then start and end, then the unit.
    value = c.server.keyspace.get_string(c.db, argv[1])
    if value is None:
        return 0
    if len(argv) in (4, 5):
        start, end = parse_int(argv[2]), parse_int(argv[3])
        if start < 0 and end < 0 and start > end:
            return 0
        isbit = _unit(argv[4]) if len(argv) == 5 else False
        total = len(value) * (8 if isbit else 1)
        span = _clamp(start, end, total)
        if span is None:
            return 0
        if not isbit:
            return int.from_bytes(value[span[0]:span[1] + 1], "big").bit_count()
        return _bits(value, span[0], span[1])[0].bit_count()
    if len(argv) == 2:
        return int.from_bytes(value, "big").bit_count()
    raise syntax()


@command("bitpos", -3, "readonly", 1, 1, 1)
def bitpos(c, argv):
    bit = parse_int(argv[2])
    if bit not in (0, 1):
        raise RedisError("ERR The bit argument must be 1 or 0.")
    ks = c.server.keyspace
    value = ks.get_string(c.db, argv[1])
    if value is None:
        return -1 if bit else 0
    isbit = False
    end_given = False
    start, end = 0, -1
    if len(argv) in (4, 5, 6):
        start = parse_int(argv[3])
        if len(argv) == 6:
            isbit = _unit(argv[5])
        if len(argv) >= 5:
            end = parse_int(argv[4])
            end_given = True
    elif len(argv) != 3:
        raise syntax()
    total = len(value) * (8 if isbit else 1)
    span = _clamp(start, end, total) if total else None
    if span is None:
        return -1
    first, last = (span[0], span[1]) if isbit else (span[0] * 8, span[1] * 8 + 7)
    x, n = _bits(value, first, last)
    if not bit:
        x = ~x & ((1 << n) - 1)
    if x:
        return first + n - x.bit_length()
    if bit or end_given:
        return -1
    return last + 1


@command("bitop", -4, "write denyoom", 2, -1, 1)
def bitop(c, argv):
    op = argv[1].lower()
    if op not in (b"and", b"or", b"xor", b"not"):
        raise syntax()
    sources = argv[3:]
    if op == b"not" and len(sources) != 1:
        raise RedisError("ERR BITOP NOT must be called with a single source key.")
    ks = c.server.keyspace
    values = []
    for key in sources:
        meta = ks.lookup_typed(c.db, key, STRING)
        values.append(meta.value if meta is not None else b"")
    size = max(map(len, values))
    if size == 0:
        ks.delete(c.db, argv[2])
        return 0
    ints = [int.from_bytes(v.ljust(size, b"\0"), "big") for v in values]
    if op == b"not":
        result = ~ints[0] & ((1 << (8 * size)) - 1)
    else:
        result = ints[0]
        for x in ints[1:]:
            if op == b"and":
                result &= x
            elif op == b"or":
                result |= x
            else:
                result ^= x
    ks.set_string(c.db, argv[2], result.to_bytes(size, "big"), flags=FLAG_RAW)
    return size


# --- BITFIELD / BITFIELD_RO (bitfieldGeneric) ----------------------------------------------

_BITFIELD_TYPE_ERR = ("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is "
                      "not supported but i64 is.")


def _bitfield_type(arg: bytes) -> tuple[bool, int]:
    """getBitfieldTypeFromArgument: (signed, bits) from i1..i64 or u1..u63."""
    sign = arg[:1]
    bits = string2ll(arg[1:].split(b"\0", 1)[0]) if sign in (b"i", b"u") else None
    if bits is None or bits < 1 or (sign == b"i" and bits > 64) or (sign == b"u" and bits > 63):
        raise RedisError(_BITFIELD_TYPE_ERR)
    return sign == b"i", bits


def _bitfield_offset(c, arg: bytes, bits: int) -> int:
    """getBitOffsetFromArgument with the '#N' form (N times the field width)."""
    usehash = len(arg) > 1 and arg[:1] == b"#"
    v = string2ll(arg[1:] if usehash else arg)
    if v is None:
        raise RedisError(_OFFSET_ERR)
    if usehash:
        v *= bits
    if v < 0 or (v >> 3) >= c.server.config.proto_max_bulk_len:
        raise RedisError(_OFFSET_ERR)
    return v


def _get_field(data, offset: int, bits: int, signed: bool) -> int:
    first = offset >> 3
    last = (offset + bits - 1) >> 3
    chunk = bytes(data[first:last + 1])
    chunk += b"\0" * (last + 1 - first - len(chunk))
    v = int.from_bytes(chunk, "big") >> ((last + 1) * 8 - offset - bits)
    v &= (1 << bits) - 1
    if signed and v >> (bits - 1):
        v -= 1 << bits
    return v


def _set_field(data: bytearray, offset: int, bits: int, value: int) -> None:
    first = offset >> 3
    last = (offset + bits - 1) >> 3
    shift = (last + 1) * 8 - offset - bits
    mask = ((1 << bits) - 1) << shift
    cur = int.from_bytes(data[first:last + 1], "big")
    cur = (cur & ~mask) | ((value & ((1 << bits) - 1)) << shift)
    data[first:last + 1] = cur.to_bytes(last + 1 - first, "big")


def _overflow(value: int, incr: int, bits: int, signed: bool, owtype: bytes):
    """check(Un)signedBitfieldOverflow: (overflowed, value to store)."""
    if signed:
        top = (1 << 63) - 1 if bits == 64 else (1 << (bits - 1)) - 1
        low = -top - 1
    else:
        top, low = (1 << bits) - 1, 0
        value &= (1 << 64) - 1  # SET of a negative number: a huge unsigned value
    total = value + incr
    if low <= total <= top:
        return False, total
    if owtype == b"sat":
        return True, top if total > top else low
    wrapped = total & ((1 << bits) - 1)
    if signed and wrapped >> (bits - 1):
        wrapped -= 1 << bits
    return True, wrapped


def _bitfield(c, argv, readonly_cmd: bool):
    ops = []
    owtype = b"wrap"
    readonly = True
    highest = 0
    j = 2
    n = len(argv)
    while j < n:
        remargs = n - j - 1
        sub = argv[j].lower()
        if sub == b"get" and remargs >= 2:
            pass
        elif sub in (b"set", b"incrby") and remargs >= 3:
            pass
        elif sub == b"overflow" and remargs >= 1:
            owtype = argv[j + 1].lower()
            if owtype not in (b"wrap", b"sat", b"fail"):
                raise RedisError("ERR Invalid OVERFLOW type specified")
            j += 2
            continue
        else:
            raise syntax()
        signed, bits = _bitfield_type(argv[j + 1])
        offset = _bitfield_offset(c, argv[j + 2], bits)
        value = 0
        if sub != b"get":
            readonly = False
            highest = max(highest, offset + bits - 1)
            value = parse_int(argv[j + 3])
        ops.append((sub, signed, bits, offset, value, owtype))
        j += 3 if sub == b"get" else 4

    ks = c.server.keyspace
    meta = ks.lookup_typed(c.db, argv[1], STRING)
    if readonly:
        data = meta.value if meta is not None else b""
    else:
        if readonly_cmd:
            raise RedisError("ERR BITFIELD_RO only supports the GET subcommand")
        data = bytearray(meta.value if meta is not None else b"")
        need = (highest >> 3) + 1
        if len(data) < need:
            check_size(c, need)
            data.extend(b"\0" * (need - len(data)))
    out: list = []
    for sub, signed, bits, offset, value, ow in ops:
        old = _get_field(data, offset, bits, signed)
        if sub == b"get":
            out.append(old)
            continue
        if sub == b"incrby":
            overflowed, new = _overflow(old, value, bits, signed, ow)
            result = new
        else:
            overflowed, new = _overflow(value, 0, bits, signed, ow)
            result = old
        if overflowed and ow == b"fail":
            out.append(None)
        else:
            out.append(result)
            _set_field(data, offset, bits, new)
    if not readonly:
        if meta is None:
            ks.set_string(c.db, argv[1], bytes(data), flags=FLAG_RAW)
        else:
            _rewrite(ks, c.db, argv[1], meta, bytes(data), flags=meta.flags | FLAG_RAW)
    return out


@command("bitfield", -2, "write denyoom", 1, 1, 1)
def bitfield(c, argv):
    return _bitfield(c, argv, False)


@command("bitfield_ro", -2, "readonly fast", 1, 1, 1)
def bitfield_ro(c, argv):
    return _bitfield(c, argv, True)
