"""Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN...), served first-come first-served.

A blocking command first tries to run at once; when it cannot, it calls ``block`` with a
``serve`` function and returns the future this gives. Whenever a command changes keys, the
waiters on those keys are offered them in the order they blocked: ``serve`` runs the pop for
its client and returns the reply, or None if the key still has nothing for it.
"""
from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

from photon.errors import RedisError
from photon.util.numbers import string2d

Serve = Callable[[], Any]


class Waiter:
    __slots__ = ("client", "db", "keys", "serve", "future", "timer")

    def __init__(self, client, db: int, keys: list[bytes], serve: Serve,
                 future: asyncio.Future) -> None:
        self.client = client
        self.db = db
        self.keys = keys
        self.serve = serve
        self.future = future
        self.timer: asyncio.TimerHandle | None = None


class Blocking:
    """The waiters of one server, by (db, key)."""

    def __init__(self, server) -> None:
        self.server = server
        self.by_key: dict[tuple[int, bytes], list[Waiter]] = {}
        server.touch_hooks.append(self.keys_changed)

    def add(self, w: Waiter) -> None:
        for key in dict.fromkeys(w.keys):
            self.by_key.setdefault((w.db, key), []).append(w)

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
        if w.timer is not None:
            w.timer.cancel()

    def keys_changed(self, touched: list[tuple[int, bytes]]) -> None:
        if not self.by_key:
            return
        for dbkey in dict.fromkeys(touched):
            for w in list(self.by_key.get(dbkey, ())):
                if w.future.done():
                    continue
                ks = self.server.keyspace
                ks.tick()
                try:
                    reply = w.serve()
                    ks.commit()
                except RedisError as e:
                    ks.commit()
                    reply = e
                if reply is None:
                    continue
                self.remove(w)
                w.future.set_result(reply)
                if ks.touched:
                    self.server.keys_touched()


def blocking(server) -> Blocking:
    b = getattr(server, "blocking", None)
    if b is None:
        b = server.blocking = Blocking(server)
    return b


def parse_timeout(arg: bytes) -> float:
    """Seconds, decimals allowed; Redis's errors for bad and negative values."""
    v = string2d(arg)
    if v is None or math.isinf(v):
        raise RedisError("ERR timeout is not a float or out of range")
    if v < 0:
        raise RedisError("ERR timeout is negative")
    return v


def block(c, keys: list[bytes], timeout: float, serve: Serve, on_timeout: Any) -> asyncio.Future:
    """Park client ``c`` until ``serve`` returns a reply, or ``timeout`` seconds (0: forever)
    pass and ``on_timeout`` is the reply."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    b = blocking(c.server)
    w = Waiter(c, c.db, list(keys), serve, fut)
    b.add(w)
    if timeout > 0:
        w.timer = loop.call_later(timeout, lambda: fut.done() or fut.set_result(on_timeout))
    fut.add_done_callback(lambda _: b.remove(w))
    return fut
