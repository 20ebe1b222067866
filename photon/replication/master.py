"""The master side: every committed write batch becomes a stream entry, kept in a per-shard
backlog and sent to replicas; writes wait for ``write_quorum`` copies; WAIT counts acks."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from photon.errors import RedisError
from photon.replication.stream import (
    REPL_KEY, Backlog, Position, encode_ops, entry_message, message, new_replid, snapshot_chunks,
)

if TYPE_CHECKING:
    from photon.client import Client
    from photon.server import Server

log = logging.getLogger("photon.replication")
NOQUORUM = "NOQUORUM Insufficient replicas for write quorum"


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
        self.task: asyncio.Task | None = None
        self.full_syncs = 0
        self.sync_bytes = 0

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
        positions = self.master.positions
        return sum(max(0, positions[s].offset - max(o, 0)) for s, o in self.acked.items())

    def feed(self, shard: int, msg: bytes) -> None:
        """A live entry: sent if the shard is streaming, held while its full sync runs."""
        if shard in self.online:
            self.send(msg)
        elif shard in self.pending:
            self.pending[shard].append(msg)
            self.pending_bytes += len(msg)
            hard = self.master.server.config.client_output_buffer_limit["replica"][0]
            if hard and self.pending_bytes > hard:
                log.warning("Replica %s fell too far behind during its full sync; dropping it",
                            self.node_id)
                self.client.abort()

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
        """Stream LevelDB snapshots of the shards, then each shard's writes since."""
        master = self.master
        server = master.server
        for shard in shards:
            if self.closed:
                return
            engine = server.keyspace.engines[shard]
            snap = engine.snapshot()
            pos = master.positions[shard]
            offset = pos.offset
            self.pending[shard] = []
            self.send(message(b"FULLSYNC", shard, pos.replid, offset))
            log.info("Full sync of shard %d to replica %s (%s:%d) from offset %d", shard,
                     self.node_id, self.host, self.port, offset)
            started = time.monotonic()
            sent = 0
            try:
                for blob in snapshot_chunks(snap.items(b"")):
                    if self.closed:
                        return
                    self.send(message(b"SNAP", shard, blob))
                    self.flush()
                    sent += len(blob)
                    self.sync_bytes += len(blob)
                    rate = server.config.repl_sync_rate
                    if rate:
                        ahead = sent / rate - (time.monotonic() - started)
                        if ahead > 0:
                            await asyncio.sleep(ahead)
                    transport = self.client.transport
                    while (transport is not None and not self.closed
                           and transport.get_write_buffer_size() > 4 * 1024 * 1024):
                        await asyncio.sleep(0.005)
                    await asyncio.sleep(0)
            finally:
                snap.close()
            held = self.pending.pop(shard, [])
            self.pending_bytes -= sum(map(len, held))
            self.send(message(b"SNAPEND", shard))
            for msg in held:
                self.send(msg)
            self.online.add(shard)
            self.full_syncs += 1
            server.info_counters["sync_full"] = server.info_counters.get("sync_full", 0) + 1
            log.info("Shard %d sent to replica %s: %d bytes in %.2fs, then %d live entries",
                     shard, self.node_id, sent, time.monotonic() - started, len(held))
        master.check_waiters()


class QuorumWait:
    __slots__ = ("marks", "needed", "future", "timer", "reply", "count_only")

    def __init__(self, marks: dict[int, int], needed: int, future: asyncio.Future, reply: Any,
                 count_only: bool) -> None:
        self.marks = marks
        self.needed = needed
        self.future = future
        self.reply = reply
        self.count_only = count_only
        self.timer: asyncio.TimerHandle | None = None


