"""MONITOR: every command a client runs, shown to the clients that asked, as Redis writes it."""
from __future__ import annotations

import time
from typing import Any

from photon.protocol.reply import Status


class Monitors:
    def __init__(self) -> None:
        self.clients: set[Any] = set()

    def __bool__(self) -> bool:
        return bool(self.clients)

    def add(self, c: Any) -> None:
        self.clients.add(c)

    def discard(self, c: Any) -> None:
        self.clients.discard(c)

    def feed(self, c: Any, argv: list[bytes]) -> None:
        args = " ".join('"%s"' % _escape(a) for a in _redacted(argv))
        addr = "unix:" if c.addr.startswith("?") else c.addr
        line = Status(("%.6f [%d %s] %s" % (time.time(), c.db, addr, args)).encode())
        for m in list(self.clients):
            if m is not c:
                m.write(line)


def _redacted(argv: list[bytes]) -> list[bytes]:
    """Secrets Redis 7 never shows to MONITOR: AUTH's arguments, HELLO's AUTH pair."""
    name = argv[0].lower()
    if name == b"auth":
        return [argv[0]] + [b"(redacted)"] * (len(argv) - 1)
    if name == b"hello":
        out = list(argv)
        for i in range(2, len(out) - 2):
            if out[i].lower() == b"auth":
                out[i + 1] = out[i + 2] = b"(redacted)"
        return out
    return argv


_ESCAPES = {ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\r"): "\\r",
            ord("\t"): "\\t", ord("\a"): "\\a", ord("\b"): "\\b"}


def _escape(a: bytes) -> str:
    """sdscatrepr: printable ASCII as is, quotes and backslashes escaped, the rest as \\xHH."""
    out = []
    for b in a:
        esc = _ESCAPES.get(b)
        if esc is not None:
            out.append(esc)
        elif 32 <= b < 127:
            out.append(chr(b))
        else:
            out.append("\\x%02x" % b)
    return "".join(out)
