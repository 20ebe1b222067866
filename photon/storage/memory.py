"""An in-memory engine for unit tests of the layers above storage."""
from __future__ import annotations

from collections.abc import Iterator, Mapping

from sortedcontainers import SortedDict

from photon.storage.engine import Engine


class MemoryEngine(Engine):
    def __init__(self, data: SortedDict | None = None, frozen: bool = False) -> None:
        self._data = SortedDict() if data is None else data
        self._frozen = frozen

    def get(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def write(self, ops: Mapping[bytes, bytes | None]) -> None:
        if self._frozen:
            raise RuntimeError("snapshot is read-only")
        data = self._data
        for k, v in ops.items():
            if v is None:
                data.pop(k, None)
            else:
                data[k] = v

    def _range(self, start: bytes, stop: bytes | None, reverse: bool) -> list[bytes]:
        return list(self._data.irange(start, stop, inclusive=(True, False), reverse=reverse))

    def items(self, start: bytes, stop: bytes | None = None, reverse: bool = False,
              ) -> Iterator[tuple[bytes, bytes]]:
        for k in self._range(start, stop, reverse):
            v = self._data.get(k)
            if v is not None:
                yield k, v

    def keys(self, start: bytes, stop: bytes | None = None, reverse: bool = False,
             ) -> Iterator[bytes]:
        return iter(self._range(start, stop, reverse))

    def snapshot(self) -> "MemoryEngine":
        return MemoryEngine(SortedDict(self._data), frozen=True)
