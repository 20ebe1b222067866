"""appendfsync for LevelDB: when an acknowledged write is on disk.

``always``: writes of one event-loop turn share one fsync (group commit) and no reply leaves
before it, as Redis flushes its AOF before writing replies. ``everysec``: a background fsync
each second. ``no``: the kernel decides. In every mode a write is in the kernel before its reply,
so killing the process loses nothing that was acknowledged.
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from photon.client import Client
    from photon.keyspace.keyspace import Keyspace

log = logging.getLogger("photon.durability")
MODES = ("always", "everysec", "no")


class Durability:
    def __init__(self, keyspace: "Keyspace", mode: str) -> None:
        self.keyspace = keyspace
        self.mode = mode
        self._held: list["Client"] = []
        self._scheduled = False
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

    def must_hold(self, client: "Client") -> bool:
        """In 'always' mode, keep this client's replies until the pending group commit."""
        if not self.always or not (self.keyspace.written_shards or self._scheduled):
            return False
        if client not in self._held:
            self._held.append(client)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._group_commit)
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

    def _group_commit(self) -> None:
        self._scheduled = False
        try:
            self._sync(self._take())
        except OSError as e:
            self.last_fsync_error = str(e)
            log.error("fsync failed: %s", e)
        held, self._held = self._held, []
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
        self._take()
        self._sync(list(range(len(self.keyspace.engines))))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
