"""CLUSTER commands in Redis 7.0's formats (photon/cluster/formats.py), ASKING, and the gossip
nodes exchange (PHOTON.GOSSIP). They read the node's membership (``node.cluster``): on a single
node they describe a one-node cluster that owns every slot."""
from __future__ import annotations

import asyncio
import json

from photon.cluster import formats
from photon.cluster.formats import LinkEntry
from photon.commands.table import command, container
from photon.errors import RedisError
from photon.keyspace.slots import SLOTS, key_slot
from photon.protocol.reply import OK, Status
from photon.util.numbers import parse_int, string2ll

container("cluster", -2)


def _ok_when_done(fut: asyncio.Future) -> asyncio.Future:
    """The command's reply once ``fut`` is done: OK, or the error it ended with."""
    out = fut.get_loop().create_future()

    def done(f: asyncio.Future) -> None:
        if not out.done():
            out.set_result(f.exception() if f.exception() is not None else OK)
    fut.add_done_callback(done)
    return out


@command("cluster|keyslot", 3, "stale", 0, 0, 0)
def cluster_keyslot(c, argv):
    return key_slot(argv[2])


@command("cluster|info", 2, "stale", 0, 0, 0)
def cluster_info(c, argv):
    m = c.server.cluster
    extra: dict[str, str | int] = {}
    if not m.ok:
        extra["cluster_state_reason"] = m.reason
    if m.map.uncovered():
        extra["cluster_uncovered_shards"] = ",".join(map(str, m.map.uncovered()))
    if m.map.conflicting():
        extra["cluster_conflicting_shards"] = ",".join(map(str, m.map.conflicting()))
    info = formats.cluster_info_from_nodes(
        m.entries(), c.server.node_id, state="ok" if m.ok else "fail",
        current_epoch=m.current_epoch, messages_sent=dict(m.sent),
        messages_received=dict(m.received), extra=extra)
    return formats.cluster_info(info)


@command("cluster|nodes", 2, "stale", 0, 0, 0)
def cluster_nodes(c, argv):
    return formats.cluster_nodes(c.server.cluster.entries(), c.server.node_id)


@command("cluster|slots", 2, "stale", 0, 0, 0)
def cluster_slots(c, argv):
    return formats.cluster_slots(c.server.cluster.entries())


@command("cluster|shards", 2, "stale", 0, 0, 0)
def cluster_shards(c, argv):
    return formats.cluster_shards(c.server.cluster.entries())


@command("cluster|myid", 2, "stale", 0, 0, 0)
def cluster_myid(c, argv):
    return c.server.node_id.encode()


@command("cluster|myshardid", 2, "stale", 0, 0, 0)
def cluster_myshardid(c, argv):
    """Redis 7.2's: the id of this node's shard group (its master's id)."""
    return (c.server.cluster.my_group() or c.server.node_id).encode()


@command("cluster|replicas", 3, "admin stale", 0, 0, 0)
def cluster_replicas(c, argv):
    return formats.cluster_replicas(c.server.cluster.entries(), argv[2].decode(
        "utf-8", "replace"), myself=c.server.node_id)


@command("cluster|slaves", 3, "admin stale", 0, 0, 0)
def cluster_slaves(c, argv):
    return cluster_replicas(c, argv)


def _keys_in_slot(c, slot: int):
    ks = c.server.keyspace
    shard = ks.shard_of_slot(slot)
    for key, raw in ks.iter_keys(c.db, shard):
        if key_slot(key) == slot and ks.is_live(raw):
            yield key


@command("cluster|countkeysinslot", 3, "stale", 0, 0, 0)
def cluster_countkeysinslot(c, argv):
    slot = parse_int(argv[2])
    if not 0 <= slot < SLOTS:
        raise RedisError(formats.COUNTKEYS_INVALID_SLOT)
    return sum(1 for _ in _keys_in_slot(c, slot))


@command("cluster|getkeysinslot", 4, "stale", 0, 0, 0)
def cluster_getkeysinslot(c, argv):
    slot = parse_int(argv[2])
    count = parse_int(argv[3])
    if not 0 <= slot < SLOTS or count < 0:
        raise RedisError(formats.GETKEYS_INVALID)
    out = []
    for key in _keys_in_slot(c, slot):
        if len(out) >= count:
            break
        out.append(key)
    return out


