"""The replication stream's pieces: per-shard positions, the backlog, and message encoding.

A shard's offset counts the bytes of the write entries it has produced, as Redis's
replication offset counts bytes. Each entry is one engine write batch, sent as
``W <shard> <start offset> <ops>`` where ops is a RESP-encoded array of key, value pairs
(a null value deletes); the entry ends at start + len(ops). The position of a shard,
(replid, offset), is stored in the same batch as the data it describes.
"""
from __future__ import annotations

import secrets
import struct
from collections import deque
from collections.abc import Iterable, Mapping

import hiredis

REPL_KEY = b"\xffr"
_REC = struct.Struct(">40sQ40sQ")
NO_REPLID = b"0" * 40


def new_replid() -> bytes:
    return secrets.token_hex(20).encode()


class Position:
    """Where a shard's history stands: its replication id and offset, plus the previous id and
    the offset where it ended (so replicas of an old master can continue after a promotion)."""

    __slots__ = ("replid", "offset", "replid2", "offset2")

    def __init__(self, replid: bytes, offset: int = 0, replid2: bytes = NO_REPLID,
                 offset2: int = -1) -> None:
        self.replid = replid
        self.offset = offset
        self.replid2 = replid2
        self.offset2 = offset2

    def record(self, offset: int | None = None) -> bytes:
        return _REC.pack(self.replid, self.offset if offset is None else offset, self.replid2,
                         max(self.offset2, 0))

    @classmethod
    def parse(cls, raw: bytes | None) -> "Position | None":
        if not raw or len(raw) != _REC.size:
            return None
        replid, offset, replid2, offset2 = _REC.unpack(raw)
        return cls(replid, offset, replid2, offset2 if replid2 != NO_REPLID else -1)

    def new_history(self, replid: bytes | None = None) -> None:
        """A promotion: a fresh id; the old one stays valid up to the current offset."""
        self.replid2, self.offset2 = self.replid, self.offset
        self.replid = replid or new_replid()

    def can_continue(self, replid: bytes, offset: int) -> bool:
        """Whether a replica at (replid, offset) shares this shard's history."""
        if replid == self.replid:
            return offset <= self.offset
        return replid == self.replid2 and offset <= self.offset2


class Backlog:
    """The last entries of one shard, bounded in bytes, for partial resyncs."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.entries: deque[tuple[int, int, bytes]] = deque()  # (start, end, message)
        self.size = 0

    def append(self, start: int, end: int, message: bytes) -> None:
        self.entries.append((start, end, message))
        self.size += len(message)
        while self.size > self.limit and len(self.entries) > 1:
            self.size -= len(self.entries.popleft()[2])

    @property
    def first(self) -> int:
        return self.entries[0][0] if self.entries else -1

    def since(self, offset: int, current: int) -> list[bytes] | None:
        """Messages after ``offset``, or None when the backlog no longer reaches back there."""
        if offset == current:
            return []
        if not self.entries or offset < self.entries[0][0] or offset > current:
            return None
        out = []
        for start, end, message in self.entries:
            if end > offset:
                if start < offset:
                    return None  # not an entry boundary
                out.append(message)
        return out


def encode_ops(ops: Mapping[bytes, bytes | None]) -> bytes:
    parts = [b"*%d\r\n" % (2 * len(ops))]
    for k, v in ops.items():
        parts.append(b"$%d\r\n%b\r\n" % (len(k), k))
        parts.append(b"$-1\r\n" if v is None else b"$%d\r\n%b\r\n" % (len(v), v))
    return b"".join(parts)


def decode_ops(blob: bytes) -> dict[bytes, bytes | None]:
    reader = hiredis.Reader()
    reader.feed(blob)
    flat = reader.gets()
    it = iter(flat)
    return dict(zip(it, it))


def message(*items: bytes | int) -> bytes:
    """A RESP array of bulks and integers."""
    parts = [b"*%d\r\n" % len(items)]
    for x in items:
        if isinstance(x, int):
            parts.append(b":%d\r\n" % x)
        else:
            parts.append(b"$%d\r\n%b\r\n" % (len(x), x))
    return b"".join(parts)


def request(*items: bytes | int) -> bytes:
    """A command as a client sends it: every argument a bulk string."""
    args = [x if isinstance(x, bytes) else b"%d" % x for x in items]
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def entry_message(shard: int, start: int, blob: bytes) -> bytes:
    return b"*4\r\n$1\r\nW\r\n:%d\r\n:%d\r\n$%d\r\n%b\r\n" % (shard, start, len(blob), blob)


def snapshot_chunks(items: Iterable[tuple[bytes, bytes]], chunk_bytes: int = 256 * 1024):
    """Group a snapshot's pairs into blobs of about chunk_bytes."""
    batch: dict[bytes, bytes | None] = {}
    size = 0
    for k, v in items:
        batch[k] = v
        size += len(k) + len(v) + 16
        if size >= chunk_bytes:
            yield encode_ops(batch)
            batch, size = {}, 0
    if batch:
        yield encode_ops(batch)
