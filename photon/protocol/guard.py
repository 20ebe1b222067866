"""hiredis readers that refuse huge aggregate headers.

hiredis allocates a reply array as soon as it reads ``*<count>`` (and ``~``/``>``), before any
element arrived: ``*2000000000\\r\\n`` makes it calloc 16 GB, and freeing that half-built array
walks every slot (seconds with the event loop stopped). The C reader has a ``maxelements``
limit, but hiredis-py does not expose it, so we set it through ctypes on every reader we create
-- after checking, once, on a probe reader, that the field is exactly where hiredis 1.x puts it
(right after ``maxbuf``, which we can set to a marker through the public API) and that a huge
header is then refused. When that check fails, ``GUARDED`` is False and the request parser
screens the bytes itself before handing them to hiredis.

Refused headers are not errors for clients: the parser then reads the request with its own
Python reader, which never allocates ahead of the data (and applies Redis's limits).
"""
from __future__ import annotations

import ctypes
import logging
import sys

import hiredis

log = logging.getLogger("photon.security")

MAX_ELEMENTS = 1 << 16  # larger requests arrive over several reads anyway
_HEAD = object.__basicsize__  # PyObject_HEAD: the redisReader pointer follows it
_MAXBUF_MARK = 0x5EC0_FFEE_D00D
_DEFAULT_MAXELEMENTS = (1 << 32) - 1  # REDIS_READER_MAX_ARRAY_ELEMENTS
_offset: int | None = None  # of maxelements inside redisReader


def _reader_struct(r: hiredis.Reader) -> int:
    return ctypes.c_void_p.from_address(id(r) + _HEAD).value or 0


def _probe() -> int | None:
    if sys.implementation.name != "cpython" or ctypes.sizeof(ctypes.c_void_p) != 8:
        return None
    if hiredis.Reader.__basicsize__ < _HEAD + 8:
        return None
    r = hiredis.Reader()
    original = r.getmaxbuf()
    r.setmaxbuf(_MAXBUF_MARK)
    base = _reader_struct(r)
    if not base:
        return None
    found = None
    for off in range(128, 200, 8):
        if (ctypes.c_size_t.from_address(base + off).value == _MAXBUF_MARK
                and ctypes.c_longlong.from_address(base + off + 8).value
                == _DEFAULT_MAXELEMENTS):
            found = off + 8
            break
    r.setmaxbuf(original)
    if found is None:
        return None
    # Prove it: a guarded reader refuses a huge header and still reads normal requests.
    test = hiredis.Reader()
    ctypes.c_longlong.from_address(_reader_struct(test) + found).value = MAX_ELEMENTS
    test.feed(b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n")
    if test.gets() != [b"a", b"b", b"c"]:
        return None
    test.feed(b"*100000000\r\n")
    try:
        test.gets()
    except hiredis.ProtocolError:
        return found
    return None


try:
    _offset = _probe()
except Exception:  # never let a probe stop the server; the parser screens instead
    _offset = None

GUARDED = _offset is not None
if not GUARDED:
    log.warning("hiredis %s: cannot limit array sizes; screening requests in Python",
                getattr(hiredis, "__version__", "?"))


_Reader = hiredis.Reader
_pointer_at = ctypes.c_void_p.from_address
_longlong_at = ctypes.c_longlong.from_address


def new_reader() -> hiredis.Reader:
    """A hiredis Reader that refuses aggregates of more than MAX_ELEMENTS elements."""
    r = _Reader()
    if _offset is not None:
        _longlong_at(_pointer_at(id(r) + _HEAD).value + _offset).value = MAX_ELEMENTS
    return r
