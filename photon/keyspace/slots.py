"""Key -> slot -> shard, as Redis Cluster computes slots (docs/architecture.md, "Keys, slots
and shards")."""
from __future__ import annotations

from binascii import crc_hqx
from collections.abc import Callable

SLOTS = 16384


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


def shard_mapper(count: int) -> Callable[[bytes], int]:
    """A key -> shard index function for a shard count (a power of two); a plain closure,
    since it runs for every key of every command."""
    if not valid_shard_count(count):
        raise ValueError("shard count must be a power of two from 1 to 16384")
    shift = 14 - (count.bit_length() - 1)

    def shard_of(key: bytes) -> int:
        start = key.find(b"{")
        if start != -1:
            end = key.find(b"}", start + 1)
            if end > start + 1:
                key = key[start + 1:end]
        return (crc_hqx(key, 0) & 0x3FFF) >> shift

    return shard_of
