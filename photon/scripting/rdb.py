"""FUNCTION DUMP / RESTORE payloads in Redis 7.0's own format (functions.c): per library the
FUNCTION2 opcode and the library code as an RDB string, then the RDB version and the CRC64.
The string codec (LZF included, byte-equal with redis-server's) is photon.util.rdb's, so a
dump from photon restores in Redis and the other way round."""
from __future__ import annotations

from photon.util import rdb as _rdb

OPCODE_FUNCTION_PRE_GA = 246
OPCODE_FUNCTION2 = 245


def dump(codes: list[bytes]) -> bytes:
    """A FUNCTION DUMP payload holding these library codes."""
    return _rdb.payload(b"".join(bytes((OPCODE_FUNCTION2,)) + _rdb.encode_string(code)
                                 for code in codes))


def verify(payload: bytes) -> bool:
    """verifyDumpPayload: a known RDB version and a matching CRC64."""
    return _rdb.verify(payload)


def library_codes(payload: bytes) -> list[bytes]:
    """The library codes of a verified payload; ValueError with Redis's text otherwise."""
    reader = _rdb.Reader(payload)
    codes = []
    while len(payload) - reader.pos > 10:
        try:
            kind = reader.byte()
        except _rdb.RdbError:
            raise ValueError("can not read data type") from None
        if kind == OPCODE_FUNCTION_PRE_GA:
            raise ValueError("Pre-GA function format not supported")
        if kind != OPCODE_FUNCTION2:
            raise ValueError("given type is not a function")
        try:
            codes.append(reader.string())
        except _rdb.RdbError:
            raise ValueError("failed loading the given functions payload") from None
    return codes
