"""photon.cluster.formats against a live Redis Cluster (redis-server 7.0): read each node's
CLUSTER replies as raw bytes, rebuild the plain data from them, render it with formats and the
project's encoder, and compare byte for byte in RESP2 and RESP3. The cluster has a master whose
slots are in several runs, a single-slot run, hostnames, a replica killed until flagged fail and
one that has not synced anything (offset 0, "loading"). The error texts are taken from the same
cluster."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from photon.cluster import formats as f
from photon.keyspace.slots import key_slot
from photon.errors import NOT_INTEGER
from photon.protocol.encoder import encode, encode_error
from tests.redis_cluster_support import (
    NodesView, RedisCluster, RedisNode, apply_shards, info_from_text, links_from_reply,
    nodes_from_text, order_replicas, parse, redis_version, split_array, wait_for,
)

_version = redis_version()
pytestmark = [
    pytest.mark.redis_compare,
    pytest.mark.skipif(_version is None, reason="redis-server/redis-cli are not installed"),
    pytest.mark.skipif(_version is not None and not _version.startswith("7.0."),
                       reason=f"the layouts are Redis 7.0's; redis-server is {_version}"),
]

M1_HOST, R0_HOST = "m1.photon.test", "r0.photon.test"


def tag_for_slot(slot: int) -> str:
    """A hash tag whose keys all land in ``slot``."""
    i = 0
    while key_slot(f"{{t{i}}}".encode()) != slot:
        i += 1
    return f"{{t{i}}}"


@dataclass
class Setup:
    cluster: RedisCluster
    masters: list[RedisNode]    # by first slot: M0 owns slot 0
    replicas: list[RedisNode]   # replicas[i] replicates masters[i]: 0 synced, 1 dead, 2 at 0
    ids: dict[int, str]         # port -> node id
    lone: RedisNode             # cluster-enabled, alone, slot 0 only
    plain: RedisNode            # cluster support disabled

    def id(self, node: RedisNode) -> str:
        return self.ids[node.port]

    @property
    def observers(self) -> dict[str, RedisNode]:
        return {"M0": self.masters[0], "R0": self.replicas[0], "M2": self.masters[2]}


def _call(node: RedisNode, *args) -> bytes:
    with node.conn() as c:
        return c.call(*args)


def _build(tmp_path_factory) -> Setup:
    cluster = RedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        members = [cluster.start_node() for _ in range(6)]
        lone = cluster.start_node()
        plain = cluster.start_node(cluster=False)
        cluster.create(members)
        view = nodes_from_text(parse(_call(members[0], "CLUSTER", "NODES"))).nodes
        ids = {n.port: n.id for n in view}
        by_port = {n.port: n for n in members}
        masters = sorted((n for n in view if n.role == "master"), key=lambda n: min(n.slots))
        replicas = [next(r for r in view if r.master_id == m.id) for m in masters]
        setup = Setup(cluster, [by_port[m.port] for m in masters],
                      [by_port[r.port] for r in replicas], ids, lone, plain)
        m0, m1, _ = setup.masters
        r0, r1, _ = setup.replicas

        # Slot 100 moves from M0 to M1 as a resharding does: M0 keeps 0-99 and 101-5460,
        # M1 gets a run of one slot besides its own.
        assert _call(m1, "CLUSTER", "SETSLOT", 100, "IMPORTING", setup.id(m0)) == b"+OK\r\n"
        assert _call(m0, "CLUSTER", "SETSLOT", 100, "MIGRATING", setup.id(m1)) == b"+OK\r\n"
        assert _call(m1, "CLUSTER", "SETSLOT", 100, "NODE", setup.id(m1)) == b"+OK\r\n"
        assert _call(m0, "CLUSTER", "SETSLOT", 100, "NODE", setup.id(m1)) == b"+OK\r\n"
        _call(m1, "CONFIG", "SET", "cluster-announce-hostname", M1_HOST)
        _call(r0, "CONFIG", "SET", "cluster-announce-hostname", R0_HOST)
        # A write moves R0's offset off 0, so it is listed in CLUSTER SLOTS; nothing is written
        # to M2 (and masters do not ping replicas during the test), so R2 stays at offset 0.
        assert _call(m0, "SET", tag_for_slot(0) + "k", "v") == b"+OK\r\n"
        r1.kill()

        def settled() -> bool:
            for node in setup.observers.values():
                nodes = nodes_from_text(parse(_call(node, "CLUSTER", "NODES"))).nodes
                view = {n.id: n for n in nodes}
                if view[setup.id(m1)].hostname != M1_HOST or \
                        view[setup.id(r0)].hostname != R0_HOST or \
                        (100, 100) not in f.slot_runs(view[setup.id(m1)].slots) or \
                        not view[setup.id(r1)].failed:
                    return False
                if len(parse(_call(node, "CLUSTER", "SLOTS"))[0]) != 4:  # R0's offset known
                    return False
            return True
        wait_for(settled, "hostnames, slot 100 and the dead replica's fail flag to spread", 25)
        return setup
    except BaseException:
        cluster.stop()
        raise


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    built = _build(tmp_path_factory)
    try:
        yield built
    finally:
        built.cluster.stop()


@dataclass
class Snapshot:
    raw: dict[str, bytes]
    replicas_raw: dict[str, bytes]


def snapshot(node: RedisNode, resp3: bool) -> Snapshot:
    """Every CLUSTER reply of one node from one MULTI, so ping times, offsets and links agree."""
    masters = [n.id for n in nodes_from_text(parse(_call(node, "CLUSTER", "NODES"))).nodes
               if n.role == "master"]
    names = ["NODES", "SLOTS", "SHARDS", "INFO", "LINKS"]
    commands = [("CLUSTER", name) for name in names]
    commands += [("CLUSTER", "REPLICAS", m) for m in masters]
    with node.conn(resp3) as c:
        replies = c.pipeline([("MULTI",), *commands, ("EXEC",)])
    parts = split_array(replies[-1])
    return Snapshot(dict(zip(names, parts)), dict(zip(masters, parts[len(names):])))


def rebuild(snap: Snapshot) -> tuple[NodesView, list[f.NodeEntry], list[f.NodeEntry]]:
    """(view, nodes in NODES order, nodes with replicas in Redis's own order)."""
    view = nodes_from_text(parse(snap.raw["NODES"]))
    apply_shards(view.nodes, parse(snap.raw["SHARDS"]))
    order = {m: [line.split(" ")[0] for line in (x.decode() for x in parse(raw))]
             for m, raw in snap.replicas_raw.items()}
    return view, view.nodes, order_replicas(view.nodes, order)


OBSERVERS = ["M0", "R0", "M2"]
PROTOCOLS = [pytest.param(False, id="resp2"), pytest.param(True, id="resp3")]


@pytest.mark.parametrize("resp3", PROTOCOLS)
@pytest.mark.parametrize("who", OBSERVERS)
def test_cluster_nodes(setup, who, resp3):
    snap = snapshot(setup.observers[who], resp3)
    view, nodes, _ = rebuild(snap)
    assert view.myself == setup.id(setup.observers[who])
    assert encode(f.cluster_nodes(nodes, view.myself), resp3) == snap.raw["NODES"]


@pytest.mark.parametrize("resp3", PROTOCOLS)
@pytest.mark.parametrize("who", OBSERVERS)
def test_cluster_slots(setup, who, resp3):
    snap = snapshot(setup.observers[who], resp3)
    _, _, ordered = rebuild(snap)
    assert encode(f.cluster_slots(ordered), resp3) == snap.raw["SLOTS"]


@pytest.mark.parametrize("resp3", PROTOCOLS)
@pytest.mark.parametrize("who", OBSERVERS)
def test_cluster_shards(setup, who, resp3):
    snap = snapshot(setup.observers[who], resp3)
    _, _, ordered = rebuild(snap)
    assert encode(f.cluster_shards(ordered), resp3) == snap.raw["SHARDS"]


@pytest.mark.parametrize("resp3", PROTOCOLS)
@pytest.mark.parametrize("who", OBSERVERS)
def test_cluster_replicas(setup, who, resp3):
    snap = snapshot(setup.observers[who], resp3)
    view, _, ordered = rebuild(snap)
    assert len(snap.replicas_raw) == 3
    for master, raw in snap.replicas_raw.items():
        assert encode(f.cluster_replicas(ordered, master, myself=view.myself), resp3) == raw


@pytest.mark.parametrize("resp3", PROTOCOLS)
@pytest.mark.parametrize("who", OBSERVERS)
def test_cluster_info(setup, who, resp3):
    snap = snapshot(setup.observers[who], resp3)
    view, nodes, _ = rebuild(snap)
    info = info_from_text(parse(snap.raw["INFO"]))
    assert encode(f.cluster_info(info), resp3) == snap.raw["INFO"]
    derived = f.cluster_info_from_nodes(
        nodes, view.myself, state=info.state, current_epoch=info.current_epoch,
        messages_sent=info.messages_sent, messages_received=info.messages_received,
        links_buffer_limit_exceeded=info.links_buffer_limit_exceeded)
    assert derived == info


@pytest.mark.parametrize("resp3", PROTOCOLS)
@pytest.mark.parametrize("who", OBSERVERS)
def test_cluster_links(setup, who, resp3):
    snap = snapshot(setup.observers[who], resp3)
    links = links_from_reply(parse(snap.raw["LINKS"]))
    assert links and {link.direction for link in links} == {"to", "from"}
    assert encode(f.cluster_links(links), resp3) == snap.raw["LINKS"]


def test_the_setup_has_what_the_comparisons_need(setup):
    """Guards the comparisons above against passing on a cluster without the cases."""
    view, nodes, _ = rebuild(snapshot(setup.masters[0], False))
    by_id = {n.id: n for n in nodes}
    m0, m1 = by_id[setup.id(setup.masters[0])], by_id[setup.id(setup.masters[1])]
    assert f.slot_runs(m0.slots) == [(0, 99), (101, 5460)]
    assert f.slot_runs(m1.slots)[0] == (100, 100)
    assert m1.hostname == M1_HOST and by_id[setup.id(setup.replicas[0])].hostname == R0_HOST
    dead = by_id[setup.id(setup.replicas[1])]
    assert dead.failed and not dead.connected
    assert [len(entry) for entry in f.cluster_slots(nodes)] == [4, 3, 4, 3, 3]
    health = {n[b"id"].decode(): n[b"health"] for s in f.cluster_shards(nodes)
              for n in s[b"nodes"]}
    assert [health[setup.id(r)] for r in setup.replicas] == [b"online", b"fail", b"loading"]


@pytest.mark.parametrize("resp3", PROTOCOLS)
@pytest.mark.parametrize("endpoint", ["hostname", "unknown-endpoint"])
def test_preferred_endpoint_types(setup, endpoint, resp3):
    m0, m1 = setup.masters[0], setup.masters[1]
    assert _call(m0, "CONFIG", "SET", "cluster-preferred-endpoint-type", endpoint) == b"+OK\r\n"
    try:
        snap = snapshot(m0, resp3)
        view, _, ordered = rebuild(snap)
        assert encode(f.cluster_slots(ordered, endpoint=endpoint), resp3) == snap.raw["SLOTS"]
        assert encode(f.cluster_shards(ordered, endpoint=endpoint), resp3) == snap.raw["SHARDS"]
        owner = next(n for n in ordered if n.id == setup.id(m1))
        key = tag_for_slot(6000) + "x"
        assert _call(m0, "GET", key) == encode_error(
            f.moved(6000, f.preferred_endpoint(owner, endpoint), m1.port))
    finally:
        _call(m0, "CONFIG", "SET", "cluster-preferred-endpoint-type", "ip")


def test_open_slots_ask_and_tryagain(setup):
    """The myself line lists open slots; a migrating slot answers ASK for a missing key and
    TRYAGAIN for several keys of which it holds only some, as does the importing side."""
    m0, m1 = setup.masters[0], setup.masters[1]
    tag = tag_for_slot(200)
    assert _call(m0, "SET", tag + "x", "1") == b"+OK\r\n"
    try:
        assert _call(m1, "CLUSTER", "SETSLOT", 200, "IMPORTING", setup.id(m0)) == b"+OK\r\n"
        assert _call(m0, "CLUSTER", "SETSLOT", 200, "MIGRATING", setup.id(m1)) == b"+OK\r\n"
        for resp3 in (False, True):
            for node in (m0, m1):
                snap = snapshot(node, resp3)
                view, nodes, _ = rebuild(snap)
                assert view.migrating or view.importing
                assert encode(f.cluster_nodes(nodes, view.myself, migrating=view.migrating,
                                              importing=view.importing), resp3) \
                    == snap.raw["NODES"]
        assert nodes_from_text(parse(_call(m0, "CLUSTER", "NODES"))).migrating == \
            {200: setup.id(m1)}
        assert _call(m0, "GET", tag + "y") == encode_error(f.ask(200, "127.0.0.1", m1.port))
        assert _call(m0, "MGET", tag + "x", tag + "y") == encode_error(f.TRYAGAIN)
        with m1.conn() as c:
            assert c.pipeline([("ASKING",), ("MGET", tag + "x", tag + "y")])[1] == \
                encode_error(f.TRYAGAIN)
    finally:
        _call(m0, "DEL", tag + "x")
        _call(m0, "CLUSTER", "SETSLOT", 200, "STABLE")
        _call(m1, "CLUSTER", "SETSLOT", 200, "STABLE")


def test_redirections_and_cross_slot(setup):
    m0, m1 = setup.masters[0], setup.masters[1]
    key = tag_for_slot(6000) + "x"
    assert _call(m0, "GET", key) == encode_error(f.moved(6000, "127.0.0.1", m1.port))
    assert _call(m0, "MGET", tag_for_slot(1) + "a", tag_for_slot(2) + "b") == \
        encode_error(f.CROSSSLOT)


def test_cluster_command_errors(setup):
    m0, m1 = setup.masters[0], setup.masters[1]
    r0 = setup.replicas[0]
    i_m0, i_m1, i_r0 = setup.id(m0), setup.id(m1), setup.id(r0)
    held = 0  # the fixture wrote a key in slot 0 on M0
    cases = [
        (m0, ("MEET", "1.2.3", "80"), f.invalid_node_address("1.2.3", "80")),
        (m0, ("MEET", "127.0.0.1", "70000"), f.invalid_node_address("127.0.0.1", "70000")),
        (m0, ("MEET", "127.0.0.1", "abc"), f.invalid_base_port("abc")),
        (m0, ("MEET", "127.0.0.1", "80", "x"), f.invalid_bus_port("x")),
        (m0, ("FORGET", "nope"), f.unknown_node("nope")),
        (m0, ("FORGET", i_m0), f.FORGET_MYSELF),
        (r0, ("FORGET", i_m0), f.FORGET_MY_MASTER),
        (m0, ("COUNTKEYSINSLOT", "16384"), f.COUNTKEYS_INVALID_SLOT),
        (m0, ("COUNTKEYSINSLOT", "-1"), f.COUNTKEYS_INVALID_SLOT),
        (m0, ("COUNTKEYSINSLOT", "abc"), NOT_INTEGER),
        (m0, ("GETKEYSINSLOT", "16384", "1"), f.GETKEYS_INVALID),
        (m0, ("GETKEYSINSLOT", "0", "-1"), f.GETKEYS_INVALID),
        (m0, ("GETKEYSINSLOT", "0", "x"), NOT_INTEGER),
        (m0, ("ADDSLOTS", "16384"), f.INVALID_SLOT),
        (m0, ("ADDSLOTS", "x"), f.INVALID_SLOT),
        (m0, ("ADDSLOTS", "0"), f.slot_busy(0)),
        (m0, ("DELSLOTS", "0", "0"), f.slot_repeated(0)),
        (m0, ("ADDSLOTSRANGE", "10", "5"), f.slot_range_reversed(10, 5)),
        (m0, ("REPLICAS", "nope"), f.unknown_node("nope")),
        (m0, ("SLAVES", i_r0), f.NOT_A_MASTER),
        (m0, ("REPLICATE", "nope"), f.unknown_node("nope")),
        (m0, ("REPLICATE", i_m0), f.REPLICATE_MYSELF),
        (m0, ("REPLICATE", i_r0), f.REPLICATE_REPLICA),
        (m0, ("REPLICATE", i_m1), f.REPLICATE_NOT_EMPTY),
        (m0, ("FAILOVER",), f.FAILOVER_ON_MASTER),
        (m0, ("SET-CONFIG-EPOCH", "-1"), f.invalid_config_epoch(-1)),
        (m0, ("SET-CONFIG-EPOCH", "5"), f.CONFIG_EPOCH_NOT_ALONE),
        (m0, ("SETSLOT", "5", "foo"), f.SETSLOT_SYNTAX),
        (m0, ("SETSLOT", "16384", "STABLE"), f.INVALID_SLOT),
        (m0, ("SETSLOT", "6000", "MIGRATING", i_m1), f.not_slot_owner(6000)),
        (m0, ("SETSLOT", "5", "IMPORTING", i_m1), f.already_slot_owner(5)),
        (m0, ("SETSLOT", "6000", "IMPORTING", "nope"), f.setslot_unknown_node("nope")),
        (m0, ("SETSLOT", "6000", "IMPORTING", i_r0), f.SETSLOT_TARGET_NOT_MASTER),
        (m0, ("SETSLOT", "5", "NODE", "nope"), f.unknown_node("nope")),
        (m0, ("SETSLOT", str(held), "NODE", i_m1), f.slot_has_keys(held)),
        (r0, ("SETSLOT", "5", "STABLE"), f.SETSLOT_ON_REPLICA),
        (m0, ("RESET",), f.RESET_WITH_KEYS),
        (m0, ("FLUSHSLOTS",), f.FLUSHSLOTS_NOT_EMPTY),
        (m0, ("COUNT-FAILURE-REPORTS", "nope"), f.unknown_node("nope")),
    ]
    for node, args, expected in cases:
        assert _call(node, "CLUSTER", *args) == encode_error(expected), args
    assert parse(_call(m0, "CLUSTER", "COUNTKEYSINSLOT", held)) == 1


def test_cluster_down_errors_and_disabled(setup):
    """A cluster node alone with slot 0 out of 16384: its state is fail, so a served slot
    answers CLUSTERDOWN, an unassigned one "Hash slot not served" (checked first), and with
    reads allowed while down a write gets the read-only variant."""
    lone = setup.lone
    served, unserved = tag_for_slot(0) + "k", tag_for_slot(1) + "k"
    assert _call(lone, "CLUSTER", "ADDSLOTS", 0) == b"+OK\r\n"
    assert _call(lone, "CLUSTER", "DELSLOTS", 5) == encode_error(f.slot_unassigned(5))
    assert _call(lone, "CLUSTER", "SET-CONFIG-EPOCH", 1) == b"+OK\r\n"
    assert _call(lone, "CLUSTER", "SET-CONFIG-EPOCH", 2) == encode_error(f.CONFIG_EPOCH_NONZERO)
    assert _call(lone, "GET", unserved) == encode_error(f.CLUSTERDOWN_UNBOUND)
    assert _call(lone, "GET", served) == encode_error(f.CLUSTERDOWN)
    assert _call(lone, "CONFIG", "SET", "cluster-allow-reads-when-down", "yes") == b"+OK\r\n"
    assert _call(lone, "SET", served, "v") == encode_error(f.CLUSTERDOWN_READONLY)
    assert _call(lone, "GET", served) == b"$-1\r\n"
    lone_view = nodes_from_text(parse(_call(lone, "CLUSTER", "NODES")))
    raw = _call(lone, "CLUSTER", "INFO")
    info = info_from_text(parse(raw))
    assert (info.state, info.slots_assigned, info.size, info.known_nodes) == ("fail", 1, 1, 1)
    assert f.cluster_info_from_nodes(lone_view.nodes, lone_view.myself, state="fail",
                                     current_epoch=info.current_epoch,
                                     messages_sent=info.messages_sent,
                                     messages_received=info.messages_received) == info
    assert encode(f.cluster_info(info), False) == raw
    assert _call(setup.plain, "CLUSTER", "INFO") == encode_error(f.CLUSTER_DISABLED)
