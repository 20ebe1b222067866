"""The replica side: connect to the master's RESP port, ask for each shard's stream from the
position stored with its data, apply entries (each one engine write with its new position),
acknowledge, and take full syncs into a fresh LevelDB that replaces the shard when complete."""
from __future__ import annotations

import asyncio
import logging
import shutil
import struct
import time
from pathlib import Path
from typing import TYPE_CHECKING

import hiredis

from photon.keyspace.encoding import INTERNAL, META
from photon.security import links
from photon.replication.stream import (
    NO_REPLID, REPL_KEY, Position, decode_ops, entry_message, request,
)

if TYPE_CHECKING:
    from photon.server import Server

log = logging.getLogger("photon.replication")
PROGRESS_EVERY = 2.0  # seconds between full-sync progress lines
ACK_EVERY = 64  # entries applied between acknowledgements within one read from the link
COUNTERS = ord("c")  # ff 'c' db: a database's counts (photon.keyspace.encoding.counters_key)
_COUNTS = struct.Struct(">qq")  # keys, expiring keys (photon.keyspace.keyspace.Shard)
IN_PLACE_SYNC_BYTES = 1 << 20  # a shard snapshot up to this size replaces the shard in place
IN_PLACE_MAX_DELETES = 100_000  # ... when the shard's old contents are no more keys than this
UNREACHABLE_LOG_EVERY = 30.0  # while the master stays unreachable


class _Link(asyncio.Protocol):
    def __init__(self, replica: "Replica") -> None:
        self.replica = replica
        self.reader = hiredis.Reader()
        self.transport: asyncio.Transport | None = None
        self.lost: asyncio.Future = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        replica = self.replica
        if replica.stopped or replica.link is not self:
            return  # a link we already left (REPLICAOF elsewhere, promotion)
        replica.server.stats.net_input += len(data)
        self.reader.feed(data)
        server = replica.server
        handled = 0
        try:
            while (msg := self.reader.gets()) is not False:
                replica.handle(msg)
                if replica.link is not self:
                    return
                handled += 1
                if handled % ACK_EVERY == 0:
                    replica.send_acks()  # a long read: the master's quorum waits go on
        except Exception as e:  # a broken stream: drop the link, resync from our positions
            log.exception("Replication stream error: %s", e)
            replica.write_batch()  # the entries before the break are good
            self.transport.abort()  # type: ignore[union-attr]
            return
        finally:
            replica.write_batch()
            if server.keyspace.touched:
                server.keys_touched()
        replica.send_acks()

    def connection_lost(self, exc) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)


