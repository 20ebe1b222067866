"""The replica side: connect to the master's RESP port, ask for each shard's stream from the
position stored with its data, apply entries (each with its new position, one engine write per
shard per read from the link), acknowledge, and take full syncs that replace a shard whole when
complete (docs/architecture.md, "Replication and quorum")."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import hiredis

from photon.errors import RedisError
from photon.peer.connection import PeerConnection
from photon.protocol.encoder import encode_request
from photon.replication.stream import Position, decode_ops

if TYPE_CHECKING:
    from photon.node import Node

log = logging.getLogger("photon.replication")
PROGRESS_EVERY = 2.0  # seconds between full-sync progress lines
ACK_EVERY = 64  # entries applied between acknowledgements within one read from the link
IN_PLACE_SYNC_BYTES = 1 << 20  # a shard snapshot up to this size replaces the shard in place
IN_PLACE_MAX_DELETES = 100_000  # ... when the shard's old contents are no more keys than this
UNREACHABLE_LOG_EVERY = 30.0  # while the master stays unreachable


class _ShardSync:
    """One shard's full sync. A small snapshot is held in memory and replaces the shard's
    contents in one atomic write; a big one goes into a staged engine beside the shard that
    takes its place when complete. Either way the shard keeps its previous data, whole, until
    the snapshot has fully arrived."""

    def __init__(self, keyspace: Any, shard: int, replid: bytes, offset: int) -> None:
        self.keyspace = keyspace
        self.shard = shard
        self.replid = replid
        self.offset = offset
        self.held: dict[bytes, bytes | None] = {}
        self.held_bytes = 0
        self.staging: Any = None  # the staged engine, once the snapshot outgrew memory

    def add(self, ops: dict[bytes, bytes | None], size: int) -> None:
        if self.staging is None:
            self.held.update(ops)
            self.held_bytes += size
            if self.held_bytes <= IN_PLACE_SYNC_BYTES:
                return
            self.staging = self.keyspace.open_staging(self.shard)
            ops, self.held = self.held, {}
        self.staging.write(ops)

    def finish(self) -> None:
        ks = self.keyspace
        record = Position(self.replid, self.offset).record()
        if self.staging is None:
            if ks.replace_shard(self.shard, self.held, record, IN_PLACE_MAX_DELETES):
                self.held = {}
                return
            self.staging = ks.open_staging(self.shard)  # too much to delete in one batch
            self.staging.write(self.held)
            self.held = {}
        staging, self.staging = self.staging, None
        ks.swap_in(self.shard, staging, record)

    def abandon(self) -> None:
        self.held = {}
        if self.staging is not None:
            self.keyspace.discard_staging(self.shard, self.staging)
            self.staging = None


class Replica:
    """Keeps this node a copy of its master's shards."""

    def __init__(self, node: "Node", host: str, port: int) -> None:
        self.node = node
        self.log = node.shardlog
        self.host = host
        self.port = port
        self.master_id: str | None = None
        self.state = "connect"
        self.link: PeerConnection | None = None
        self.task: asyncio.Task | None = None
        self.syncing: dict[int, _ShardSync] = {}  # full syncs in progress
        self.sync_session = False  # a full sync runs on this link (one or more shards)
        self.settled: set[int] = set()  # shards streaming live on this link
        self.partial: set[int] = set()  # shards of this link that continued from their offset
        self.applied_at = time.monotonic()
        self.last_io = time.monotonic()
        self.down_since = time.monotonic()
        self.unacked: dict[int, int] = {}
        self.handled = 0  # messages since the last acknowledgement
        self.sync_bytes = 0
        self.sync_started = time.monotonic()
        self.sync_reported = time.monotonic()
        self.full_syncs = 0
        self.partial_syncs = 0
        self.waiters: list[tuple[dict[int, int], asyncio.Future]] = []
        self.stopped = False
        self.streaming = False  # the master's stream began on the current link
        self.ping_stamp = 0  # the newest ping of the master's, echoed in acknowledgements
        self.suspended = False  # no link while an election it voted in decides its master
        self._resumed = asyncio.Event()
        self.log.leading = False

    def shards(self) -> list[int]:
        first, last = self.node.shard_range
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
        if link is not None:
            link.abort()
        self.node.keyspace.write_batches()
        self._abandon_syncs()
        for _, fut in self.waiters:
            if not fut.done():
                fut.set_result(False)
        self.waiters = []

    async def _run(self) -> None:
        delay = 0.1
        failures = 0
        last_complaint = 0.0
        node = self.node
        while not self.stopped:
            while self.suspended:
                self.state = "connect"
                await self._resumed.wait()
            self.state = "connecting"
            try:
                link = await PeerConnection.to_peer(self.host, self.port, node.config,
                                                    node.node_id)
                if self.stopped:
                    link.abort()
                    return
                self.link = link
                self.settled = set()
                self.partial = set()
                self.sync_session = False
                self.last_io = time.monotonic()
                if node.config.source("shard_range") == "default":
                    await self._adopt_masters_range(link)
                self.streaming = False
                link.stream(self._on_message, self._on_read_end)
                link.send(self._sync_request())
                self.state = "sync"
                log.info("Connected to master %s:%d, asking for %d shard(s)%s", self.host,
                         self.port, len(self.shards()),
                         f" after {failures} failed attempt(s)" if failures else "")
                await link.lost
                if self.streaming:
                    failures = 0
                    delay = 0.1
                else:
                    failures += 1
                if not self.stopped:
                    log.warning("Lost the link to master %s:%d", self.host, self.port)
            except RedisError as e:
                failures += 1
                log.error("Master %s:%d refused replication: %s", self.host, self.port, e)
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
                node.keyspace.write_batches()
                self._abandon_syncs()
                self.link = None
                self.state = "connect"
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0 if failures < 5 else 5.0)

    async def _adopt_masters_range(self, link: PeerConnection) -> None:
        """MASTER_ADDR is enough: a replica started without SHARD_RANGE serves its master's."""
        info = (await asyncio.wait_for(link.request(b"INFO", b"server"), 5)).decode()
        fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
        first, _, last = fields.get("shard_range", "").partition("-")
        if first.isdigit() and last.isdigit():
            shard_range = (int(first), int(last))
            if shard_range != self.node.shard_range:
                log.info("Serving master %s:%d's shards %d-%d", self.host, self.port,
                         *shard_range)
                self.node.shard_range = shard_range
                self.node.routing_changed()

    def suspend(self) -> None:
        """Stop taking the master's stream (and acknowledging its writes) until resume():
        a replica that voted for a new master in an epoch must not help the old one."""
        self.suspended = True
        self._resumed.clear()
        if self.link is not None:
            self.link.abort()

    def resume(self) -> None:
        self.suspended = False
        self._resumed.set()

    def _sync_request(self) -> bytes:
        node = self.node
        req: list[bytes | int] = [b"PHOTON.SYNC", node.node_id.encode(),
                                  node.cluster.announce.encode(),
                                  node.config.announce_port or node.port,
                                  len(node.keyspace.engines)]
        for shard in self.shards():
            pos = self.log.positions[shard]
            req += [shard, pos.replid, pos.offset]
        return encode_request(*req)

    def _epoch_seen(self, master: str) -> int:
        """The highest epoch at which another group than ``master``'s claimed these shards."""
        claims = self.node.cluster.map.claims
        return max((c.epoch for s in self.shards() if (c := claims[s]) is not None
                    and c.group != master), default=0)

    def _write(self, data: bytes) -> None:
        if self.link is not None:
            self.link.send(data)

    # --- the stream ----------------------------------------------------------------------

    def _on_message(self, msg: Any) -> None:
        if self.stopped:
            return
        self.handle(msg)
        self.handled += 1
        if self.handled % ACK_EVERY == 0:
            self.send_acks()  # a long read: the master's quorum waits go on

    def _on_read_end(self) -> None:
        """After each read from the link: what it brought is written as one batch per
        shard, WATCH and blocked clients hear of it, and the master gets our offsets."""
        if self.stopped:
            return
        self.node.keyspace.write_batches()
        self.node.keys_touched()
        self.send_acks()

    def handle(self, msg: Any) -> None:
        self.last_io = time.monotonic()
        self.streaming = self.streaming or isinstance(msg, list)
        if isinstance(msg, hiredis.ReplyError):
            log.error("Master %s:%d refused replication: %s", self.host, self.port, msg)
            if self.link is not None:
                self.link.abort()
            return
        if not isinstance(msg, list):
            return
        kind = msg[0]
        if kind == b"W":
            self.apply(msg[1], msg[2], msg[3])
            return
        self.node.keyspace.write_batches()
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
            shard = msg[1]
            self.log.continue_at(shard, msg[2], msg[3])
            self.unacked[shard] = msg[3]
            self.partial.add(shard)
            self._settle(shard)
        elif kind == b"MASTER":
            self.master_id = msg[1].decode("utf-8", "replace")
            seen = self._epoch_seen(self.master_id)
            if len(msg) > 2 and msg[2] < seen:
                log.error("Refusing the stream of %s: its epoch %d is older than %d, the newest "
                          "this node has seen for its shards (a master that was replaced)",
                          self.master_id, msg[2], seen)
                if self.link is not None:
                    self.link.abort()
        elif kind == b"PING" and len(msg) > 1:
            self.ping_stamp = msg[1]

    def apply(self, shard: int, start: int, blob: bytes) -> None:
        """One entry: data, counters and position, written with the rest of this read."""
        self.log.apply(shard, start, blob)
        self.unacked[shard] = self.log.positions[shard].offset
        self.applied_at = time.monotonic()

    def send_acks(self) -> None:
        self.node.keyspace.write_batches()  # never acknowledge what the engine does not hold
        self.handled = 0
        if self.unacked:
            items: list[bytes | int] = [b"PHOTON.ACK", self.ping_stamp]
            for shard, offset in self.unacked.items():
                items += [shard, offset]
            self.unacked.clear()
            self._write(encode_request(*items))
        self._release_waiters()

    def heartbeat(self) -> None:
        """Cron: acknowledge our positions even when idle (the master measures lag with it)."""
        if self.link is None:
            return
        config = self.node.config
        silence = min(config.repl_timeout, config.dead_after_ms / 1000)
        if time.monotonic() - self.last_io > silence:
            log.warning("No data from master for %.1fs; reconnecting", silence)
            self.link.abort()
            return
        for shard in self.settled:
            self.unacked[shard] = self.log.positions[shard].offset
        self.send_acks()

    # --- full sync -------------------------------------------------------------------------

    def _begin_full_sync(self, shard: int, replid: bytes, offset: int) -> None:
        if not self.sync_session:
            self.sync_session = True
            self.sync_started = self.sync_reported = time.monotonic()
            self.sync_bytes = 0
            log.info("Full sync from master starting (first shard %d, master offset %d)",
                     shard, offset)
        self.syncing[shard] = _ShardSync(self.node.keyspace, shard, replid, offset)
        self.state = "sync"

    def _end_full_sync(self, shard: int) -> None:
        sync = self.syncing.pop(shard)
        in_place = sync.staging is None
        sync.finish()
        self.log.reset(shard, sync.replid, sync.offset)
        self.unacked[shard] = sync.offset
        self.full_syncs += 1
        self.node.touch_all()  # every key of the shard may have changed: WATCH sees it
        log.debug("Full sync of shard %d done at offset %d (%s)", shard, sync.offset,
                  "in memory" if in_place else "staged engine")
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
                         self.log.offset)
            else:
                self.partial_syncs += 1
                log.info("Partial resync accepted: replica in step with master %s:%d "
                         "(offset %d)", self.host, self.port, self.log.offset)

    # --- read your writes ------------------------------------------------------------------

    def applied(self, marks: dict[int, int]) -> bool:
        return self.log.applied(marks)

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
