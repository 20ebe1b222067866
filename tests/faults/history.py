"""Histories of register operations, and a Recorder that makes them against real nodes.

An operation's outcome says what the client can know about its effect:

* ``ok``: acknowledged. A write must have taken effect between invoke and complete.
* ``fail``: definitely not applied. Only errors the server promises to raise *before* applying
  anything qualify, and that promise is the server's, so the set is a parameter.
* ``info``: unknown (timeout, dropped connection, any other error). The write may take effect
  at any time after its invocation, even long after the client gave up, so checkers treat its
  completion as +infinity (``Op.end``). ``Op.complete`` keeps the time the client gave up.

After an ``info`` op the Recorder's worker carries on under a fresh process id, as Jepsen
does, so each process is sequential and only its last op can be pending forever.
"""
from __future__ import annotations

import inspect
import json
import math
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.connection import Connection
from redis.retry import Retry

Address = tuple[str, int]

WRITE, READ = "write", "read"
OK, FAIL, INFO = "ok", "fail", "info"

# Redis raises these before it executes anything. A server with its own codes (NOQUORUM, ...)
# passes the set it guarantees: an error that can follow a local apply is never definite.
DEFAULT_DEFINITE_ERRORS = frozenset({
    "READONLY", "MASTERDOWN", "CLUSTERDOWN", "NOREPLICAS", "MOVED", "ASK", "TRYAGAIN",
    "LOADING", "OOM",
})


@dataclass(frozen=True, slots=True)
class Op:
    """One client operation on one key; for a read, ``value`` is what it returned."""

    process: int
    kind: str
    key: str
    value: str | None
    invoke: float
    complete: float
    outcome: str
    error: str | None = None
    node: str | None = None

    @property
    def end(self) -> float:
        """The latest time the op can take effect: never known for an ``info`` op."""
        return math.inf if self.outcome == INFO else self.complete

    @classmethod
    def write(cls, process: int, key: str, value: str, invoke: float, complete: float,
              outcome: str = OK, **extra: str | None) -> Op:
        return cls(process, WRITE, key, value, invoke, complete, outcome, **extra)

    @classmethod
    def read(cls, process: int, key: str, value: str | None, invoke: float, complete: float,
             outcome: str = OK, **extra: str | None) -> Op:
        return cls(process, READ, key, value, invoke, complete, outcome, **extra)

    def __str__(self) -> str:
        end = "inf" if self.outcome == INFO else f"{self.complete:.4f}"
        err = f" ({self.error})" if self.error else ""
        return (f"p{self.process} {self.kind} {self.key}={self.value!r} {self.outcome}{err}"
                f" [{self.invoke:.4f}, {end}]")


