"""Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN...), served first-come first-served.

A blocking command first tries to run at once; when it cannot, it calls ``block`` with a
``serve`` function and returns the future this gives. Whenever a command changes keys, the
waiters on those keys are offered them in the order they blocked: ``serve`` runs the pop for
its client and returns the reply, or None if the key still has nothing for it.

Redis's rules, kept here:

* Keys become "ready" in the order commands touched them; the waiters of one ready key are
  served in the order they blocked, and a waiter is served from that ready key (``block(...,
  keyed=True)`` passes it to ``serve``).
* Writes made while serving (BLMOVE's push) make more keys ready; those are served after the
  keys already queued, never recursively.
* Nothing is served in the middle of a MULTI/EXEC (or while ``hold`` is held, for scripts):
  the keys wait until the transaction ends, so a transaction that pushes and pops again leaves
  nothing for blocked clients.
* A waiter whose client has hung up is dropped, not served: a dead connection must not take
  an element. The connection stops reading while blocked, so this is checked on the socket.
"""
from __future__ import annotations

import asyncio
import logging
import math
import re
import select
from collections import deque
from collections.abc import Callable
from contextlib import contextmanager
from fractions import Fraction
from typing import Any

from photon.errors import RedisError

log = logging.getLogger("photon.blocking")

Serve = Callable[..., Any]

_HANGUP = getattr(select, "POLLRDHUP", 0x2000) | select.POLLHUP | select.POLLERR | \
    select.POLLNVAL
# Longer timeouts than this are waited without a timer (Redis: they never fire either).
_MAX_TIMER_S = 10 * 365 * 86400


class Waiter:
    __slots__ = ("client", "db", "keys", "serve", "future", "timer", "keyed", "on_timeout")

    def __init__(self, client, db: int, keys: list[bytes], serve: Serve,
                 future: asyncio.Future, keyed: bool = False, on_timeout: Any = None) -> None:
        self.client = client
        self.db = db
        self.keys = keys
        self.serve = serve
        self.future = future
        self.timer: asyncio.TimerHandle | None = None
        self.keyed = keyed
        self.on_timeout = on_timeout


