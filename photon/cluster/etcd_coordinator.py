"""Coordination on etcd (docs/architecture.md, "Coordination"), as Patroni keeps a
PostgreSQL cluster's leader in etcd: the source of truth is a store built for consensus, and
PhotonDB adds no consensus of its own in this mode.

Keys, under ``--coordinator-prefix`` (``/photon/<cluster-name>``):

    cluster                  {"shards": N}: a node of another shard count stops at start
    members/<node-id>        each node's record (address, role, group, per-shard offsets),
                             under the node's lease: a dead node's key expires after dead-after
    groups/<a-b>/leader      the id of the master of the group serving shards a-b, under the
                             master's lease; its revision is the group's epoch and fencing token
    shards/<n>               {"group": master id}; its revision is the claim's epoch

A master keeps its lease alive every heartbeat and writes only while it holds the leader key
(or, with etcd unreachable, while it still hears from a majority of its group: Patroni's
failsafe mode; nothing is promoted meanwhile). When the key expires (the master is gone), a
replica that no longer hears from the master gathers the entries it lacks from enough replicas
to make a majority of the group (PHOTON.TAIL), applies them, and takes the key and the group's
shards in one transaction; the others follow it. CLUSTER FAILOVER hands the key over in a
transaction that checks the old master still holds it.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
import socket
import ssl as ssl_module
import time
from typing import Any

import hiredis

from photon.cluster.etcd import (
    EtcdClient, EtcdError, absent, delete_op, get_op, kvs_of, parse_endpoints, put_op,
    value_is,
)
from photon.cluster.failover import Failover
from photon.cluster.shardmap import Claim, ShardMap, ranges_text
from photon.cluster.state import NodeInfo
from photon.errors import ConfigError, RedisError
from photon.peer.connection import PeerConnection

log = logging.getLogger("photon.cluster")
WAIT_LOG_EVERY = 5.0  # seconds between "waiting for etcd" lines


class EtcdCoordinator(Failover):
    name = "etcd"

    def __init__(self, node: Any, membership: Any) -> None:
        super().__init__(node, membership)
        config = node.config
        self.endpoints = parse_endpoints(config.coordinator)
        self.prefix = config.coordinator_prefix
        self.client = EtcdClient(self.endpoints, timeout=self._call_timeout(),
                                 ssl=self._ssl(config), user=config.coordinator_user,
                                 password=config.coordinator_password)
        self.lease = 0
        self.reachable = False
        self.unreachable_since: float | None = time.time()
        self.last_error = ""
        self._round_task: asyncio.Task | None = None
        self.leader_revision: dict[str, int] = {}
        self.learned = False  # nothing is served as master before etcd said who is
        self._learned.clear()

    def _call_timeout(self) -> float:
        return max(0.5, min(2.0, self.node.config.dead_after_ms / 2000))

    @staticmethod
    def _ssl(config: Any) -> ssl_module.SSLContext | None:
        if not config.coordinator.startswith("etcds://"):
            return None
        ctx = ssl_module.create_default_context(cafile=config.coordinator_ca_file or None)
        if config.coordinator_cert_file:
            ctx.load_cert_chain(config.coordinator_cert_file,
                                config.coordinator_key_file or None)
        return ctx

    def key(self, *parts: str) -> str:
        return "/".join([self.prefix, *parts])

    def group(self) -> str:
        first, last = self.node.shard_range
        return f"{first}-{last}"

    def _ttl(self) -> int:
        return max(2, math.ceil(self.node.config.dead_after_ms / 1000))

    # --- start-up --------------------------------------------------------------------------

    def start_fenced_if_remembered(self) -> None:
        """Every node waits for etcd before it serves as a master (see connect)."""

    async def connect(self) -> None:
        """Reach etcd (waiting, with a line every few seconds, while it is down), check the
        prefix holds this cluster, register, and take or learn this node's role. Bad input
        (endpoints that do not resolve, another cluster's keys) stops the start."""
        waited = 0.0
        while True:
            try:
                await self._check_cluster()
                break
            except EtcdError as e:
                if not e.unreachable:
                    raise ConfigError(f"invalid value for coordinator: {e}") from None
                if self._none_resolve():
                    raise ConfigError(f"invalid value for coordinator: none of "
                                      f"{', '.join(self.endpoints)} resolves") from None
                if waited == 0 or waited >= WAIT_LOG_EVERY:
                    log.warning("Waiting for etcd at %s to learn this node's role: %s",
                                ", ".join(self.endpoints), e)
                    waited = 0.0
                await asyncio.sleep(0.5)
                waited += 0.5
        self.lease = await self.client.grant(self._ttl())
        self._reachable(True)
        await self._register()
        if self.node.config.role != "replica":
            await self._take_or_learn_mastership()
        await self._sync()
        self.learned = True
        self._learned.set()
        self.majority_seen = time.monotonic()

    def _none_resolve(self) -> bool:
        for endpoint in self.endpoints:
            host = endpoint.split("://", 1)[1].rpartition(":")[0].strip("[]")
            try:
                socket.getaddrinfo(host, None)
                return False
            except OSError:
                continue
        return True

    async def _check_cluster(self) -> None:
        shards = len(self.node.keyspace.engines)
        doc = json.dumps({"shards": shards})
        ok, _, responses = await self.client.txn([absent(self.key("cluster"))],
                                                 [put_op(self.key("cluster"), doc)],
                                                 [get_op(self.key("cluster"))])
        if ok:
            log.info("Created cluster %s in etcd (%d shards)", self.prefix, shards)
            return
        kvs = kvs_of(responses[0])
        try:
            theirs = json.loads(kvs[0].value)["shards"]
        except (IndexError, KeyError, ValueError, TypeError):
            raise EtcdError(f"{self.key('cluster')} in etcd is not a PhotonDB cluster's: "
                            "a wrong --coordinator-prefix?") from None
        if theirs != shards:
            raise EtcdError(f"{self.prefix} in etcd holds a cluster of {theirs} shards and "
                            f"this node has {shards}: another cluster's keys, or a wrong "
                            f"--coordinator-prefix")

    async def _take_or_learn_mastership(self) -> None:
        """A master at start: claim its group on a fresh cluster, take back a leader key
        that is free and still names it the shards' owner, or learn who replaced it."""
        node = self.node
        me = node.node_id
        g = self.group()
        first, last = node.shard_range
        shards = list(range(first, last + 1))
        leader_key = self.key("groups", g, "leader")
        owners, _ = await self.client.get_prefix(self.key("shards") + "/")
        mine = {int(kv.key.rsplit(b"/", 1)[1]): json.loads(kv.value).get("group")
                for kv in owners}
        if not any(s in mine for s in shards):
            compare = [absent(leader_key), *(absent(self.key("shards", str(s)))
                                             for s in shards)]
            ops = [put_op(leader_key, me, self.lease),
                   *(put_op(self.key("shards", str(s)), json.dumps({"group": me}))
                     for s in shards)]
            ok, rev, _ = await self.client.txn(compare, ops)
            if ok:
                log.info("Claimed shards %s for group %s in etcd (epoch %d)",
                         ranges_text(shards), g, rev)
                return
        if all(mine.get(s) == me for s in shards):
            ok, rev, _ = await self.client.txn(
                [absent(leader_key)], [put_op(leader_key, me, self.lease)])
            if not ok:
                ok, rev, _ = await self.client.txn(
                    [value_is(leader_key, me)], [put_op(leader_key, me, self.lease)])
            if ok:
                log.info("Holding the leader key of group %s again (epoch %d)", g, rev)
                return
        log.warning("This node was replaced as master of shards %s: it follows the group's "
                    "master named in etcd", ranges_text(shards))

    # --- every heartbeat -------------------------------------------------------------------

    def tick(self) -> None:
        if not self.learned:
            return
        if self._round_task is None or self._round_task.done():
            self._round_task = asyncio.get_running_loop().create_task(self._round())
        if self.node.replica is not None:
            self._as_replica_etcd()
        elif self.node.master is not None:
            self._as_master(time.monotonic())

    async def _round(self) -> None:
        try:
            ttl = await self.client.keepalive(self.lease) if self.lease else 0
            if ttl == 0:
                self.lease = await self.client.grant(self._ttl())
                self._event("Lease expired (etcd unreachable for too long): registered again",
                            level=logging.WARNING)
            await self._register()
            await self._sync()
            if self.node.master is not None:
                await self._hold_leader_key()
            self._reachable(True)
        except EtcdError as e:
            self._reachable(False, str(e))
        except Exception:
            log.exception("etcd round failed")

    def _reachable(self, ok: bool, why: str = "") -> None:
        if ok and not self.reachable:
            if self.unreachable_since is not None and self.learned:
                self._event("etcd is reachable again after %.1fs",
                            time.time() - self.unreachable_since)
            self.unreachable_since = None
        elif not ok and self.reachable:
            self.unreachable_since = time.time()
            self._event("etcd is unreachable (%s): masters keep serving while they hear from "
                        "a majority of their group, nothing is promoted", why,
                        level=logging.WARNING)
        self.reachable = ok
        self.last_error = why

    async def _register(self) -> None:
        node = self.node
        m = self.m
        me = m.refresh_me()
        record = me.record(time.time())
        record["group"] = self.group()
        record["positions"] = [[s, p.replid.decode(), p.offset]
                               for s, p in enumerate(node.shardlog.positions)]
        await self.client.put(self.key("members", node.node_id), json.dumps(record), self.lease)

    async def _sync(self) -> None:
        """The shard map and the members, from etcd into this node's table."""
        m = self.m
        kvs, _ = await self.client.get_prefix(self.key("shards") + "/")
        other = ShardMap(m.shard_count)
        for kv in kvs:
            shard = int(kv.key.rsplit(b"/", 1)[1])
            if 0 <= shard < m.shard_count:
                other._offer(shard, Claim(json.loads(kv.value)["group"], kv.mod_revision))
        members, _ = await self.client.get_prefix(self.key("members") + "/")
        now = time.time()
        added = False
        for kv in members:
            r = json.loads(kv.value)
            if r["id"] == self.node.node_id or m.state.get(r["id"]) is not None:
                continue
            m.state.nodes[r["id"]] = NodeInfo.from_record(r, now)
            added = True
        moved = m.map.merge(other)
        m.current_epoch = max(m.current_epoch, m.map.max_epoch())
        if moved or added:
            m._changed(map_moved=bool(moved))

    async def _hold_leader_key(self) -> None:
        """A master writes only while it holds its group's leader key (re-taken after an
        etcd outage if nobody took it meanwhile); a master cut off from a majority of its
        group lets it go, so that the group's other members can take over."""
        me = self.node.node_id
        leader_key = self.key("groups", self.group(), "leader")
        if self._cut_off(time.monotonic()):
            ok, _, _ = await self.client.txn([value_is(leader_key, me)], [delete_op(leader_key)])
            if ok:
                self._event("Gave up the leader key of group %s: cut off from a majority of "
                            "the group", self.group(), level=logging.WARNING)
            return
        ok, rev, _ = await self.client.txn([value_is(leader_key, me)],
                                           [put_op(leader_key, me, self.lease)])
        if not ok:
            ok, rev, _ = await self.client.txn([absent(leader_key)],
                                               [put_op(leader_key, me, self.lease)])
        if not ok and self.node.master is not None:
            self._fence("another node holds this group's leader key in etcd")

    # --- failover through etcd -----------------------------------------------------------

    def _as_replica_etcd(self) -> None:
        now = time.monotonic()
        if self.awaiting is not None:
            epoch, until = self.awaiting
            if now > until:
                self.awaiting = None
                self.state = "none"
                self.node.replica.resume()
            return
        first, _ = self.node.shard_range
        if (self.master_silence() <= self._dead_after() or not self.reachable
                or self.m.map.owner(first) is None):
            # (a group that never had a master, as at a cluster's first start, is not taken)
            self.master_lost_at = None
            return
        if self.master_lost_at is None:
            self.master_lost_at = now - self.master_silence()
            self.next_try = now + self._backoff()
        if self.task is None and now >= self.next_try:
            self.task = asyncio.get_running_loop().create_task(self._take_over(manual=False))

    async def _elect(self, manual: bool) -> bool:
        return await self._take_over(manual)

    async def _take_over(self, manual: bool) -> bool:
        """Take the group's leader key (free after the master's lease expired, or handed
        over by the master for CLUSTER FAILOVER), once this node holds every write a
        majority of the group held."""
        node = self.node
        m = self.m
        me = node.node_id
        g = self.group()
        leader_key = self.key("groups", g, "leader")
        started = time.monotonic()
        try:
            leader = await self.client.get(leader_key)
            old = leader.value.decode() if leader is not None else ""
            if leader is not None and not manual:
                return False  # the master still holds it
            if manual and old != m.my_group():
                raise RedisError(f"ERR the leader key of group {g} is held by {old or 'nobody'}")
            self.state = "electing"
            members, _ = await self.client.get_prefix(self.key("members") + "/")
            others = [json.loads(kv.value) for kv in members]
            others = [r for r in others if r.get("group") == g and r["id"] not in (me, old)
                      and r.get("role") == "replica"]
            size = self._group_size(m.my_group() or old or me)
            needed = size // 2 + 1
            positions = [[s, p.replid.decode(), p.offset]
                         for s, p in enumerate(node.shardlog.positions)]
            replies = await asyncio.gather(*[self._ask_tails(r, positions) for r in others])
            tails = [t for ok, t in replies if ok]
            if 1 + len(tails) + (1 if manual else 0) < needed:
                self._event("Cannot take group %s over yet: %d of %d members answered",
                            g, 1 + len(tails), needed, level=logging.WARNING)
                self.next_try = time.monotonic() + self._backoff() + 2 * self._interval()
                return False
            self._catch_up(tails)
            first, last = node.shard_range
            shards = list(range(first, last + 1))
            compare = [value_is(leader_key, old)] if manual else [absent(leader_key)]
            ops = [put_op(leader_key, me, self.lease),
                   *(put_op(self.key("shards", str(s)), json.dumps({"group": me}))
                     for s in shards)]
            ok, rev, _ = await self.client.txn(compare, ops)
            if not ok:
                self._event("Another node took group %s over first", g)
                return False
            lost_for = time.monotonic() - (self.master_lost_at or started)
            node.promote(rev)
            self.failovers += 1
            self.last_failover_seconds = lost_for
            self.failover_seconds += lost_for
            self._event("Took group %s over through etcd (epoch %d): master of shards %s "
                        "(group without a master for %.2fs)", g, rev, ranges_text(shards),
                        lost_for)
            return True
        except EtcdError as e:
            self._reachable(False, str(e))
            return False
        finally:
            self.task = None
            if self.state == "electing":
                self.state = "none"

    async def _ask_tails(self, record: dict[str, Any], positions: list,
                         ) -> tuple[bool, dict[int, list[bytes]]]:
        host, _, port = record["addr"].rpartition(":")
        try:
            conn = await PeerConnection.to_peer(host, int(port), self.node.config,
                                                self.node.node_id,
                                                timeout=max(0.2, self._dead_after() / 2))
        except (OSError, asyncio.TimeoutError, RedisError, ConnectionError):
            return False, {}
        try:
            reply = await asyncio.wait_for(conn.call(b"PHOTON.TAIL", self.node.node_id,
                                                     json.dumps(positions)),
                                           max(0.5, self._dead_after()))
        except (OSError, asyncio.TimeoutError, ConnectionError):
            return False, {}
        finally:
            conn.close()
        if isinstance(reply, hiredis.ReplyError):
            self._event("%s gave no entries: %s", record["id"], reply)
            return False, {}
        return True, {int(reply[i]): list(reply[i + 1]) for i in range(0, len(reply), 2)}

    def give_tails(self, candidate: str, positions: list) -> list:
        """PHOTON.TAIL: the entries a candidate lacks; then this replica takes no more of
        the old master's stream until etcd names the new master."""
        flat, why = self.tails_for(positions)
        if why:
            raise RedisError(f"ERR {why}")
        if self.node.replica is not None and not self.manual_target:
            self.stand_aside(self.m.current_epoch)
        self._event("Gave %s the entries of %d shard(s) it lacked", candidate, len(flat) // 2)
        return flat

    def vote(self, epoch: int, group: str, candidate: str, positions: list,
             manual: bool) -> list:
        return self._refuse(candidate, epoch, "this cluster's masters are chosen in etcd")

    # --- what is shown ---------------------------------------------------------------------

    def problem(self) -> str:
        if self.reachable:
            return ""
        since = time.strftime("%H:%M:%S", time.localtime(self.unreachable_since or time.time()))
        return f"etcd unreachable since {since}: no promotion until it is back"

    def info(self) -> dict[str, Any]:
        out = super().info()
        out.update({"coordinator": "etcd", "endpoints": self.endpoints, "prefix": self.prefix,
                    "etcd_reachable": self.reachable, "etcd_error": self.last_error,
                    "lease": self.lease})
        return out

    async def close(self) -> None:
        """The lease is left to expire: a master restarted within dead-after takes its
        leader key back, a longer absence hands the group over."""
        if self._round_task is not None:
            self._round_task.cancel()
        await self.client.close()

