"""Membership: how a node knows the cluster (docs/architecture.md, "The cluster").

Every node keeps the node table (a ClusterState) and the shard map. Every heartbeat interval it
sends each node it knows a PHOTON.GOSSIP over a peer link: its own record (authoritative), what
it knows of the others, the shard map and the nodes recently forgotten; the reply is the other
node's gossip, so one exchange updates both sides. A node joins through any node it can reach
(seeds, CLUSTER MEET, a replica's master) and learns the rest from it. A node not heard from,
directly or through others, for dead_after is marked failed.

Masters claim their shard range when they first start (epoch 1; a standalone node claims every
shard at epoch 0, so it yields to any real claim); maps merge by keeping, per shard, the claim
with the higher epoch. The table and the map are kept in ``cluster.json`` beside the shards,
so a node that restarts knows whom to ask before it takes a write.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections import Counter
from pathlib import Path
from typing import Any

from photon.cluster.config import ReplicationConfig
from photon.cluster.formats import NodeEntry
from photon.cluster.coordinator import make_coordinator
from photon.cluster.shardmap import Claim, ShardMap, ranges_text
from photon.cluster.state import ClusterState, NodeInfo
from photon.config import parse_addr, split_addrs
from photon.errors import RedisError
from photon.keyspace.slots import slot_range
from photon.peer.connection import PeerConnection

log = logging.getLogger("photon.cluster")
FORGET_TTL = 60.0  # seconds a forgotten node stays out of the table (Redis: 60 s)
WIRE_VERSION = 1


def announce_host(config: Any) -> str:
    """The host other nodes and clients reach this node at: --announce-addr, else the first
    bind address, else (a wildcard bind) this host's name."""
    if config.announce_addr:
        return config.announce_addr
    host = config.bind.split()[0]
    if host in ("0.0.0.0", "::", "*", ""):
        return socket.getfqdn()
    return host


