"""The router: step 6 of the command path. The node installs it when it does not serve every
key for every client itself (it follows a master, or serves only part of the shards); a node
that serves everything has none and the gate skips the step.

It answers None (run the command here), an error text (refused here), or a future (the
command was passed to the node that owns it, and the future gives that node's reply)."""
from __future__ import annotations

from typing import Any

from photon.routing.forward import Forwarder

CLUSTERDOWN_UNSERVED = "CLUSTERDOWN Hash slot not served"
READONLY = "READONLY You can't write against a read only replica."
_SCRIPTS = ("eval", "evalsha", "fcall")


class Router:
    def __init__(self, node: Any) -> None:
        self.node = node
        self.forwarder: Forwarder | None = None

    # --- the node's role ---------------------------------------------------------------------

    def follow(self, host: str, port: int) -> None:
        """Pass what a replica may not serve to the master at host:port from now on."""
        if self.forwarder is not None:
            self.forwarder.close()
        self.forwarder = Forwarder(self.node, host, port)

    def unfollow(self) -> None:
        if self.forwarder is not None:
            self.forwarder.close()
            self.forwarder = None

    # --- the step ----------------------------------------------------------------------------

    def route(self, c: Any, cmd: Any, argv: list[bytes]) -> Any:
        verdict = self.check_local(c, cmd, argv)
        if verdict is not None:
            return verdict
        if self.forwarder is not None and not cmd.name.startswith("photon."):
            return self._on_replica(c, cmd, argv)
        return None

    def check_local(self, c: Any, cmd: Any, argv: list[bytes]) -> str | None:
        """The keys a command names must be in the shards this node serves (also checked for
        each command a script calls)."""
        first, last = self.node.shard_range
        shard_of = self.node.keyspace.shard_of
        for key in cmd.keys(argv):
            if not first <= shard_of(key) <= last:
                return CLUSTERDOWN_UNSERVED
        return None

    def _on_replica(self, c: Any, cmd: Any, argv: list[bytes]) -> Any:
        """Writes go to the master (or are refused for READONLY clients), and so do reads when
        read replicas are off or this replica has not applied the client's own last write yet
        (read your writes). Inside MULTI commands are queued here; EXEC sends the whole
        transaction, WATCH included, when it writes or must not be served here."""
        node = self.node
        forwarder = self.forwarder
        if c.multi is not None:
            if cmd.name != "exec":
                if cmd.write and c.direct_replica:
                    return READONLY
                return None
            if not c.multi or c.multi_dirty or c.watch_dirty:
                return None  # empty, aborted, or a WATCH already failed: EXEC answers here
            if (any(q.write or self._script_writes(q, a) for q, a in c.multi)
                    or self._must_forward_reads(c)):
                queued = [self._forwardable(q, a) for q, a in c.multi]
                watched = [key for (db, key) in c.watched if db == c.db]
                node.watches.discard_transaction(c)
                block = ([[b"WATCH", *watched]] if watched else []) + [[b"MULTI"], *queued,
                                                                        [b"EXEC"]]
                return forwarder.forward(c, block)  # type: ignore[union-attr]
            return None
        if cmd.write or self._script_writes(cmd, argv):
            if c.direct_replica:
                if not cmd.write:
                    return None  # a READONLY client's script runs here; it may not write
                return READONLY
            return forwarder.forward(c, [self._forwardable(cmd, argv)],  # type: ignore
                                     blocking=cmd.blocking)
        if cmd.readonly and not c.direct_replica and self._must_forward_reads(c):
            return forwarder.forward(c, [self._forwardable(cmd, argv)],  # type: ignore
                                     blocking=cmd.blocking)
        return None

    def _must_forward_reads(self, c: Any) -> bool:
        node = self.node
        return (not node.config.enable_read_replicas
                or bool(c.repl_marks and not node.replica.applied(c.repl_marks)))

    def _script_writes(self, cmd: Any, argv: list[bytes]) -> bool:
        """EVAL, EVALSHA and FCALL carry no write flag but their scripts may write: on a
        replica they go to the master, unless the script or function is declared no-writes."""
        return cmd.name in _SCRIPTS and self.node.scripting.may_write(argv)

    def _forwardable(self, cmd: Any, argv: list[bytes]) -> list[bytes]:
        """An EVALSHA whose script this node knows goes as EVAL (the master's script cache is
        its own)."""
        if cmd.name not in ("evalsha", "evalsha_ro"):
            return argv
        return self.node.scripting.forwardable(argv)