class Master:
    """Replication state of a node that accepts replicas."""

    def __init__(self, server: "Server") -> None:
        self.server = server
        ks = server.keyspace
        self.positions: list[Position] = []
        recorded = False
        node_replid = new_replid()
        for engine in ks.engines:
            pos = Position.parse(engine.get(REPL_KEY))
            recorded |= pos is not None
            self.positions.append(pos or Position(node_replid))
        self.backlogs = [Backlog(server.config.repl_backlog_size) for _ in ks.engines]
        self.links: dict[int, ReplicaLink] = {}
        self.waiters: list[QuorumWait] = []
        # Entries are recorded once the node is part of a replicated group; a standalone node
        # that never had a replica skips the work (its first replica does a full sync).
        self.active = recorded or server.config.role != "standalone"
        ks.commit_hooks.append(self.on_commit)
        server.disconnect_hooks.append(self.detach)
        server.command_checks.append(self.precheck)
        server.setting_appliers["repl_backlog_size"] = self._set_backlog

    def _set_backlog(self, size: int) -> None:
        for b in self.backlogs:
            b.limit = size

    @property
    def replid(self) -> bytes:
        return self.positions[0].replid if self.positions else b""

    @property
    def offset(self) -> int:
        return sum(p.offset for p in self.positions)

    # --- the stream ----------------------------------------------------------------------

    def on_commit(self, shard: int, ops: dict[bytes, bytes | None]) -> None:
        if not self.active or self.server.role != "master":
            return
        pos = self.positions[shard]
        blob = encode_ops(ops)
        start = pos.offset
        end = start + len(blob)
        pos.offset = end
        ops[REPL_KEY] = pos.record()
        msg = entry_message(shard, start, blob)
        self.backlogs[shard].append(start, end, msg)
        self.server.keyspace.marks[shard] = end
        for link in self.links.values():
            link.feed(shard, msg)

    def attach(self, c: "Client", node_id: str, host: str, port: int,
               wanted: list[tuple[int, bytes, int]]) -> None:
        """A replica asked for the stream: continue each shard from its position when the
        backlog reaches back there, else plan a full sync of it."""
        self.active = True
        old = [link for link in self.links.values() if link.node_id == node_id]
        for link in old:
            link.client.abort()
        link = ReplicaLink(self, c, node_id, host, port, [s for s, _, _ in wanted])
        c.kind = "replica"
        self.links[c.id] = link
        full: list[int] = []
        partial = 0
        for shard, replid, offset in wanted:
            pos = self.positions[shard]
            msgs = (self.backlogs[shard].since(offset, pos.offset)
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
        counters = self.server.info_counters
        if partial:
            counters["sync_partial_ok"] = counters.get("sync_partial_ok", 0) + 1
        if full and partial:
            counters["sync_partial_err"] = counters.get("sync_partial_err", 0) + 1
        log.info("Replica %s (%s:%d) attached: %d shards continue from their offsets, %d need "
                 "a full sync", node_id, host, port, partial, len(full))
        if full:
            link.task = asyncio.get_running_loop().create_task(link.full_sync(full))
        link.send(message(b"PING"))

    def detach(self, c: "Client") -> None:
        link = self.links.pop(c.id, None)
        if link is None:
            return
        if link.task is not None:
            link.task.cancel()
        log.warning("Replica %s (%s:%d) disconnected", link.node_id, link.host, link.port)

    def ack(self, c: "Client", offsets: dict[int, int]) -> None:
        link = self.links.get(c.id)
        if link is None:
            return
        for shard, offset in offsets.items():
            if offset > link.acked.get(shard, -1):
                link.acked[shard] = offset
        link.last_ack = time.monotonic()
        if self.waiters:
            self.check_waiters()

    def heartbeat(self) -> None:
        """Cron: ping replicas so they know the link is alive; drop silent ones."""
        timeout = self.server.config.repl_timeout
        now = time.monotonic()
        for link in list(self.links.values()):
            if now - link.last_ack > timeout:
                log.warning("Replica %s sent nothing for %ds; dropping it", link.node_id, timeout)
                link.client.abort()
            else:
                link.send(message(b"PING"))

    # --- quorum ------------------------------------------------------------------------

    @property
    def quorum_active(self) -> bool:
        return (self.server.config.role != "standalone" and self.server.role == "master"
                and self.server.config.write_quorum > 1)

    def online_links(self) -> int:
        return sum(1 for link in self.links.values() if link.is_online)

    def precheck(self, c: "Client", cmd, argv) -> str | None:
        """Refuse a write before it is applied when the quorum cannot be met."""
        if (cmd.write and self.quorum_active
                and self.online_links() < self.server.config.write_quorum - 1):
            return NOQUORUM
        return None

    def acked_by(self, marks: dict[int, int]) -> int:
        return sum(1 for link in self.links.values()
                   if all(link.acked.get(s, -1) >= o for s, o in marks.items()))

    def after_write(self, c: "Client", reply: Any, marks: dict[int, int]) -> Any:
        """The reply of a write, or a future giving it once the quorum holds the write."""
        c.repl_marks.update(marks)
        if not self.quorum_active or isinstance(reply, RedisError) and not marks:
            return reply
        needed = self.server.config.write_quorum - 1
        if self.acked_by(marks) >= needed:
            return reply
        return self._wait(marks, needed, reply, False,
                          self.server.config.quorum_timeout_ms / 1000)

    def wait_command(self, c: "Client", needed: int, timeout_ms: int) -> Any:
        """WAIT numreplicas timeout: how many replicas hold this client's writes."""
        count = self.acked_by(c.repl_marks)
        if count >= needed or needed <= 0:
            return count
        return self._wait(dict(c.repl_marks), needed, None, True,
                          timeout_ms / 1000 if timeout_ms else None)

    def _wait(self, marks: dict[int, int], needed: int, reply: Any, count_only: bool,
              timeout: float | None) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        w = QuorumWait(marks, needed, fut, reply, count_only)
        self.waiters.append(w)
        if timeout is not None:
            w.timer = loop.call_later(timeout, self._expire, w)
        fut.add_done_callback(lambda _: self._forget(w))
        return fut

    def _forget(self, w: QuorumWait) -> None:
        if w.timer is not None:
            w.timer.cancel()
        try:
            self.waiters.remove(w)
        except ValueError:
            pass

    def _expire(self, w: QuorumWait) -> None:
        if w.future.done():
            return
        if w.count_only:
            w.future.set_result(self.acked_by(w.marks))
        else:
            self.server.stats.error(NOQUORUM)
            w.future.set_result(RedisError(NOQUORUM))

    def check_waiters(self) -> None:
        for w in list(self.waiters):
            if w.future.done():
                continue
            count = self.acked_by(w.marks)
            if count >= w.needed:
                w.future.set_result(count if w.count_only else w.reply)
