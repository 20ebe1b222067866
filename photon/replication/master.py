"""The master side: every committed write batch becomes a stream entry, kept in a per-shard
backlog and sent to replicas; writes wait for ``write_quorum`` copies; WAIT counts acks.

Write quorum (``--write-quorum``, the master counting as one; on nodes started with
``--role master`` or ``--role replica``, never on a standalone node):

* **Refusal before applying.** When fewer replicas are connected than the quorum needs
  (``write_quorum - 1``), a write command (or an EXEC holding one) is refused at once with
  ``-NOQUORUM Insufficient replicas for write quorum`` and nothing is written. A replica counts
  from the moment it attached, even while its full sync runs (its copy arrives after the sync).
* **Timeout after applying.** When enough replicas are connected but fewer than needed
  acknowledge the write within ``--quorum-timeout-ms``, or so many drop off during the wait
  that the quorum can no longer be met, the client gets the same ``-NOQUORUM`` error. The write
  is *not* undone: it stays applied on the master (readable there once the quorum holds it,
  below) and is still streamed to the replicas, which apply it whenever they catch up (or get
  it through a full sync). So a NOQUORUM after the timeout means "not known to be on enough
  copies", not "not written": if the master keeps running the write survives everywhere; if
  the master is lost before any replica got it, a replica promoted in its place does not have
  it; if some replica got it, it survives a failover only when that replica is the one
  promoted. Clients that need to know should re-read the key (or retry an idempotent write)
  after a NOQUORUM.
* **Reads wait for the quorum too.** A command that wrote nothing answers only when the
  quorum holds every write of the shards it read (``after_read``): a value still waiting for
  its copies could be lost in a failover, and a read that showed it would have seen a write
  that never happened. With nothing in flight, as in a read-mostly load, a read waits for
  nothing; after the timeout it gets the same ``-NOQUORUM``.
* ``WAIT numreplicas timeout`` works as in Redis: it blocks until that many replicas
  acknowledged every write this connection made (per shard offsets), or until the timeout
  (0 = forever), and returns the count; it never fails the writes.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from photon.errors import RedisError
from photon.protocol.reply import LaterReply
from photon.replication.stream import message, snapshot_chunks
from photon.util.loops import RunningLoop

if TYPE_CHECKING:
    from photon.node import Node
    from photon.replication.log import ShardLog

    Client = Any

log = logging.getLogger("photon.replication")
NOQUORUM = "NOQUORUM Insufficient replicas for write quorum"
PROGRESS_EVERY = 2.0  # seconds between full-sync progress lines


def _ping() -> bytes:
    """A heartbeat on the link, stamped with this master's clock (echoed in PHOTON.ACK)."""
    return message(b"PING", int(time.monotonic() * 1000))