class Membership:
    def __init__(self, node: Any) -> None:
        self.node = node
        config = node.config
        self.state = ClusterState(node.node_id, ReplicationConfig.from_settings(config),
                                  node=node, dead_after=config.dead_after_ms / 1000)
        self.shard_count = len(node.keyspace.engines)
        self.map = ShardMap(self.shard_count)
        self.current_epoch = 0
        self.forgotten: dict[str, float] = {}  # node id -> until (wall clock)
        self.pending: dict[str, asyncio.Future | None] = {}  # addresses to reach -> a MEET
        self.links: dict[str, PeerConnection] = {}  # node id -> gossip link
        self.link_since: dict[str, float] = {}  # node id -> when its link was opened
        self._inflight: dict[str, asyncio.Task] = {}
        self.sent: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self.started = time.time()
        self.version = 0  # the table or the map changed: the router rebuilds its table
        self.my_version = 0
        self.announce = announce_host(config)
        self.path = Path(config.data_dir) / node.node_id / "cluster.json"
        self._task: asyncio.Task | None = None
        self._save_handle: asyncio.TimerHandle | None = None
        self._wake = asyncio.Event()
        self._failing: set[str] = set()
        self.ok = True
        self.reason = ""
        self.coordinator = make_coordinator(node, self)
        self._load()
        self.coordinator.start_fenced_if_remembered()
        for addr in split_addrs(config.seeds):
            self.pending.setdefault(addr, None)
        if config.role == "replica" and config.master_addr:
            self.pending.setdefault(config.master_addr, None)
        if config.coordinator == "builtin":
            self._claim_own_range()  # with etcd, claims are etcd's transactions
        self.refresh_me()
        self._judge()

    # --- this node ---------------------------------------------------------------------------

    @property
    def me(self) -> NodeInfo:
        return self.state.nodes[self.node.node_id]

    def my_group(self) -> str | None:
        """The group this node serves: its own id as a master, its master's as a replica."""
        node = self.node
        if node.replica is None:
            return node.node_id
        if node.replica.master_id:
            return node.replica.master_id
        addr = f"{node.replica.host}:{node.replica.port}"
        for n in self.state.all():
            if n.addr == addr and n.role == "master":
                return n.id
        return None

    def _claim_own_range(self) -> None:
        config = self.node.config
        if config.role == "replica":
            return
        first, last = self.node.shard_range
        epoch = 1 if config.role == "master" else 0
        free = [s for s in range(first, last + 1) if self.map.claims[s] is None]
        if free:
            self.map.claim(free, self.node.node_id, epoch)
            self.current_epoch = max(self.current_epoch, epoch)

    def _hand_over_claims(self, master: str) -> None:
        """A node that followed a master after it had claimed shards as one: those shards are
        its new group's now, at a higher epoch, so the old claims cannot stand against it."""
        mine = [s for s, claim in enumerate(self.map.claims)
                if claim is not None and claim.group == self.node.node_id]
        if mine:
            epoch = self.current_epoch + 1
            self.map.claim(mine, master, epoch)
            self.current_epoch = epoch
            log.info("Shards %s handed over to %s (epoch %d): this node follows it",
                     ranges_text(mine), master, epoch)
            self._changed()

    def served_shards(self) -> list[int]:
        group = self.my_group()
        return self.map.shards_of(group) if group is not None else []

    def refresh_me(self) -> NodeInfo:
        node = self.node
        config = node.config
        group = self.my_group()
        if node.replica is not None and group is not None:
            self._hand_over_claims(group)
        shards = self.map.shards_of(group) if group else []
        first, last = node.shard_range
        shard_range = (shards[0], shards[-1]) if shards else (first, last)
        role = "replica" if node.replica is not None else "master"
        http = f"{self.announce}:{node.http_port}" if node.http_port else None
        master = group if role == "replica" else None
        claims = [self.map.epoch(s) for s in shards]
        synced = node.replica is None or node.replica.state == "connected"
        # nodes reach each other over TLS when internal links use it (--tls-replication)
        port = config.announce_port or (config.tls_port if config.tls_replication
                                        and config.tls_port else node.port)
        mine = NodeInfo(node.node_id, role, f"{self.announce}:{port}", shard_range,
                        time.time(), http, True, master, config.zone, max(claims, default=0),
                        node.shardlog.offset, self.my_version, False, self.started, synced)
        old = self.state.nodes.get(node.node_id)
        if old is None or (old.role, old.addr, old.http_addr, old.shard_range, old.master_id,
                           old.zone, old.epoch, old.synced) != (
                               mine.role, mine.addr, mine.http_addr, mine.shard_range,
                               mine.master_id, mine.zone, mine.epoch, mine.synced):
            self.my_version += 1
            mine.version = self.my_version
            self.version += 1
        self.state.nodes[node.node_id] = mine
        return mine

    # --- the loop ----------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for t in self._inflight.values():
            t.cancel()
        for link in self.links.values():
            link.close()
        self.links.clear()
        self.save()

    def gossip_soon(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                self.round()
                await self._check_dead()
            except Exception:
                log.exception("cluster heartbeat failed")
            interval = self.node.config.heartbeat_interval_ms / 1000
            try:
                await asyncio.wait_for(self._wake.wait(), interval)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    def round(self) -> None:
        """One heartbeat: an exchange with every known node and every address to reach (one
        at a time per peer: a silent peer delays only itself), then failure detection."""
        self.refresh_me()
        payload = self.payload()
        for n in self.state.all():
            if n.id != self.node.node_id:
                self._launch(n.id, self._exchange_node(n, payload))
        for addr in list(self.pending):
            self._launch("addr:" + addr, self._exchange_addr(addr, payload))
        self._judge()
        self.coordinator.tick()

    async def _check_dead(self) -> None:
        """The spec's detection task: nodes silent for dead_after are marked dead."""
        state = self.state
        state.dead_after = self.node.config.dead_after_ms / 1000
        before = {n.id for n in state.dead.values()}
        for nid in await state.check_dead_nodes():
            n = state.dead[nid]
            log.warning("Node %s (%s) is dead: not heard from for %.1fs", nid, n.addr,
                        time.time() - n.last_heartbeat)
        for nid in before - set(state.dead):
            log.info("Node %s is alive again", nid)
        if before != set(state.dead):
            self.version += 1

    def _launch(self, key: str, coro: Any) -> None:
        task = self._inflight.get(key)
        if task is not None and not task.done():
            coro.close()
            return
        self._inflight[key] = asyncio.get_running_loop().create_task(coro)

    def _timeout(self) -> float:
        config = self.node.config
        return max(0.3, min(config.heartbeat_interval_ms * 2, config.dead_after_ms) / 1000)

    async def _exchange_node(self, n: NodeInfo, payload: bytes) -> None:
        link = self.links.get(n.id)
        try:
            if link is None or link.closed:
                link = await PeerConnection.to_peer(n.host, n.port, self.node.config,
                                                    self.node.node_id, self._timeout())
                self.links[n.id] = link
                self.link_since[n.id] = time.time()
            self.sent["ping"] += 1
            reply = await asyncio.wait_for(link.request(b"PHOTON.GOSSIP", payload),
                                           self._timeout())
            self.received["pong"] += 1
            self.merge(reply, direct=True)
            await self.state.heartbeat(n.id)
            if n.id in self._failing:
                self._failing.discard(n.id)
                log.info("Cluster link to %s (%s) is back", n.id, n.addr)
        except (OSError, ConnectionError, asyncio.TimeoutError, RedisError, ValueError) as e:
            self.links.pop(n.id, None)
            if link is not None:
                link.close()
            known = self.state.get(n.id)
            if known is not None:
                known.connected = False
            if n.id not in self._failing:
                self._failing.add(n.id)
                log.warning("Cluster link to %s (%s) failed: %s", n.id, n.addr,
                            e or type(e).__name__)

    async def _exchange_addr(self, addr: str, payload: bytes) -> None:
        """A node known only by its address (a seed, a MEET, a replica's master)."""
        waiter = self.pending.get(addr)
        try:
            host, port = parse_addr(addr)
            link = await PeerConnection.to_peer(host, port, self.node.config,
                                                self.node.node_id, self._timeout())
            try:
                self.sent["meet"] += 1
                reply = await asyncio.wait_for(link.request(b"PHOTON.GOSSIP", payload),
                                               self._timeout())
                sender = self.merge(reply, direct=True)
            finally:
                link.close()
        except RedisError as e:
            self._refused(addr, waiter, f"it is not a PhotonDB node of this cluster ({e})")
            return
        except (OSError, ConnectionError, asyncio.TimeoutError) as e:
            self._refused(addr, waiter, f"cannot reach it ({e or type(e).__name__})")
            return
        except (ValueError, KeyError, TypeError) as e:
            self._refused(addr, waiter, f"it did not answer as a PhotonDB node ({e})")
            return
        self.pending.pop(addr, None)
        log.info("Met node %s at %s", sender, addr)
        if waiter is not None and not waiter.done():
            waiter.set_result(sender)

    def _refused(self, addr: str, waiter: asyncio.Future | None, why: str) -> None:
        if waiter is not None:
            self.pending.pop(addr, None)  # a MEET answers once; seeds are retried
            if not waiter.done():
                waiter.set_exception(RedisError(f"ERR CLUSTER MEET {addr} failed: {why}"))
            return
        if addr not in self._failing:
            self._failing.add(addr)
            log.warning("Cannot join the cluster through %s: %s (retrying)", addr, why)

    # --- gossip ------------------------------------------------------------------------------

    def payload(self) -> bytes:
        now = time.time()
        nodes = [self.me.record(now)] + [n.record(now) for n in self.state.all()
                                         if n.id != self.node.node_id]
        claims = self.map.to_wire()
        return json.dumps({
            "v": WIRE_VERSION, "from": self.node.node_id, "epoch": self.current_epoch,
            "shards": self.shard_count, "nodes": nodes,
            "map": [[claims[i], claims[i + 1].decode(), claims[i + 2]]  # type: ignore
                    for i in range(0, len(claims), 3)],
            "forgotten": [[nid, int((until - now) * 1000)] for nid, until in
                          self.forgotten.items() if until > now],
        }, separators=(",", ":")).encode()

    def receive(self, raw: bytes) -> bytes:
        """PHOTON.GOSSIP: take the sender's news, answer with ours."""
        self.received["ping"] += 1
        self.merge(raw, direct=True)
        self.refresh_me()
        self.sent["pong"] += 1
        return self.payload()

    def merge(self, raw: bytes, direct: bool) -> str:
        """Take what another node knows; returns the sender's id."""
        msg = json.loads(raw)
        if msg.get("v") != WIRE_VERSION:
            raise ValueError(f"gossip version {msg.get('v')!r}, this node speaks {WIRE_VERSION}")
        if int(msg["shards"]) != self.shard_count:
            raise RedisError(f"ERR that node has {msg['shards']} shards, this one "
                             f"{self.shard_count}: a cluster's nodes share one shard count")
        sender = str(msg["from"])
        now = time.time()
        state = self.state
        changed = False
        for nid, ttl_ms in msg.get("forgotten", []):
            if nid != self.node.node_id and nid not in self.forgotten:
                self.forgotten[nid] = now + ttl_ms / 1000
                if state.remove(nid) is not None:
                    changed = True
                    self._drop_link(nid)
        for r in msg["nodes"]:
            nid = str(r["id"])
            if nid == self.node.node_id or self.forgotten.get(nid, 0) > now:
                continue
            info = NodeInfo.from_record(r, now)
            known = state.get(nid)
            if nid == sender and direct:
                info.last_heartbeat = now
                info.connected = True
                info.failed = False
                changed |= self._replaces_same_addr(info)
            if known is None:
                state.nodes[nid] = info
                changed = True
                if nid != sender:
                    log.info("Learned of node %s (%s) from %s", nid, info.addr, sender)
                continue
            newer = (info.started, info.version) > (known.started, known.version)
            if newer:
                changed |= (known.role, known.addr, known.master_id, known.shard_range,
                            known.zone, known.epoch) != (info.role, info.addr, info.master_id,
                                                         info.shard_range, info.zone, info.epoch)
                if known.addr != info.addr:
                    self._drop_link(nid)
                for attr in ("role", "addr", "http_addr", "shard_range", "master_id", "zone",
                             "epoch", "version", "started", "synced"):
                    setattr(known, attr, getattr(info, attr))
            known.offset = info.offset if newer or nid == sender else known.offset
            if info.last_heartbeat > known.last_heartbeat:
                known.last_heartbeat = info.last_heartbeat
            if nid == sender and direct:
                state.revive(nid)
        other = ShardMap(self.shard_count)
        for shard, group, epoch in msg.get("map", []):
            other._offer(int(shard), Claim(str(group), int(epoch)))
        moved = self.map.merge(other)
        if moved:
            changed = True
            owners: dict[tuple[str, int], list[int]] = {}
            for s in moved:
                owners.setdefault((self.map.owner(s) or "nobody (conflict)",
                                   self.map.epoch(s)), []).append(s)
            log.info("Shard map: %s", "; ".join(
                f"shards {ranges_text(ss)} now {g} (epoch {e})" for (g, e), ss in owners.items()))
        self.current_epoch = max(self.current_epoch, int(msg.get("epoch", 0)),
                                 self.map.max_epoch())
        if changed:
            self._changed(map_moved=bool(moved))
        if direct:
            self.coordinator.learned_cluster()
        return sender

    def _replaces_same_addr(self, info: NodeInfo) -> bool:
        """A node now answering at an address another id had (a node restarted with a new
        id): the old id is gone."""
        stale = [n.id for n in self.state.all()
                 if n.addr == info.addr and n.id not in (info.id, self.node.node_id)]
        for nid in stale:
            self.state.remove(nid)
            self._drop_link(nid)
            log.info("Node %s answers at %s, where %s was: forgetting %s", info.id, info.addr,
                     nid, nid)
        return bool(stale)

    def _drop_link(self, nid: str) -> None:
        link = self.links.pop(nid, None)
        if link is not None:
            link.close()

    def _changed(self, map_moved: bool = False) -> None:
        self.version += 1
        self._judge()
        self.save_soon()
        self.gossip_soon()
        self.node.routing_changed()
        if map_moved:
            self.coordinator.on_map_changed()

    def claim_as_master(self, group: str | None, epoch: int | None) -> list[int]:
        """This node became its group's master (an election, or REPLICAOF NO ONE): it claims
        the group's shards at a new epoch and tells everyone now."""
        shards = self.map.shards_of(group) if group else []
        if not shards:
            first, last = self.node.shard_range
            shards = list(range(first, last + 1))
        epoch = epoch if epoch is not None else self.current_epoch + 1
        self.map.claim(shards, self.node.node_id, epoch)
        self.current_epoch = max(self.current_epoch, epoch)
        self.refresh_me()
        self.save()
        self._changed()
        return shards

    # --- failure detection and the cluster's state --------------------------------------------

    def _judge(self) -> None:
        uncovered = self.map.uncovered()
        conflicts = self.map.conflicting()
        reasons = []
        if conflicts:
            reasons.append("shards %s claimed by two groups at the same epoch (%s)" % (
                ranges_text(conflicts), "; ".join(
                    f"{s}: {', '.join(sorted(self.map.conflicts[s]))}" for s in conflicts[:4])))
        if uncovered:
            reasons.append(f"shards {ranges_text(uncovered)} not served by any group")
        ok = not reasons
        reason = "; ".join(reasons)
        if (ok, reason) != (self.ok, self.reason):
            if ok:
                log.info("Cluster state changed to ok")
            else:
                log.warning("Cluster state changed to fail: %s", reason)
        self.ok, self.reason = ok, reason

    # --- what other parts ask ------------------------------------------------------------------

    def node_of(self, group: str) -> NodeInfo | None:
        return self.state.get(group)

    def replicas_of(self, group: str) -> list[NodeInfo]:
        return [n for n in self.state.all() if n.role == "replica" and n.master_id == group]

    def peers(self) -> list[NodeInfo]:
        return [n for n in self.state.all() if n.id != self.node.node_id]

    def meet(self, host: str, port: int) -> asyncio.Future:
        """CLUSTER MEET: the future gives OK once the node answered, or the reason it did
        not (a MEET to something that is not a PhotonDB node fails clearly)."""
        addr = f"{host}:{port}"
        fut = asyncio.get_running_loop().create_future()
        self.pending[addr] = fut
        self.gossip_soon()
        return fut

    def forget(self, nid: str) -> None:
        if nid == self.node.node_id:
            raise RedisError("ERR I tried hard but I can't forget myself...")
        if self.state.get(nid) is None:
            raise RedisError(f"ERR Unknown node {nid}")
        if self.node.replica is not None and self.my_group() == nid:
            raise RedisError("ERR Can't forget my master!")
        self.state.remove(nid)
        self._drop_link(nid)
        self.forgotten[nid] = time.time() + FORGET_TTL
        log.info("Forgot node %s (for %ds unless it is met again)", nid, FORGET_TTL)
        self._changed()

    # --- persistence ---------------------------------------------------------------------------

    def save_soon(self) -> None:
        if self._save_handle is None and _loop_running():
            self._save_handle = asyncio.get_running_loop().call_later(0.05, self.save)

    def save(self) -> None:
        self._save_handle = None
        if not self.path.parent.is_dir() or (len(self.state.all()) == 1
                                              and not self.path.exists()):
            return  # a node that never knew another has nothing to remember
        now = time.time()
        claims = self.map.to_wire()
        doc = {"nodes": [n.record(now) for n in self.state.all() if n.id != self.node.node_id],
               "map": [[claims[i], claims[i + 1].decode(), claims[i + 2]]  # type: ignore
                       for i in range(0, len(claims), 3)],
               "epoch": self.current_epoch,
               "voted": [self.coordinator.voted_epoch, self.coordinator.voted_for]}
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(doc, indent=1) + "\n")
            os.replace(tmp, self.path)
        except OSError as e:
            log.warning("Cannot save the cluster's table to %s: %s", self.path, e)

    def _load(self) -> None:
        try:
            doc = json.loads(self.path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as e:
            log.warning("Ignoring %s: %s", self.path, e)
            return
        now = time.time()
        for r in doc.get("nodes", []):
            info = NodeInfo.from_record({**r, "age_ms": 0}, now)
            info.connected = False
            self.state.nodes[info.id] = info
        for shard, group, epoch in doc.get("map", []):
            if 0 <= int(shard) < self.shard_count:
                self.map._offer(int(shard), Claim(str(group), int(epoch)))
        self.current_epoch = max(int(doc.get("epoch", 0)), self.map.max_epoch())
        voted = doc.get("voted") or [0, ""]
        self.coordinator.voted_epoch, self.coordinator.voted_for = int(voted[0]), str(voted[1])
        log.info("Cluster table loaded from %s: %d other node(s), epoch %d", self.path,
                 len(self.state.nodes), self.current_epoch)

    # --- views ---------------------------------------------------------------------------------

    def health(self) -> str:
        """healthy: this node serves what it should and the cluster is ok; degraded: this
        node does not; fail: the cluster is not ok."""
        if not self.ok:
            return "fail"
        if self.coordinator.problem():
            return "degraded"  # serving, but no failover could happen now: an operator's cue
        return self.node_health()

    def node_health(self) -> str:
        """healthy: a replica's link to its master is up, a master can meet its quorum."""
        node = self.node
        if node.replica is not None:
            return "healthy" if node.replica.state == "connected" else "degraded"
        master = node.master
        if master is not None and master.quorum_active:
            needed = node.config.write_quorum - 1
            return "healthy" if master.online_links() >= needed else "degraded"
        return "healthy"

    def view(self) -> dict[str, Any]:
        self.refresh_me()
        doc = self.state.view(self.health())
        by_id = {n["id"]: n for n in doc["nodes"]}
        by_id[self.node.node_id]["myself"] = True
        for n in doc["nodes"]:
            master = by_id.get(n.get("master_id") or "")
            if master is not None:  # as of the last heartbeats both sent
                n["lag_bytes"] = max(0, master["offset"] - n["offset"])
        doc.update({"cluster_state": "ok" if self.ok else "fail",
                    "cluster_state_reason": self.reason,
                    "uncovered_shards": self.map.uncovered(),
                    "conflicting_shards": self.map.conflicting(),
                    "current_epoch": self.current_epoch,
                    "coordinator": self.coordinator.info(),
                    "groups": {g: self.map.shards_of(g) for g in self.map.groups()}})
        return doc

    def entries(self) -> list[NodeEntry]:
        """The node table as the CLUSTER commands lay it out: masters own the slots of
        their shards in the map; a node's bus port is its RESP port (gossip runs there)."""
        self.refresh_me()
        out = []
        for n in self.state.all():
            slots: list[tuple[int, int]] = []
            if n.role == "master":
                for s in self.map.shards_of(n.id):
                    slots.append(slot_range(s, self.shard_count))
            host, port = n.host, n.port
            ping = int(time.time() * 1000) if not n.connected and n.id != self.me.id else 0
            out.append(NodeEntry(
                id=n.id, ip=host, port=port, cport=port, role=n.role, master_id=n.master_id,
                slots=slots, config_epoch=n.epoch, ping_sent_ms=ping,
                pong_recv_ms=int(n.last_heartbeat * 1000), connected=n.connected,
                failed=n.failed, replication_offset=n.offset,
                health="online" if n.synced else "loading", shard_id=n.master_id or n.id))
        return out


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False
