"""The base of the running node (``photon.server.Server``): its fields that every request reads.

A plain class here; the compiled core (photon/compiled.py) makes it an extension type whose
hot fields are C struct fields (``nodestate.pxd``), so the compiled modules read them without a
dictionary lookup. It imports nothing of the project.
"""
from __future__ import annotations


class NodeState:
    """Fields are set by the subclass's ``__init__``."""