@command("cluster|meet", -4, "admin stale no_async_loading", 0, 0, 0)
def cluster_meet(c, argv):
    """The node is met once it answered this node's gossip: the reply waits for that, so a
    MEET of something that is not a PhotonDB node of this cluster fails with the reason."""
    if len(argv) > 5:
        raise RedisError("ERR wrong number of arguments for 'cluster|meet' command")
    host = argv[2].decode("utf-8", "replace")
    port = string2ll(argv[3])
    if port is None:
        raise RedisError(formats.invalid_base_port(argv[3].decode("utf-8", "replace")))
    if not 0 < port < 65536 or not host or " " in host:
        raise RedisError(formats.invalid_node_address(host, argv[3].decode("utf-8", "replace")))
    return _ok_when_done(c.server.cluster.meet(host, port))


@command("cluster|forget", 3, "admin stale no_async_loading", 0, 0, 0)
def cluster_forget(c, argv):
    c.server.cluster.forget(argv[2].decode("utf-8", "replace"))
    return OK


@command("cluster|links", 2, "stale", 0, 0, 0)
def cluster_links(c, argv):
    m = c.server.cluster
    return formats.cluster_links(
        LinkEntry("to", nid, int(m.link_since.get(nid, 0) * 1000))
        for nid, link in m.links.items() if not link.closed)


@command("cluster|help", 2, "loading stale", 0, 0, 0)
def cluster_help(c, argv):
    return [Status(s) for s in (
        b"CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        b"COUNTKEYSINSLOT <slot>", b"    Return the number of keys in <slot>.",
        b"FORGET <node-id>", b"    Remove a node from the cluster.",
        b"GETKEYSINSLOT <slot> <count>", b"    Return key names stored by current node in a slot.",
        b"INFO", b"    Return information about the cluster.",
        b"KEYSLOT <key>", b"    Return the hash slot for <key>.",
        b"LINKS", b"    Return information about all network links between this node and its "
                  b"peers.",
        b"MEET <ip> <port> [<bus-port>]", b"    Connect nodes into a working cluster.",
        b"MYID", b"    Return the node id.",
        b"NODES", b"    Return cluster configuration seen by node. Output format:",
        b"    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
        b"REPLICAS <node-id>", b"    Return <node-id> replicas.",
        b"SLOTS", b"    Return information about slots range mappings. Each range is made of:",
        b"    start, end, master and replicas IP addresses, ports and ids",
        b"SHARDS", b"    Return information about slot range mappings and the nodes "
                   b"associated with them.",
        b"HELP", b"    Print this help.")]


@command("cluster|failover", -2, "admin stale no_async_loading", 0, 0, 0)
def cluster_failover(c, argv):
    """On a replica: the master pauses writes, this replica catches up on every shard and
    takes over by an election the master agreed to (FORCE / TAKEOVER: without the master,
    with the votes of the other replicas). Answered when it is done, with the pause."""
    if len(argv) > 3:
        raise RedisError("ERR syntax error")
    option = argv[2].lower() if len(argv) == 3 else b""
    if option not in (b"", b"force", b"takeover"):
        raise RedisError("ERR syntax error")
    if c.server.replica is None:
        raise RedisError(formats.FAILOVER_ON_MASTER)
    return _ok_when_done(asyncio.ensure_future(
        c.server.cluster.coordinator.manual(force=bool(option))))


@command("asking", 1, "fast", 0, 0, 0)
def asking(c, argv):
    """Shards do not move between groups yet, so there is never an ASK to follow."""
    return OK


@command("photon.vote", 6, "noscript loading stale", 0, 0, 0)
def photon_vote(c, argv):
    """PHOTON.VOTE epoch group candidate positions manual: a candidate asks for this node's
    vote (photon/cluster/failover.py)."""
    epoch = parse_int(argv[1])
    positions = json.loads(argv[4])
    return c.server.cluster.coordinator.vote(epoch, argv[2].decode(), argv[3].decode(),
                                          positions, argv[5] == b"1")


@command("photon.tail", 3, "noscript loading stale", 0, 0, 0)
def photon_tail(c, argv):
    """PHOTON.TAIL candidate positions: the entries a candidate to a group's mastership lacks
    (coordination on etcd, where the decision is etcd's and this only moves data)."""
    return c.server.cluster.coordinator.give_tails(argv[1].decode(), json.loads(argv[2]))


@command("photon.failover", 3, "noscript loading stale", 0, 0, 0)
def photon_failover(c, argv):
    """PHOTON.FAILOVER candidate timeout-ms: a replica asks its master to hand over."""
    return c.server.cluster.coordinator.prepare_handover(argv[1].decode(), parse_int(argv[2]))


@command("photon.gossip", 2, "noscript loading stale", 0, 0, 0)
def photon_gossip(c, argv):
    """PHOTON.GOSSIP json: another node's heartbeat (photon/cluster/membership.py); the reply
    is this node's."""
    try:
        return c.server.cluster.receive(argv[1])
    except (ValueError, KeyError, TypeError) as e:
        raise RedisError(f"ERR unreadable gossip: {e}") from None
