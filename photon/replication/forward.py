"""A replica passes writes (and, with read replicas off, reads) to its master on behalf of its
clients, one upstream connection per client so order is kept, and relays the master's reply
byte for byte. It waits until it has applied the write itself before relaying, so the client
reads its own writes from this replica."""
from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

import hiredis

from photon.errors import RedisError
from photon.protocol.reply import Raw
from photon.replication.stream import request

if TYPE_CHECKING:
    from photon.client import Client
    from photon.replication.replica import Replica

CONNECT_TIMEOUT = 5.0
MASTERDOWN = "MASTERDOWN Link with MASTER is down: the command cannot be passed to it"


class _Upstream(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiting: deque[asyncio.Future] = deque()
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            if self.waiting:
                fut = self.waiting.popleft()
                if not fut.done():
                    fut.set_result(reply)

    def connection_lost(self, exc) -> None:
        self.closed = True
        while self.waiting:
            fut = self.waiting.popleft()
            if not fut.done():
                fut.set_result(hiredis.ReplyError(MASTERDOWN))

    def call(self, data: bytes) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self.waiting.append(fut)
        self.transport.write(data)  # type: ignore[union-attr]
        return fut


def encode_commands(commands: list[list[bytes]]) -> bytes:
    return b"".join(request(*argv) for argv in commands)


class Forwarder:
    def __init__(self, replica: "Replica") -> None:
        self.replica = replica
        self.upstreams: dict[int, _Upstream] = {}
        replica.server.disconnect_hooks.append(self.client_gone)

    def close(self) -> None:
        """The node stops following this master: drop every upstream connection."""
        try:
            self.replica.server.disconnect_hooks.remove(self.client_gone)
        except ValueError:
            pass
        for up in self.upstreams.values():
            if up.transport is not None:
                up.transport.close()
        self.upstreams.clear()

    def client_gone(self, c: "Client") -> None:
        up = self.upstreams.pop(c.id, None)
        if up is not None and up.transport is not None:
            up.transport.close()

    async def _upstream(self, c: "Client") -> _Upstream:
        up = self.upstreams.get(c.id)
        if up is not None and not up.closed:
            return up
        loop = asyncio.get_running_loop()
        r = self.replica
        from photon.security import links

        config = r.server.config
        _, up = await loop.create_connection(_Upstream, r.host, r.port,
                                             ssl=links.ssl_context(config))
        for req in links.handshake_requests(config, r.server.node_id):  # masterauth, secret
            reply = await up.call(req)
            if isinstance(reply, hiredis.ReplyError):
                up.transport.close()  # type: ignore[union-attr]
                raise RedisError(str(reply))
        self.upstreams[c.id] = up
        return up

    def forward(self, c: "Client", commands: list[list[bytes]]) -> asyncio.Future:
        """Run the commands on the master for ``c``; the future gives the last one's reply."""
        return asyncio.get_running_loop().create_task(self._forward(c, commands))

    async def _forward(self, c: "Client", commands: list[list[bytes]]):
        try:
            up = await asyncio.wait_for(self._upstream(c), CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError):
            return RedisError(MASTERDOWN)
        reply = await up.call(request(b"PHOTON.FWD", b"3" if c.resp3 else b"2", c.db,
                                      encode_commands(commands)))
        if isinstance(reply, hiredis.ReplyError):
            return RedisError(str(reply))
        encoded, flat = reply[0], reply[1]
        marks = dict(zip(flat[::2], flat[1::2]))
        if marks:
            # Read your writes: later reads of this client are served here only once this
            # replica applied these offsets (the replica check forwards them until then).
            for shard, offset in marks.items():
                if offset > c.repl_marks.get(shard, -1):
                    c.repl_marks[shard] = offset
            if not self.replica.applied(marks):
                timeout = self.replica.server.config.quorum_timeout_ms / 1000
                try:
                    await asyncio.wait_for(asyncio.shield(self.replica.wait_applied(marks)),
                                           timeout)
                except asyncio.TimeoutError:
                    pass
        return Raw(encoded)