class ReplicaLink:
    """One connected replica, seen from its master."""

    def __init__(self, master: "Master", client: "Client", node_id: str, host: str, port: int,
                 shards: list[int]) -> None:
        self.master = master
        self.client = client
        self.node_id = node_id
        self.host = host
        self.port = port
        self.shards = shards
        self.acked: dict[int, int] = {s: -1 for s in shards}
        self.online: set[int] = set()
        self.pending: dict[int, list[bytes]] = {}
        self.pending_bytes = 0
        self.out: list[bytes] = []
        self._scheduled = False
        self.connected_at = time.time()
        self.last_ack = time.monotonic()
        self.fresh = time.monotonic()  # master time of the newest ping the replica echoed
        self.caught_up_at = time.monotonic()
        self.behind = False
        self.task: asyncio.Task | None = None
        self.full_syncs = 0  # full syncs started on this link (at most one)
        self.full_sync_shards = 0  # shards sent whole
        self.sync_bytes = 0
        self.sync_shards: list[int] = []

    @property
    def is_online(self) -> bool:
        return len(self.online) == len(self.shards)

    @property
    def closed(self) -> bool:
        return self.client.closed or self.client.closing

    def state(self) -> str:
        return "online" if self.is_online else "wait_bgsave" if not self.online else "send_bulk"

    def offset(self) -> int:
        return sum(max(o, 0) for o in self.acked.values())

    def lag_bytes(self) -> int:
        positions = self.master.log.positions
        return sum(max(0, positions[s].offset - max(o, 0)) for s, o in self.acked.items())

    def lag_seconds(self) -> float:
        """How long the replica has not held everything the master wrote (0: in step)."""
        if self.is_online and not self.lag_bytes():
            return 0.0
        return time.monotonic() - self.caught_up_at

    def holds(self, marks: dict[int, int]) -> bool:
        """Whether this replica applied and acknowledged the writes up to ``marks``."""
        if not marks:
            return self.is_online
        online, acked = self.online, self.acked
        for s, o in marks.items():
            if s not in online or acked[s] < o:
                return False
        return True

    def feed(self, shard: int, msg: bytes) -> None:
        """A live entry: sent if the shard is streaming, held while its full sync runs."""
        if shard in self.online:
            self.send(msg)
        elif shard in self.pending:
            self.pending[shard].append(msg)
            self.pending_bytes += len(msg)
            hard = self.master.node.config.client_output_buffer_limit["replica"][0]
            if hard and self.pending_bytes > hard:
                log.warning("Replica %s fell too far behind during its full sync (%d bytes of "
                            "writes held); dropping it", self.node_id, self.pending_bytes)
                self.client.abort()
        # else: a shard whose full sync has not started; its snapshot will hold this write

    def send(self, data: bytes) -> None:
        self.out.append(data)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        if not self.out or self.closed:
            self.out.clear()
            return
        data = b"".join(self.out)
        self.out.clear()
        c = self.client
        c.transport.write(data)  # type: ignore[union-attr]
        c.server.stats.net_output += len(data)
        pending = c.transport.get_write_buffer_size()  # type: ignore[union-attr]
        if pending or c.soft_limit_since:
            c.server.output_limit_exceeded(c, pending)

    async def full_sync(self, shards: list[int]) -> None:
        try:
            await self._full_sync(shards)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("Full sync to replica %s failed; dropping the link", self.node_id)
            self.client.abort()

    async def _full_sync(self, shards: list[int]) -> None:
        """Stream LevelDB snapshots of the shards, then each shard's writes since."""
        master = self.master
        server = master.node
        ks = server.keyspace
        total = sum(ks.approximate_size(s) for s in shards)
        log.info("Full sync of %d shard(s) to replica %s (%s:%d) starting (about %d bytes on "
                 "disk)", len(shards), self.node_id, self.host, self.port, total)
        begun = last_report = time.monotonic()
        sent = 0
        self.sync_shards = list(shards)
        self.full_syncs += 1
        server.info_counters["sync_full"] = server.info_counters.get("sync_full", 0) + 1
        for n, shard in enumerate(shards):
            if self.closed:
                return
            snap = ks.snapshot(shard)
            pos = master.log.positions[shard]
            offset = pos.offset
            self.pending[shard] = []
            self.send(message(b"FULLSYNC", shard, pos.replid, offset))
            started = time.monotonic()
            shard_sent = 0
            try:
                for blob in snapshot_chunks(snap.records()):
                    if self.closed:
                        return
                    self.send(message(b"SNAP", shard, blob))
                    self.flush()
                    shard_sent += len(blob)
                    sent += len(blob)
                    self.sync_bytes += len(blob)
                    rate = server.config.repl_sync_rate
                    if rate:
                        ahead = shard_sent / rate - (time.monotonic() - started)
                        if ahead > 0:
                            await asyncio.sleep(ahead)
                    transport = self.client.transport
                    while (transport is not None and not self.closed
                           and transport.get_write_buffer_size() > 4 * 1024 * 1024):
                        await asyncio.sleep(0.005)
                    await asyncio.sleep(0)
                    now = time.monotonic()
                    if now - last_report >= PROGRESS_EVERY:
                        last_report = now
                        log.info("Full sync to replica %s: shard %d (%d of %d), %d bytes sent "
                                 "in %.1fs", self.node_id, shard, n + 1, len(shards), sent,
                                 now - begun)
            finally:
                snap.close()
            if self.closed:
                return
            held = self.pending.pop(shard, [])
            self.pending_bytes -= sum(map(len, held))
            self.send(message(b"SNAPEND", shard))
            for msg in held:
                self.send(msg)
            self.online.add(shard)
            self.full_sync_shards += 1
            log.debug("Shard %d sent to replica %s: %d bytes in %.2fs, then %d live entries",
                      shard, self.node_id, shard_sent, time.monotonic() - started, len(held))
        self.sync_shards = []
        log.info("Full sync to replica %s done: %d shard(s), %d bytes in %.2fs", self.node_id,
                 len(shards), sent, time.monotonic() - begun)
        master.check_waiters()


