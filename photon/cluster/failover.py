"""Automatic failover by vote, Raft's election rules over a shard group (docs/architecture.md,
"Failover").

Detection: a replica whose master sent nothing on the replication link for dead_after stands
as a candidate after a back-off (its rank among the group's live replicas by node id, plus a
random part, so the lowest id usually goes first and split votes are rare). It asks for epoch
current_epoch + 1 and votes for itself.

Votes: a member votes at most once per epoch (kept in cluster.json), never while it still
hears from the master, and only for a candidate that can be brought up to date: a node's
progress is a vector, one offset per shard stream, so for each shard where the voter is ahead
it sends the candidate the entries it lacks from its backlog (and refuses a candidate that
its backlog no longer reaches back to, or that is on another history). A voter then stops
taking the old master's stream until the election is decided.

Winning: with the votes of a majority of the group's members (replication_factor, or more
when more are known), the candidate applies the entries it was sent, so it holds every write
any voter held: with write_quorum at least a majority, every acknowledged write is on some
voter. It becomes master under a new history id and claims the group's shards with the new
epoch; the higher epoch spreads with the heartbeats, the other replicas follow it, and the old
master, on seeing it, stops taking writes and follows it too, dropping any tail it wrote after
the point it shares with the new master (through a full sync of those shards).

Fencing: a master that has not heard from a majority of its group for dead_after, or that
restarted and has not yet learned the group's state from a node it knew, refuses writes and
reads (they could be stale); so does a replica whose master has been silent past dead_after.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import deque
from typing import Any

import hiredis

from photon.cluster.shardmap import ranges_text
from photon.commands.dispatch import execute
from photon.errors import RedisError
from photon.peer.connection import PeerConnection

log = logging.getLogger("photon.cluster")
FENCED = "CLUSTERDOWN The cluster is down (this master is cut off from its group)"
UNLEARNED = ("CLUSTERDOWN The cluster is down (this master restarted and has not heard from "
             "the nodes it knew)")
STALE = ("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")


class Failover:
    def __init__(self, node: Any, membership: Any) -> None:
        self.node = node
        self.m = membership
        self.voted_epoch = 0
        self.voted_for = ""
        self.state = "none"  # none | electing | awaiting | fenced
        self.fenced = False
        self.fence_reason = ""
        self.master_lost_at: float | None = None  # a replica: when its master went silent
        self.next_try = 0.0
        self.task: asyncio.Task | None = None
        self.awaiting: tuple[int, float] | None = None  # (epoch voted in, until)
        self.majority_seen = time.monotonic()  # a master: when a majority last answered
        # master_refuses: not cut off before _open_until, while majority_seen is _open_seen
        # and dead_after_ms is _open_for
        self._open_until = self._open_seen = 0.0
        self._open_for = 0
        self.learned = True  # a restarted master: heard the cluster since it started
        self._learned = asyncio.Event()
        self._learned.set()
        self.manual_target = ""  # a master: the replica it agreed to hand over to
        self.failovers = 0
        self.failover_seconds = 0.0
        self.last_failover_seconds = 0.0
        self.last_pause_ms = 0
        self.events: deque[str] = deque(maxlen=32)

    def _event(self, text: str, *args: Any, level: int = logging.INFO) -> None:
        msg = text % args if args else text
        log.log(level, msg)
        self.events.append(time.strftime("%Y-%m-%dT%H:%M:%S") + " " + msg)

    def _dead_after(self) -> float:
        return self.node.config.dead_after_ms / 1000

    def _interval(self) -> float:
        return max(0.02, self.node.config.heartbeat_interval_ms / 1000)

    # --- every heartbeat -----------------------------------------------------------------------

    def start_fenced_if_remembered(self) -> None:
        """A master that restarts knowing other nodes (cluster.json) takes no write before it
        has heard how the cluster stands: it may have been replaced meanwhile."""
        if self.node.config.role == "master" and self.m.peers():
            self.learned = False
            self._learned.clear()
            self._event("Restarted knowing %d node(s): holding writes and reads until one of "
                        "them says how the cluster stands", len(self.m.peers()))

    def tick(self) -> None:
        node = self.node
        if node.config.role == "standalone" and not self.m.peers():
            return
        now = time.monotonic()
        if node.replica is not None:
            self._as_replica(now)
        elif node.master is not None:
            self._as_master(now)

    def _group_size(self, group: str) -> int:
        known = 1 + len(self.m.replicas_of(group))
        return max(self.node.config.replication_factor, known)

    def _as_master(self, now: float) -> None:
        if not self.learned:
            return
        if self._cut_off(now):
            self._fence(f"has not heard from a majority of its group for more than "
                        f"{self._dead_after():.1f}s")
        else:
            self._unfence()

    def _cut_off(self, now: float) -> bool:
        """A master of a replicated group that has not heard from a majority of the group
        (itself included) for dead_after: it may have been replaced meanwhile. A master with
        no replica known cannot have been."""
        node = self.node
        master = node.master
        if node.role != "master" or master is None:  # (started as one or promoted since)
            return False
        if not self.m.replicas_of(node.node_id):
            return False
        others = self._group_size(node.node_id) // 2  # beyond itself, for a majority
        acks = sorted((link.fresh for link in master.links.values()), reverse=True)
        if len(acks) >= others:
            self.majority_seen = max(self.majority_seen, acks[others - 1] if others else now)
        # a margin below dead_after: the master stops before its replicas may elect another
        return now - self.majority_seen > 0.75 * self._dead_after()

    def master_refuses(self) -> bool:
        """Per command on a master: fenced, or cut off from its group.

        Once ``_cut_off`` said no, it says no until majority_seen + 0.75 * dead_after at the
        earliest (majority_seen never goes back): within that window, for the same
        majority_seen and dead_after, the answer is known without scanning the group per
        command (about 4% of a quorum write's CPU on the master)."""
        if self.fenced:
            return True
        now = time.monotonic()
        if (now < self._open_until and self._open_seen == self.majority_seen
                and self._open_for == self.node.config.dead_after_ms):
            return False
        if self._cut_off(now):
            return True
        self._open_seen = self.majority_seen
        self._open_until = self.majority_seen + 0.75 * self._dead_after()
        self._open_for = self.node.config.dead_after_ms
        return False

    def hold(self, c: Any, argv: list[bytes]) -> asyncio.Future:
        """A restarted master's command waits until the master has heard how the cluster
        stands (at most dead_after), then runs from the start of the command path: by then
        it may be a replica that passes it on."""
        async def later() -> Any:
            try:
                await asyncio.wait_for(asyncio.shield(self._learned.wait()), self._dead_after())
            except asyncio.TimeoutError:
                return RedisError(UNLEARNED)
            reply = execute(c, argv)
            while isinstance(reply, asyncio.Future):
                reply = await reply
            return reply
        return asyncio.ensure_future(later())

    def _fence(self, why: str) -> None:
        if not self.fenced:
            self.fenced, self.fence_reason, self.state = True, why, "fenced"
            self._event("Fenced: no writes or reads as master (%s)", why, level=logging.WARNING)
            self.m.version += 1

    def _unfence(self) -> None:
        if self.fenced:
            self.fenced, self.fence_reason, self.state = False, "", "none"
            self._event("No longer fenced: taking writes as master")
            self.m.version += 1

    def promoted(self) -> None:
        """This node became a master: its replicas get dead_after to attach."""
        self.majority_seen = time.monotonic()
        self.learned = True
        self._learned.set()
        self.fenced, self.fence_reason, self.state = False, "", "none"

    def learned_cluster(self) -> None:
        """A direct heartbeat from another node arrived: a restarted master now knows the
        map (on_map_changed has run already and demoted it if it was replaced)."""
        if not self.learned:
            self.learned = True
            self._learned.set()
            self.majority_seen = time.monotonic()  # its replicas get dead_after to come back

    def master_silence(self) -> float:
        r = self.node.replica
        return time.monotonic() - r.last_io if r is not None else 0.0

    def _as_replica(self, now: float) -> None:
        node = self.node
        if self.awaiting is not None:
            epoch, until = self.awaiting
            if now > until:
                self.awaiting = None
                self.state = "none"
                self._event("No new master elected in epoch %d: following %s again", epoch,
                            self.m.my_group() or "the master")
                node.replica.resume()
            return
        if self.master_silence() <= self._dead_after():
            if self.master_lost_at is not None:
                self._event("Master %s is back", self.m.my_group())
            self.master_lost_at = None
            return
        if self.master_lost_at is None:
            self.master_lost_at = now - self.master_silence()  # when it was last heard
            self.next_try = now + self._backoff()
            self._event("Master %s silent for %.1fs: standing for election in %.2fs",
                        self.m.my_group(), self.master_silence(), self.next_try - now,
                        level=logging.WARNING)
        if self.task is None and now >= self.next_try:
            self.task = asyncio.get_running_loop().create_task(self._elect(manual=False))

    def _backoff(self) -> float:
        group = self.m.my_group() or ""
        live = sorted(r.id for r in self.m.replicas_of(group) if not r.failed)
        me = self.node.node_id
        rank = live.index(me) if me in live else len(live)
        return (rank + random.random()) * self._interval() * 2

    def serves_reads(self) -> bool:
        """A replica whose master has been silent past dead_after may hold stale data."""
        return not (self.node.replica is not None
                    and self.master_silence() > self._dead_after()
                    and self.node.config.role != "standalone")

    # --- the election, as candidate ------------------------------------------------------------

    async def _elect(self, manual: bool) -> bool:
        node = self.node
        m = self.m
        started = time.monotonic()
        group = m.my_group()
        try:
            if group is None:
                return False
            epoch = m.current_epoch + 1
            m.current_epoch = epoch
            self.voted_epoch, self.voted_for = epoch, node.node_id
            m.save()
            self.state = "electing"
            size = self._group_size(group)
            needed = size // 2 + 1
            members = [n for n in [m.node_of(group), *m.replicas_of(group)]
                       if n is not None and n.id != node.node_id]
            positions = [[s, p.replid.decode(), p.offset]
                         for s, p in enumerate(node.shardlog.positions)
                         if s in node_shards(node)]
            self._event("Standing for election in epoch %d for group %s%s: %d votes of %d "
                        "members needed", epoch, group, " (manual failover)" if manual else "",
                        needed, size)
            replies = await asyncio.gather(*[self._ask(n, epoch, group, positions, manual)
                                             for n in members])
            votes = 1
            tails: list[dict[int, list[bytes]]] = []
            for n, (granted, reason, tail) in zip(members, replies):
                if granted:
                    votes += 1
                    tails.append(tail)
                    self._event("%s voted for %s in epoch %d", n.id, node.node_id, epoch)
                else:
                    self._event("%s refused its vote in epoch %d: %s", n.id, epoch, reason)
            if votes < needed or node.replica is None or m.current_epoch > epoch:
                self._event("Lost the election in epoch %d: %d votes (%d needed)", epoch,
                            votes, needed, level=logging.WARNING)
                self.next_try = time.monotonic() + self._backoff() + 2 * self._interval()
                return False
            self._catch_up(tails)
            lost_for = time.monotonic() - (self.master_lost_at or started)
            shards = node.promote(epoch)
            self.failovers += 1
            self.last_failover_seconds = lost_for
            self.failover_seconds += lost_for
            self._event("Won the election in epoch %d with %d votes (%d needed): master of "
                        "shards %s (group without a master for %.2fs)", epoch, votes, needed,
                        ranges_text(shards), lost_for)
            return True
        except Exception:
            log.exception("election failed")
            return False
        finally:
            self.task = None
            if self.state == "electing":
                self.state = "none"
            self.master_lost_at = None if node.replica is None else self.master_lost_at

    async def _ask(self, n: Any, epoch: int, group: str, positions: list,
                   manual: bool) -> tuple[bool, str, dict[int, list[bytes]]]:
        try:
            conn = await PeerConnection.to_peer(n.host, n.port, self.node.config,
                                                self.node.node_id,
                                                timeout=max(0.2, self._dead_after() / 2))
        except (OSError, asyncio.TimeoutError, RedisError, ConnectionError) as e:
            return False, f"unreachable ({e or type(e).__name__})", {}
        try:
            reply = await asyncio.wait_for(conn.call(
                b"PHOTON.VOTE", epoch, group, self.node.node_id, json.dumps(positions),
                b"1" if manual else b"0"), max(0.5, self._dead_after()))
        except (OSError, asyncio.TimeoutError, ConnectionError) as e:
            return False, f"no answer ({e or type(e).__name__})", {}
        finally:
            conn.close()
        if isinstance(reply, hiredis.ReplyError):
            return False, str(reply), {}
        granted, reason, flat = reply
        tails = {int(flat[i]): list(flat[i + 1]) for i in range(0, len(flat), 2)}
        return bool(granted), reason.decode(), tails

    def _catch_up(self, tails: list[dict[int, list[bytes]]]) -> None:
        """Apply the entries voters had and this node lacked, per shard the longest tail."""
        log_ = self.node.shardlog
        for shard in sorted({s for t in tails for s in t}):
            best = max((t.get(shard, []) for t in tails), key=len)
            applied = 0
            for raw in best:
                reader = hiredis.Reader()
                reader.feed(raw)
                _, s, start, blob = reader.gets()
                if start < log_.positions[s].offset:
                    continue
                log_.apply(s, start, blob)
                applied += len(blob)
            if applied:
                self._event("Took %d bytes of shard %d's entries from a voter before taking "
                            "writes", applied, shard)
        self.node.keyspace.write_batches()
        self.node.keys_touched()

    # --- the election, as voter ----------------------------------------------------------------

    def vote(self, epoch: int, group: str, candidate: str, positions: list,
             manual: bool) -> list:
        """PHOTON.VOTE: [granted, reason, [shard, [entries...], ...]]."""
        node = self.node
        m = self.m
        if epoch < m.current_epoch or (epoch == self.voted_epoch and
                                       self.voted_for not in ("", candidate)):
            return self._refuse(candidate, epoch, f"already voted for {self.voted_for} in epoch "
                                f"{self.voted_epoch}" if epoch == self.voted_epoch else
                                f"epoch {epoch} is behind this node's {m.current_epoch}")
        if node.master is not None:
            if group != node.node_id:
                return self._refuse(candidate, epoch, f"this node is not in group {group}")
            if not (manual and self.manual_target == candidate):
                return self._refuse(candidate, epoch, "the master is alive (this node)")
        elif node.replica is not None:
            if group != m.my_group():
                return self._refuse(candidate, epoch, f"this node is not in group {group}")
            silence = self.master_silence()
            if not manual and self.awaiting is None and silence <= self._dead_after():
                return self._refuse(candidate, epoch, f"its master was heard from "
                                    f"{silence:.2f}s ago")
        flat, why = self.tails_for(positions)
        if why:
            return self._refuse(candidate, epoch, why)
        self.voted_epoch, self.voted_for = epoch, candidate
        m.current_epoch = max(m.current_epoch, epoch)
        m.save()
        self._event("Voted for %s in epoch %d%s", candidate, epoch,
                    f" (and sent it entries of {len(flat) // 2} shard(s))" if flat else "")
        self.stand_aside(epoch)
        return [1, b"", flat]

    def tails_for(self, positions: list) -> tuple[list, str]:
        """For each shard where this node is ahead of the given positions, the entries the
        other node lacks, flat [shard, [entries...], ...]; or why they cannot be given."""
        node = self.node
        flat: list = []
        for shard, replid, offset in positions:
            mine = node.shardlog.positions[int(shard)]
            if mine.offset <= offset:
                continue
            if not mine.can_continue(replid.encode(), offset):
                return [], f"it is on another history for shard {shard}"
            tail = node.shardlog.backlogs[int(shard)].since(offset, mine.offset)
            if tail is None:
                return [], (f"it is {mine.offset - offset} bytes behind on shard {shard}, past "
                            "this node's backlog")
            flat += [int(shard), tail]
        return flat, ""

    def stand_aside(self, epoch: int) -> None:
        """Having helped a candidate, a replica takes no more of the old master's stream
        until the map names the new master (or the wait ends)."""
        if self.node.replica is not None:
            self.awaiting = (epoch, time.monotonic() + 3 * self._dead_after())
            self.state = "awaiting"
            self.node.replica.suspend()

    def _refuse(self, candidate: str, epoch: int, why: str) -> list:
        self._event("Refused my vote to %s in epoch %d: %s", candidate, epoch, why)
        return [0, why.encode(), []]

    # --- the map decides -----------------------------------------------------------------------

    def on_map_changed(self) -> None:
        """Follow whoever the map says owns this node's group's shards at a higher epoch: a
        master steps down, a replica follows the election's winner."""
        node = self.node
        m = self.m
        shards = node_shards(node)
        if not shards:
            return
        owners = {m.map.owner(s) for s in shards}
        owners.discard(None)
        if len(owners) != 1:
            return
        (owner,) = owners
        if owner == node.node_id:
            return
        if node.replica is not None and m.my_group() in (None, owner):
            return  # following the owner already (or not knowing whom it follows yet)
        target = m.node_of(owner)
        if target is None:
            return
        if node.master is not None:
            self._event("Shards %s are %s's since epoch %d: stepping down to follow it",
                        ranges_text(sorted(shards)), owner, m.map.epoch(min(shards)),
                        level=logging.WARNING)
            node.pause.stop()
        else:
            self._event("Following %s, master of this group since epoch %d", owner,
                        m.map.epoch(min(shards)))
        self.awaiting = None
        self.master_lost_at = None
        self.state = "none"
        self.fenced, self.fence_reason = False, ""
        node.follow(target.host, target.port)
        self.learned_cluster()

    # --- manual switchover ---------------------------------------------------------------------

    async def manual(self, force: bool) -> None:
        """CLUSTER FAILOVER on a replica: the master pauses writes, this replica catches up on
        every shard, wins an election the master agreed to, and the master follows it."""
        node = self.node
        r = node.replica
        if r is None:
            raise RedisError("ERR You should send CLUSTER FAILOVER to a replica")
        if self.task is not None:
            raise RedisError("ERR a failover is already in progress")
        started = time.monotonic()
        if not force:
            try:
                conn = await PeerConnection.to_peer(r.host, r.port, node.config, node.node_id)
            except (OSError, asyncio.TimeoutError, RedisError) as e:
                raise RedisError("ERR Master is down or failed, please use CLUSTER FAILOVER "
                                 f"FORCE ({e or type(e).__name__})") from None
            try:
                timeout_ms = max(1000, 2 * node.config.dead_after_ms)
                flat = await conn.request(b"PHOTON.FAILOVER", node.node_id, timeout_ms)
            finally:
                conn.close()
            target = dict(zip(flat[::2], flat[1::2]))
            deadline = time.monotonic() + timeout_ms / 1000
            while any(node.shardlog.positions[s].offset < o for s, o in target.items()):
                if time.monotonic() > deadline:
                    raise RedisError("ERR the replica did not catch up with its master in "
                                     f"{timeout_ms} ms; the master resumes writes")
                await asyncio.sleep(0.005)
        self.master_lost_at = started
        self.task = asyncio.current_task()
        won = await self._elect(manual=True)
        pause_ms = int((time.monotonic() - started) * 1000)
        if not won:
            raise RedisError("ERR the failover election was lost (see the log)")
        self.last_pause_ms = pause_ms
        self._event("Manual failover done: writes paused for %d ms", pause_ms)

    def prepare_handover(self, candidate: str, timeout_ms: int) -> list:
        """PHOTON.FAILOVER on the master: pause writes, agree to vote for the replica, and
        give it the offsets it must reach."""
        node = self.node
        if node.master is None:
            raise RedisError("ERR this node is not a master")
        self.manual_target = candidate
        node.pause.start(timeout_ms, "write")
        self._event("Manual failover to %s: writes paused (at most %d ms)", candidate,
                    timeout_ms)
        flat: list = []
        for s in node_shards(node):
            flat += [s, node.shardlog.positions[s].offset]
        return flat

    # --- the coordinator's life ---------------------------------------------------------------

    name = "builtin"

    async def connect(self) -> None:
        """At start-up, before the node serves (etcd: reach it and learn the node's role)."""

    async def close(self) -> None:
        """At shutdown."""

    def give_tails(self, candidate: str, positions: list) -> list:
        raise RedisError("ERR this cluster elects its masters by vote (PHOTON.VOTE)")

    def problem(self) -> str:
        """What keeps the coordinator from doing its work (shown in /_health and INFO)."""
        return ""

    # --- what is shown -------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return {"coordinator": self.name, "problem": self.problem(), "state": self.state, "fenced": self.fenced, "fence_reason": self.fence_reason,
                "voted_epoch": self.voted_epoch, "voted_for": self.voted_for,
                "failovers": self.failovers,
                "last_failover_seconds": round(self.last_failover_seconds, 3),
                "last_manual_pause_ms": self.last_pause_ms,
                "events": list(self.events)}


def node_shards(node: Any) -> list[int]:
    first, last = node.shard_range
    return list(range(first, last + 1))
