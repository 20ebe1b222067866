"""Reading client requests.

The reader here follows Redis's networking.c step by step, so limits are checked before
anything is buffered and errors carry Redis's exact text. Compiled (photon/compiled.py), it
reads every request, scanning the bytes in C. As plain Python it is slower than hiredis, so
hiredis parses the common case (whole RESP arrays in one read) and this reader takes whatever
hiredis cannot vouch for: inline commands, a request split across reads, anything malformed,
or a client that has not authenticated yet.
"""
from __future__ import annotations

import re

try:
    import cython
except ImportError:
    from photon.util import cython_shim as cython

from photon.errors import ProtocolError
from photon.protocol.guard import GUARDED, new_reader
from photon.util.numbers import string2ll
from photon.util.splitargs import split_args

INLINE_MAX = 64 * 1024
MULTIBULK_MAX = 2147483647
UNAUTH_MULTIBULK_MAX = 10
UNAUTH_BULK_MAX = 16384
ARG_OVERHEAD = 48  # memory an argument costs beyond its bytes, counted in the query buffer
INVALID = -(1 << 63)  # _number's answer for what string2ll refuses
# An array header with six or more digits: hiredis would allocate the whole list up front,
# so such input goes to the Python reader, which checks the count and allocates nothing.
# Only needed when photon.protocol.guard cannot cap hiredis's readers (GUARDED is False): such
# input skips hiredis.
_BIG_ARRAY = re.compile(rb"[*~>%|]-?[0-9]{6}")


# Decimal digits of n for the small numbers requests carry (argument counts, lengths), so
# the canonical-length check below needs no str() per argument.
_DIGITS = [len(str(n)) for n in range(4096)]


def wire_length(requests: list[list[bytes]]) -> int:
    """Bytes the requests take when canonically encoded, to find where hiredis stopped.

    Each request is ``*<n>\r\n`` then ``$<len>\r\n<arg>\r\n`` per argument. Anything but a
    bulk string (a nested array, a map, an integer...), which hiredis accepts inside a request
    and Redis refuses, raises TypeError. A plain loop with a digits table: measured 0.75 us for
    a 3-argument SET and 5.5 us for 16 of them, against 1.7 and 9.8 us for map/chain/repr in C
    (their per-call overheads dominate at these sizes).
    """
    total = 0
    digits = _DIGITS
    for req in requests:
        n = len(req)
        total += 3 + (digits[n] if n < 4096 else len(str(n)))
        for arg in req:
            if type(arg) is not bytes:
                raise TypeError("not a bulk string")
            size = len(arg)
            total += size + 5 + (digits[size] if size < 4096 else len(str(size)))
    return total


class DeferredLimit(ProtocolError):
    """An unauthenticated limit hit by a request that follows an AUTH or HELLO read in the
    same batch: the client reads that request again once the AUTH has run (Redis parses one
    request at a time, so the AUTH decides which limits apply to the next one)."""

    deferred = True


