"""CLIENT PAUSE: while a pause lasts, the command path holds clients' commands (all, or those
that may write) and runs each again from the start, in order, when it ends; replication links
and the node's own clients are never held (docs/architecture.md, "A command's path", step 7)."""
from __future__ import annotations

import asyncio
from typing import Any

from photon.commands.dispatch import execute


class Pause:
    def __init__(self) -> None:
        self.mode = ""
        self.until = 0.0
        self.ended: asyncio.Future | None = None  # set while a pause lasts
        self._timer: asyncio.TimerHandle | None = None

    def start(self, ms: int, mode: str) -> None:
        """The longest and strictest of overlapping pauses wins, as Redis's pauseClients."""
        loop = asyncio.get_running_loop()
        end = loop.time() + ms / 1000
        if self.ended is None:
            self.ended = loop.create_future()
        if mode == "all" or self.mode != "all":
            self.mode = mode
        if end > self.until:
            self.until = end
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(end, self.stop)

    def stop(self) -> None:
        if self.ended is None:
            return
        if self._timer is not None:
            self._timer.cancel()
        ended, self.ended, self.mode, self.until, self._timer = self.ended, None, "", 0.0, None
        ended.set_result(None)

    def holds(self, c: Any, cmd: Any) -> bool:
        if c.kind not in ("normal", "monitor") or c.in_exec:
            return False
        if self.mode == "all":
            return True
        if cmd.name == "exec":
            return bool(c.multi) and any(may_replicate(q) for q, _ in c.multi)
        return may_replicate(cmd)

    def hold(self, c: Any, argv: list[bytes]) -> asyncio.Future:
        """The reply of ``argv``, run once the pause ends."""
        return asyncio.ensure_future(self._later(c, argv, self.ended))

    @staticmethod
    async def _later(c: Any, argv: list[bytes], ended: Any) -> Any:
        await ended
        reply = execute(c, argv)
        while isinstance(reply, asyncio.Future):
            reply = await reply
        return reply


def may_replicate(cmd: Any) -> bool:
    return cmd.write or "may_replicate" in cmd.flags
