"""The router: step 6 of the command path (docs/architecture.md, "A command's path").

The node installs it when some command may not be served here: the node follows a master, or
its group does not own every shard (a cluster, or a SHARD_RANGE). A node that serves every key
has none and the command path skips the step.

For each command it answers None (run here), an error text (refused: CLUSTERDOWN, CROSSSLOT,
MOVED, READONLY) or a future giving another node's reply. By the shard map, a command's keys
belong to groups (a master and its replicas):

- all in this node's group: run here, except that a replica passes writes to its master (and
  reads it must not serve: read replicas off, or the client's own last write not applied yet);
- all in one other group: with ``cluster_redirect`` -MOVED (Redis Cluster), else passed to
  that group: writes to its master, reads to a replica in this node's zone first (read replicas
  on), carrying the offsets the client's writes reached so it reads its own writes;
- in several groups: MGET, MSET, DEL, UNLINK, EXISTS and TOUCH are split and their replies
  merged (``routing/split.py``); anything else gets -CROSSSLOT, as Redis Cluster says it;
- no keys: DBSIZE, KEYS, SCAN, RANDOMKEY, FLUSHDB, FLUSHALL and INFO keyspace cover every group
  (without ``cluster_redirect``); other commands run here.

Transactions queue here and are placed whole at EXEC; a WATCH on keys this node does not own
as their master pins the client to that group's master until EXEC, so the WATCH is kept where
the keys change. PUBLISH reaches every node; SPUBLISH goes to the channel's group, which
passes the message on to every node.
"""
from __future__ import annotations

import asyncio
import random
from typing import Any

from photon.cluster.failover import FENCED, STALE
from photon.commands.dispatch import execute, run_here
from photon.errors import RedisError
from photon.keyspace.slots import key_slot
from photon.protocol.encoder import encode_request
from photon.protocol.reply import NULL_ARRAY
from photon.routing import split
from photon.routing.forward import MASTERDOWN, Forwarder, Pin, settle

CLUSTERDOWN_UNSERVED = "CLUSTERDOWN Hash slot not served"
CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"
READONLY = "READONLY You can't write against a read only replica."
SCRIPT_NON_LOCAL = "ERR Script attempted to access a non local key in a cluster node"
_SCRIPTS = ("eval", "evalsha", "fcall")
_UNPIN = ("unwatch", "discard", "reset")
# Commands the router may have to do something about even when this node's group owns
# every shard (a master with replicas): everything else runs here at once.
_NOT_PLAIN = split.FANOUT | {"publish", "spublish", "ssubscribe", "sunsubscribe", "watch",
                             *_UNPIN}


