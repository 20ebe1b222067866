"""The storage contract: an ordered map of bytes with atomic multi-key writes."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping


class Engine(ABC):
    """One shard's store. A write is atomic: after a crash it is there whole or not at all."""

    @abstractmethod
    def get(self, key: bytes) -> bytes | None: ...

    @abstractmethod
    def write(self, ops: Mapping[bytes, bytes | None]) -> None:
        """Apply puts (bytes) and deletes (None) as one atomic batch."""

    def write_one(self, key: bytes, value: bytes | None) -> None:
        """write() of one put or delete, which most commands are (an engine may do it
        without building a batch)."""
        self.write({key: value})

    @abstractmethod
    def items(self, start: bytes, stop: bytes | None = None, reverse: bool = False,
              ) -> Iterator[tuple[bytes, bytes]]:
        """Pairs with start <= key < stop, in key order (or reversed)."""

    @abstractmethod
    def keys(self, start: bytes, stop: bytes | None = None, reverse: bool = False,
             ) -> Iterator[bytes]: ...

    @abstractmethod
    def snapshot(self) -> "Engine":
        """A read-only view frozen at this moment (full syncs read from one)."""

    def sync(self) -> None:
        """Make every write so far durable on disk."""

    def close(self) -> None:
        """Release the store; the data stays."""

    def approximate_size(self) -> int:
        return 0