class _ShardSync:
    """One shard's full sync. A small snapshot is held in memory and replaces the shard's
    contents in one atomic engine write; a big one goes into a fresh LevelDB beside the
    shard (``shard-NNN.sync``) that takes its place when complete. Either way the shard keeps
    its previous data, whole, until the snapshot has fully arrived."""

    def __init__(self, server: "Server", shard: int, replid: bytes, offset: int) -> None:
        self.server = server
        self.shard = shard
        self.replid = replid
        self.offset = offset
        self.held: dict[bytes, bytes | None] = {}
        self.held_bytes = 0
        self.engine = None  # the fresh LevelDB, once the snapshot outgrew memory
        live = self.live_path()
        self.path = live.with_name(live.name + ".sync")
        shutil.rmtree(self.path, ignore_errors=True)  # a sync interrupted by a crash

    def live_path(self) -> Path:
        return Path(self.server.keyspace.engines[self.shard].path)  # type: ignore[attr-defined]

    def _open(self, path: Path):
        from photon.storage.leveldb import LevelDBEngine

        config = self.server.config
        return LevelDBEngine(path, cache_mb=config.leveldb_cache_mb,
                             write_buffer_mb=config.leveldb_write_buffer_mb)

    def add(self, ops: dict[bytes, bytes | None], size: int) -> None:
        ops.pop(REPL_KEY, None)  # the master's own position; ours is written when complete
        if self.engine is None:
            self.held.update(ops)
            self.held_bytes += size
            if self.held_bytes <= IN_PLACE_SYNC_BYTES:
                return
            self.engine = self._open(self.path)
            ops, self.held = self.held, {}
        self.engine.write(ops)

    def finish(self) -> None:
        ks = self.server.keyspace
        live = ks.engines[self.shard]
        record = Position(self.replid, self.offset).record()
        if self.engine is None:
            ops: dict[bytes, bytes | None] = {}
            for k in live.keys(b""):
                ops[k] = None
                if len(ops) > IN_PLACE_MAX_DELETES:
                    break
            else:
                ops.update(self.held)
                ops[REPL_KEY] = record
                live.write(ops)  # old contents out, snapshot in: one atomic batch
                self.held = {}
                ks.shards[self.shard].load_counts()
                return
            self.engine = self._open(self.path)  # too much to delete in one batch: swap
            self.engine.write(self.held)
            self.held = {}
        engine = self.engine
        engine.write({REPL_KEY: record})
        engine.sync()
        engine.close()
        path = self.live_path()
        live.close()
        old = path.with_name(path.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        # Two renames: a crash between them leaves no live shard, which opens empty on the
        # next start and is fully synced again (a replica loses nothing it cannot get back).
        path.rename(old)
        self.path.rename(path)
        shutil.rmtree(old, ignore_errors=True)
        fresh = self._open(path)
        ks.engines[self.shard] = fresh
        ks.shards[self.shard].engine = fresh
        ks.shards[self.shard].load_counts()

    def abandon(self) -> None:
        self.held = {}
        if self.engine is not None:
            self.engine.close()
            self.engine = None
        shutil.rmtree(self.path, ignore_errors=True)


def recover_interrupted_syncs(server: "Server") -> None:
    """At start-up: finish a full-sync swap that a crash cut between its two renames (the
    complete new copy waits in ``shard-NNN.sync``, the shard itself was opened empty), and
    remove what interrupted syncs left behind."""
    ks = server.keyspace
    for i, engine in enumerate(ks.engines):
        path = getattr(engine, "path", None)
        if path is None:
            continue
        path = Path(path)
        staged = path.with_name(path.name + ".sync")
        if staged.is_dir():
            from photon.storage.leveldb import LevelDBEngine

            try:
                candidate = LevelDBEngine(staged)
                complete = candidate.get(REPL_KEY) is not None
                candidate.close()
            except Exception:
                complete = False
            if complete and next(iter(engine.keys(b"")), None) is None:
                engine.close()
                shutil.rmtree(path)
                staged.rename(path)
                config = server.config
                fresh = LevelDBEngine(path, cache_mb=config.leveldb_cache_mb,
                                      write_buffer_mb=config.leveldb_write_buffer_mb)
                ks.engines[i] = fresh
                ks.shards[i].engine = fresh
                ks.shards[i].load_counts()
                log.warning("Shard %d: completed the full-sync swap a crash interrupted", i)
            else:
                shutil.rmtree(staged, ignore_errors=True)
        shutil.rmtree(path.with_name(path.name + ".old"), ignore_errors=True)


class Replica:
    """Keeps this node a copy of its master's shards."""

    def __init__(self, server: "Server", host: str, port: int) -> None:
        self.server = server
        self.host = host
        self.port = port
        self.master_id: str | None = None
        self.state = "connect"
        self.link: _Link | None = None
        self.task: asyncio.Task | None = None
        self.syncing: dict[int, _ShardSync] = {}  # full syncs in progress
        self.sync_session = False  # a full sync runs on this link (one or more shards)
        self.settled: set[int] = set()  # shards streaming live on this link
        self.partial: set[int] = set()  # shards of this link that continued from their offset
        self.applied_at = time.monotonic()
        self.last_io = time.monotonic()
        self.down_since = time.monotonic()
        self.unacked: dict[int, int] = {}
        self.batch: dict[int, dict[bytes, bytes | None]] = {}  # applied, not yet written
        self.sync_bytes = 0
        self.sync_started = time.monotonic()
        self.sync_reported = time.monotonic()
        self.full_syncs = 0
        self.partial_syncs = 0
        self.waiters: list[tuple[dict[int, int], asyncio.Future]] = []
        self.stopped = False

    @property
    def master(self):
        return self.server.master

    def shards(self) -> list[int]:
        first, last = self.server.shard_range
        return list(range(first, last + 1))

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    def close(self) -> None:
        """Stop following now: nothing more from this master is applied after this call."""
        if self.stopped:
            return
        self.stopped = True
        if self.task is not None:
            self.task.cancel()
        link = self.link
        self.link = None
        if link is not None and link.transport is not None:
            link.transport.abort()
        self._abandon_syncs()
        for _, fut in self.waiters:
            if not fut.done():
                fut.set_result(False)
        self.waiters = []

    async def stop(self) -> None:
        self.close()

    async def _run(self) -> None:
        delay = 0.1
        failures = 0
        last_complaint = 0.0
        while not self.stopped:
            self.state = "connecting"
            try:
                loop = asyncio.get_running_loop()
                _, link = await asyncio.wait_for(
                    loop.create_connection(lambda: _Link(self), self.host, self.port,
                                           ssl=links.ssl_context(self.server.config)), 5)
                if self.stopped:
                    link.transport.abort()  # type: ignore[attr-defined]
                    return
                self.link = link  # type: ignore[assignment]
                self.settled = set()
                self.partial = set()
                self.sync_session = False
                self.last_io = time.monotonic()
                self._handshake()
                self.state = "sync"
                log.info("Connected to master %s:%d, asking for %d shard(s)%s", self.host,
                         self.port, len(self.shards()),
                         f" after {failures} failed attempt(s)" if failures else "")
                failures = 0
                delay = 0.1
                await link.lost  # type: ignore[attr-defined]
                if not self.stopped:
                    log.warning("Lost the link to master %s:%d", self.host, self.port)
            except (OSError, asyncio.TimeoutError) as e:
                failures += 1
                now = time.monotonic()
                if failures == 1 or now - last_complaint >= UNREACHABLE_LOG_EVERY:
                    last_complaint = now
                    log.warning("Cannot reach master %s:%d: %s (retrying)", self.host,
                                self.port, e or type(e).__name__)
            except asyncio.CancelledError:
                return
            finally:
                if self.link is not None or self.state != "connecting":
                    self.down_since = time.monotonic()
                self._abandon_syncs()
                self.link = None
                self.state = "connect"
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _handshake(self) -> None:
        config = self.server.config
        parts: list[bytes] = []
        parts += links.handshake_requests(config, self.server.node_id)  # masterauth, secret
        req: list[bytes | int] = [b"PHOTON.SYNC", self.server.node_id.encode(),
                                  config.bind.split()[0].encode(), self.server.port,
                                  len(self.server.keyspace.engines)]
        for shard in self.shards():
            pos = self.master.positions[shard]
            req += [shard, pos.replid, pos.offset]
        parts.append(request(*req))
        self._write(b"".join(parts))

    def _write(self, data: bytes) -> None:
        if self.link is not None and self.link.transport is not None:
            self.link.transport.write(data)

    # --- the stream ----------------------------------------------------------------------

    def handle(self, msg) -> None:
        self.last_io = time.monotonic()
        if isinstance(msg, hiredis.ReplyError):
            log.error("Master %s:%d refused replication: %s", self.host, self.port, msg)
            self.link.transport.abort()  # type: ignore[union-attr]
            return
        if not isinstance(msg, list):
            return  # +OK of AUTH
        kind = msg[0]
        if kind == b"W":
            self.apply(msg[1], msg[2], msg[3])
            return
        self.write_batch()
        if kind == b"SNAP":
            self.syncing[msg[1]].add(decode_ops(msg[2]), len(msg[2]))
            self.sync_bytes += len(msg[2])
            now = time.monotonic()
            if now - self.sync_reported >= PROGRESS_EVERY:
                self.sync_reported = now
                log.info("Full sync from master: shard %d, %d bytes received in %.1fs",
                         msg[1], self.sync_bytes, now - self.sync_started)
        elif kind == b"FULLSYNC":
            self._begin_full_sync(msg[1], msg[2], msg[3])
        elif kind == b"SNAPEND":
            self._end_full_sync(msg[1])
        elif kind == b"CONTINUE":
            shard, replid, offset = msg[1], msg[2], msg[3]
            pos = self.master.positions[shard]
            if pos.offset != offset:
                raise ValueError(f"CONTINUE at {offset} but shard {shard} is at {pos.offset}")
            if pos.replid != replid:
                pos.replid2, pos.offset2 = pos.replid, pos.offset
                pos.replid = replid
                self.server.keyspace.engines[shard].write({REPL_KEY: pos.record()})
            self.unacked[shard] = offset
            self.partial.add(shard)
            self._settle(shard)
        elif kind == b"MASTER":
            self.master_id = msg[1].decode("utf-8", "replace")
        elif kind == b"PING":
            pass

    def apply(self, shard: int, start: int, blob: bytes) -> None:
        """One entry: data, counters and position in one engine write."""
        master = self.master
        pos = master.positions[shard]
        if start != pos.offset:
            raise ValueError(f"entry for shard {shard} starts at {start}, we are at {pos.offset}")
        ops = decode_ops(blob)
        end = start + len(blob)
        pos.offset = end
        ops[REPL_KEY] = pos.record()
        ks = self.server.keyspace
        batch = self.batch.get(shard)
        if batch is None:
            self.batch[shard] = ops
        else:
            batch.update(ops)  # later entries win; the position is the last one's
        master.backlogs[shard].append(start, end, entry_message(shard, start, blob))
        touched = ks.touched  # WATCH and the like: handed on once per read from the link
        for k, v in ops.items():
            if len(k) > 1:
                if k[1] == META and k[0] != INTERNAL:
                    touched.append((k[0], k[2:]))
                elif k[0] == INTERNAL and k[1] == COUNTERS and len(k) == 3:
                    # a database's key and expiry counts, as Shard.load_counts reads them
                    counts = ks.shards[shard]
                    db = k[2]
                    if db < len(counts.keys):
                        counts.keys[db], counts.expires[db] = _COUNTS.unpack(v) if v else (0, 0)
        self.unacked[shard] = end
        self.applied_at = time.monotonic()

    def write_batch(self) -> None:
        """Write the entries applied since the last call: one engine write per shard, whole
        (a crash keeps all of them or none, and the position with them)."""
        if self.batch:
            batch, self.batch = self.batch, {}
            engines = self.server.keyspace.engines
            for shard, ops in batch.items():
                engines[shard].write(ops)

    def send_acks(self) -> None:
        self.write_batch()  # never acknowledge what the engine does not hold
        if self.unacked:
            items: list[bytes | int] = [b"PHOTON.ACK"]
            for shard, offset in self.unacked.items():
                items += [shard, offset]
            self.unacked.clear()
            self._write(request(*items))
        self._release_waiters()

    def heartbeat(self) -> None:
        """Cron: acknowledge our positions even when idle (the master measures lag with it)."""
        if self.link is None:
            return
        if time.monotonic() - self.last_io > self.server.config.repl_timeout:
            log.warning("No data from master for %ds; reconnecting",
                        self.server.config.repl_timeout)
            self.link.transport.abort()  # type: ignore[union-attr]
            return
        for shard in self.settled:
            self.unacked[shard] = self.master.positions[shard].offset
        self.send_acks()

    # --- full sync -------------------------------------------------------------------------

    def _begin_full_sync(self, shard: int, replid: bytes, offset: int) -> None:
        if not self.sync_session:
            self.sync_session = True
            self.sync_started = self.sync_reported = time.monotonic()
            self.sync_bytes = 0
            log.info("Full sync from master starting (first shard %d, master offset %d)",
                     shard, offset)
        self.syncing[shard] = _ShardSync(self.server, shard, replid, offset)
        self.state = "sync"

    def _end_full_sync(self, shard: int) -> None:
        sync = self.syncing.pop(shard)
        sync.finish()
        pos = self.master.positions[shard]
        pos.replid, pos.offset = sync.replid, sync.offset
        pos.replid2, pos.offset2 = NO_REPLID, -1
        backlog = self.master.backlogs[shard]
        backlog.entries.clear()
        backlog.size = 0
        self.unacked[shard] = sync.offset
        self.full_syncs += 1
        self.server.touch_all()  # every key of the shard may have changed: WATCH sees it
        log.debug("Full sync of shard %d done at offset %d (%s)", shard, sync.offset,
                  "in place" if sync.engine is None else "new LevelDB")
        self._settle(shard)

    def _abandon_syncs(self) -> None:
        for shard, sync in list(self.syncing.items()):
            sync.abandon()
            log.warning("Full sync of shard %d abandoned; the shard keeps its previous data",
                        shard)
        self.syncing.clear()

    def _settle(self, shard: int) -> None:
        self.settled.add(shard)
        if len(self.settled) == len(self.shards()) and self.state != "connected":
            self.state = "connected"
            full = len(self.settled) - len(self.partial)
            if full:
                self.partial_syncs += bool(self.partial)
                log.info("Full sync from master done: %d shard(s) in %.2fs (%d bytes), %d "
                         "continued from their offsets; replica in step with master %s:%d "
                         "(offset %d)", full, time.monotonic() - self.sync_started,
                         self.sync_bytes, len(self.partial), self.host, self.port,
                         self.master.offset)
            else:
                self.partial_syncs += 1
                log.info("Partial resync accepted: replica in step with master %s:%d "
                         "(offset %d)", self.host, self.port, self.master.offset)

    # --- read your writes ------------------------------------------------------------------

    def applied(self, marks: dict[int, int]) -> bool:
        positions = self.master.positions
        return all(positions[s].offset >= o for s, o in marks.items())

    def wait_applied(self, marks: dict[int, int]) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        if self.applied(marks):
            fut.set_result(True)
        else:
            self.waiters.append((marks, fut))
        return fut

    def _release_waiters(self) -> None:
        if not self.waiters:
            return
        keep = []
        for marks, fut in self.waiters:
            if fut.done():
                continue
            if self.applied(marks):
                fut.set_result(True)
            else:
                keep.append((marks, fut))
        self.waiters = keep
