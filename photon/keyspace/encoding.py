"""How Redis keys are laid out in a shard's engine (the Kvrocks scheme; docs/architecture.md,
"Storage encoding").

    db 'm' key                              metadata: type, flags, expiry [, version, size ...]
    db 's' len(key) key version field       one field / member / element of a collection
    db 'z' len(key) key version score member  sorted-set score index (value empty)
    db 'x' expire_ms key                    expiry index, for the active sweeper
    ff 'c' db                               key and expiry counts of a database
    ff 'g' version db key                   a dropped collection whose subkeys await reclaiming
    ff 'r'                                  the shard's replication position (its format is
                                            replication's; the keyspace only stores it)

The database number leads every user record, so a whole database is one contiguous range.
Strings keep their value in the metadata record: GET and SET touch one entry.
"""
from __future__ import annotations

import struct

try:
    import cython
except ImportError:
    from photon.util import cython_shim as cython

STRING, HASH, LIST, SET, ZSET = 0, 1, 2, 3, 4
TYPE_NAMES = {STRING: b"string", HASH: b"hash", LIST: b"list", SET: b"set", ZSET: b"zset"}
TYPE_BY_NAME = {v: k for k, v in TYPE_NAMES.items()}

FLAG_RAW = 1  # string was edited in place (APPEND, SETRANGE...): OBJECT ENCODING says raw
FLAG_BIG = 2  # collection outgrew its compact Redis encoding (it never converts back)

META = ord("m")
SUB = ord("s")
ZSCORE = ord("z")
EXPIRY = ord("x")
INTERNAL = 0xFF

_HEAD = struct.Struct(">BBQ")          # type, flags, expire_ms (0 = none)
_COLL = struct.Struct(">BBQQQ")        # ... version, size
_LIST = struct.Struct(">BBQQQQQ")      # ... version, size, head, tail
_U64 = struct.Struct(">Q")
_U32 = struct.Struct(">I")
HEAD_SIZE = _HEAD.size

pack_u64 = _U64.pack
unpack_u64 = _U64.unpack_from


def meta_prefix(db: int) -> bytes:
    return bytes((db, META))


def meta_key(db: int, key: bytes) -> bytes:
    return bytes((db, META)) + key


def sub_prefix(db: int, key: bytes, version: int) -> bytes:
    return _versioned(db, SUB, key, version)


def zscore_prefix(db: int, key: bytes, version: int) -> bytes:
    return _versioned(db, ZSCORE, key, version)


def _versioned(db: int, tag: int, key: bytes, version: int) -> bytes:
    """db, tag, len(key) (4 bytes), key, version (8 bytes): compiled, written in C into one
    new bytes object (every collection command builds one or two)."""
    if cython.compiled and type(key) is bytes:
        return _pack(db, tag, len(key), 4, key, version, 8)
    return bytes((db, tag)) + _U32.pack(len(key)) + key + _U64.pack(version)


def string_record(flags: int, expire: int, value: bytes) -> bytes:
    """A string's metadata record, the header then the value: Meta.encode for a string,
    without the Meta (SET's path; compiled, written in C into one new bytes object)."""
    if cython.compiled and type(value) is bytes:
        return _pack(STRING, flags, expire, 8, value, 0, 0)
    return _HEAD.pack(STRING, flags, expire) + value


def _pack(b0: int, b1: int, head: int, head_size: int, body: bytes, tail: int,
          tail_size: int) -> bytes:
    """Two bytes, head (big-endian, head_size bytes), body, tail (tail_size bytes), as one
    new bytes object (compiled only)."""
    n = len(body)
    out = PyBytes_FromStringAndSize(cython.NULL, 2 + head_size + n + tail_size)
    p = PyBytes_AS_STRING(out)
    p[0] = b0
    p[1] = b1
    _big_endian(p + 2, head, head_size)
    memcpy(p + 2 + head_size, PyBytes_AS_STRING(body), n)
    _big_endian(p + 2 + head_size + n, tail, tail_size)
    return out


def _big_endian(p, value: int, size: int) -> None:
    """Write an unsigned integer at p, in size bytes, most significant first (compiled only)."""
    i = size - 1
    while i >= 0:
        p[i] = value & 0xFF
        value >>= 8
        i -= 1


def expiry_key(db: int, expire_ms: int, key: bytes) -> bytes:
    return bytes((db, EXPIRY)) + _U64.pack(expire_ms) + key


COUNTERS = ord("c")
POSITION_KEY = bytes((INTERNAL, ord("r")))


def counters_key(db: int) -> bytes:
    return bytes((INTERNAL, COUNTERS, db))


def garbage_key(version: int, db: int, key: bytes) -> bytes:
    return bytes((INTERNAL, ord("g"))) + _U64.pack(version) + bytes((db,)) + key


def prefix_end(prefix: bytes) -> bytes:
    """The first key after every key that starts with prefix."""
    p = bytearray(prefix)
    while p and p[-1] == 0xFF:
        p.pop()
    if not p:
        return b"\xff" * (len(prefix) + 1)
    p[-1] += 1
    return bytes(p)


class Meta:
    """A decoded metadata record."""

    __slots__ = ("type", "flags", "expire", "version", "size", "head", "tail", "value",
                 "stored")

    def __init__(self, type_: int, flags: int = 0, expire: int = 0, version: int = 0,
                 size: int = 0, head: int = 0, tail: int = 0, value: bytes = b"") -> None:
        self.type = type_
        self.flags = flags
        self.expire = expire
        self.version = version
        self.size = size
        self.head = head
        self.tail = tail
        self.value = value
        self.stored = b""  # the record this was decoded from (b"": made in memory)

    def encode(self) -> bytes:
        t = self.type
        if t == STRING:
            return _HEAD.pack(t, self.flags, self.expire) + self.value
        if t == LIST:
            return _LIST.pack(t, self.flags, self.expire, self.version, self.size, self.head,
                              self.tail)
        return _COLL.pack(t, self.flags, self.expire, self.version, self.size)

    @classmethod
    def decode(cls, raw: bytes) -> "Meta":
        t = raw[0]
        if t == STRING:
            _, flags, expire = _HEAD.unpack_from(raw)
            return cls(t, flags, expire, value=raw[HEAD_SIZE:])
        meta = cls(*(_LIST if t == LIST else _COLL).unpack_from(raw))
        meta.stored = raw
        return meta

    def __repr__(self) -> str:
        return (f"Meta(type={self.type}, expire={self.expire}, version={self.version}, "
                f"size={self.size})")


def encode_string(value: bytes, expire: int = 0, flags: int = 0) -> bytes:
    return _HEAD.pack(STRING, flags, expire) + value


def raw_expire(raw: bytes) -> int:
    return _U64.unpack_from(raw, 2)[0]


_F64 = struct.Struct(">d")


def encode_score(score: float) -> bytes:
    """Big-endian IEEE 754 with the sign bit flipped (negatives inverted): byte order equals
    numeric order, so a score range is a key range."""
    (bits,) = _U64.unpack(_F64.pack(score + 0.0))
    bits = bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | (1 << 63)
    return _U64.pack(bits)


def decode_score(raw: bytes) -> float:
    (bits,) = _U64.unpack_from(raw)
    bits = bits & ~(1 << 63) if bits >> 63 else bits ^ 0xFFFFFFFFFFFFFFFF
    return _F64.unpack(_U64.pack(bits))[0]
