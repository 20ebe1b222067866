"""A RESP connection to a node: requests are pipelined (each gets a future, replies come back in
order), the login is sent first (the cluster-secret proof between nodes, AUTH for programs),
and a connection can turn into a stream receiver (the replication link). ``PeerPool`` keeps a
few of them per node for forwarding: any number of requests share them, and a request that may
block its connection (a blocking pop) gets one of its own for as long as it runs."""
from __future__ import annotations

import asyncio
import logging
import ssl as ssl_module
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import hiredis

from photon.errors import RedisError
from photon.peer.handshake import handshake_requests, ssl_context
from photon.protocol.encoder import encode_request

log = logging.getLogger("photon.peer")

Handler = Callable[[Any], None]


class PeerConnection(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiting: deque[asyncio.Future] = deque()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.lost: asyncio.Future = asyncio.get_running_loop().create_future()
        self._handler: Handler | None = None
        self._batch_end: Callable[[], None] | None = None
        self.bytes_in = 0

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    async def open(cls, host: str, port: int, login: list[bytes] | None = None,
                   ssl: ssl_module.SSLContext | None = None,
                   timeout: float = 5.0) -> "PeerConnection":
        """Connect and log in; a refused login closes the connection and raises its error."""
        loop = asyncio.get_running_loop()
        _, conn = await asyncio.wait_for(
            loop.create_connection(cls, host.strip("[]"), port, ssl=ssl), timeout)
        try:
            replies = [conn.call_raw(req) for req in login or []]
            for fut in replies:
                reply = await asyncio.wait_for(fut, timeout)
                if isinstance(reply, hiredis.ReplyError):
                    raise RedisError(str(reply))
        except BaseException:
            conn.close()
            raise
        return conn  # type: ignore[return-value]

    @classmethod
    async def to_peer(cls, host: str, port: int, config: Any, node_id: str,
                      timeout: float = 5.0) -> "PeerConnection":
        """A node's link to another node: masterauth when set, then the cluster-secret proof,
        over TLS with --tls-replication."""
        return await cls.open(host, port, handshake_requests(config, node_id),
                              ssl_context(config), timeout)

    @classmethod
    async def to_addr(cls, addr: str, password: str | None = None,
                      username: str | None = None,
                      ssl: ssl_module.SSLContext | None = None,
                      timeout: float = 5.0) -> "PeerConnection":
        """A program's connection to a node at host:port, with AUTH when a password is given."""
        host, _, port = addr.rpartition(":")
        login = []
        if password:
            login.append(encode_request(b"AUTH", *([username.encode()] if username else []),
                                        password.encode()))
        return await cls.open(host, int(port), login, ssl, timeout)

    # --- asyncio callbacks -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.bytes_in += len(data)
        self.reader.feed(data)
        try:
            while (reply := self.reader.gets()) is not False:
                if self.waiting:
                    fut = self.waiting.popleft()
                    if not fut.done():
                        fut.set_result(reply)
                elif self._handler is not None:
                    self._handler(reply)
                    if self.closed:
                        return
        except Exception:
            log.exception("Error handling a message from %s; closing the link",
                          self.transport.get_extra_info("peername") if self.transport else "?")
            self.abort()
        finally:
            if self._batch_end is not None and not self.closed:
                self._batch_end()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        while self.waiting:
            fut = self.waiting.popleft()
            if not fut.done():
                fut.set_exception(ConnectionError("connection to the node lost"))
        if not self.lost.done():
            self.lost.set_result(exc)

    # --- requests --------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        return len(self.waiting)

    def call_raw(self, data: bytes) -> asyncio.Future:
        """Send one encoded request; the future gives its reply (an error reply as a
        hiredis.ReplyError value), or raises ConnectionError if the link drops first."""
        fut = asyncio.get_running_loop().create_future()
        if self.closed or self.transport is None:
            fut.set_exception(ConnectionError("connection to the node is closed"))
            return fut
        self.waiting.append(fut)
        self.transport.write(data)
        return fut

    def call(self, *args: bytes | str | int) -> asyncio.Future:
        return self.call_raw(encode_request(*[a.encode() if isinstance(a, str) else a
                                              for a in args]))

    async def request(self, *args: bytes | str | int) -> Any:
        """Send a command and return its reply; an error reply is raised as RedisError."""
        reply = await self.call(*args)
        if isinstance(reply, hiredis.ReplyError):
            raise RedisError(str(reply))
        return reply

    def stream(self, handler: Handler, batch_end: Callable[[], None] | None = None) -> None:
        """From now on, messages that answer no request go to ``handler``; ``batch_end`` runs
        after each read from the socket (to write what the read brought as one batch)."""
        self._handler = handler
        self._batch_end = batch_end

    def send(self, data: bytes) -> None:
        """Write bytes that expect no reply (acknowledgements on a stream)."""
        if not self.closed and self.transport is not None:
            self.transport.write(data)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


Opener = Callable[[], Awaitable[PeerConnection]]


class PeerPool:
    """Up to ``size`` shared connections to one node, plus one per blocking request."""

    def __init__(self, opener: Opener, size: int = 4) -> None:
        self.opener = opener
        self.size = size
        self.shared: list[PeerConnection] = []
        self.exclusive: set[PeerConnection] = set()
        self._opening: asyncio.Task | None = None
        self.closed = False

    def ready(self) -> PeerConnection | None:
        """A shared connection to send on now, without waiting, when ``_pick`` would not
        open one (the common case of a forwarded command)."""
        if self.closed:
            return None
        idle = None
        live = 0
        for c in self.shared:
            if not c.closed:
                live += 1
                if idle is None or c.pending < idle.pending:
                    idle = c
        if idle is not None and (idle.pending == 0 or live >= self.size):
            return idle
        return None

    async def _pick(self) -> PeerConnection:
        live = [c for c in self.shared if not c.closed]
        self.shared = live
        idle = min(live, key=lambda c: c.pending, default=None)
        if idle is not None and (idle.pending == 0 or len(live) >= self.size):
            return idle
        if self._opening is None:
            self._opening = asyncio.ensure_future(self.opener())
        opening = self._opening
        try:
            conn = await asyncio.shield(opening)
        finally:
            if self._opening is opening and opening.done():
                self._opening = None
        if conn not in self.shared and not conn.closed:
            self.shared.append(conn)
        return conn

    async def connection(self, exclusive: bool = False) -> PeerConnection:
        """A connection to send on: a shared one, or (``exclusive``) one of its own until
        release(). Raises before anything is sent when the node cannot be reached."""
        if self.closed:
            raise ConnectionError("the pool is closed")
        if not exclusive:
            return await self._pick()
        conn = await self.opener()
        self.exclusive.add(conn)
        return conn

    def release(self, conn: PeerConnection) -> None:
        if conn in self.exclusive:
            self.exclusive.discard(conn)
            conn.close()

    async def call_raw(self, data: bytes, exclusive: bool = False) -> Any:
        """The reply to one encoded request (error replies as hiredis.ReplyError values)."""
        conn = await self.connection(exclusive)
        try:
            return await conn.call_raw(data)
        finally:
            self.release(conn)

    def close(self) -> None:
        self.closed = True
        for conn in [*self.shared, *self.exclusive]:
            conn.close()
        self.shared.clear()
        self.exclusive.clear()
        if self._opening is not None:
            self._opening.cancel()
