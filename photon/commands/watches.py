"""WATCH and transaction bookkeeping: which clients watch which keys, and the one way a
client's transaction is discarded (DISCARD, EXEC, a refused EXEC, RESET, a forwarded block)."""
from __future__ import annotations

from typing import Any

DbKey = tuple[int, bytes]


class Watches:
    def __init__(self, keyspace: Any) -> None:
        self.keyspace = keyspace
        self.watchers: dict[DbKey, set[Any]] = {}

    def watch(self, c: Any, db: int, key: bytes) -> None:
        dbkey = (db, key)
        if dbkey in c.watched:
            return
        ks = self.keyspace
        _, _, raw = ks.raw_meta(db, key)
        # True: live; None: present but already expired (its deletion is no change); False
        c.watched[dbkey] = None if raw is not None and not ks.is_live(raw) else raw is not None
        self.watchers.setdefault(dbkey, set()).add(c)

    def unwatch(self, c: Any) -> None:
        for dbkey in c.watched:
            clients = self.watchers.get(dbkey)
            if clients is not None:
                clients.discard(c)
                if not clients:
                    del self.watchers[dbkey]
        c.watched.clear()
        c.watch_dirty = False

    def discard_transaction(self, c: Any) -> None:
        """Leave MULTI state and forget every watched key."""
        c.multi = None
        c.multi_dirty = False
        self.unwatch(c)

    def keys_touched(self, touched: list[DbKey]) -> None:
        """Keys written: their watchers' next EXEC fails (Redis's touchWatchedKey)."""
        watchers = self.watchers
        for dbkey in touched:
            for c in watchers.get(dbkey, ()):
                if c.watched.get(dbkey, False) is None and not self._exists(dbkey):
                    c.watched[dbkey] = False  # already expired at WATCH, now deleted
                    continue
                c.watch_dirty = True

    def touch_all(self, db: int | None = None, only_existing: bool = False) -> None:
        """FLUSHDB/FLUSHALL (only keys that exist, as Redis's touchAllWatchedKeysInDb), a full
        sync (every watched key of the shard may have changed)."""
        for dbkey, clients in list(self.watchers.items()):
            if db is not None and dbkey[0] != db:
                continue
            if only_existing and self.keyspace.lookup(*dbkey) is None:
                continue
            for c in clients:
                c.watch_dirty = True

    def _exists(self, dbkey: DbKey) -> bool:
        return self.keyspace.raw_meta(*dbkey)[2] is not None
