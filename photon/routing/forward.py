"""Passing a client's commands to another node and relaying the reply byte for byte.

A command goes as PHOTON.FWD (the client's protocol, database and the replication offsets its
own writes reached, so a replica that has not applied them passes the command on to its
master) over a pool of pipelined peer connections per node; the client waits for the reply,
so its own requests stay in order. A blocking pop gets a connection of its own for as long as
it waits, and a client that WATCHes keys of another group gets one for its transaction (its
pin), which keeps the WATCH on the node that owns the keys until EXEC.

A write's reply is relayed by a replica of the group that took it only once that replica has
applied the write itself, so a client reads its own writes from it.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

import hiredis

from photon.commands.replication import encode_marks
from photon.errors import RedisError
from photon.peer.connection import PeerConnection, PeerPool
from photon.protocol.encoder import encode_request
from photon.protocol.reply import Raw

CONNECT_TIMEOUT = 5.0
MASTERDOWN = "MASTERDOWN Link with MASTER is down: the command cannot be passed to it"
NODEDOWN = "CLUSTERDOWN The node serving these keys cannot be reached"
# The request was sent and the link dropped before the reply: it may or may not have run.
LINK_LOST = ("ERR the link to the node serving these keys was lost before its reply; the "
             "command may or may not have run")


def encode_commands(commands: list[list[bytes]]) -> bytes:
    return b"".join(encode_request(*argv) for argv in commands)


def settle(out: asyncio.Future, f: asyncio.Future) -> None:
    """Give ``out`` the outcome of ``f`` (a done callback's chaining)."""
    if out.done():
        return
    if f.cancelled():
        out.cancel()
    elif f.exception() is not None:
        out.set_exception(f.exception())  # type: ignore[arg-type]
    else:
        out.set_result(f.result())


class Forwarder:
    def __init__(self, node: Any) -> None:
        self.node = node
        self.pools: dict[str, PeerPool] = {}  # "host:port" -> pool
        self.forwarded = 0  # commands passed on, for /metrics
        self.seconds = 0.0  # their round trips
        self.failures = 0

    def pool(self, addr: str) -> PeerPool:
        pool = self.pools.get(addr)
        if pool is None or pool.closed:
            pool = self.pools[addr] = PeerPool(lambda: self.open(addr))
        return pool

    def open(self, addr: str) -> Any:
        host, _, port = addr.rpartition(":")
        return PeerConnection.to_peer(host.strip("[]"), int(port), self.node.config,
                                      self.node.node_id, CONNECT_TIMEOUT)

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
        self.pools.clear()

    def _patience(self) -> float:
        config = self.node.config
        return 2 * max(config.quorum_timeout_ms, config.dead_after_ms) / 1000

    def request(self, c: Any, commands: list[list[bytes]], marks: dict[int, int],
                resp3: bool | None = None) -> bytes:
        resp3 = c.resp3 if resp3 is None else resp3
        return encode_request(b"PHOTON.FWD", b"3" if resp3 else b"2", c.db,
                              encode_marks(marks), encode_commands(commands))

    def forward(self, c: Any, addr: str, commands: list[list[bytes]], blocking: bool = False,
                marks: dict[int, int] | None = None, down: str = NODEDOWN,
                resp3: bool | None = None) -> asyncio.Future:
        """Run the commands at addr for ``c``; the future gives the last one's reply, encoded
        for the client (or for ``resp3`` when given)."""
        loop = asyncio.get_running_loop()
        pool = self.pools.get(addr)
        conn = pool.ready() if pool is not None and not blocking else None
        if conn is None:
            return loop.create_task(
                self._forward(c, addr, commands, blocking, marks or {}, down, resp3))
        # The common case, a link already open: callbacks instead of a task and wait_for
        # (about a fifth of a forwarded GET's CPU on the forwarding node).
        out = loop.create_future()
        started = time.monotonic()
        sent = conn.call_raw(self.request(c, commands, marks or {}, resp3))
        timer = loop.call_later(self._patience(), sent.cancel)

        def done(f: asyncio.Future) -> None:
            timer.cancel()
            if out.done():
                return
            if f.cancelled() or f.exception() is not None:
                self.failures += 1
                out.set_result(RedisError(LINK_LOST))
                return
            reply = f.result()
            if isinstance(reply, hiredis.ReplyError) and str(reply).startswith("MOVED "):
                then = loop.create_task(self._forward(c, addr, commands, blocking, marks or {},
                                                      down, resp3))
                then.add_done_callback(lambda t: settle(out, t))
                return
            self.forwarded += 1
            self.seconds += time.monotonic() - started
            result = self.relay_now(c, reply)
            if isinstance(result, asyncio.Future):
                result.add_done_callback(lambda t: settle(out, t))
            else:
                out.set_result(result)

        sent.add_done_callback(done)
        return out

    async def _forward(self, c: Any, addr: str, commands: list[list[bytes]], blocking: bool,
                       marks: dict[int, int], down: str, resp3: bool | None) -> Any:
        request = self.request(c, commands, marks, resp3)
        for attempt in range(2):
            started = time.monotonic()
            pool = self.pool(addr)
            try:
                conn = await pool.connection(exclusive=blocking)
            except RedisError as e:  # the login was refused
                self.failures += 1
                return e
            except (OSError, ConnectionError, asyncio.TimeoutError):
                self.failures += 1
                return RedisError(down)  # nothing was sent
            try:
                if blocking:
                    reply = await conn.call_raw(request)
                else:  # a node that stopped answering: the client is told, not left hanging
                    reply = await asyncio.wait_for(conn.call_raw(request), self._patience())
            except (OSError, ConnectionError, asyncio.TimeoutError):
                self.failures += 1
                return RedisError(LINK_LOST)
            finally:
                pool.release(conn)
            self.forwarded += 1
            self.seconds += time.monotonic() - started
            if isinstance(reply, hiredis.ReplyError):
                text = str(reply)
                # the node no longer owns the keys (our map was behind): once to the new owner
                if text.startswith("MOVED ") and attempt == 0:
                    addr = text.rsplit(" ", 1)[1]
                    continue
                return RedisError(text)
            return await self.relay(c, reply)
        return RedisError(down)

    async def relay(self, c: Any, reply: Any) -> Any:
        result = self.relay_now(c, reply)
        return await result if isinstance(result, asyncio.Future) else result

    def relay_now(self, c: Any, reply: Any) -> Any:
        """The client's reply from a PHOTON.FWD answer: [its reply encoded for the client,
        the offsets its writes reached]; a future when this replica must first apply those
        writes itself (so the client reads them here)."""
        if isinstance(reply, hiredis.ReplyError):
            return RedisError(str(reply))
        encoded, flat = reply[0], reply[1]
        if flat:
            marks = dict(zip(flat[::2], flat[1::2]))
            for shard, offset in marks.items():
                if offset > c.repl_marks.get(shard, -1):
                    c.repl_marks[shard] = offset
            replica = self.node.replica
            if replica is not None and all(s in self.node.cluster.served_shards()
                                           for s in marks) and not replica.applied(marks):
                return asyncio.ensure_future(self._applied(replica, marks, Raw(encoded)))
        return Raw(encoded)

    async def _applied(self, replica: Any, marks: dict[int, int], reply: Any) -> Any:
        timeout = self.node.config.quorum_timeout_ms / 1000
        try:
            await asyncio.wait_for(asyncio.shield(replica.wait_applied(marks)), timeout)
        except asyncio.TimeoutError:
            pass
        return reply


class Pin:
    """A client's own connection to one group's master, from its WATCH to its EXEC. If the
    connection is lost in between, the WATCH is lost with it, and the transaction aborts as
    if a watched key had changed (nothing else can be promised)."""

    def __init__(self, group: str, addr: str) -> None:
        self.group = group
        self.addr = addr
        self.conn: PeerConnection | None = None
        self.opened = False

    @property
    def lost(self) -> bool:
        return self.opened and (self.conn is None or self.conn.closed)

    async def call(self, forwarder: Forwarder, c: Any, commands: list[list[bytes]],
                   marks: dict[int, int]) -> Any:
        try:
            if self.conn is None:
                self.conn = await forwarder.open(self.addr)
                self.opened = True
            reply = await self.conn.call_raw(forwarder.request(c, commands, marks))
        except RedisError as e:
            return e
        except (OSError, ConnectionError, asyncio.TimeoutError):
            return RedisError(NODEDOWN)
        return await forwarder.relay(c, reply)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
