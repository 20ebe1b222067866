"""The keyspace: Redis keys of every type over one engine per shard.

Commands read and write through it. Writes collect in an overlay until the command (or a whole
EXEC) ends; ``commit`` then applies each shard's share as one atomic engine write (through the
journal when there are several), so a crash never leaves half a command, and reads inside the
command see its own writes.

With a turn hook (``on_staged``, set by the node's Durability), a single-shard commit is staged
instead: the event-loop turn's commits of a shard become one engine write at the turn's end
(``write_staged``), and reads see them meanwhile. Replies wait for that write (DESIGN §4), so
nothing acknowledged is lost to a killed process. Every path that reads or writes an engine
directly writes the staged commits first.

In front of the engines, a record cache (RocksDB's row cache, which LevelDB lacks) keeps the
records last read, so a hot key's read skips LevelDB's memtable search: two
generations of at most ``cache_limit`` records each, the older dropped when the younger fills.
Every engine write goes through ``_cached`` (or clears the cache), so it never disagrees with
the engines.
"""
from __future__ import annotations

import heapq
import random
import struct
import time
from collections.abc import Callable, Iterator

try:
    import cython
except ImportError:
    from photon.util import cython_shim as cython

from photon.errors import WRONGTYPE, RedisError
from photon.keyspace import encoding as enc
from photon.keyspace.encoding import (
    COUNTERS, HEAD_SIZE, INTERNAL, META, POSITION_KEY, STRING, ZSET, Meta, string_record,
)
from photon.keyspace.journal import Journal
from photon.keyspace.slots import SLOTS, shard_index, shard_mapper, shard_shift
from photon.storage.engine import Engine
from photon.storage.layout import Layout, MemoryLayout

_COUNTS = struct.Struct(">qq")
_MISSING = object()
_NO_EXPIRY = bytes(8)


def _no_expiry(raw: bytes) -> bool:
    """Whether a metadata record's expiry field is 0 (compiled: without slicing)."""
    if cython.compiled:
        return memcmp(cython.cast(cython.p_char, raw) + 2, cython.cast(cython.p_char, _NO_EXPIRY),
                      8) == 0
    return raw[2:10] == _NO_EXPIRY


def _string_value(raw: bytes) -> bytes:
    """A string's value: its record after the header (compiled: one copy, no slice object)."""
    if cython.compiled:
        head = HEAD_SIZE
        return cython.cast(cython.p_char, raw)[head:len(raw)]
    return raw[HEAD_SIZE:]


class Shard:
    """One shard's engine and its in-memory key counts (persisted with every change)."""

    __slots__ = ("index", "engine", "keys", "expires", "dirty_dbs")

    def __init__(self, index: int, engine: Engine, databases: int) -> None:
        self.index = index
        self.engine = engine
        self.keys = [0] * databases
        self.expires = [0] * databases
        self.dirty_dbs: set[int] = set()
        self.load_counts()

    def load_counts(self) -> None:
        for db in range(len(self.keys)):
            raw = self.engine.get(enc.counters_key(db))
            self.keys[db], self.expires[db] = _COUNTS.unpack(raw) if raw else (0, 0)


# Told of each shard's share of a commit before it is written; returns the shard's new
# replication position to store in the same batch (None: nothing to record).
CommitListener = Callable[[int, dict[bytes, bytes | None]], "bytes | None"]


