"""The base of the running node (``photon.server.Server``): its fields that every request reads.

A plain class here; the compiled core (photon/compiled.py) makes it an extension type whose
hot fields are C struct fields (``nodestate.pxd``), so the compiled modules read them without a
dictionary lookup. The pure module imports nothing of the project (compiled, its types import
``photon.stats``).
"""
from __future__ import annotations

from typing import Any


class NodeState:
    """Fields are set by the subclass's ``__init__``. The two questions the command path asks
    the node after every command are answered here, so that the compiled core runs them."""

    @property
    def quorum_reads(self) -> bool:
        master = self.master
        # (checks_writes first: False on a standalone node, which never needs a quorum)
        return master is not None and master.checks_writes and master.quorum_active

    def after_write(self, c: Any, reply: Any, marks: dict[int, int], write: bool = True) -> Any:
        if self.master is None:
            return reply
        return self.master.after_write(c, reply, marks, write)
