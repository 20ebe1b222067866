"""Each shard's place in its replication history, on every node: the position (replication
id and offset, stored with the shard's data) and the backlog of its last entries.

A master turns each commit into an entry here (``record``); a replica applies its master's
entries here (``apply``) and keeps the same backlog, so that once promoted it can let the other
replicas continue from their offsets (docs/architecture.md, "Replication and quorum").
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from photon.replication.stream import (
    NO_REPLID, Backlog, Position, decode_ops, encode_ops, entry_message, new_replid,
)

Feed = Callable[[int, bytes], None]


class ShardLog:
    def __init__(self, keyspace: Any, backlog_size: int, replicated: bool) -> None:
        self.keyspace = keyspace
        self.positions: list[Position] = []
        recorded = False
        node_replid = new_replid()
        for shard in range(len(keyspace.engines)):
            pos = Position.parse(keyspace.position(shard))
            recorded |= pos is not None
            self.positions.append(pos or Position(node_replid))
        self.backlogs = [Backlog(backlog_size) for _ in self.positions]
        self._active = self._leading = False
        # Entries are recorded once the node is part of a replicated group; a standalone node
        # that never had a replica skips the work (its first replica does a full sync).
        self.active = recorded or replicated
        self.leading = True  # this node's commits are the shards' history (it is a master)
        self.feed: Feed | None = None  # the master's links, told of each new entry

    # The keyspace calls its commit listener on every commit; ``record`` is installed only
    # while it has something to do (active and leading), so a standalone node's commits skip
    # a Python call that would return None (about 0.15 us of a SET).
    @property
    def active(self) -> bool:
        return self._active

    @active.setter
    def active(self, value: bool) -> None:
        self._active = value
        self._listen()

    @property
    def leading(self) -> bool:
        return self._leading

    @leading.setter
    def leading(self, value: bool) -> None:
        self._leading = value
        self._listen()

    def _listen(self) -> None:
        self.keyspace.commit_listener = self.record if self._active and self._leading else None

    @property
    def replid(self) -> bytes:
        return self.positions[0].replid if self.positions else b""

    @property
    def offset(self) -> int:
        return sum(p.offset for p in self.positions)

    def set_backlog_size(self, size: int) -> None:
        for b in self.backlogs:
            b.limit = size

    # --- as the master ----------------------------------------------------------------------

    def record(self, shard: int, ops: dict[bytes, bytes | None]) -> bytes | None:
        """The keyspace's commit listener: the shard's share of a commit becomes an entry; the
        returned position is written in the same batch."""
        if not self._active or not self._leading:
            return None
        pos = self.positions[shard]
        blob = encode_ops(ops)
        start = pos.offset
        end = start + len(blob)
        pos.offset = end
        msg = entry_message(shard, start, blob)
        self.backlogs[shard].append(start, end, msg)
        self.keyspace.marks[shard] = end
        if self.feed is not None:
            self.feed(shard, msg)
        return pos.record()

    def record_positions(self) -> None:
        for shard, pos in enumerate(self.positions):
            self.keyspace.write_position(shard, pos.record())

    def start_recording(self) -> None:
        """The first replica of a standalone node: from now on every write is an entry."""
        if not self.active:
            self.active = True
            self.record_positions()

    def new_history(self) -> None:
        """A promotion: every shard continues under one fresh replication id; the old ids stay
        valid up to the current offsets, so replicas of the old master can continue here."""
        replid = new_replid()
        for pos in self.positions:
            pos.new_history(replid)
        self.active = True
        self.leading = True
        self.record_positions()

    # --- as a replica -----------------------------------------------------------------------

    def apply(self, shard: int, start: int, blob: bytes) -> list[tuple[int, bytes]]:
        """One of the master's entries: applied to the keyspace with the new position (the
        keyspace writes them together); returns the keys it touched."""
        pos = self.positions[shard]
        if start != pos.offset:
            raise ValueError(f"entry for shard {shard} starts at {start}, we are at {pos.offset}")
        end = start + len(blob)
        pos.offset = end
        self.backlogs[shard].append(start, end, entry_message(shard, start, blob))
        return self.keyspace.apply_batch(shard, decode_ops(blob), pos.record())

    def continue_at(self, shard: int, replid: bytes, offset: int) -> None:
        """The master continues the shard's stream from our offset, under its history id."""
        pos = self.positions[shard]
        if pos.offset != offset:
            raise ValueError(f"CONTINUE at {offset} but shard {shard} is at {pos.offset}")
        if pos.replid != replid:
            pos.replid2, pos.offset2 = pos.replid, pos.offset
            pos.replid = replid
            self.keyspace.write_position(shard, pos.record())

    def reset(self, shard: int, replid: bytes, offset: int) -> None:
        """A full sync replaced the shard: its history is the master's from here on."""
        pos = self.positions[shard]
        pos.replid, pos.offset = replid, offset
        pos.replid2, pos.offset2 = NO_REPLID, -1
        backlog = self.backlogs[shard]
        backlog.entries.clear()
        backlog.size = 0

    def applied(self, marks: dict[int, int]) -> bool:
        positions = self.positions
        return all(positions[s].offset >= o for s, o in marks.items())
