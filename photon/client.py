"""One client connection: reads requests, runs them in order, writes the replies in one write
per batch, and enforces the per-client limits (query buffer, output buffer)."""
from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from time import monotonic
from typing import TYPE_CHECKING, Any

from photon.commands.dispatch import execute
from photon.protocol.encoder import bulk, encode, encode_error
from photon.protocol.parser import RequestParser
from photon.protocol.reply import NO_REPLY, OK, LaterReply

_OK = b"+OK\r\n"

if TYPE_CHECKING:
    from photon.node import Node

log = logging.getLogger("photon.client")
_ids = itertools.count(1)


class Client:
    """An asyncio protocol (duck-typed: no asyncio.Protocol base, so that the compiled core can
    make it an extension type with its hot fields in C, photon/client.pxd)."""

    def __init__(self, server: "Node", tls: bool = False) -> None:
        self.server = server
        self.id = next(_ids)
        self.db = 0
        self.resp3 = False
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.user = b"default"
        self.authenticated = not server.security.auth_required()
        self.parser = RequestParser(server.config.proto_max_bulk_len)
        self.parser.auth_required = not self.authenticated
        self.acl: Any = None  # the User when its ACL rules restrict it (None: may run all)
        self.peer = False  # proved the cluster secret (PHOTON.AUTH): internal commands ok
        self.multi: list | None = None
        self.multi_dirty = False
        self.watched: dict[tuple[int, bytes], bool] = {}  # key -> was live when watched
        self.watch_dirty = False
        self.subscribed = 0
        self.channels: set[bytes] = set()
        self.patterns: set[bytes] = set()
        self.kind = "normal"
        self.in_exec = False
        self.tls = tls
        self.out: list[bytes] = []
        self.transport: asyncio.Transport | None = None
        self.closing = False
        self.closed = False
        self.blocked: asyncio.Future | None = None
        self.backlog: deque[list[bytes]] = deque()
        # Replies held behind a write's quorum wait, in order: encoded replies and the waits'
        # futures (None: nothing waits, replies go straight to ``out``).
        self.waiting: deque[bytes | LaterReply] | None = None
        self.held: list[bytes] = []  # input that arrived while blocked
        self.held_bytes = 0
        self.created = time.time()
        self.last_interaction = monotonic()
        self.last_cmd: Any = None  # the last Command run
        self.soft_limit_since = 0.0
        self.addr = "?:0"
        self.laddr = "?:0"
        self.fd = -1
        self.extra: dict[str, Any] = {}
        self.direct_replica = False  # READONLY: reads here, writes refused, not forwarded
        self.forwarded = False  # running commands another node passed on (PHOTON.FWD)
        self.in_failover_wait = False  # re-running a command while its group fails over
        self.repl_marks: dict[int, int] = {}  # shard -> offset of this client's last writes

    # --- asyncio callbacks -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        self.addr = _fmt_addr(peer)
        self.laddr = _fmt_addr(sock)
        sockobj = transport.get_extra_info("socket")
        self.fd = sockobj.fileno() if sockobj is not None else -1
        refusal = self.server.client_connected(self)
        if refusal is not None:
            transport.write(encode_error(refusal))  # type: ignore[attr-defined]
            transport.close()
            self.closed = True

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        server = self.server
        server.stats.net_input += len(data)
        self.last_interaction = monotonic()
        if self.blocked is not None:
            # Keep reading while blocked, as Redis does, so a hang-up is noticed; the input
            # waits unparsed until the client runs again.
            self.held.append(data)
            self.held_bytes += len(data)
            if self.held_bytes > server.config.client_query_buffer_limit:
                self._query_buffer_full()
            return
        self._consume(data)

    def _consume(self, data: bytes) -> None:
        parser = self.parser
        requests = parser.feed(data)
        if requests:
            if self.blocked is not None or self.backlog:
                self.backlog.extend(requests)
            else:
                self.run(requests)
        if parser.error is not None:
            # After QUIT (or a close) Redis reads no further, so a later error is never sent.
            if self.blocked is None and not self.backlog and not self.closing:
                self.protocol_error()
        elif parser.partial and parser.pending > self.server.config.client_query_buffer_limit:
            self._query_buffer_full()
            return
        if self.out:
            self.flush()

    def _query_buffer_full(self) -> None:
        log.warning("Closing client that reached max query buffer length: %s", self.describe())
        self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.blocked is not None and not self.blocked.done():
            self.blocked.cancel()
        self.server.client_disconnected(self)

    def eof_received(self) -> bool | None:
        return None  # asyncio.Protocol's: the transport closes itself

    def pause_writing(self) -> None:
        pass

    def resume_writing(self) -> None:
        pass

    # --- running commands --------------------------------------------------------------

    def run(self, requests: list[list[bytes]] | deque) -> None:
        out = self.out if self.waiting is None else self.waiting
        self.server.keyspace.tick()
        for i, argv in enumerate(requests):
            reply = execute(self, argv)
            # The commonest replies are encoded here rather than by encode(): a bulk string
            # (GET), +OK (SET), an integer (HSET, LPUSH, SADD...).
            t = type(reply)
            if t is bytes:
                out.append(bulk(reply))
            elif reply is OK:
                out.append(_OK)
            elif t is int:
                out.append(b":%d\r\n" % reply)
            elif reply is NO_REPLY:
                pass
            elif t is LaterReply:
                out = self._later(reply)
            elif isinstance(reply, asyncio.Future):
                self.block(reply, list(requests)[i + 1:])
                return
            else:
                out.append(encode(reply, self.resp3))
            if self.closing:
                return

    def _later(self, fut: LaterReply) -> deque:
        """A write's reply waits for its quorum, but the write is applied: the next requests
        run now (and read it), and their replies queue behind this one, as Redis executes a
        whole pipeline and sends the replies in order. Returns the queue."""
        waiting = self.waiting
        if waiting is None:
            waiting = self.waiting = deque()
        waiting.append(fut)
        fut.add_done_callback(self._reply_ready)
        return waiting

    def _reply_ready(self, fut: LaterReply) -> None:
        if self.closed or self.waiting is None:
            return
        self._release()
        self.flush()

    def _release(self) -> None:
        """Move the replies at the head of the queue that are ready into ``out``."""
        waiting, out = self.waiting, self.out
        while waiting:
            head = waiting[0]
            if type(head) is bytes:
                out.append(waiting.popleft())
                continue
            if not head.done():  # type: ignore[union-attr]
                return
            waiting.popleft()
            if not head.cancelled():  # type: ignore[union-attr]
                exc = head.exception()  # type: ignore[union-attr]
                out.append(encode(exc if exc is not None else head.result(),  # type: ignore
                                  self.resp3))
        self.waiting = None

    def _reply(self, data: bytes) -> None:
        """An encoded reply, after any that still wait for their quorum."""
        (self.out if self.waiting is None else self.waiting).append(data)

    def block(self, fut: asyncio.Future, rest: list[list[bytes]]) -> None:
        """Stop running this client's requests until ``fut`` gives the reply (blocking pops,
        WAIT, a command passed to another node, CLIENT PAUSE); later requests wait in order,
        as in Redis."""
        self.blocked = fut
        self.backlog.extendleft(reversed(rest))
        fut.add_done_callback(self._unblock)

    def _unblock(self, fut: asyncio.Future) -> None:
        self.blocked = None
        if self.closed:
            return
        if not fut.cancelled():
            exc = fut.exception()
            reply = exc if exc is not None else fut.result()
            if reply is not NO_REPLY:
                self._reply(encode(reply, self.resp3))
        while self.backlog and self.blocked is None and not self.closing:
            argv = self.backlog.popleft()
            self.run([argv])
        if self.blocked is None and not self.closing:
            if self.parser.error is not None:
                self.protocol_error()
            elif self.held:
                data = b"".join(self.held)
                self.held.clear()
                self.held_bytes = 0
                self._consume(data)
                return
        self.flush()

    def protocol_error(self) -> None:
        parser = self.parser
        if getattr(parser.error, "deferred", False):
            # An AUTH/HELLO ran before a request too big for an unauthenticated client:
            # read on with the limits that now apply, as Redis reads one request at a time.
            parser.error = None
            requests = parser.feed(b"")
            if requests:
                self.run(requests)
            if parser.error is not None and self.blocked is None and not self.backlog:
                self.protocol_error()
            return
        self._reply(encode_error(parser.error.message))  # type: ignore[union-attr]
        log.debug("Protocol error from client %s", self.describe())
        self.closing = True

    # --- output ------------------------------------------------------------------------

    def write(self, reply: Any) -> None:
        """Send an out-of-band reply (a pub/sub message, a MONITOR line) now."""
        if self.closed:
            return
        self.out.append(encode(reply, self.resp3))
        self.flush()

    def flush(self) -> None:
        transport = self.transport
        if transport is None or self.closed:
            return
        out = self.out
        if out:
            server = self.server
            durability = server.durability
            if (durability.holding or durability.always) and durability.must_hold(self):
                return
            data = b"".join(out) if len(out) > 1 else out[0]
            out.clear()
            transport.write(data)
            server.stats.net_output += len(data)
            pending = transport.get_write_buffer_size()
            if (pending or self.soft_limit_since) and server.output_limit_exceeded(self, pending):
                return
        if self.closing and self.waiting is None:  # QUIT: after the replies still waiting
            transport.close()

    def close(self) -> None:
        """Close after what was already queued is written (replies still waiting for their
        quorum are dropped, as a blocked client's reply is)."""
        self.closing = True
        self.waiting = None
        self.flush()

    def abort(self) -> None:
        self.closing = True
        self.waiting = None
        self.out.clear()
        if self.transport is not None:
            self.transport.abort()

    # --- introspection -----------------------------------------------------------------

    def flags(self) -> str:
        f = ""
        if self.kind == "replica":
            f += "S"
        if self.kind == "master":
            f += "M"
        if self.kind == "monitor":
            f += "O"
        if self.subscribed:
            f += "P"
        if self.multi is not None:
            f += "x"
        if self.blocked is not None:
            f += "b"
        if self.watch_dirty:
            f += "d"
        if self.closing:
            f += "c"
        return f or "N"

    def describe(self) -> str:
        """A CLIENT LIST line, field for field as Redis 7.0 writes it."""
        now = time.time()
        qbuf = self.parser.pending
        obl = sum(map(len, self.out))
        omem = self.transport.get_write_buffer_size() if self.transport else 0
        cmd = self.last_cmd.name if self.last_cmd is not None else "NULL"
        ssub = len(self.extra["pubsub"].shards) if "pubsub" in self.extra else 0
        return (
            f"id={self.id} addr={self.addr} laddr={self.laddr} fd={self.fd} "
            f"name={self.name.decode('utf-8', 'replace')} age={int(now - self.created)} "
            f"idle={int(time.monotonic() - self.last_interaction)} flags={self.flags()} "
            f"db={self.db} sub={len(self.channels)} psub={len(self.patterns)} ssub={ssub} "
            f"multi={len(self.multi) if self.multi is not None else -1} qbuf={qbuf} "
            f"qbuf-free={max(0, 32768 - qbuf)} argv-mem=0 multi-mem=0 rbs={max(1024, qbuf)} "
            f"rbp={qbuf} obl={obl} oll=0 omem={omem} tot-mem={omem + qbuf + 2048} "
            f"events=r cmd={cmd} user={self.user.decode('utf-8', 'replace')} redir=-1 "
            f"resp={3 if self.resp3 else 2}"
            + (f" lib-name={self.lib_name.decode()} lib-ver={self.lib_ver.decode()}"
               if self.lib_name or self.lib_ver else "")
        )


def _fmt_addr(addr: Any) -> str:
    if not addr:
        return "?:0"
    if isinstance(addr, str):
        return addr + ":0"
    host, port = addr[0], addr[1]
    return f"{host}:{port}"