class Blocking:
    """The waiters of one server, by (db, key)."""

    def __init__(self, server) -> None:
        self.server = server
        self.by_key: dict[tuple[int, bytes], list[Waiter]] = {}
        self.by_client: dict[int, Waiter] = {}
        self.ready: deque[tuple[int, bytes]] = deque()
        self.queued: set[tuple[int, bytes]] = set()
        self.serving = False
        self.holds = 0
        self.drain_scheduled = False
        self.served = 0
        self.timeouts = 0
        self._sweep_tick = 0

    # --- registry ------------------------------------------------------------------------

    def add(self, w: Waiter) -> None:
        for key in dict.fromkeys(w.keys):
            self.by_key.setdefault((w.db, key), []).append(w)
        self.by_client[id(w.client)] = w

    def remove(self, w: Waiter) -> None:
        for key in dict.fromkeys(w.keys):
            waiters = self.by_key.get((w.db, key))
            if waiters is not None:
                try:
                    waiters.remove(w)
                except ValueError:
                    pass
                if not waiters:
                    del self.by_key[(w.db, key)]
        if self.by_client.get(id(w.client)) is w:
            del self.by_client[id(w.client)]
        if w.timer is not None:
            w.timer.cancel()
            w.timer = None

    def waiter_of(self, client) -> Waiter | None:
        w = self.by_client.get(id(client))
        return w if w is not None and w.client is client else None

    def blocked_keys(self) -> int:
        return len(self.by_key)

    # --- serving -------------------------------------------------------------------------

    def keys_changed(self, touched: list[tuple[int, bytes]]) -> None:
        """Touch hook: queue the changed keys that have waiters, then serve them unless a
        transaction is running (then they wait for its end)."""
        if not self.by_key:
            return
        for dbkey in touched:
            if dbkey in self.by_key and dbkey not in self.queued:
                self.queued.add(dbkey)
                self.ready.append(dbkey)
        if self.ready and not self.serving:
            if self._held():
                self._schedule_drain()
            else:
                self.drain()

    def databases_changed(self, dbs) -> None:
        """SWAPDB and the like replace whole databases: every waited key in them may now hold
        data (Redis signals them all as ready)."""
        dbs = set(dbs)
        self.keys_changed([dbkey for dbkey in self.by_key if dbkey[0] in dbs])

    def _held(self) -> bool:
        if self.holds:
            return True
        for c in self.server.clients.values():
            if c.in_exec:
                return True
        return False

    def _schedule_drain(self) -> None:
        if self.drain_scheduled:
            return
        self.drain_scheduled = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (unit tests): the next touch drains
            self.drain_scheduled = False
            return
        loop.call_soon(self._scheduled_drain)

    def _scheduled_drain(self) -> None:
        self.drain_scheduled = False
        if self.ready and not self.serving:
            if self._held():
                self._schedule_drain()
            else:
                self.drain()

    def drain(self) -> None:
        """Serve the ready keys in order; keys readied meanwhile join the end of the queue."""
        self.serving = True
        try:
            while self.ready:
                dbkey = self.ready.popleft()
                self.queued.discard(dbkey)
                waiters = self.by_key.get(dbkey)
                if not waiters:
                    continue
                for w in list(waiters):
                    if w.future.done() or self.by_client.get(id(w.client)) is not w:
                        continue
                    self._serve_one(w, dbkey[1])
        finally:
            self.serving = False

    def _serve_one(self, w: Waiter, key: bytes) -> None:
        server = self.server
        ks = server.keyspace
        if ks.pending:
            ks.commit()  # whatever came before is not this pop's to undo
        ks.tick()
        try:
            reply = w.serve(key) if w.keyed else w.serve()
            if reply is not None and _gone(w.client):
                # Checked only once there is something to give, to spare a poll per waiter
                # on every touch: a hung-up client must not take the element.
                ks.rollback()
                self._drop_dead(w)
                return
            ks.commit()
        except RedisError as e:
            ks.commit()
            server.stats.error(e.message)
            reply = e
        except Exception as e:  # a bug in serve: keep the data consistent, tell the client
            ks.rollback()
            log.exception("serving a blocked client failed")
            reply = RedisError(f"ERR internal error in blocked command: {type(e).__name__}")
        if reply is None:
            return
        self.remove(w)
        self.served += 1
        if ks.marks:  # the pop is a write: answer it once the quorum holds it
            marks, ks.marks = ks.marks, {}
            reply = server.after_write(w.client, reply, marks, write=True)
        if isinstance(reply, asyncio.Future):
            reply.add_done_callback(lambda f, out=w.future: out.done() or out.set_result(
                f.result()))
        else:
            w.future.set_result(reply)
        if ks.touched:
            server.keys_touched()  # re-enters keys_changed, which only queues while serving

    # --- dead clients, timeouts, CLIENT UNBLOCK ------------------------------------------

    def _drop_dead(self, w: Waiter) -> None:
        """Forget a hung-up client: close it without running what it had pipelined."""
        self.remove(w)
        if not w.client.closed:
            w.client.abort()
        if not w.future.done():
            w.future.cancel()

    def cron(self) -> None:
        """About once a second, forget waiters whose clients hung up while blocked."""
        self._sweep_tick += 1
        if self._sweep_tick < getattr(self.server.config, "hz", 10):
            return
        self._sweep_tick = 0
        self.sweep()

    def sweep(self) -> int:
        if not self.by_client:
            return 0
        poller = select.poll()
        by_fd: dict[int, Waiter] = {}
        dead = []
        for w in list(self.by_client.values()):
            if w.client.closed or w.client.closing:
                dead.append(w)
            elif w.client.fd >= 0:
                by_fd[w.client.fd] = w
                poller.register(w.client.fd, _HANGUP)
        if by_fd:
            try:
                for fd, ev in poller.poll(0):
                    if ev & _HANGUP and fd in by_fd:
                        dead.append(by_fd[fd])
            except OSError:
                pass
        for w in dead:
            self._drop_dead(w)
        return len(dead)

    def unblock(self, client, error: bool = False) -> bool:
        """CLIENT UNBLOCK: end a key wait now with its timeout reply, or with Redis's
        UNBLOCKED error. False when the client is not blocked on keys."""
        w = self.waiter_of(client)
        if w is None or w.future.done():
            return False
        self.remove(w)
        w.future.set_result(
            RedisError("UNBLOCKED client unblocked via CLIENT UNBLOCK") if error else w.on_timeout)
        return True

    def _timed_out(self, w: Waiter) -> None:
        if w.future.done():
            return
        self.remove(w)
        self.timeouts += 1
        w.future.set_result(w.on_timeout)


