"""The running event loop, for code that asks for it on every write."""
from __future__ import annotations

import asyncio


class RunningLoop:
    """``asyncio.get_running_loop()``, looked up again only when the loop it found stopped
    running: on CPython 3.11 each lookup makes a getpid() system call (4% of a quorum master's
    time when made per write). Raises RuntimeError, as get_running_loop does, with no loop."""

    __slots__ = ("_loop",)

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def __call__(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None or not loop.is_running():
            loop = self._loop = asyncio.get_running_loop()
        return loop