class QuorumWait:
    __slots__ = ("marks", "needed", "future", "timer", "reply", "count_only", "deadline", "end")

    def __init__(self, marks: dict[int, int], needed: int, future: asyncio.Future, reply: Any,
                 count_only: bool) -> None:
        self.marks = marks
        self.needed = needed
        self.future = future
        self.reply = reply
        self.count_only = count_only
        self.timer: asyncio.TimerHandle | None = None
        self.deadline = 0.0
        self.end = 0  # a write to one shard: the offset it waits for


class Master:
    """The links to this node's replicas, the quorum its writes wait for, and WAIT. It exists
    while the node is a master; the shards' positions and backlogs are the ShardLog's."""

    def __init__(self, node: "Node") -> None:
        self.node = node
        self.log: ShardLog = node.shardlog
        self.links: dict[int, ReplicaLink] = {}
        self.waiters: dict[QuorumWait, None] = {}  # in arrival order
        # The quorum waits of writes to one shard, by shard: their offsets grow in arrival
        # order, so an acknowledgement completes a prefix of each queue and stops at the first
        # wait still short (O(completed), not O(waiting) per ack: with 50 clients each
        # pipelining writes, hundreds wait at once). Every other wait (several shards, WAIT)
        # is checked against each acknowledgement.
        self._by_shard: dict[int, deque[QuorumWait]] = {}
        self._others: dict[QuorumWait, None] = {}
        # Quorum waits share one timeout, so their deadlines come in order: one timer for the
        # oldest instead of one per write.
        self._deadlines: deque[QuorumWait] = deque()
        self._sweeper: asyncio.TimerHandle | None = None
        # Only nodes that can require a quorum pay for the check in the command path, and only
        # writes (and EXEC) go through it.
        self.checks_writes = node.config.role != "standalone"
        self._running_loop = RunningLoop()
        self.log.leading = True
        self.log.feed = self.feed
        # Per shard, the offset a quorum is known to hold: what a read may show. What this
        # node holds when it becomes master counts as held (it won its group's election).
        self.held = [p.offset for p in self.log.positions]

    def close(self) -> None:
        """The node stops being a master: drop the replica links, fail the waits."""
        self.log.feed = None
        for link in list(self.links.values()):
            link.client.abort()
        self.links.clear()
        for w in list(self.waiters):
            if not w.future.done():
                w.future.set_result(w.reply if w.count_only else RedisError(NOQUORUM))
        if self._sweeper is not None:
            self._sweeper.cancel()

    def epoch(self) -> int:
        """The epoch of this master's claim on its shards: its fencing token."""
        first, last = self.node.shard_range
        cmap = self.node.cluster.map
        return max((cmap.epoch(s) for s in range(first, last + 1)), default=0)

    @property
    def replid(self) -> bytes:
        return self.log.replid

    @property
    def offset(self) -> int:
        return self.log.offset

    # --- the stream ----------------------------------------------------------------------

    def feed(self, shard: int, msg: bytes) -> None:
        for link in self.links.values():
            link.feed(shard, msg)

    def attach(self, c: "Client", node_id: str, host: str, port: int,
               wanted: list[tuple[int, bytes, int]]) -> None:
        """A replica asked for the stream: continue each shard from its position when the
        backlog reaches back there, else plan a full sync of it."""
        log_ = self.log
        log_.start_recording()  # the positions are kept so a restart does not force a resync
        for old in [link for link in self.links.values() if link.node_id == node_id]:
            self.detach(old.client, quiet=True)  # a reconnect we have not noticed yet
            old.client.abort()
        link = ReplicaLink(self, c, node_id, host, port, [s for s, _, _ in wanted])
        c.kind = "replica"
        self.links[c.id] = link
        link.send(message(b"MASTER", self.node.node_id.encode(), self.epoch()))
        full: list[int] = []
        partial = 0
        for shard, replid, offset in wanted:
            pos = log_.positions[shard]
            msgs = (log_.backlogs[shard].since(offset, pos.offset)
                    if pos.can_continue(replid, offset) else None)
            if msgs is None:
                full.append(shard)
                continue
            partial += 1
            link.send(message(b"CONTINUE", shard, pos.replid, offset))
            for m in msgs:
                link.send(m)
            link.online.add(shard)
            link.acked[shard] = offset
            if offset > self.held[shard]:
                self._raise_held(shard)
        counters = self.node.info_counters
        if partial:
            counters["sync_partial_ok"] = counters.get("sync_partial_ok", 0) + 1
        if full and (partial or any(o > 0 for _, _, o in wanted)):
            counters["sync_partial_err"] = counters.get("sync_partial_err", 0) + 1
        behind = sum(max(0, log_.positions[s].offset - o) for s, _, o in wanted
                     if s in link.online)
        if not full:
            log.info("Replica %s (%s:%d) attached: partial resync of %d shard(s), %d bytes to "
                     "catch up", node_id, host, port, partial, behind)
        else:
            log.info("Replica %s (%s:%d) attached: partial resync of %d shard(s), full sync "
                     "of %d", node_id, host, port, partial, len(full))
            link.task = asyncio.get_running_loop().create_task(link.full_sync(full))
        link.send(_ping())

    def detach(self, c: "Client", quiet: bool = False) -> None:
        link = self.links.pop(c.id, None)
        if link is None:
            return
        if link.task is not None:
            link.task.cancel()
        if not quiet:
            if link.sync_shards:
                log.warning("Replica %s (%s:%d) disconnected during its full sync", link.node_id,
                            link.host, link.port)
            else:
                log.warning("Replica %s (%s:%d) disconnected", link.node_id, link.host,
                            link.port)
        if self.waiters:
            self._fail_hopeless()

    def ack(self, c: "Client", offsets: dict[int, int], stamp_ms: int = 0) -> None:
        """A replica's offsets, and the newest of this master's pings it had seen (its
        master-side send time): how recently the replica was known to follow this master,
        which a process pause cannot fake (buffered acks echo old pings)."""
        link = self.links.get(c.id)
        if link is None:
            return
        if stamp_ms / 1000 > link.fresh:
            link.fresh = stamp_ms / 1000
        online, acked = link.online, link.acked
        for shard, offset in offsets.items():
            # Only shards streaming on this link: a shard waiting for its full sync reports a
            # position in some older history.
            if shard in online and offset > acked[shard]:
                acked[shard] = offset
                if offset > self.held[shard]:
                    self._raise_held(shard)
        now = time.monotonic()
        link.last_ack = now
        if link.is_online and not link.lag_bytes():
            link.caught_up_at = now
            if link.behind:
                link.behind = False
                log.info("Replica %s caught up (offset %d)", link.node_id, link.offset())
        if self.waiters:
            self.check_waiters()

    def heartbeat(self) -> None:
        """Cron: ping replicas so they know the link is alive; drop silent ones; report the
        ones falling behind."""
        config = self.node.config
        timeout = min(config.repl_timeout, config.dead_after_ms / 1000)
        # a replica that has not held every write for longer than a write waits for it
        behind_after = max(1.0, self.node.config.quorum_timeout_ms / 1000)
        now = time.monotonic()
        for link in list(self.links.values()):
            if now - link.last_ack > timeout:
                log.warning("Replica %s sent nothing for %.1fs; dropping it", link.node_id,
                            timeout)
                link.client.abort()
                continue
            link.send(_ping())
            if (not link.behind and link.is_online
                    and now - link.caught_up_at > behind_after and link.lag_bytes()):
                link.behind = True
                log.warning("Replica %s is falling behind: %d bytes not acknowledged, last in "
                            "step %.1fs ago", link.node_id, link.lag_bytes(),
                            now - link.caught_up_at)

    # --- quorum ------------------------------------------------------------------------

    @property
    def quorum_active(self) -> bool:
        return (self.checks_writes and self.node.role == "master"
                and self.node.config.write_quorum > 1)

    def online_links(self) -> int:
        return sum(1 for link in self.links.values() if link.is_online)

    def connected_links(self) -> int:
        n = 0
        for link in self.links.values():
            if not link.closed:
                n += 1
        return n

    def precheck(self, c: "Client", cmd: Any) -> str | None:
        """Step 7 of the command path for a write (or EXEC): refuse it, before anything is
        applied, when the quorum cannot be met (a refused EXEC discards the transaction)."""
        if not self.quorum_active or self.connected_links() >= self.node.config.write_quorum - 1:
            return None
        if cmd.write:
            return NOQUORUM
        if (cmd.name == "exec" and c.multi and not c.multi_dirty
                and any(q.write for q, _ in c.multi)):
            return NOQUORUM
        return None

    def acked_by(self, marks: dict[int, int]) -> int:
        return sum(1 for link in self.links.values() if link.holds(marks))

    def after_write(self, c: "Client", reply: Any, marks: dict[int, int],
                    write: bool = True) -> Any:
        """The reply of a write, or a future giving it once the quorum holds the write.
        ``write`` is False for a read that wrote on the way (it deleted an expired key):
        its reply does not wait."""
        c.repl_marks.update(marks)
        if not write or not self.quorum_active:
            return reply
        needed = self.node.config.write_quorum - 1
        if needed <= 0:
            return reply
        # (no replica holds the write yet: its entries are sent after this command; replicas
        # may have dropped since the precheck: EXEC...)
        return self._quorum_wait(dict(marks), needed, reply)

    def _quorum_wait(self, marks: dict[int, int], needed: int, reply: Any) -> Any:
        """The reply once ``needed`` replicas hold ``marks``, or NOQUORUM now when fewer are
        connected."""
        if self.connected_links() < needed:
            self.node.stats.error(NOQUORUM)
            return RedisError(NOQUORUM)
        return self._wait(marks, needed, reply, False, self.node.config.quorum_timeout_ms / 1000)

    def _raise_held(self, shard: int) -> None:
        needed = self.node.config.write_quorum - 1
        if needed <= 0:
            return
        acked = sorted((link.acked[shard] for link in self.links.values()
                        if shard in link.online), reverse=True)
        if len(acked) >= needed and acked[needed - 1] > self.held[shard]:
            self.held[shard] = acked[needed - 1]

    def after_read(self, c: "Client", reply: Any, shards: Any,
                   own: dict[int, int] | None = None) -> Any:
        """The reply of a command that wrote nothing, or a future giving it once the quorum
        holds every write of ``shards`` (shard indexes; None for all) this master applied
        before it. ``own``: the entries of the expired keys it deleted on the way, which it
        does not wait for (the key reads as gone whether the deletion survives or not)."""
        positions, held = self.log.positions, self.held
        marks = {s: positions[s].offset
                 for s in (range(len(positions)) if shards is None else shards)
                 if positions[s].offset > held[s]}
        for s, end in (own or {}).items():
            entries = self.log.backlogs[s].entries
            if s in marks and entries and entries[-1][1] == end:
                if entries[-1][0] > held[s]:
                    marks[s] = entries[-1][0]
                else:
                    del marks[s]
        if not marks:
            return reply
        return self._quorum_wait(marks, self.node.config.write_quorum - 1, reply)

    def wait_command(self, c: "Client", needed: int, timeout_ms: int) -> Any:
        """WAIT numreplicas timeout: how many replicas hold this client's writes."""
        count = self.acked_by(c.repl_marks)
        if count >= needed or needed <= 0:
            return count
        return self._wait(dict(c.repl_marks), needed, None, True,
                          timeout_ms / 1000 if timeout_ms else None)

    def _wait(self, marks: dict[int, int], needed: int, reply: Any, count_only: bool,
              timeout: float | None) -> asyncio.Future:
        loop = self._running_loop()
        # A write's wait lets the client run its next commands meanwhile (LaterReply); WAIT
        # holds them, as in Redis.
        fut = loop.create_future() if count_only else LaterReply(loop=loop)
        w = QuorumWait(marks, needed, fut, reply, count_only)
        self.waiters[w] = None
        if not count_only and len(marks) == 1:
            ((shard, w.end),) = marks.items()
            queue = self._by_shard.get(shard)
            if queue is None:
                queue = self._by_shard[shard] = deque()
            queue.append(w)
        else:
            self._others[w] = None
        if timeout is not None:
            if count_only:  # WAIT: its own timeout
                w.timer = loop.call_later(timeout, self._expire, w)
            else:
                w.deadline = loop.time() + timeout
                self._deadlines.append(w)
                if self._sweeper is None:
                    self._sweeper = loop.call_at(w.deadline, self._sweep)
        if count_only:  # (a write's wait is forgotten where it completes, see _complete)
            fut.add_done_callback(lambda _: self._forget(w))
        return fut

    def _complete(self, w: QuorumWait, result: Any) -> None:
        w.future.set_result(result)
        if not w.count_only:
            self._forget(w)

    def _forget(self, w: QuorumWait) -> None:
        """A wait is done (met, timed out, failed): it leaves the general lists; a shard
        queue drops it when it reaches the front (``check_waiters``)."""
        if w.timer is not None:
            w.timer.cancel()
        self.waiters.pop(w, None)
        self._others.pop(w, None)

    def _sweep(self) -> None:
        """Fail the quorum waits whose deadline passed; then wait for the next one."""
        self._sweeper = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadlines = self._deadlines
        while deadlines and (deadlines[0].future.done() or deadlines[0].deadline <= now):
            w = deadlines.popleft()
            if not w.future.done():
                self._expire(w)
            else:
                self._forget(w)  # (done by someone else: a client gone cancelled it)
        if deadlines:
            self._sweeper = loop.call_at(deadlines[0].deadline, self._sweep)

    def _expire(self, w: QuorumWait) -> None:
        if w.future.done():
            return
        if w.count_only:
            w.future.set_result(self.acked_by(w.marks))
        else:
            self.node.stats.error(NOQUORUM)
            self._complete(w, RedisError(NOQUORUM))

    def _fail_hopeless(self) -> None:
        """Replicas dropped: quorum waits that can no longer be met fail now, not at their
        timeout (WAIT keeps waiting, as in Redis)."""
        connected = self.connected_links()
        for w in list(self.waiters):
            if not w.count_only and not w.future.done() and connected < w.needed:
                self._expire(w)

    def check_waiters(self) -> None:
        """Complete the waits that enough replicas now hold. A write to one shard waits
        for the quorum's offset ``held`` to reach its own (unless the quorum setting changed
        since it began)."""
        held = self.held
        needed = self.node.config.write_quorum - 1
        for shard, queue in list(self._by_shard.items()):
            quorum_at = held[shard]
            while queue:
                w = queue[0]
                if not w.future.done():
                    if w.needed == needed:
                        if w.end > quorum_at:
                            break
                    elif self.acked_by(w.marks) < w.needed:
                        break
                    self._complete(w, w.reply)
                queue.popleft()
            if not queue:
                del self._by_shard[shard]
        for w in list(self._others):
            if w.future.done():
                continue
            count = self.acked_by(w.marks)
            if count >= w.needed:
                self._complete(w, count if w.count_only else w.reply)