class RequestParser:
    """Turns bytes from one connection into argument vectors, in order."""

    __slots__ = ("max_bulk", "auth_required", "_reader", "_buf", "_pos", "_left", "_bulk",
                 "_args", "_argbytes", "error", "partial")

    def __init__(self, max_bulk: int = 512 * 1024 * 1024) -> None:
        self.max_bulk = max_bulk
        self.auth_required = False
        self._reader = new_reader()
        self._buf = bytearray()
        self._pos = 0
        self._left = 0
        self._bulk = -1
        self._args: list[bytes] = []
        self._argbytes = 0  # memory held by the arguments of the unfinished request
        self.error: ProtocolError | None = None
        self.partial = False  # holds bytes of an unfinished request (``pending`` may be > 0)

    @property
    def pending(self) -> int:
        """Bytes received but not yet part of a whole request (the query buffer), counting
        the arguments already read of an unfinished one."""
        return len(self._buf) - self._pos + self._argbytes

    def feed(self, data: bytes) -> list[list[bytes]]:
        """Complete requests in ``data``; after a protocol error, ``error`` is set and the
        requests before it are still returned, as Redis runs them before replying the error."""
        if self.error is not None:
            return []
        if cython.compiled:
            self._buf += data
            return self._parse()
        if (not self._buf and not self._left and not self.auth_required and data[:1] == b"*"
                and (GUARDED or _BIG_ARRAY.search(data) is None)):
            reader = self._reader
            reader.feed(data)
            gets = reader.gets
            requests: list[list[bytes]] = []
            try:
                while (req := gets()) is not False:
                    if type(req) is not list:
                        raise TypeError
                    requests.append(req)
                # Canonical lengths add up to the data exactly when every request was
                # well-formed (bulk arguments only, no stray types or padded lengths) and the
                # data ended between requests; a TypeError means a non-bulk element.
                used = wire_length(requests)
            except Exception:
                used = -1
            if used == len(data):
                return requests if all(requests) else [r for r in requests if r]
            self._reader = new_reader()
            if used <= 0 or used > len(data) or data[used:used + 1] != b"*":
                self._buf += data  # malformed or unusual: the exact reader decides
                return self._parse()
            self._buf += data[used:]
            return [r for r in requests if r] + self._parse()
        self._buf += data
        return self._parse()

    def _fail(self, detail: str) -> None:
        self.error = ProtocolError(detail)

    def _parse(self) -> list[list[bytes]]:
        buf = self._buf
        p = buf  # compiled: a pointer to buf's bytes (parser.pxd); nothing resizes buf here
        pos = self._pos
        end = len(buf)
        out: list[list[bytes]] = []
        start = -1  # where the request being read began, when it began in this call
        while pos < end:
            if self._left == 0:
                if buf[pos] != 42:  # inline command
                    nl = buf.find(b"\n", pos)
                    if nl != -1 and buf.find(b"\0", pos, nl) != -1:
                        nl = -1  # Redis looks for the newline with strchr: a NUL ends the search
                    if nl == -1:
                        if end - pos > INLINE_MAX:
                            self._fail("too big inline request")
                        break
                    line = bytes(buf[pos:nl - 1 if nl > pos and buf[nl - 1] == 13 else nl])
                    pos = nl + 1
                    args = split_args(line)
                    if args is None:
                        self._fail("unbalanced quotes in request")
                        break
                    if args:
                        out.append(args)
                    continue
                nl = _find_cr(buf, p, pos, end)
                if nl == -1:
                    if end - pos > INLINE_MAX:
                        self._fail("too big mbulk count string")
                    break
                if nl + 1 >= end:
                    break
                count = _number(buf, p, pos + 1, nl)
                if count == INVALID or count > MULTIBULK_MAX:
                    self._fail("invalid multibulk length")
                    break
                if count > UNAUTH_MULTIBULK_MAX and self.auth_required:
                    if _authenticates(out):
                        self.error = DeferredLimit("unauthenticated multibulk length")
                    else:
                        self._fail("unauthenticated multibulk length")
                    break
                start = pos
                pos = nl + 2
                if count <= 0:
                    continue
                self._left = count
                self._args = []
            while self._left:
                if self._bulk < 0:
                    nl = _find_cr(buf, p, pos, end)
                    if nl == -1:
                        if end - pos > INLINE_MAX:
                            self._fail("too big bulk count string")
                        break
                    if nl + 1 >= end:
                        break
                    if buf[pos] != 36:
                        self._fail("expected '$', got '%s'" % chr(buf[pos]))
                        break
                    length = _number(buf, p, pos + 1, nl)
                    if length < 0 or length > self.max_bulk:
                        self._fail("invalid bulk length")
                        break
                    if length > UNAUTH_BULK_MAX and self.auth_required:
                        if start >= 0 and _authenticates(out):
                            self.error = DeferredLimit("unauthenticated bulk length")
                            pos = start
                            self._left = 0
                            self._args = []
                            self._argbytes = 0
                        else:
                            self._fail("unauthenticated bulk length")
                        break
                    pos = nl + 2
                    self._bulk = length
                size = self._bulk
                if end - pos < size + 2:
                    break
                if cython.compiled:
                    self._args.append(p[pos:pos + size])
                else:
                    self._args.append(bytes(buf[pos:pos + size]))
                self._argbytes += size + ARG_OVERHEAD
                pos += size + 2
                self._bulk = -1
                self._left -= 1
            if self.error is not None or self._left:
                break
            out.append(self._args)
            self._argbytes = 0
        if pos >= end:
            buf.clear()
            self._pos = 0
        elif pos > 65536 or self.error is not None:
            del buf[:pos]
            self._pos = 0
        else:
            self._pos = pos
        self.partial = bool(buf) or self._argbytes > 0
        return out


def _find_cr(buf: bytearray, p, start: int, end: int) -> int:
    """buf.find(b"\r", start, end); ``p`` is buf, or its bytes compiled."""
    if cython.compiled:
        at = memchr(p + start, 13, end - start)
        return -1 if at == cython.NULL else cython.cast(cython.p_uchar, at) - p
    return buf.find(b"\r", start, end)


def _number(buf: bytearray, p, start: int, end: int) -> int:
    """string2ll of buf[start:end], INVALID for None (an int64's least value, which string2ll
    may also give, is -1 here: both are empty arrays and bad lengths); compiled, plain digits
    are read in C."""
    if cython.compiled:
        n = end - start
        if 0 < n <= 18 and (p[start] != 48 or n == 1):
            v = 0
            i = start
            while i < end:
                c = p[i]
                if c < 48 or c > 57:
                    break
                v = v * 10 + (c - 48)
                i += 1
            if i == end:
                return v
    parsed = string2ll(bytes(buf[start:end]))
    if parsed is None:
        return INVALID
    return -1 if parsed == INVALID else parsed


def _authenticates(requests: list[list[bytes]]) -> bool:
    return any(r[0].lower() in (b"auth", b"hello") for r in requests)
