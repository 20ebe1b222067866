"""Encoding replies: the one place that turns Python values into RESP2 or RESP3 bytes."""
from __future__ import annotations

import math

try:
    import cython
except ImportError:
    from photon.util import cython_shim as cython

from photon.errors import RedisError
from photon.protocol.reply import (
    NULL_ARRAY, Double, Push, Raw, SetReply, Status, Verbatim,
)

_OK = b"+OK\r\n"


def format_double(d: float) -> bytes:
    """Redis 7.0 prints doubles with ``%.17g`` and spells infinities ``inf``/``-inf``."""
    if math.isinf(d):
        return b"inf" if d > 0 else b"-inf"
    return b"%.17g" % d


def bulk(value: bytes) -> bytes:
    """A bulk string. Compiled, it is written in C: bytes' % formatting costs more than the
    rest of a GET's reply path."""
    if cython.compiled:
        n = len(value)
        digits = 1
        t = n
        while t >= 10:
            t //= 10
            digits += 1
        out = PyBytes_FromStringAndSize(cython.NULL, n + digits + 5)
        p = PyBytes_AS_STRING(out)
        p[0] = 36  # $
        i = digits
        t = n
        while i > 0:
            p[i] = 48 + t % 10
            t //= 10
            i -= 1
        p[digits + 1] = 13
        p[digits + 2] = 10
        memcpy(p + digits + 3, PyBytes_AS_STRING(value), n)
        p[n + digits + 3] = 13
        p[n + digits + 4] = 10
        return out
    return b"$%d\r\n%b\r\n" % (len(value), value)


def encode(value: object, resp3: bool) -> bytes:
    t = type(value)
    if t is bytes:
        return bulk(value)  # type: ignore[arg-type]
    if t is Status:
        return _OK if value == b"OK" else b"+%b\r\n" % value  # type: ignore[str-bytes-safe]
    if t is int:
        return b":%d\r\n" % value  # type: ignore[str-format]
    if value is None:
        return b"_\r\n" if resp3 else b"$-1\r\n"
    out: list[bytes] = []
    _encode(value, resp3, out)
    return b"".join(out)


def _encode(value: object, resp3: bool, out: list[bytes]) -> None:
    t = type(value)
    append = out.append
    if t is bytes:
        append(bulk(value))  # type: ignore[arg-type]
    elif t is int:
        append(b":%d\r\n" % value)  # type: ignore[str-format]
    elif t is list or t is tuple:
        append(b"*%d\r\n" % len(value))  # type: ignore[arg-type]
        for item in value:  # type: ignore[attr-defined]
            _encode(item, resp3, out)
    elif value is None:
        append(b"_\r\n" if resp3 else b"$-1\r\n")
    elif t is Status:
        append(b"+%b\r\n" % value)  # type: ignore[str-bytes-safe]
    elif t is str:
        data = value.encode()  # type: ignore[attr-defined]
        append(bulk(data))
    elif t is dict:
        if resp3:
            append(b"%%%d\r\n" % len(value))  # type: ignore[arg-type]
        else:
            append(b"*%d\r\n" % (2 * len(value)))  # type: ignore[arg-type]
        for k, v in value.items():  # type: ignore[attr-defined]
            _encode(k, resp3, out)
            _encode(v, resp3, out)
    elif t is bool:
        append((b"#t\r\n" if value else b"#f\r\n") if resp3 else (b":1\r\n" if value else b":0\r\n"))
    elif t is Double or t is float:
        text = format_double(value)  # type: ignore[arg-type]
        append(b",%b\r\n" % text if resp3 else bulk(text))
    elif t is SetReply or t is set or t is frozenset:
        append((b"~%d\r\n" if resp3 else b"*%d\r\n") % len(value))  # type: ignore[arg-type]
        for item in value:  # type: ignore[attr-defined]
            _encode(item, resp3, out)
    elif t is Push:
        append((b">%d\r\n" if resp3 else b"*%d\r\n") % len(value))  # type: ignore[arg-type]
        for item in value:  # type: ignore[attr-defined]
            _encode(item, resp3, out)
    elif t is Verbatim:
        if resp3:
            append(b"=%d\r\ntxt:%b\r\n" % (len(value) + 4, value))  # type: ignore[arg-type]
        else:
            append(b"$%d\r\n%b\r\n" % (len(value), value))  # type: ignore[arg-type]
    elif value is NULL_ARRAY:
        append(b"_\r\n" if resp3 else b"*-1\r\n")
    elif isinstance(value, RedisError):
        append(b"-%b\r\n" % _one_line(value.message))
    elif t is Raw:
        append(value)  # type: ignore[arg-type]
    elif isinstance(value, int):
        append(b":%d\r\n" % value)
    else:
        raise TypeError(f"cannot encode {t.__name__} as a reply")


def _one_line(message: str) -> bytes:
    """Redis replaces newlines in error text so the reply stays one line."""
    return message.replace("\r", " ").replace("\n", " ").encode("utf-8", "surrogateescape")


def encode_error(message: str) -> bytes:
    return b"-%b\r\n" % _one_line(message)


def encode_request(*items: bytes | int) -> bytes:
    """A command as a client sends it: every argument a bulk string."""
    args = [x if isinstance(x, bytes) else b"%d" % x for x in items]
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)
