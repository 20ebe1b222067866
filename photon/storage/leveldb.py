"""LevelDB through plyvel: one database directory per shard."""
from __future__ import annotations

import os
from itertools import takewhile
from collections.abc import Iterator, Mapping
from pathlib import Path

import plyvel

from photon.storage.engine import Engine


class LevelDBEngine(Engine):
    def __init__(self, path: str | os.PathLike, cache_mb: int = 8, write_buffer_mb: int = 4,
                 max_open_files: int = 128) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.db = plyvel.DB(str(self.path), create_if_missing=True,
                            lru_cache_size=cache_mb << 20, write_buffer_size=write_buffer_mb << 20,
                            max_open_files=max_open_files, bloom_filter_bits=10)
        self.get = self.db.get  # type: ignore[method-assign]
        self._synced_logs: set[str] = set()

    def get(self, key: bytes) -> bytes | None:  # replaced per instance by plyvel's own
        return self.db.get(key)

    def write(self, ops: Mapping[bytes, bytes | None]) -> None:
        if len(ops) == 1:
            ((k, v),) = ops.items()
            self.write_one(k, v)
            return
        wb = self.db.write_batch()
        for k, v in ops.items():
            if v is None:
                wb.delete(k)
            else:
                wb.put(k, v)
        wb.write()

    def write_one(self, key: bytes, value: bytes | None) -> None:
        if value is None:
            self.db.delete(key)
        else:
            self.db.put(key, value)

    def items(self, start: bytes, stop: bytes | None = None, reverse: bool = False,
              ) -> Iterator[tuple[bytes, bytes]]:
        return _range(self.db, start, stop, reverse, True)

    def keys(self, start: bytes, stop: bytes | None = None, reverse: bool = False,
             ) -> Iterator[bytes]:
        return _range(self.db, start, stop, reverse, False)

    def snapshot(self) -> "_Snapshot":
        return _Snapshot(self.db.snapshot())

    def sync(self) -> None:
        """fsync LevelDB's write-ahead logs from our own descriptors.

        LevelDB hands every record to the kernel before Write() returns, so syncing the log
        files covers all writes so far, and unlike a sync=True write it never holds LevelDB's
        writer queue: the event loop keeps writing while another thread syncs.
        """
        logs = {n for n in os.listdir(self.path) if n.endswith(".log")}
        for name in logs:
            try:
                fd = os.open(self.path / name, os.O_RDONLY)
            except FileNotFoundError:
                continue  # compacted into a table, which LevelDB syncs itself
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if not logs <= self._synced_logs:
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._synced_logs = logs

    def close(self) -> None:
        if not self.db.closed:
            self.db.close()

    def approximate_size(self) -> int:
        return self.db.approximate_size(b"", b"\xff" * 8)


class _Snapshot(Engine):
    def __init__(self, snap) -> None:
        self._snap = snap
        self.get = snap.get  # type: ignore[method-assign]

    def get(self, key: bytes) -> bytes | None:
        return self._snap.get(key)

    def write(self, ops: Mapping[bytes, bytes | None]) -> None:
        raise RuntimeError("snapshot is read-only")

    def items(self, start: bytes, stop: bytes | None = None, reverse: bool = False,
              ) -> Iterator[tuple[bytes, bytes]]:
        return _range(self._snap, start, stop, reverse, True)

    def keys(self, start: bytes, stop: bytes | None = None, reverse: bool = False,
             ) -> Iterator[bytes]:
        return _range(self._snap, start, stop, reverse, False)

    def snapshot(self) -> "_Snapshot":
        return self

    def close(self) -> None:
        self._snap.close()


def _range(source, start: bytes, stop: bytes | None, reverse: bool, values: bool):
    """plyvel's iterator over [start, stop), working around its reverse scans: given both
    bounds, plyvel 1.5 returns nothing when the range's only key is ``start`` itself."""
    if not reverse:
        return source.iterator(start=start, stop=stop, include_value=values)
    it = source.iterator(stop=stop, reverse=True, include_value=values)
    if values:
        return takewhile(lambda kv: kv[0] >= start, it)
    return takewhile(lambda k: k >= start, it)