@dataclass
class History:
    """Ops sorted by invocation, plus timestamped notes (faults injected) for post-mortems."""

    ops: list[Op] = field(default_factory=list)
    notes: list[tuple[float, str]] = field(default_factory=list)

    def __iter__(self):
        return iter(self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    def __getitem__(self, i: int) -> Op:
        return self.ops[i]

    def by_key(self) -> dict[str, list[Op]]:
        keys: dict[str, list[Op]] = defaultdict(list)
        for op in self.ops:
            keys[op.key].append(op)
        return dict(keys)

    def summary(self) -> dict[str, int]:
        """Counts such as ``{"write ok": 812, "write info": 3, "read ok": 790}``."""
        return dict(Counter(f"{op.kind} {op.outcome}" for op in self.ops))

    def dump(self, path: str | Path) -> None:
        """JSON lines, one op each, then the notes; kept beside a failed test's logs."""
        with open(path, "w") as f:
            for op in self.ops:
                f.write(json.dumps(asdict(op)) + "\n")
            for t, text in self.notes:
                f.write(json.dumps({"note": text, "time": t}) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> History:
        history = cls()
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if "note" in row:
                    history.notes.append((row["time"], row["note"]))
                else:
                    history.ops.append(Op(**row))
        return history


def error_code(exc: redis.ResponseError) -> str:
    """The reply's leading code word (``READONLY``...), which redis-py strips from messages."""
    code = getattr(exc, "status_code", None)
    if code:
        return code
    from redis._parsers.base import BaseParser
    for name, cls in BaseParser.EXCEPTION_CLASSES.items():
        if not isinstance(cls, dict) and type(exc) is cls:
            return name
    words = str(exc).split(" ", 1)
    if words[0] and words[0].isupper() and words[0].replace("_", "").isalnum():
        return words[0]
    return "ERR"


def _connection_kwargs() -> dict[str, object]:
    """RESP2 and no CLIENT SETINFO, across redis-py versions: a connect is then a bare TCP
    connect, with no HELLO or SETINFO round trip whose failure could be mistaken for an op's."""
    params = {name for cls in Connection.__mro__ if "__init__" in vars(cls)
              for name in inspect.signature(cls.__init__).parameters}
    kwargs: dict[str, object] = {"protocol": 2} if "protocol" in params else {}
    if "driver_info" in params:
        kwargs["driver_info"] = None
    elif "lib_name" in params:
        kwargs.update(lib_name=None, lib_version=None)
    return kwargs


def connect(address: Address, timeout: float, connect_timeout: float | None = None
            ) -> Connection:
    """A single redis-py connection with no retries, so one attempt is one op."""
    conn = Connection(host=address[0], port=address[1], socket_timeout=timeout,
                      socket_connect_timeout=connect_timeout or timeout,
                      retry=Retry(NoBackoff(), 0), **_connection_kwargs())
    conn.connect()
    return conn


def _text(reply: object) -> str | None:
    if reply is None or isinstance(reply, str):
        return reply
    if isinstance(reply, bytes):
        return reply.decode()
    return str(reply)


def read_keys(nodes: Address | Sequence[Address], keys: Iterable[str], timeout: float = 2.0
              ) -> dict[str, str | None]:
    """Read every key from the first node that answers, for the final-state checks."""
    candidates = [nodes] if isinstance(nodes[0], str) else list(nodes)
    errors = []
    for address in candidates:
        try:
            conn = connect(address, timeout)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            errors.append(f"{address}: {exc}")
            continue
        try:
            values = {}
            for key in keys:
                conn.send_command("GET", key)
                values[key] = _text(conn.read_response())
            return values
        except (redis.RedisError, OSError) as exc:
            errors.append(f"{address}: {exc!r}")
        finally:
            conn.disconnect()
    raise ConnectionError("no node answered: " + "; ".join(errors))


class Recorder:
    """Worker threads doing random writes of unique values and reads on a few keys.

    Each worker sticks to one node and moves to the next on any error, connection errors
    and refusals alike, since after a failover the old node is rarely the one to ask.
    Times are seconds since ``start()``; ``note()`` stamps the test's own events alike.
    """

    def __init__(self, nodes: Sequence[Address], keys: Sequence[str] = ("k0", "k1", "k2"), *,
                 workers: int = 4, read_fraction: float = 0.5,
                 definite_errors: Collection[str] = DEFAULT_DEFINITE_ERRORS,
                 timeout: float = 0.5, connect_timeout: float | None = None,
                 pause: float = 0.0, seed: int | None = None,
                 write_command: Callable[[str, str], Sequence[object]] = lambda k, v: ("SET", k, v),
                 read_command: Callable[[str], Sequence[object]] = lambda k: ("GET", k)) -> None:
        if not nodes:
            raise ValueError("a Recorder needs at least one node")
        self.nodes = list(nodes)
        self.keys = list(keys)
        self.workers = workers
        self.read_fraction = read_fraction
        self.definite_errors = frozenset(definite_errors)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.pause = pause
        self.seed = seed if seed is not None else random.randrange(1 << 32)
        self.write_command = write_command
        self.read_command = read_command
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._logs: list[list[Op]] = []
        self._notes: list[tuple[float, str]] = []
        self._t0 = 0.0
        self._first_process = 0

    def now(self) -> float:
        return time.monotonic() - self._t0

    def note(self, text: str) -> None:
        """Record a fault or other event in the history's timeline."""
        self._notes.append((self.now(), text))

    def start(self) -> Recorder:
        """Start the workers; a second run numbers its processes after the first's, so its
        values are new too and the first run's can be told apart on the same keys."""
        self._stop.clear()
        self._t0 = time.monotonic()
        self._logs = [[] for _ in range(self.workers)]
        self._threads = [threading.Thread(target=self._work, args=(i,), daemon=True,
                                          name=f"recorder-{i}") for i in range(self.workers)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> History:
        """Stop the workers (each finishes or times out its current op) and merge their logs."""
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + (self.connect_timeout or self.timeout) + 5)
        ops = sorted((op for log in self._logs for op in log), key=lambda op: op.invoke)
        self._first_process = max([op.process + 1 for op in ops]
                                  + [self._first_process + self.workers])
        return History(ops, sorted(self._notes))

    def run(self, duration: float) -> History:
        self.start()
        time.sleep(duration)
        return self.stop()

    def acknowledged(self) -> int:
        """Acknowledged ops so far, for a test waiting until the workload is under way."""
        return sum(op.outcome == OK for log in self._logs for op in list(log))

    def _work(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        log = self._logs[index]
        process = self._first_process + index
        seq = 0
        node = index % len(self.nodes)
        conn: Connection | None = None
        while not self._stop.is_set():
            address = self.nodes[node]
            if conn is None:
                try:
                    conn = connect(address, self.timeout, self.connect_timeout)
                except Exception:  # refused, timed out, or a handshake gone wrong
                    node = (node + 1) % len(self.nodes)
                    self._stop.wait(0.02)
                    continue
            key = rng.choice(self.keys)
            if rng.random() < self.read_fraction:
                kind, value, args = READ, None, self.read_command(key)
            else:
                seq += 1
                value = f"p{process}-{seq}"
                kind, args = WRITE, self.write_command(key, value)
            error = None
            invoke = self.now()
            try:
                conn.send_command(*args)
                reply = conn.read_response()
                outcome = OK
                if kind == READ:
                    value = _text(reply)
            except redis.ResponseError as exc:
                code = error_code(exc)
                outcome = FAIL if code in self.definite_errors else INFO
                error = f"{code} {exc}"
            except Exception as exc:  # whatever it was, the op may have been applied
                outcome, error = INFO, f"{type(exc).__name__}: {exc}"
            complete = self.now()
            if kind == READ and outcome != OK:
                value = None
            log.append(Op(process, kind, key, value, invoke, complete, outcome, error,
                          f"{address[0]}:{address[1]}"))
            if outcome != OK:
                conn.disconnect()
                conn = None
                node = (node + 1) % len(self.nodes)
            if outcome == INFO:
                process += self.workers
                seq = 0
            if self.pause:
                self._stop.wait(self.pause)
        if conn is not None:
            conn.disconnect()
