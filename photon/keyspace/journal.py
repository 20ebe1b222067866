"""All-or-nothing commits that span shards.

Each shard is its own LevelDB, so a command writing two shards (RENAME across shards, MSET,
SMOVE, an EXEC) is two batches, and a crash between them would keep one half: a RENAME could
keep both keys, an SMOVE lose its member. Before such a commit its whole write set is stored
as one record in a small LevelDB of its own, and deleted once every shard has its batch. A
start that finds the record re-applies it: puts and deletes of final values, so re-applying a
batch that did land changes nothing, and no later commit can have touched those keys (commits
run one at a time and the record is gone before the next one begins). A record the crash cut
short is not there at all (LevelDB's log drops a torn write).

Like every LevelDB write here the record reaches the kernel, not the disk, before the shards
are written: it covers a killed process. Single-shard commits, the common case, skip it; a
LevelDB write instead of a file keeps the cost to two appends per cross-shard commit.
"""
from __future__ import annotations

import logging
import struct
import zlib
from collections.abc import Mapping

from photon.storage.engine import Engine

log = logging.getLogger("photon.keyspace")

_MAGIC = b"PHJ1"
_HEAD = struct.Struct(">4sQI")  # magic, body length, crc32 of the body
_U32 = struct.Struct(">I")
_NONE = 0xFFFFFFFF

Ops = Mapping[bytes, bytes | None]


def encode(pending: Mapping[int, Ops]) -> bytes:
    parts = []
    for shard, ops in pending.items():
        parts.append(_U32.pack(shard) + _U32.pack(len(ops)))
        for k, v in ops.items():
            parts.append(_U32.pack(len(k)) + k)
            parts.append(_U32.pack(_NONE) if v is None else _U32.pack(len(v)) + v)
    body = b"".join(parts)
    return _HEAD.pack(_MAGIC, len(body), zlib.crc32(body)) + body


def decode(blob: bytes) -> dict[int, dict[bytes, bytes | None]] | None:
    """The write set in a complete intent; None for a torn or foreign one."""
    if len(blob) < _HEAD.size:
        return None
    magic, size, crc = _HEAD.unpack_from(blob)
    body = memoryview(blob)[_HEAD.size:]
    if magic != _MAGIC or len(body) != size or zlib.crc32(body) != crc:
        return None
    out: dict[int, dict[bytes, bytes | None]] = {}
    pos = 0

    def u32() -> int:
        nonlocal pos
        (n,) = _U32.unpack_from(body, pos)
        pos += 4
        return n

    def chunk(n: int) -> bytes:
        nonlocal pos
        pos += n
        return bytes(body[pos - n:pos])

    while pos < size:
        shard, count = u32(), u32()
        ops: dict[bytes, bytes | None] = {}
        for _ in range(count):
            key = chunk(u32())
            n = u32()
            ops[key] = None if n == _NONE else chunk(n)
        out[shard] = ops
    return out


class Journal:
    """The commit intent of one node's keyspace, kept in an engine of its own."""

    KEY = b"intent"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.intents = 0

    def begin(self, pending: Mapping[int, Ops]) -> None:
        self.engine.write({self.KEY: encode(pending)})
        self.intents += 1

    def end(self) -> None:
        self.engine.write({self.KEY: None})

    def recover(self, engines: list[Engine]) -> bool:
        """Finish a commit a crash interrupted; True when one was re-applied."""
        blob = self.engine.get(self.KEY)
        if blob is None:
            return False
        pending = decode(blob)
        if pending is None or any(shard >= len(engines) for shard in pending):
            log.warning("Dropping an unreadable cross-shard commit intent (%d bytes)", len(blob))
            self.end()
            return False
        for shard, ops in pending.items():
            engines[shard].write(ops)
        log.warning("Completed a cross-shard commit interrupted by a crash (%d shard(s))",
                    len(pending))
        self.end()
        return True