def _gone(c) -> bool:
    """Whether a blocked client's peer has closed the connection (reading is paused, so the
    event loop has not noticed yet)."""
    if c.closed or c.closing:
        return True
    fd = c.fd
    if fd < 0:
        return False
    p = select.poll()
    try:
        p.register(fd, _HANGUP)
        return any(ev & _HANGUP for _, ev in p.poll(0))
    except (OSError, ValueError):
        return False


def may_block(c) -> bool:
    """False inside EXEC (and for clients a script runs as, which set ``deny_blocking``):
    there a blocking command answers as on timeout at once, as Redis's CLIENT_DENY_BLOCKING."""
    return not (c.in_exec or getattr(c, "deny_blocking", False))


@contextmanager
def hold(server):
    """Keep blocked clients waiting while a script or other atomic unit runs; the keys it
    touched are served when the outermost hold ends."""
    b = server.blocking
    b.holds += 1
    try:
        yield
    finally:
        b.holds -= 1
        if not b.holds and b.ready and not b.serving:
            b.drain()


# --- timeouts as Redis parses them (getTimeoutFromObjectOrReply, seconds) -------------------

_DEC = re.compile(rb"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")
_HEX = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?")
_INF = re.compile(rb"[+-]?(?:inf|infinity)", re.IGNORECASE)
_MS_LIMIT = 1 << 63
# Long double limits: past these strtold reports ERANGE, and Redis says "not a float".
_LDBL_MAX_EXP10 = 4932
_LDBL_MIN_EXP10 = -4951


def _strtold(s: bytes) -> Fraction | float | None:
    """The exact value strtold gives for the whole string as Redis's string2ld accepts it,
    or None. Infinities come back as floats."""
    if not s or len(s) >= 5120 or s[:1].isspace():
        return None
    if _INF.fullmatch(s):
        return -math.inf if s[:1] == b"-" else math.inf
    m = _HEX.fullmatch(s)
    if m is not None:
        sign, whole, frac, exp = m.groups()
        frac = frac or b""
        if not whole and not frac:
            return None
        mant = int((whole + frac) or b"0", 16)
        e2 = int(exp or b"0") - 4 * len(frac)
        if mant and not (-16500 < e2 + mant.bit_length() < 16400):
            return None
        v = Fraction(mant) * (Fraction(2) ** e2)
        return -v if sign == b"-" else v
    m = _DEC.fullmatch(s)
    if m is None:
        return None
    sign, whole, frac, exp = m.groups()
    frac = frac or b""
    if not whole and not frac:
        return None
    digits = (whole + frac).lstrip(b"0")
    if not digits:
        return Fraction(0)
    e10 = int(exp or b"0") - len(frac)
    magnitude = len(digits) + e10  # value is in [10**(magnitude-1), 10**magnitude)
    if magnitude - 1 > _LDBL_MAX_EXP10 or magnitude < _LDBL_MIN_EXP10:
        return None
    v = Fraction(int(digits)) * (Fraction(10) ** e10)
    return -v if sign == b"-" else v


def parse_timeout(arg: bytes) -> float:
    """Seconds, decimals allowed, with Redis 7.0's rules: the value becomes whole milliseconds
    rounded up (so -0.0001 is 0, forever, and 0.0001 is 1 ms); values past the millisecond
    range wrap to a negative number in Redis and get its 'timeout is negative'."""
    v = _strtold(arg)
    if v is None:
        raise RedisError("ERR timeout is not a float or out of range")
    if isinstance(v, float):  # infinities
        raise RedisError("ERR timeout is negative")
    ms = math.ceil(v * 1000)
    if ms < 0 or ms >= _MS_LIMIT:
        raise RedisError("ERR timeout is negative")
    return ms / 1000


def block(c, keys: list[bytes], timeout: float, serve: Serve, on_timeout: Any,
          keyed: bool = False) -> asyncio.Future:
    """Park client ``c`` until ``serve`` returns a reply, or ``timeout`` seconds (0: forever)
    pass and ``on_timeout`` is the reply.

    With ``keyed`` True, ``serve`` is called with the key that became ready (Redis pops from
    that key, not from the first of the client's keys that has something).
    """
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    b = c.server.blocking
    w = Waiter(c, c.db, list(keys), serve, fut, keyed, on_timeout)
    b.add(w)
    if 0 < timeout <= _MAX_TIMER_S:
        w.timer = loop.call_later(timeout, b._timed_out, w)
    fut.add_done_callback(lambda _: b.remove(w) if b.waiter_of(c) is w else None)
    return fut