class Keyspace:
    def __init__(self, engines: list[Engine], databases: int = 16,
                 journal: Journal | None = None, layout: Layout | None = None,
                 cache_records: int = 0) -> None:
        self.databases = databases
        self.journal = journal
        self.layout = layout if layout is not None else MemoryLayout(engines)
        self.shards = [Shard(i, e, databases) for i, e in enumerate(engines)]
        self.engines = engines
        self.shard_of = shard_mapper(len(engines))
        self.shift = shard_shift(len(engines))  # shard_index(key, shift) is shard_of(key)
        self._mprefix = [bytes((db, enc.META)) for db in range(databases)]
        self.pending: dict[int, dict[bytes, bytes | None]] = {}
        self.staged: dict[int, dict[bytes, bytes | None]] = {}
        self.cache_limit = cache_records // 2  # per generation
        self._young: dict[bytes, bytes] = {}
        self._old: dict[bytes, bytes] = {}
        self.on_staged: Callable[[], None] | None = None  # schedules write_staged
        self.touched: list[tuple[int, bytes]] = []
        self.expire_deletes = True
        self.commit_listener: CommitListener | None = None
        self._replicated: dict[int, dict[bytes, bytes | None]] = {}
        self.marks: dict[int, int] = {}  # shard -> replication offset of this command's writes
        self.written_shards: set[int] = set()
        self._version = 0
        self.clock_ms = int(time.time() * 1000)
        self.expired = 0
        self.hits = 0  # INFO keyspace_hits/misses: key lookups of read commands, as Redis
        self.misses = 0
        self.reading = False  # set by the gate while a read-only command runs

    @classmethod
    def open(cls, layout: Layout, databases: int = 16, cache_records: int = 0) -> "Keyspace":
        """A node's keyspace from its stored shards, after finishing what a crash cut short:
        a staged shard's swap, then a cross-shard commit."""
        engines = layout.open_shards()
        layout.recover(engines, lambda e: e.get(POSITION_KEY) is not None)
        journal_engine = layout.open_journal()
        journal = Journal(journal_engine) if journal_engine is not None else None
        if journal is not None:
            journal.recover(engines)
        return cls(engines, databases, journal, layout, cache_records)

    def close(self) -> None:
        self.commit()
        self.write_batches()  # and the staged commits
        for engine in self.engines:
            engine.close()
        if self.journal is not None:
            self.journal.engine.close()

    # --- time and versions -------------------------------------------------------------

    def tick(self) -> int:
        """Refresh the clock commands use; one reading per command, as Redis's mstime."""
        if cython.compiled:
            clock_gettime(CLOCK_REALTIME, cython.address(now))
            ms = now.tv_sec * 1000 + now.tv_nsec // 1000000
        else:
            ms = int(time.time() * 1000)
        self.clock_ms = ms
        return ms

    def new_version(self) -> int:
        v = max(self._version + 1, time.time_ns() // 1000 << 8)
        self._version = v
        return v

    # --- raw access with the command's overlay -----------------------------------------

    def rget(self, shard: int, k: bytes) -> bytes | None:
        """A record as this command sees it: its own writes, the turn's staged commits, the
        cache, the engine. Only read-only commands fill the cache (``reading``): a write
        command's reads (SET's old record, ZADD's old score) would fill it with records that
        the same command rewrites, and a write-heavy load would pay to keep them in step."""
        if self.pending:
            ops = self.pending.get(shard)
            if ops is not None:
                v = ops.get(k, _MISSING)
                if v is not _MISSING:
                    return v  # type: ignore[return-value]
        if self.staged:
            ops = self.staged.get(shard)
            if ops is not None:
                v = ops.get(k, _MISSING)
                if v is not _MISSING:
                    return v  # type: ignore[return-value]
        v = self._young.get(k)
        if v is not None:
            return v
        if self._old:
            v = self._old.get(k)
            if v is not None:
                self._keep(k, v)
                return v
        v = self.engines[shard].get(k)
        if v is not None and self.reading and self.cache_limit:
            self._keep(k, v)
        return v

    def _keep(self, k: bytes, v: bytes) -> None:
        young = self._young
        if len(young) >= self.cache_limit:
            self._old = young
            self._young = young = {}
        young[k] = v

    def _cached(self, ops: dict[bytes, bytes | None]) -> None:
        """The cache after an engine write of ``ops``: cached records updated, deleted ones
        dropped. Writes do not add records, reads do: a write-only load would pay for entries
        nobody reads."""
        young = self._young
        old = self._old
        if not young and not old:
            return
        for k, v in ops.items():
            if v is None:
                young.pop(k, None)
                old.pop(k, None)
            elif k in young:
                young[k] = v
            elif k in old:
                old[k] = v

    def drop_cache(self) -> None:
        """After a write that replaced records wholesale (a shard swapped, flushed)."""
        self._young = {}
        self._old = {}

    def rput(self, shard: int, k: bytes, v: bytes | None) -> None:
        ops = self.pending.get(shard)
        if ops is None:
            self.pending[shard] = {k: v}
        else:
            ops[k] = v

    def ritems(self, shard: int, start: bytes, stop: bytes | None = None,
               reverse: bool = False) -> Iterator[tuple[bytes, bytes]]:
        """Engine pairs in [start, stop), with this command's own writes merged in."""
        if self.staged:
            self.write_staged()
        base = self.engines[shard].items(start, stop, reverse)
        ops = self.pending.get(shard)
        if not ops:
            return base
        overlay = sorted(((k, v) for k, v in ops.items()
                          if k >= start and (stop is None or k < stop)), reverse=reverse)
        if not overlay:
            return base
        return _merge(base, overlay, reverse)

    def shard_of_slot(self, slot: int) -> int:
        return slot * len(self.engines) // SLOTS

    def commit(self) -> None:
        """Apply the overlay: one atomic write per shard touched."""
        pending = self.pending
        if not pending:
            return
        self.pending = {}
        if len(pending) == 1:  # most commands write one shard (and one record): no journal
            for index, ops in pending.items():
                shard = self.shards[index]
                if shard.dirty_dbs or self.commit_listener is not None:
                    self._seal(index, ops)
                if self.on_staged is not None:
                    staged = self.staged
                    if not staged:
                        staged[index] = ops
                        self.on_staged()
                    else:
                        held = staged.get(index)
                        if held is None:
                            staged[index] = ops
                        else:
                            held.update(ops)
                    return
                self._write(index, ops)
            return
        if self.staged:
            self.write_staged()
        for index, ops in pending.items():
            self._seal(index, ops)
        journal = self.journal
        if journal is not None:
            journal.begin(pending)
        for index, ops in pending.items():
            self._write(index, ops)
        if journal is not None:
            journal.end()

    def write_staged(self) -> None:
        """Write the turn's staged commits: one atomic engine write per shard, in commit
        order. If one fails, the shards' counts are re-read from what is stored."""
        staged = self.staged
        if not staged:
            return
        self.staged = {}
        done = []
        try:
            for index, ops in staged.items():
                self._write(index, ops)
                done.append(index)
        except BaseException:
            self.drop_cache()
            for index in staged:
                if index not in done:
                    self.shards[index].load_counts()
            raise

    def _write(self, index: int, ops: dict[bytes, bytes | None]) -> None:
        """One atomic engine write of a shard's records (most commits are one record: no
        batch), told to the cache and to the fsyncs."""
        engine = self.engines[index]
        if len(ops) == 1:
            for k, v in ops.items():
                engine.write_one(k, v)
        else:
            engine.write(ops)
        self._cached(ops)
        self.written_shards.add(index)

    def _seal(self, index: int, ops: dict[bytes, bytes | None]) -> None:
        """Complete a shard's share of a commit: its changed key counts and, on a replicated
        node, its new replication position join the batch (written together, so a crash
        keeps both or neither)."""
        shard = self.shards[index]
        if shard.dirty_dbs:
            for db in shard.dirty_dbs:
                ops[enc.counters_key(db)] = _COUNTS.pack(shard.keys[db], shard.expires[db])
            shard.dirty_dbs.clear()
        if self.commit_listener is not None:
            position = self.commit_listener(index, ops)
            if position is not None:
                ops[POSITION_KEY] = position

    def rollback(self) -> None:
        """Forget the overlay after a command failed half-way, and re-read the counts."""
        self.write_staged()
        for index in self.pending:
            self.shards[index].dirty_dbs.clear()
            self.shards[index].load_counts()
        self.pending = {}

    # --- whole shards: replication and shard moves ----------------------------------------

    def position(self, shard: int) -> bytes | None:
        """The shard's stored replication position (written with the data it describes)."""
        self.write_staged()
        return self.engines[shard].get(POSITION_KEY)

    def write_position(self, shard: int, record: bytes) -> None:
        self.write_staged()
        ops: dict[bytes, bytes | None] = {POSITION_KEY: record}
        self.engines[shard].write(ops)
        self._cached(ops)

    def apply_batch(self, shard: int, ops: dict[bytes, bytes | None],
                    position: bytes) -> list[tuple[int, bytes]]:
        """Apply another node's commit with the shard's new position; returns the keys it
        touched (also noted for WATCH). Batches wait for ``write_batches``, which writes each
        shard's share as one engine write: a crash keeps all of them or none."""
        ops[POSITION_KEY] = position
        staged = self._replicated.get(shard)
        if staged is None:
            self._replicated[shard] = ops
        else:
            staged.update(ops)  # later batches win; the position is the last one's
        touched = []
        counts = self.shards[shard]
        for k, v in ops.items():
            if len(k) > 1:
                if k[1] == META and k[0] != INTERNAL:
                    touched.append((k[0], k[2:]))
                elif k[0] == INTERNAL and k[1] == COUNTERS and len(k) == 3 and k[2] < len(
                        counts.keys):
                    counts.keys[k[2]], counts.expires[k[2]] = _COUNTS.unpack(v) if v else (0, 0)
        self.touched.extend(touched)
        return touched

    def write_batches(self) -> None:
        self.write_staged()
        if self._replicated:
            batches, self._replicated = self._replicated, {}
            for shard, ops in batches.items():
                self.engines[shard].write(ops)
                self._cached(ops)

    def snapshot(self, shard: int) -> "ShardSnapshot":
        """A frozen view of the shard (a full sync streams from it)."""
        self.write_staged()
        return ShardSnapshot(self.engines[shard].snapshot())

    def approximate_size(self, shard: int) -> int:
        return self.engines[shard].approximate_size()

    def replace_shard(self, shard: int, contents: dict[bytes, bytes | None], position: bytes,
                      max_deletes: int) -> bool:
        """Replace a shard's contents in one atomic write, when it holds at most max_deletes
        records; False (nothing written) when it holds more."""
        self.write_staged()
        live = self.engines[shard]
        ops: dict[bytes, bytes | None] = {}
        for k in live.keys(b""):
            ops[k] = None
            if len(ops) > max_deletes:
                return False
        ops.update(contents)
        ops[POSITION_KEY] = position
        live.write(ops)
        self.drop_cache()
        self.shards[shard].load_counts()
        return True

    def open_staging(self, shard: int) -> Engine:
        """An empty engine to build the shard's next contents in (see ``swap_in``)."""
        return self.layout.open_staging(shard)

    def swap_in(self, shard: int, staging: Engine, position: bytes | None) -> None:
        """The staged engine becomes the shard (with ``position``); the old contents go."""
        self.write_staged()
        if position is not None:
            staging.write({POSITION_KEY: position})
        self._set_engine(shard, self.layout.swap_in(shard, self.engines[shard], staging))

    def discard_staging(self, shard: int, staging: Engine) -> None:
        self.layout.discard_staging(shard, staging)

    def drop_shard(self, shard: int) -> None:
        """Forget every record of a shard at once (a shard that moved away)."""
        self.swap_in(shard, self.open_staging(shard), None)

    def _set_engine(self, shard: int, engine: Engine) -> None:
        self.drop_cache()
        self.engines[shard] = engine
        self.shards[shard].engine = engine
        self.shards[shard].load_counts()

    # --- metadata ----------------------------------------------------------------------

    def raw_meta(self, db: int, key: bytes) -> tuple[int, bytes, bytes | None]:
        shard = shard_index(key, self.shift)
        mk = self._mprefix[db] + key
        return shard, mk, self.rget(shard, mk)

    def lookup(self, db: int, key: bytes) -> Meta | None:
        """The live metadata of a key, or None; an expired key is deleted on the way."""
        shard = shard_index(key, self.shift)
        mk = self._mprefix[db] + key
        raw = self.rget(shard, mk)
        if raw is None:
            if self.reading:
                self.misses += 1
            return None
        meta = Meta.decode(raw)
        if meta.expire and meta.expire <= self.clock_ms:
            self._expire(db, key, shard, mk, meta)
            if self.reading:
                self.misses += 1
            return None
        if self.reading:
            self.hits += 1
        return meta

    def lookup_typed(self, db: int, key: bytes, type_: int) -> Meta | None:
        meta = self.lookup(db, key)
        if meta is not None and meta.type != type_:
            raise RedisError(WRONGTYPE)
        return meta

    def _expire(self, db: int, key: bytes, shard: int, mk: bytes, meta: Meta) -> None:
        if self.expire_deletes:
            self.expired += 1
            self._drop(db, key, shard, mk, meta)

    def put(self, db: int, key: bytes, meta: Meta, old: Meta | None) -> None:
        """Write a key's metadata; ``old`` is what the record held (expired or not)."""
        shard = shard_index(key, self.shift)
        self._put(db, key, shard, meta.encode(), meta.expire, old)

    def _put(self, db: int, key: bytes, shard: int, raw: bytes, expire: int,
             old: Meta | None) -> None:
        s = self.shards[shard]
        if old is None:
            s.keys[db] += 1
            s.dirty_dbs.add(db)
            if expire:
                s.expires[db] += 1
                self.rput(shard, enc.expiry_key(db, expire, key), b"")
        else:
            if old.expire != expire:
                if old.expire:
                    self.rput(shard, enc.expiry_key(db, old.expire, key), None)
                    if not expire:
                        s.expires[db] -= 1
                        s.dirty_dbs.add(db)
                if expire:
                    self.rput(shard, enc.expiry_key(db, expire, key), b"")
                    if not old.expire:
                        s.expires[db] += 1
                        s.dirty_dbs.add(db)
            if old.type != STRING and old.size and (
                    raw[0] != old.type or raw[0] == STRING or
                    enc.unpack_u64(raw, HEAD_SIZE)[0] != old.version):
                self.rput(shard, enc.garbage_key(old.version, db, key), b"")
        self.rput(shard, self._mprefix[db] + key, raw)
        self.touched.append((db, key))

    def delete(self, db: int, key: bytes) -> bool:
        """DEL: True when a live key was removed."""
        shard = shard_index(key, self.shift)
        mk = self._mprefix[db] + key
        raw = self.rget(shard, mk)
        if raw is None:
            return False
        meta = Meta.decode(raw)
        live = not (meta.expire and meta.expire <= self.clock_ms)
        if live or self.expire_deletes:
            self._drop(db, key, shard, mk, meta)
        return live

    def _drop(self, db: int, key: bytes, shard: int, mk: bytes, meta: Meta) -> None:
        s = self.shards[shard]
        s.keys[db] -= 1
        s.dirty_dbs.add(db)
        if meta.expire:
            s.expires[db] -= 1
            self.rput(shard, enc.expiry_key(db, meta.expire, key), None)
        if meta.type != STRING and meta.size:
            self.rput(shard, enc.garbage_key(meta.version, db, key), b"")
        self.rput(shard, mk, None)
        self.touched.append((db, key))

    def touch(self, db: int, key: bytes) -> None:
        """Note a change that did not rewrite the metadata (a field updated in place)."""
        self.touched.append((db, key))

    # --- strings -----------------------------------------------------------------------

    def get_string(self, db: int, key: bytes) -> bytes | None:
        shard = shard_index(key, self.shift)
        mk = self._mprefix[db] + key
        raw = self.rget(shard, mk)
        if raw is None:
            if self.reading:
                self.misses += 1
            return None
        if raw[0] != STRING:
            if not self._expired_raw(db, key, shard, mk, raw):
                if self.reading:
                    self.hits += 1
                raise RedisError(WRONGTYPE)
            if self.reading:
                self.misses += 1
            return None
        if not _no_expiry(raw) and self._expired_raw(db, key, shard, mk, raw):
            if self.reading:
                self.misses += 1
            return None
        if self.reading:
            self.hits += 1
        return _string_value(raw)

    def _expired_raw(self, db: int, key: bytes, shard: int, mk: bytes, raw: bytes) -> bool:
        expire = enc.raw_expire(raw)
        if expire and expire <= self.clock_ms:
            self._expire(db, key, shard, mk, Meta.decode(raw))
            return True
        return False

    def set_string(self, db: int, key: bytes, value: bytes, expire: int = 0,
                   keep_ttl: bool = False, flags: int = 0) -> None:
        """SET semantics: replaces a key of any type; its TTL goes unless keep_ttl."""
        shard = shard_index(key, self.shift)
        mk = self._mprefix[db] + key
        pending = self.pending
        old_raw = self.rget(shard, mk)  # (and rput inlined for an empty overlay below)
        if old_raw is None:
            s = self.shards[shard]
            s.keys[db] += 1
            s.dirty_dbs.add(db)
            if expire:
                s.expires[db] += 1
                self.rput(shard, enc.expiry_key(db, expire, key), b"")
            self.rput(shard, mk, string_record(flags, expire, value))
            self.touched.append((db, key))
            return
        if old_raw[0] == STRING and not expire and _no_expiry(old_raw):
            raw = string_record(flags, 0, value)  # a plain overwrite
            if pending:
                self.rput(shard, mk, raw)
            else:
                self.pending = {shard: {mk: raw}}
            self.touched.append((db, key))
            return
        old = Meta.decode(old_raw)
        if keep_ttl and not (old.expire and old.expire <= self.clock_ms):
            expire = old.expire
        self._put(db, key, shard, string_record(flags, expire, value), expire, old)

    # --- enumeration -------------------------------------------------------------------

    def count_keys(self, db: int) -> int:
        return sum(s.keys[db] for s in self.shards)

    def count_expires(self, db: int) -> int:
        return sum(s.expires[db] for s in self.shards)

    def avg_ttl(self, db: int, per_shard: int = 16) -> int:
        """INFO's avg_ttl, an estimate as Redis's is: the mean remaining TTL (ms) of keys
        sampled from each shard's expiry index at a random point."""
        self.write_staged()
        now = int(time.time() * 1000)
        start = bytes((db, enc.EXPIRY))
        stop = enc.prefix_end(start)
        total = count = 0
        for shard in self.shards:
            if not shard.expires[db]:
                continue
            probe = enc.expiry_key(db, random.randrange(now, now + 86_400_000), b"")
            for k in shard.engine.keys(probe, stop):
                total += max(0, enc.unpack_u64(k, 2)[0] - now)
                count += 1
                if count % per_shard == 0:
                    break
            else:
                for k in shard.engine.keys(start, probe):
                    total += max(0, enc.unpack_u64(k, 2)[0] - now)
                    count += 1
                    if count % per_shard == 0:
                        break
        return total // count if count else 0

    def iter_keys(self, db: int, shard: int, after: bytes | None = None,
                  ) -> Iterator[tuple[bytes, bytes]]:
        """(key, raw metadata) of one shard's database in key order, from after ``after``."""
        prefix = bytes((db, 109))
        start = prefix + after + b"\0" if after is not None else prefix
        n = len(prefix)
        for k, v in self.ritems(shard, start, enc.prefix_end(prefix)):
            yield k[n:], v

    def is_live(self, raw: bytes) -> bool:
        expire = enc.raw_expire(raw)
        return not expire or expire > self.clock_ms

    def flush(self, db: int | None = None) -> None:
        """FLUSHDB / FLUSHALL: drop whole database ranges, batch by batch."""
        self.commit()
        self.write_staged()
        dbs = range(self.databases) if db is None else [db]
        for index, shard in enumerate(self.shards):
            for d in dbs:
                start = bytes((d,))
                batch: dict[bytes, bytes | None] = {}
                for k in shard.engine.keys(start, bytes((d + 1,))):
                    batch[k] = None
                    if len(batch) >= 10000:
                        self.pending[index] = batch
                        self.commit()
                        batch = {}
                if shard.keys[d] or shard.expires[d]:
                    shard.keys[d] = shard.expires[d] = 0
                    shard.dirty_dbs.add(d)
                if batch or shard.dirty_dbs:
                    self.pending[index] = batch
                    self.commit()
        self.write_staged()
        if db is None:
            for shard in self.shards:
                gstart = bytes((enc.INTERNAL, ord("g")))
                batch = {k: None for k in shard.engine.keys(gstart, enc.prefix_end(gstart))}
                if batch:
                    shard.engine.write(batch)
        self.drop_cache()


class ShardSnapshot:
    """A shard frozen at one moment: its position and its records (the position excluded)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.position = engine.get(POSITION_KEY)

    def records(self) -> Iterator[tuple[bytes, bytes]]:
        for k, v in self.engine.items(b""):
            if k != POSITION_KEY:
                yield k, v

    def close(self) -> None:
        self.engine.close()


def _merge(base: Iterator[tuple[bytes, bytes]], overlay: list[tuple[bytes, bytes | None]],
           reverse: bool) -> Iterator[tuple[bytes, bytes]]:
    """Merge engine pairs with overlay pairs; the overlay wins, None means deleted."""
    keyed_base = ((k, 1, v) for k, v in base)
    keyed_over = ((k, 0, v) for k, v in overlay)
    if reverse:
        merged = heapq.merge(keyed_base, keyed_over,
                             key=lambda t: (_Rev(t[0]), t[1]))
    else:
        merged = heapq.merge(keyed_base, keyed_over, key=lambda t: (t[0], t[1]))
    last = None
    for k, _, v in merged:
        if k == last:
            continue
        last = k
        if v is not None:
            yield k, v


class _Rev:
    __slots__ = ("b",)

    def __init__(self, b: bytes) -> None:
        self.b = b

    def __lt__(self, other: "_Rev") -> bool:
        return self.b > other.b

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Rev) and self.b == other.b


def copy_into(ks: Keyspace, meta: Meta, src_db: int, src_key: bytes, dst_db: int,
              dst_key: bytes, old_dst: Meta | None) -> None:
    """Write a key's whole value (any type) under another name or database, TTL included.

    A collection's subkeys carry its name, so they are rewritten one by one under a fresh
    version: O(size), as Kvrocks's RENAME and Redis's COPY.
    """
    if meta.type == STRING:
        new = Meta(STRING, meta.flags, meta.expire, value=meta.value)
    else:
        version = ks.new_version()
        new = Meta(meta.type, meta.flags, meta.expire, version, meta.size, meta.head, meta.tail)
        src_shard = ks.shard_of(src_key)
        dst_shard = ks.shard_of(dst_key)
        for make in (enc.sub_prefix, enc.zscore_prefix):
            sp = make(src_db, src_key, meta.version)
            dp = make(dst_db, dst_key, version)
            n = len(sp)
            for k, v in list(ks.ritems(src_shard, sp, enc.prefix_end(sp))):
                ks.rput(dst_shard, dp + k[n:], v)
    ks.put(dst_db, dst_key, new, old_dst)


class Collection:
    """Field-level access to one collection key (hash, set, list, sorted set).

    Usage in a command: ``coll = Collection.open(ks, db, key, HASH)`` (None if the key does
    not exist; WRONGTYPE if it holds another type) or ``Collection.open_or_create``; read and
    write fields; then ``coll.save()`` writes the metadata (size) once, and deletes the key when
    the collection became empty, as Redis does.
    """

    __slots__ = ("ks", "db", "key", "meta", "old", "shard", "prefix", "zprefix")

    def __init__(self, ks: Keyspace, db: int, key: bytes, meta: Meta, old: Meta | None) -> None:
        self.ks = ks
        self.db = db
        self.key = key
        self.meta = meta
        self.old = old
        self.shard = shard_index(key, ks.shift)
        self.prefix = enc.sub_prefix(db, key, meta.version)
        # only sorted sets have a score index
        self.zprefix = enc.zscore_prefix(db, key, meta.version) if meta.type == ZSET else b""

    @classmethod
    def open(cls, ks: Keyspace, db: int, key: bytes, type_: int) -> "Collection | None":
        meta = ks.lookup_typed(db, key, type_)
        if meta is None:
            return None
        return cls(ks, db, key, meta, meta)

    @classmethod
    def open_or_create(cls, ks: Keyspace, db: int, key: bytes, type_: int) -> "Collection":
        meta = ks.lookup_typed(db, key, type_)
        if meta is not None:
            return cls(ks, db, key, meta, meta)
        return cls(ks, db, key, Meta(type_, version=ks.new_version()), None)

    @classmethod
    def create(cls, ks: Keyspace, db: int, key: bytes, type_: int) -> "Collection":
        """A new empty collection replacing whatever the key held (the STORE commands)."""
        old = ks.lookup(db, key)
        return cls(ks, db, key, Meta(type_, version=ks.new_version()), old)

    @property
    def size(self) -> int:
        return self.meta.size

    def get(self, field: bytes) -> bytes | None:
        return self.ks.rget(self.shard, self.prefix + field)

    def put(self, field: bytes, value: bytes) -> None:
        self.ks.rput(self.shard, self.prefix + field, value)

    def delete(self, field: bytes) -> None:
        self.ks.rput(self.shard, self.prefix + field, None)

    def remove(self, fields: list[bytes]) -> int:
        """Delete the fields that exist (HDEL, SREM), save, and say how many there were."""
        removed = 0
        for field in fields:
            if self.get(field) is not None:
                self.delete(field)
                removed += 1
        if removed:
            self.meta.size -= removed
            self.save()
        return removed

    def items(self, start: bytes = b"", stop: bytes | None = None, reverse: bool = False,
              ) -> Iterator[tuple[bytes, bytes]]:
        """(field, value) in field byte order, from start (inclusive) to stop (exclusive)."""
        p = self.prefix
        n = len(p)
        end = p + stop if stop is not None else enc.prefix_end(p)
        for k, v in self.ks.ritems(self.shard, p + start, end, reverse):
            yield k[n:], v

    def zput(self, suffix: bytes) -> None:
        """An entry of the sorted-set score index (value empty)."""
        self.ks.rput(self.shard, self.zprefix + suffix, b"")

    def zdelete(self, suffix: bytes) -> None:
        self.ks.rput(self.shard, self.zprefix + suffix, None)

    def zitems(self, start: bytes = b"", stop: bytes | None = None, reverse: bool = False,
               ) -> Iterator[bytes]:
        """Score-index suffixes (encoded score + member) in order."""
        p = self.zprefix
        n = len(p)
        end = p + stop if stop is not None else enc.prefix_end(p)
        for k, _ in self.ks.ritems(self.shard, p + start, end, reverse):
            yield k[n:]

    def save(self) -> None:
        """Write the metadata; an emptied collection is deleted, a new empty one not created.
        Metadata that did not change (HSET of an existing field, ZADD of a new score) is not
        rewritten: the key is only noted as touched, and the commit is one record, not a
        batch of two (HSET overwriting a field: about 2 us less in-process)."""
        ks = self.ks
        meta = self.meta
        if meta.size <= 0:
            if self.old is not None:
                ks.delete(self.db, self.key)
            return
        raw = meta.encode()
        old = self.old
        if old is not None and raw == old.stored:
            ks.touch(self.db, self.key)
            return
        ks._put(self.db, self.key, self.shard, raw, meta.expire, old)
        self.old = old = Meta(meta.type, meta.flags, meta.expire, meta.version, meta.size,
                              meta.head, meta.tail)
        old.stored = raw

    def touch(self) -> None:
        """A field changed but the size did not: WATCH and blocked clients still hear of it."""
        self.ks.touch(self.db, self.key)