class Router:
    def __init__(self, node: Any) -> None:
        self.node = node
        self.forwarder = Forwarder(node)
        self.pins: dict[int, Pin] = {}  # client id -> its pinned connection
        self._version = -1
        self.owners: list[str | None] = []  # shard -> owning group (None: unserved)
        self.my_group: str | None = None
        self.whole = False  # this node's group owns every shard

    def close(self) -> None:
        self.forwarder.close()
        for pin in self.pins.values():
            pin.close()
        self.pins.clear()

    def client_gone(self, c: Any) -> None:
        pin = self.pins.pop(c.id, None)
        if pin is not None:
            pin.close()

    def _refresh(self) -> None:
        node = self.node
        cluster = node.cluster
        if self._version != cluster.version:
            self._version = cluster.version
            my = cluster.my_group()
            owners = [cluster.map.owner(s) for s in range(cluster.shard_count)]
            if node.replica is not None:
                # until the master's id is known, and for claims this node made as a master
                # before it followed one: its shards are its group's
                my = my or f"@{node.replica.host}:{node.replica.port}"
                owners = [my if o == node.node_id else o for o in owners]
            self.my_group = my
            self.owners = owners
            self.whole = my is not None and all(o == my for o in owners)

    # --- the step ----------------------------------------------------------------------------

    def route(self, c: Any, cmd: Any, argv: list[bytes]) -> Any:
        if cmd.internal:
            return None
        node = self.node
        if (cmd.write or cmd.readonly or cmd.name == "exec") and node.master is not None:
            failover = node.cluster.coordinator
            if not failover.learned:
                return failover.hold(c, argv)
            if failover.master_refuses():
                return FENCED
        self._refresh()
        name = cmd.name
        if (self.whole and node.replica is None and c.multi is None and not self.pins
                and name not in _NOT_PLAIN):
            return None
        if c.multi is not None:
            return self._in_multi(c, cmd, argv)
        if c.id in self.pins and name in _UNPIN:
            return self._unpin(c, cmd, argv)
        keys = cmd.keys(argv)
        if not keys:
            if name in split.FANOUT and not self._redirect() and not c.forwarded:
                verdict = split.fan_out(self, c, cmd, argv)
                if verdict is not None:
                    return verdict
            if name == "publish":
                self.broadcast_publish(argv[1], argv[2], shard=False)
            if self.node.replica is not None:
                return self._on_replica(c, cmd, argv)
            return None
        if name in ("ssubscribe", "sunsubscribe") and not self._redirect():
            return None  # shard messages reach every node (see broadcast_publish)
        groups = self.groups_of(keys)
        if groups is None:
            return CLUSTERDOWN_UNSERVED
        if len(groups) > 1:
            if name in split.SPLIT and not self._redirect():
                return split.split(self, c, cmd, argv)
            return CROSSSLOT
        (group,) = groups
        if name == "watch":
            return self._watch(c, cmd, argv, group)
        return self.place(c, cmd, argv, group, keys[0])

    def place(self, c: Any, cmd: Any, argv: list[bytes], group: str, key: bytes,
              resp3: bool | None = None, primary: bool = False) -> Any:
        """One command whose keys all belong to ``group`` (``resp3``: the protocol of a reply
        passed back, when it is not the client's: split parts are merged in RESP2)."""
        node = self.node
        if group == self.my_group:
            if cmd.name == "spublish":
                self.broadcast_publish(argv[1], argv[2], shard=True)
                return None
            if node.replica is None:
                return None
            if self._redirect() and self._replica_refers(c, cmd, argv):
                return self._moved(key, group)
            return self._on_replica(c, cmd, argv, resp3)
        if self._redirect() or c.forwarded:
            return self._moved(key, group)  # a node passes a command on at most once
        return self._to_group(c, cmd, argv, group, resp3, primary)

    def groups_of(self, keys: list[bytes]) -> set[str] | None:
        """The groups owning the keys' shards; None when one of them is not served."""
        owners = self.owners
        shard_of = self.node.keyspace.shard_of
        groups = set()
        for key in keys:
            g = owners[shard_of(key)]
            if g is None:
                return None
            groups.add(g)
        return groups

    def check_local(self, c: Any, cmd: Any, argv: list[bytes]) -> str | None:
        """For each command a script calls: its keys must be served by this node's group."""
        self._refresh()
        groups = self.groups_of(cmd.keys(argv))
        if groups is None:
            return CLUSTERDOWN_UNSERVED
        if groups - {self.my_group}:
            return SCRIPT_NON_LOCAL
        return None

    def _redirect(self) -> bool:
        return self.node.config.cluster_redirect

    def _moved(self, key: bytes, group: str) -> str:
        owner = self.node.cluster.node_of(group)
        if owner is None:
            return CLUSTERDOWN_UNSERVED
        return f"MOVED {key_slot(key)} {owner.addr}"

    # --- within the group ----------------------------------------------------------------------

    def _replica_refers(self, c: Any, cmd: Any, argv: list[bytes]) -> bool:
        """Redis Cluster on a replica: writes, and reads of clients that did not send
        READONLY, are redirected to the master."""
        return cmd.write or self._script_writes(cmd, argv) or not c.direct_replica

    def _on_replica(self, c: Any, cmd: Any, argv: list[bytes],
                    resp3: bool | None = None) -> Any:
        """Writes go to the master (or are refused for READONLY clients), and so do reads
        when read replicas are off or this replica has not applied the client's own last
        write (read your writes)."""
        if cmd.write or self._script_writes(cmd, argv):
            if c.direct_replica:
                if not cmd.write:
                    return None  # a READONLY client's script runs here; it may not write
                return READONLY
            return self._through_failover(
                c, argv, self._to_master(c, [self._forwardable(cmd, argv)], cmd.blocking, resp3))
        if cmd.readonly and not c.direct_replica and self._must_forward_reads(c):
            return self._through_failover(
                c, argv, self._to_master(c, [self._forwardable(cmd, argv)], cmd.blocking, resp3))
        if cmd.readonly and not self.node.cluster.coordinator.serves_reads():
            return STALE
        return None

    def _to_master(self, c: Any, commands: list[list[bytes]], blocking: bool = False,
                   resp3: bool | None = None) -> Any:
        replica = self.node.replica
        return self.forwarder.forward(c, f"{replica.host}:{replica.port}", commands, blocking,
                                      down=MASTERDOWN, resp3=resp3)

    def _through_failover(self, c: Any, argv: list[bytes], sent: asyncio.Future) -> Any:
        """A command this replica could not pass to its master (nothing was sent: the master
        is unreachable) waits while the group may be failing over, and runs again from the
        start of the command path, to the new master (or here, if this node won): a client
        of a replica sees errors only for commands that were in flight."""
        node = self.node
        if node.config.role == "standalone" or c.in_failover_wait:
            return sent

        async def wait(reply: Any) -> Any:
            config = node.config
            deadline = asyncio.get_running_loop().time() + (
                3 * config.dead_after_ms + config.quorum_timeout_ms) / 1000
            while (isinstance(reply, RedisError) and reply.message == MASTERDOWN
                   and asyncio.get_running_loop().time() < deadline and not c.closed):
                await asyncio.sleep(min(0.1, config.heartbeat_interval_ms / 1000))
                c.in_failover_wait = True
                try:
                    reply = execute(c, argv)
                    while isinstance(reply, asyncio.Future):
                        reply = await reply
                finally:
                    c.in_failover_wait = False
            return reply

        out = asyncio.get_running_loop().create_future()

        def done(f: asyncio.Future) -> None:
            reply = None if f.cancelled() or f.exception() else f.result()
            if isinstance(reply, RedisError) and reply.message == MASTERDOWN:
                asyncio.ensure_future(wait(reply)).add_done_callback(lambda t: settle(out, t))
            else:
                settle(out, f)
        sent.add_done_callback(done)
        return out

    def _must_forward_reads(self, c: Any) -> bool:
        node = self.node
        return (not node.config.enable_read_replicas
                or bool(c.repl_marks and not node.replica.applied(c.repl_marks)))

    # --- other groups --------------------------------------------------------------------------

    def target(self, group: str, write: bool) -> str | None:
        """Where a command for ``group`` goes: its master for a write; for a read with read
        replicas on, a live replica in this node's zone, else any live replica, else the
        master."""
        cluster = self.node.cluster
        master = cluster.node_of(group)
        if not write and self.node.config.enable_read_replicas:
            live = [r for r in cluster.replicas_of(group) if r.synced and not r.failed]
            zone = self.node.config.zone
            near = [r for r in live if r.zone == zone] if zone else []
            pick = near or live
            if pick:
                return random.choice(pick).addr
        return master.addr if master is not None else None

    def _to_group(self, c: Any, cmd: Any, argv: list[bytes], group: str,
                  resp3: bool | None = None, primary: bool = False) -> Any:
        write = cmd.write or self._script_writes(cmd, argv)
        addr = self.target(group, write or primary)
        if addr is None:
            return CLUSTERDOWN_UNSERVED
        return self.forwarder.forward(c, addr, [self._forwardable(cmd, argv)], cmd.blocking,
                                      self._marks_of(c, group), resp3=resp3)

    def part(self, c: Any, cmd: Any, argv: list[bytes], group: str,
             primary: bool = False) -> Any:
        """One group's share of a split or fanned-out command: its reply, a RedisError, or a
        future giving the reply (``primary``: from the group's master, whose state a later
        share continues, as SCAN's cursor)."""
        verdict = self.place(c, cmd, argv, group, b"", resp3=False, primary=primary)
        if verdict is None:
            return run_here(c, cmd, argv)
        if isinstance(verdict, str):
            return RedisError(verdict)
        return verdict

    def _marks_of(self, c: Any, group: str) -> dict[int, int]:
        if not c.repl_marks:
            return {}
        owners = self.owners
        return {s: o for s, o in c.repl_marks.items() if owners[s] == group}

    # --- transactions ----------------------------------------------------------------------------

    def _in_multi(self, c: Any, cmd: Any, argv: list[bytes]) -> Any:
        name = cmd.name
        if name != "exec":
            if name in ("multi", "watch", "discard"):
                return None if name != "discard" or c.id not in self.pins else \
                    self._unpin(c, cmd, argv)
            keys = cmd.keys(argv)
            if keys:
                groups = self.groups_of(keys)
                if groups is None:
                    return CLUSTERDOWN_UNSERVED
                if self._redirect() and (len(groups) > 1 or groups != {self.my_group}):
                    if len(groups) > 1:
                        return CROSSSLOT
                    return self._moved(keys[0], next(iter(groups)))
            if cmd.write and c.direct_replica and self.node.replica is not None:
                return READONLY
            return None  # queued here; placed whole at EXEC
        pin = self.pins.get(c.id)
        if not c.multi or c.multi_dirty or c.watch_dirty:
            if pin is not None and c.multi_dirty:
                self.client_gone(c)
            return None  # empty, aborted, or a local WATCH already failed: EXEC answers here
        keys = [k for q, a in c.multi for k in q.keys(a)]
        groups = self.groups_of(keys)
        if groups is None:
            return CLUSTERDOWN_UNSERVED
        if pin is not None:
            if groups - {pin.group}:
                return CROSSSLOT
            return self._exec_pinned(c, pin)
        if len(groups) > 1:
            return CROSSSLOT
        group = next(iter(groups)) if groups else self.my_group
        node = self.node
        writes = any(q.write or self._script_writes(q, a) for q, a in c.multi)
        if group == self.my_group:
            if node.replica is None:
                return None
            if not writes and not self._must_forward_reads(c):
                return None  # a read-only transaction the replica can serve
            block = self._block(c)
            return self._to_master(c, block)
        addr = self.target(group, writes)
        if addr is None:
            return CLUSTERDOWN_UNSERVED
        block = self._block(c)
        return self.forwarder.forward(c, addr, block, marks=self._marks_of(c, group))

    def _block(self, c: Any) -> list[list[bytes]]:
        """The queued transaction as commands for another node; the client leaves MULTI."""
        queued = [self._forwardable(q, a) for q, a in c.multi]
        self.node.watches.discard_transaction(c)
        return [[b"MULTI"], *queued, [b"EXEC"]]

    def _watch(self, c: Any, cmd: Any, argv: list[bytes], group: str) -> Any:
        """WATCH of keys this node does not serve as their master: kept on that master, on
        a connection of the client's own, until EXEC, DISCARD, UNWATCH or RESET."""
        node = self.node
        if group == self.my_group and node.replica is None:
            return None
        if self._redirect():
            return self._moved(argv[1], group)
        pin = self.pins.get(c.id)
        if pin is not None and pin.group != group:
            return CROSSSLOT
        if group == self.my_group:
            addr = f"{node.replica.host}:{node.replica.port}"
        else:
            master = node.cluster.node_of(group)
            if master is None:
                return CLUSTERDOWN_UNSERVED
            addr = master.addr
        if pin is None:
            pin = self.pins[c.id] = Pin(group, addr)
        return asyncio.ensure_future(pin.call(self.forwarder, c, [argv],
                                              self._marks_of(c, group)))

    def _exec_pinned(self, c: Any, pin: Pin) -> Any:
        block = self._block(c)
        del self.pins[c.id]
        if pin.lost:
            pin.close()
            return _done(NULL_ARRAY)  # the WATCH went with the connection: abort

        async def run() -> Any:
            try:
                return await pin.call(self.forwarder, c, block, self._marks_of(c, pin.group))
            finally:
                pin.close()
        return asyncio.ensure_future(run())

    def _unpin(self, c: Any, cmd: Any, argv: list[bytes]) -> Any:
        """UNWATCH, DISCARD or RESET of a pinned client: the pin's connection goes (its WATCH
        with it); the command itself runs here."""
        self.client_gone(c)
        return None

    # --- scripts and pub/sub -----------------------------------------------------------------

    def _script_writes(self, cmd: Any, argv: list[bytes]) -> bool:
        """EVAL, EVALSHA and FCALL carry no write flag but their scripts may write: on a
        replica they go to the master, unless the script or function is declared no-writes."""
        return cmd.name in _SCRIPTS and self.node.scripting.may_write(argv)

    def _forwardable(self, cmd: Any, argv: list[bytes]) -> list[bytes]:
        """An EVALSHA whose script this node knows goes as EVAL (another node's script cache
        is its own)."""
        if cmd.name not in ("evalsha", "evalsha_ro"):
            return argv
        return self.node.scripting.forwardable(argv)

    def broadcast_publish(self, channel: bytes, message: bytes, shard: bool) -> None:
        """PUBLISH reaches subscribers on every node (as Redis Cluster); a shard channel's
        message is passed on by its group's master."""
        request = encode_request(b"PHOTON.PUBLISH", b"1" if shard else b"0", channel, message)
        for peer in self.node.cluster.peers():
            if not peer.failed:
                fut = asyncio.ensure_future(self.forwarder.pool(peer.addr).call_raw(request))
                fut.add_done_callback(_ignore)


def _done(value: Any) -> asyncio.Future:
    fut = asyncio.get_running_loop().create_future()
    fut.set_result(value)
    return fut


def _ignore(fut: asyncio.Future) -> None:
    if not fut.cancelled():
        fut.exception()
