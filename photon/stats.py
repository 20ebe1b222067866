"""Counters INFO, CONFIG RESETSTAT, SLOWLOG and /metrics read."""
from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

from photon.errors import RedisError

if TYPE_CHECKING:
    from photon.client import Client


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.connections = 0
        self.rejected_connections = 0
        self.commands = 0
        self.net_input = 0
        self.net_output = 0
        self.expired_keys = 0
        self.keyspace_hits = 0
        self.keyspace_misses = 0
        self.errors: dict[str, int] = {}
        self.total_errors = 0
        self.output_limit_disconnections = 0
        self._samples: deque[tuple[float, int, int, int]] = deque(maxlen=16)

    def error(self, message: str) -> None:
        prefix = message.split(" ", 1)[0]
        self.errors[prefix] = self.errors.get(prefix, 0) + 1
        self.total_errors += 1

    def reject(self, message: str) -> RedisError:
        self.error(message)
        return RedisError(message)

    def sample(self) -> None:
        """Called by the cron: instantaneous rates are averaged over the last samples."""
        self._samples.append((time.monotonic(), self.commands, self.net_input, self.net_output))

    def rate(self, index: int) -> float:
        if len(self._samples) < 2:
            return 0.0
        t0, *a = self._samples[0]
        t1, *b = self._samples[-1]
        return (b[index - 1] - a[index - 1]) / (t1 - t0) if t1 > t0 else 0.0

    @property
    def ops_per_sec(self) -> int:
        return int(self.rate(1))


class SlowLog:
    def __init__(self, threshold_us: int = 10000, max_len: int = 128) -> None:
        self.threshold_us = threshold_us
        self.max_len = max_len

    @property
    def threshold_us(self) -> int:
        return self._threshold_us

    @threshold_us.setter
    def threshold_us(self, value: int) -> None:
        """Negative turns the log off; the gate compares seconds, so keep both."""
        self._threshold_us = value
        self.threshold_s = float("inf") if value < 0 else value / 1e6
        self.entries: deque[list] = deque()
        self.next_id = 0

    def add(self, c: "Client", argv: list[bytes], usec: float) -> None:
        args = argv[:32]
        shown = [a if len(a) <= 128 else a[:128] + b"... (%d more bytes)" % (len(a) - 128)
                 for a in args]
        if len(argv) > 32:
            shown[-1] = b"... (%d more arguments)" % (len(argv) - 31)
        self.entries.appendleft([self.next_id, int(time.time()), int(usec), shown,
                                 c.addr.encode(), c.name])
        self.next_id += 1
        while len(self.entries) > self.max_len:
            self.entries.pop()

    def reset(self) -> None:
        self.entries.clear()
