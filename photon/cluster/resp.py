"""A small asyncio RESP client over hiredis, for nodes talking to nodes outside the
replication stream (ReplicationManager, discovery). Replies come back as Python values;
error replies are raised as RedisError with their text."""
from __future__ import annotations

import asyncio
import ssl as ssl_module

import hiredis

from photon.errors import RedisError
from photon.replication.stream import request


class RespConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._parser = hiredis.Reader()
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, addr: str, timeout: float = 5.0, password: str | None = None,
                   username: str | None = None, ssl: "ssl_module.SSLContext | None" = None,
                   ) -> "RespConnection":
        host, _, port = addr.rpartition(":")
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host.strip("[]"), int(port), ssl=ssl), timeout)
        conn = cls(reader, writer)
        if password:
            await conn.call(b"AUTH", *([username] if username else []), password)
        return conn

    async def call(self, *args: bytes | str | int):
        argv = [a.encode() if isinstance(a, str) else a for a in args]
        async with self._lock:
            self._writer.write(request(*argv))
            while (reply := self._parser.gets()) is False:
                data = await self._reader.read(1 << 16)
                if not data:
                    raise ConnectionError("connection closed by the node")
                self._parser.feed(data)
        if isinstance(reply, hiredis.ReplyError):
            raise RedisError(str(reply))
        return reply

    async def close(self) -> None:
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except OSError:
            pass
