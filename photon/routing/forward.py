"""Passing a client's commands to another node and relaying the reply byte for byte.

A replica passes writes (and, with read replicas off, reads) to its master as PHOTON.FWD
requests over pooled, pipelined peer connections; the client waits for the reply, so its own
requests stay in order. A blocking pop gets a connection of its own for as long as it waits.
The replica relays a write's reply only once it has applied that write itself, so the client
reads its own writes from this replica."""
from __future__ import annotations

import asyncio
from typing import Any

import hiredis

from photon.errors import RedisError
from photon.peer.connection import PeerConnection, PeerPool
from photon.protocol.encoder import encode_request
from photon.protocol.reply import Raw

CONNECT_TIMEOUT = 5.0
MASTERDOWN = "MASTERDOWN Link with MASTER is down: the command cannot be passed to it"


def encode_commands(commands: list[list[bytes]]) -> bytes:
    return b"".join(encode_request(*argv) for argv in commands)


class Forwarder:
    """Forwarding to one node (a replica's master)."""

    def __init__(self, node: Any, host: str, port: int) -> None:
        self.node = node
        self.host = host
        self.port = port
        self.pool = PeerPool(self._open)

    def _open(self) -> Any:
        return PeerConnection.to_peer(self.host, self.port, self.node.config, self.node.node_id,
                                      CONNECT_TIMEOUT)

    def close(self) -> None:
        self.pool.close()

    def forward(self, c: Any, commands: list[list[bytes]], blocking: bool = False,
                ) -> asyncio.Future:
        """Run the commands there for ``c``; the future gives the last one's reply."""
        return asyncio.get_running_loop().create_task(self._forward(c, commands, blocking))

    async def _forward(self, c: Any, commands: list[list[bytes]], blocking: bool) -> Any:
        request = encode_request(b"PHOTON.FWD", b"3" if c.resp3 else b"2", c.db,
                                 encode_commands(commands))
        try:
            reply = await self.pool.call_raw(request, exclusive=blocking)
        except RedisError as e:  # the login was refused
            return e
        except (OSError, ConnectionError, asyncio.TimeoutError):
            return RedisError(MASTERDOWN)
        if isinstance(reply, hiredis.ReplyError):
            return RedisError(str(reply))
        encoded, flat = reply[0], reply[1]
        marks = dict(zip(flat[::2], flat[1::2]))
        replica = self.node.replica
        if marks and replica is not None:
            # Read your writes: later reads of this client are served here only once this
            # replica applied these offsets (the router forwards them until then).
            for shard, offset in marks.items():
                if offset > c.repl_marks.get(shard, -1):
                    c.repl_marks[shard] = offset
            if not replica.applied(marks):
                timeout = self.node.config.quorum_timeout_ms / 1000
                try:
                    await asyncio.wait_for(asyncio.shield(replica.wait_applied(marks)), timeout)
                except asyncio.TimeoutError:
                    pass
        return Raw(encoded)
