"""Process faults and a fault schedule that runs beside a Recorder and notes each step in it."""
from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from tests.faults.history import Recorder


def kill(pid: int) -> None:
    """SIGKILL: no shutdown hook runs, unflushed writes are gone, as in a power cut."""
    os.kill(pid, signal.SIGKILL)


def pause(pid: int, timeout: float = 2.0) -> None:
    """SIGSTOP: the process keeps its sockets but answers nothing, like a long GC pause;
    the node may wake up still believing it is the master.

    Delivery is asynchronous, so on Linux this waits until the process is seen stopped: a
    test that pauses and then measures must not race a node that is still running.
    """
    os.kill(pid, signal.SIGSTOP)
    stat = f"/proc/{pid}/stat"
    if os.path.exists(stat):
        wait_until(lambda: _state(stat) in ("T", "t"), timeout, 0.001, f"pid {pid} stopped")


def _state(stat: str) -> str:
    try:
        with open(stat) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "?"


def resume(pid: int) -> None:
    os.kill(pid, signal.SIGCONT)


@contextmanager
def paused(pid: int) -> Iterator[None]:
    """Resume even when the test body fails, or the stopped node outlives the test run."""
    pause(pid)
    try:
        yield
    finally:
        resume(pid)


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05,
               what: str = "condition") -> object:
    """Poll until ``predicate()`` is truthy and return it; a failover takes an unknown time."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout}s")
        time.sleep(interval)


Step = tuple[float, str, Callable[[], object]]


class Nemesis:
    """Runs ``(delay, name, action)`` steps in order in a background thread.

    Each step waits ``delay`` seconds after the previous one, then acts; its name and time go
    to ``events`` and, with a recorder, into the history's notes, so an anomaly's timestamps
    can be read against the faults around them. An action that raises stops the schedule and
    ``join()`` raises it again in the test.
    """

    def __init__(self, recorder: Recorder | None = None) -> None:
        self.recorder = recorder
        self.events: list[tuple[float, str]] = []
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._t0 = time.monotonic()

    def _now(self) -> float:
        return self.recorder.now() if self.recorder else time.monotonic() - self._t0

    def run(self, steps: Iterable[Step]) -> Nemesis:
        steps = list(steps)

        def go() -> None:
            try:
                for delay, name, action in steps:
                    if self._stop.wait(delay):
                        return
                    action()
                    self.events.append((self._now(), name))
                    if self.recorder:
                        self.recorder.note(name)
            except BaseException as exc:
                self._error = exc

        self._thread = threading.Thread(target=go, name="nemesis", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError("the nemesis schedule is still running")
        if self._error is not None:
            raise self._error

    def cancel(self) -> None:
        """Skip the remaining steps (a cleanup step such as heal is then the test's job)."""
        self._stop.set()
