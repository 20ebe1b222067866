"""Reply value types: commands return plain Python values, and these mark the RESP shapes that
plain values cannot say (status lines, verbatim text, sets, pushes, the RESP2 null array)."""
from __future__ import annotations

import asyncio


class Status(bytes):
    """A simple string (``+OK``)."""

    __slots__ = ()


class Verbatim(bytes):
    """Text Redis sends as a RESP3 verbatim string (INFO, CLIENT LIST) and a bulk string in RESP2."""

    __slots__ = ()


class SetReply(list):
    """A RESP3 set (``~``); an array in RESP2."""

    __slots__ = ()


class Push(list):
    """An out-of-band push (pub/sub messages): ``>`` in RESP3, an array in RESP2."""

    __slots__ = ()


class Double(float):
    """A score or float reply: ``,`` in RESP3, a bulk string in RESP2."""

    __slots__ = ()


class Raw(bytes):
    """Bytes that are already RESP-encoded (a relayed reply)."""

    __slots__ = ()


class LaterReply(asyncio.Future):
    """A reply that comes later while the connection goes on: a write's quorum wait (the
    write is applied). The client runs its next requests and sends their replies after this
    one; any other future a command returns (a blocking pop, WAIT, a forwarded command) holds
    the client's later requests until it is done."""

    __slots__ = ()


class _NullArray:
    """The RESP2 null array (``*-1``): BLPOP timeouts, aborted EXEC. RESP3 has one null."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY = _NullArray()
OK = Status(b"OK")
QUEUED = Status(b"QUEUED")
PONG = Status(b"PONG")


class NoReply:
    """Returned by a command that answers later or never (QUIT closes after its own reply)."""

    __slots__ = ()


NO_REPLY = NoReply()
