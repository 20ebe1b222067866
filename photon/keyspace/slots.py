"""Key -> slot -> shard, as Redis Cluster computes slots (docs/architecture.md, "Keys, slots
and shards")."""
from __future__ import annotations

from binascii import crc_hqx
from collections.abc import Callable

try:
    import cython
except ImportError:
    from photon.util import cython_shim as cython

SLOTS = 16384


def _crc_table() -> list[int]:
    """CRC16-XMODEM's table, for the compiled shard_index (crc_hqx's own, in C)."""
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xFFFF
        table.append(crc)
    return table


_CRC = _crc_table()


def key_slot(key: bytes) -> int:
    """CRC16-XMODEM of the hash tag (the part between the first '{' and the next '}', when
    non-empty) or of the whole key, modulo 16384. binascii.crc_hqx is that CRC, in C."""
    start = key.find(b"{")
    if start != -1:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return crc_hqx(key, 0) & 0x3FFF


def valid_shard_count(n: int) -> bool:
    return 1 <= n <= SLOTS and n & (n - 1) == 0


def shard_of_slot(slot: int, shard_count: int) -> int:
    return slot * shard_count // SLOTS


def slot_range(shard: int, shard_count: int) -> tuple[int, int]:
    """First and last slot owned by a shard."""
    per = SLOTS // shard_count
    return shard * per, shard * per + per - 1


def shard_shift(count: int) -> int:
    """shard_index's ``shift`` for a shard count (a power of two)."""
    if not valid_shard_count(count):
        raise ValueError("shard count must be a power of two from 1 to 16384")
    return 14 - (count.bit_length() - 1)


def shard_index(key: bytes, shift: int) -> int:
    """The shard of a key: its slot >> shift. It runs for every key of every command:
    compiled, the hash tag and the CRC are computed in C, without a call into binascii."""
    if cython.compiled and type(key) is bytes:
        p = PyBytes_AS_STRING(key)
        n = len(key)
        at = memchr(p, 123, n)  # {
        if at != cython.NULL:
            start = cython.cast(cython.p_char, at) - p + 1
            at = memchr(p + start, 125, n - start)  # }
            if at != cython.NULL and cython.cast(cython.p_char, at) - p > start:
                n = cython.cast(cython.p_char, at) - p - start
                p = p + start
        crc = 0
        i = 0
        while i < n:
            crc = ((crc << 8) & 0xFFFF) ^ _CRC[((crc >> 8) ^ cython.cast(cython.uchar, p[i]))]
            i += 1
        return (crc & 0x3FFF) >> shift
    start = key.find(b"{")
    if start != -1:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return (crc_hqx(key, 0) & 0x3FFF) >> shift


def shard_mapper(count: int) -> Callable[[bytes], int]:
    """A key -> shard index function for a shard count (a power of two)."""
    shift = shard_shift(count)

    def shard_of(key: bytes) -> int:
        return shard_index(key, shift)

    return shard_of
