"""Raw RESP connections for side-by-side comparisons: requests go out as bytes and replies
come back as the exact bytes the server wrote, one whole reply at a time."""
from __future__ import annotations

import socket
import time


def encode_request(*args: bytes | str | int) -> bytes:
    parts = []
    for a in args:
        if isinstance(a, int):
            a = str(a)
        if isinstance(a, str):
            a = a.encode()
        parts.append(b"$%d\r\n%b\r\n" % (len(a), a))
    return b"*%d\r\n" % len(parts) + b"".join(parts)


class ConnectionClosed(Exception):
    pass


class RawConn:
    """One TCP connection; ``call`` sends a command and returns its raw reply bytes."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pos = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RawConn":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def call(self, *args) -> bytes:
        self.send(encode_request(*args))
        return self.read_reply()

    def pipeline(self, commands: list[tuple]) -> list[bytes]:
        self.send(b"".join(encode_request(*c) for c in commands))
        return [self.read_reply() for _ in commands]

    # --- framing ---------------------------------------------------------------------

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionClosed(self.buf[self.pos:])
        if self.pos:
            self.buf = self.buf[self.pos:]
            self.pos = 0
        self.buf += chunk

    def _line(self) -> bytes:
        while True:
            nl = self.buf.find(b"\r\n", self.pos)
            if nl != -1:
                line = self.buf[self.pos:nl]
                self.pos = nl + 2
                return line
            self._fill()

    def _exact(self, n: int) -> bytes:
        while len(self.buf) - self.pos < n:
            self._fill()
        data = self.buf[self.pos:self.pos + n]
        self.pos += n
        return data

    def read_reply(self) -> bytes:
        """The bytes of one whole reply (RESP2 or RESP3), attributes included."""
        line = self._line()
        kind = line[:1]
        out = line + b"\r\n"
        if kind in b"$!=" and kind:
            n = int(line[1:])
            if n >= 0:
                out += self._exact(n + 2)
        elif kind in (b"*", b"~", b">", b"%", b"|"):
            n = int(line[1:])
            if kind in (b"%", b"|"):
                n *= 2
            for _ in range(max(n, 0)):
                out += self.read_reply()
            if kind == b"|":
                out += self.read_reply()
        return out

    def read_all(self, wait: float = 0.3) -> tuple[bytes, bool]:
        """Whatever arrives within ``wait`` seconds, and whether the peer closed."""
        self.sock.settimeout(wait)
        out = self.buf[self.pos:]
        self.buf, self.pos = b"", 0
        try:
            while True:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    return out, True
                out += chunk
        except (socket.timeout, TimeoutError):
            return out, False
        except ConnectionResetError:
            return out, True


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
