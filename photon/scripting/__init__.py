"""Lua scripting as Redis 7.0: EVAL / EVALSHA / SCRIPT, and functions (FUNCTION / FCALL).

The runtime is Lua 5.1 (lupa's ``lua51``), the Lua Redis embeds. One ``Scripting`` object per
server holds the runtime, the script cache and the function libraries.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from photon.scripting.runtime import Scripting
    from photon.server import Server


def scripting(server: "Server") -> "Scripting":
    s = server.__dict__.get("scripting")
    if s is None:
        from photon.scripting.runtime import Scripting

        s = server.scripting = Scripting(server)  # type: ignore[attr-defined]
    return s


def may_write(server: "Server", argv: list[bytes]) -> bool:
    """For a replica: whether this EVAL / EVALSHA / FCALL must go to the master."""
    return scripting(server).may_write(argv)


def forwardable(server: "Server", argv: list[bytes]) -> list[bytes]:
    """For a replica: the command to send its master in place of this one."""
    return scripting(server).forwardable(argv)
