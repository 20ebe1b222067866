"""Lua scripting as Redis 7.0: EVAL / EVALSHA / SCRIPT, and functions (FUNCTION / FCALL).

The runtime is Lua 5.1 (lupa's ``lua51``), the Lua Redis embeds. One ``Scripting`` object per
node (``node.scripting``, made on first use) holds the runtime, the script cache and the
function libraries; ``photon.scripting.commands`` registers the commands.
"""
