"""appendfsync for LevelDB, and the end of each event-loop turn: when an acknowledged write is
in the kernel, and when it is on disk.

The keyspace stages a turn's single-shard commits (``Keyspace.on_staged``); at the turn's end
they become one LevelDB write per shard, and only then do the replies held meanwhile leave, so
in every mode a write is in the kernel before its reply and killing the process loses nothing
that was acknowledged. ``always``: the turn's writes then share one fsync (group commit) before
the replies, as Redis flushes its AOF before writing replies. ``everysec``: a background fsync
each second. ``no``: the kernel decides.
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from photon.util.loops import RunningLoop

if TYPE_CHECKING:
    from photon.client import Client
    from photon.keyspace.keyspace import Keyspace

log = logging.getLogger("photon.durability")
MODES = ("always", "everysec", "no")


class Durability:
    def __init__(self, keyspace: "Keyspace", mode: str) -> None:
        self.keyspace = keyspace
        self.mode = mode
        self._held: dict["Client", None] = {}
        self.holding = False  # a turn's end is scheduled: replies wait for it
        self._running_loop = RunningLoop()
        keyspace.on_staged = self.end_turn_soon
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="fsync")
        self._background: asyncio.Future | None = None
        self.fsyncs = 0
        self.last_fsync_error: str | None = None

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        self._mode = value
        self.always = value == "always"

    def end_turn_soon(self) -> None:
        """The keyspace staged the turn's first commit: write them all at the turn's end
        (at once when no loop runs: a command run at start-up or from a thread)."""
        if self.holding:
            return
        try:
            loop = self._running_loop()
        except RuntimeError:
            self.keyspace.write_staged()
            return
        self.holding = True
        loop.call_soon(self.end_turn)

    def must_hold(self, client: "Client") -> bool:
        """Whether this client's replies must wait for the turn's end: its writes (or what it
        read) are staged, or in 'always' mode not yet fsynced."""
        if not self.holding:
            if not (self.always and self.keyspace.written_shards):
                return False
            self.end_turn_soon()
        self._held[client] = None
        return True

    def _take(self) -> list[int]:
        shards = sorted(self.keyspace.written_shards)
        self.keyspace.written_shards = set()
        return shards

    def _sync(self, shards: list[int]) -> None:
        engines = self.keyspace.engines
        if len(shards) == 1:
            engines[shards[0]].sync()
        else:
            list(self._pool.map(lambda i: engines[i].sync(), shards))
        self.fsyncs += 1

    def end_turn(self) -> None:
        """Write the staged commits, fsync in 'always' mode, then release the held replies."""
        self.holding = False
        try:
            self.keyspace.write_staged()
        except Exception as e:  # noqa: BLE001 - the replies must not claim what was not written
            log.error("Writing a turn's commits failed, closing %d client(s): %s",
                      len(self._held), e)
            held, self._held = self._held, {}
            for client in held:
                client.abort()
            return
        if self.always and self.keyspace.written_shards:
            try:
                self._sync(self._take())
            except OSError as e:
                self.last_fsync_error = str(e)
                log.error("fsync failed: %s", e)
        held, self._held = self._held, {}
        for client in held:
            client.flush()

    def every_second(self) -> None:
        """Cron hook: the background fsync of 'everysec'."""
        if self.mode == "always":
            return
        shards = self._take()
        if self.mode == "no" or not shards:
            return
        if self._background is not None and not self._background.done():
            self.keyspace.written_shards.update(shards)  # still syncing: try next second
            return
        loop = asyncio.get_running_loop()
        self._background = loop.run_in_executor(self._pool, self._sync, shards)

    def sync_all(self) -> None:
        """At shutdown and after FLUSHALL-like operations: everything to disk now."""
        self.keyspace.write_staged()
        self._take()
        self._sync(list(range(len(self.keyspace.engines))))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
