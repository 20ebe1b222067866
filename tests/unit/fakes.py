"""A server on in-memory engines and a client without a socket: unit tests call commands
through the real gate and read the encoded replies."""
from __future__ import annotations

import asyncio

import hiredis

from photon import config as cfg
from photon.client import Client
from photon.server import Server
from photon.storage.memory import MemoryEngine


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()
        self.closed = False
        self.paused = False

    def write(self, data) -> None:
        self.data += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 6379)}.get(
            name, default)


class FakeServer(Server):
    def __init__(self, shards: int = 4, **settings) -> None:
        config = cfg.load({"http_port": "0", "data_dir": "/nonexistent", "node_id": "unit",
                           **{k: str(v) for k, v in settings.items()}}, env={})
        super().__init__(config, engines=[MemoryEngine() for _ in range(shards)],
                         node_id="unit")

    def new_client(self) -> "FakeClient":
        c = FakeClient(self)
        c.connection_made(FakeTransport())
        return c


class FakeClient(Client):
    def data_received(self, data: bytes) -> None:
        """As the event loop would: the turn ends after the read (staged writes are written and
        the replies held for them sent)."""
        super().data_received(data)
        durability = self.server.durability
        if durability.holding:
            durability.end_turn()

    def send(self, *args: bytes | str):
        """Run one command and return its decoded reply (errors as hiredis ReplyError)."""
        argv = [a.encode() if isinstance(a, str) else a for a in args]
        self.transport.data.clear()  # type: ignore[union-attr]
        self.data_received(b"*%d\r\n" % len(argv) +
                           b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in argv))
        reader = hiredis.Reader()
        reader.feed(bytes(self.transport.data))  # type: ignore[union-attr]
        return reader.gets()

    def raw(self, data: bytes) -> bytes:
        self.transport.data.clear()  # type: ignore[union-attr]
        self.data_received(data)
        return bytes(self.transport.data)  # type: ignore[union-attr]
