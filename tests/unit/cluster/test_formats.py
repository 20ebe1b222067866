"""CLUSTER reply layouts on hand-made tables; the expected texts are written out as Redis 7.0.15
prints them (tests/integration/test_cluster_formats_redis.py checks against a live cluster)."""
import pytest

from photon.cluster import formats as f
from photon.cluster.formats import ClusterInfo, LinkEntry, NodeEntry
from photon.errors import RedisError
from photon.protocol.encoder import encode, encode_error
from photon.protocol.reply import Verbatim

M1, M2, M3 = "a" * 40, "b" * 40, "c" * 40
R1, R1B, R2, R3 = "d" * 40, "e" * 40, "f" * 40, "0123456789" * 4


def table() -> list[NodeEntry]:
    """Three masters; M1 with two replicas (one fail?), M2 with a hostname, three slot runs and
    a failed replica, M3 with a replica that has not synced (offset 0)."""
    return [
        NodeEntry(R1, "10.0.0.4", 7003, 17003, "replica", M1, [], config_epoch=4,
                  pong_recv_ms=1700000000500, replication_offset=500),
        NodeEntry(M1, "10.0.0.1", 7000, 17000, "master", None, [(300, 5460), (0, 99), (200, 200)],
                  config_epoch=1, pong_recv_ms=1700000000000, replication_offset=500),
        NodeEntry(M2, "10.0.0.2", 7001, 17001, "master", None,
                  [(100, 199), (201, 299), (5461, 10922)], config_epoch=7,
                  ping_sent_ms=1700000000100, pong_recv_ms=1700000000200, hostname="m2.example",
                  replication_offset=300),
        NodeEntry(R2, "10.0.0.5", 7004, 17004, "replica", M2, [], config_epoch=2,
                  ping_sent_ms=1699999990000, pong_recv_ms=1699999980000, connected=False,
                  failed=True, replication_offset=300),
        NodeEntry(M3, "10.0.0.3", 7002, 17002, "master", None, [(10923, 16383)], config_epoch=3,
                  replication_offset=42),
        NodeEntry(R3, "10.0.0.6", 7005, 17005, "replica", M3, [], config_epoch=3),
        NodeEntry(R1B, "10.0.0.7", 7006, 17006, "replica", M1, [], config_epoch=1, pfail=True,
                  replication_offset=480),
    ]


NODES_SEEN_BY_M1 = (
    f"{R1} 10.0.0.4:7003@17003 slave {M1} 0 1700000000500 1 connected\n"
    f"{M1} 10.0.0.1:7000@17000 myself,master - 0 1700000000000 1 connected 0-99 200 300-5460\n"
    f"{M2} 10.0.0.2:7001@17001,m2.example master - 1700000000100 1700000000200 7 connected"
    " 100-199 201-299 5461-10922\n"
    f"{R2} 10.0.0.5:7004@17004 slave,fail {M2} 1699999990000 1699999980000 7 disconnected\n"
    f"{M3} 10.0.0.3:7002@17002 master - 0 0 3 connected 10923-16383\n"
    f"{R3} 10.0.0.6:7005@17005 slave {M3} 0 0 3 connected\n"
    f"{R1B} 10.0.0.7:7006@17006 slave,fail? {M1} 0 0 1 connected\n"
).encode()


def test_nodes_text_and_encoding():
    out = f.cluster_nodes(table(), M1)
    assert out == NODES_SEEN_BY_M1
    assert type(out) is Verbatim
    assert encode(out, False) == b"$%d\r\n%b\r\n" % (len(out), out)
    assert encode(out, True) == b"=%d\r\ntxt:%b\r\n" % (len(out) + 4, out)


def test_nodes_replica_shows_master_epoch_and_myself_keeps_its_pong():
    lines = f.cluster_nodes(table(), R2).decode().splitlines()
    assert lines[3] == (f"{R2} 10.0.0.5:7004@17004 myself,slave,fail {M2} 1699999990000 "
                        "1699999980000 7 connected")
    assert lines[1].startswith(f"{M1} 10.0.0.1:7000@17000 master - ")


def test_nodes_open_slots_only_on_myself_in_slot_order():
    out = f.cluster_nodes(table(), M1, migrating={300: M2, 5: M3}, importing={100: M2, 5: M2})
    mine = out.decode().splitlines()[1]
    assert mine.endswith(f"0-99 200 300-5460 [5->-{M3}] [100-<-{M2}] [300->-{M2}]")
    assert "[" not in out.decode().splitlines()[2]


def test_nodes_slot_runs_merge_and_edges():
    node = NodeEntry(M1, "::1", 6379, 16379, "master", None,
                     [(16383, 16383), (0, 0), (1, 5), (6, 6), (3, 4)])
    assert f.cluster_nodes([node], "") == \
        f"{M1} ::1:6379@16379 master - 0 0 0 connected 0-6 16383\n".encode()
    with pytest.raises(ValueError):
        f.slot_runs([(5, 16384)])
    assert f.cluster_nodes([], M1) == b""


def test_nodes_tls_client_sees_tls_port():
    node = NodeEntry(M1, "10.0.0.1", 7000, 17000, "master", None, [], tls_port=7443)
    assert f.cluster_nodes([node], M1, tls=True).startswith(f"{M1} 10.0.0.1:7443@17000".encode())
    assert f.cluster_node_line(node, [node], M1) == \
        f"{M1} 10.0.0.1:7000@17000 myself,master - 0 0 0 connected".encode()


def test_replicas_lines_without_newline():
    assert f.cluster_replicas(table(), M1) == [
        f"{R1} 10.0.0.4:7003@17003 slave {M1} 0 1700000000500 1 connected".encode(),
        f"{R1B} 10.0.0.7:7006@17006 slave,fail? {M1} 0 0 1 connected".encode()]
    assert f.cluster_replicas(table(), M3, myself=R3) == [
        f"{R3} 10.0.0.6:7005@17005 myself,slave {M3} 0 0 3 connected".encode()]
    assert f.cluster_replicas([n for n in table() if n.id != R3], M3) == []
    with pytest.raises(RedisError) as e:
        f.cluster_replicas(table(), "nope")
    assert e.value.message == "ERR Unknown node nope"
    with pytest.raises(RedisError) as e:
        f.cluster_replicas(table(), R1)
    assert e.value.message == "ERR The specified node is not a master"


def _n(ip: str, port: int, node_id: str, meta: dict | None = None) -> list:
    return [ip.encode(), port, node_id.encode(), meta or {}]


def test_slots_ordered_by_slot_without_failed_or_unsynced_replicas():
    m1, r1, r1b = _n("10.0.0.1", 7000, M1), _n("10.0.0.4", 7003, R1), _n("10.0.0.7", 7006, R1B)
    m2 = _n("10.0.0.2", 7001, M2, {b"hostname": b"m2.example"})
    m3 = _n("10.0.0.3", 7002, M3)
    assert f.cluster_slots(table()) == [
        [0, 99, m1, r1, r1b], [100, 199, m2], [200, 200, m1, r1, r1b], [201, 299, m2],
        [300, 5460, m1, r1, r1b], [5461, 10922, m2], [10923, 16383, m3]]


def test_slots_encoding_empty_metadata_is_an_empty_map():
    node = NodeEntry(M1, "127.0.0.1", 30001, 40001, "master", None, [(0, 16383)])
    body = b":0\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:30001\r\n$40\r\n" + M1.encode() + b"\r\n"
    assert encode(f.cluster_slots([node]), False) == b"*1\r\n*3\r\n" + body + b"*0\r\n"
    assert encode(f.cluster_slots([node]), True) == b"*1\r\n*3\r\n" + body + b"%0\r\n"
    assert f.cluster_slots([]) == []


def test_slots_preferred_endpoints():
    nodes = table()
    m2 = next(n for n in nodes if n.id == M2)
    m1 = next(n for n in nodes if n.id == M1)
    by_host = f.cluster_slots([m1, m2], endpoint="hostname")
    assert by_host[0][2] == [b"?", 7000, M1.encode(), {b"ip": b"10.0.0.1"}]
    assert by_host[1][2] == [b"m2.example", 7001, M2.encode(), {b"ip": b"10.0.0.2"}]
    unknown = f.cluster_slots([m1, m2], endpoint="unknown-endpoint")
    assert unknown[1][2] == [None, 7001, M2.encode(), {b"ip": b"10.0.0.2",
                                                         b"hostname": b"m2.example"}]
    assert encode(unknown[0][2], False).startswith(b"*4\r\n$-1\r\n")
    assert encode(unknown[0][2], True).startswith(b"*4\r\n_\r\n")
    with pytest.raises(ValueError):
        f.cluster_slots(nodes, endpoint="dns")


def test_slots_refuses_a_slot_with_two_owners():
    a = NodeEntry(M1, "h", 1, 2, "master", None, [(0, 10)])
    b = NodeEntry(M2, "h", 3, 4, "master", None, [(10, 20)])
    with pytest.raises(ValueError, match="slot 10"):
        f.cluster_slots([a, b])


def _shard_node(node_id, port, ip, role, offset, health, hostname=None, endpoint=None):
    d = {b"id": node_id.encode(), b"port": port, b"ip": ip.encode(),
         b"endpoint": (endpoint if endpoint is not None else ip).encode()}
    if hostname:
        d[b"hostname"] = hostname.encode()
    d.update({b"role": role.encode(), b"replication-offset": offset, b"health": health.encode()})
    return d


def test_shards():
    shards = f.cluster_shards(table())
    assert shards == [
        {b"slots": [0, 99, 200, 200, 300, 5460], b"nodes": [
            _shard_node(M1, 7000, "10.0.0.1", "master", 500, "online"),
            _shard_node(R1, 7003, "10.0.0.4", "replica", 500, "online"),
            _shard_node(R1B, 7006, "10.0.0.7", "replica", 480, "online")]},
        {b"slots": [100, 199, 201, 299, 5461, 10922], b"nodes": [
            _shard_node(M2, 7001, "10.0.0.2", "master", 300, "online", "m2.example"),
            _shard_node(R2, 7004, "10.0.0.5", "replica", 300, "fail")]},
        {b"slots": [10923, 16383], b"nodes": [
            _shard_node(M3, 7002, "10.0.0.3", "master", 42, "online"),
            _shard_node(R3, 7005, "10.0.0.6", "replica", 0, "loading")]}]
    assert list(shards[1][b"nodes"][0]) == [b"id", b"port", b"ip", b"endpoint", b"hostname",
                                           b"role", b"replication-offset", b"health"]


def test_shards_encoding_master_without_slots_and_tls_port():
    node = NodeEntry(M1, "127.0.0.1", 0, 16379, "master", None, [], tls_port=6380)
    out = f.cluster_shards([node])
    assert list(out[0][b"nodes"][0])[:3] == [b"id", b"tls-port", b"ip"]
    head = b"$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n"
    assert encode(out, False).startswith(b"*1\r\n*4\r\n" + head + b"*14\r\n")
    assert encode(out, True).startswith(b"*1\r\n%2\r\n" + head + b"%7\r\n")


def test_shards_endpoint_and_health_overrides():
    node = NodeEntry(M1, "10.0.0.1", 7000, 17000, "master", None, [(0, 1)])
    assert f.cluster_shards([node], endpoint="hostname")[0][b"nodes"][0][b"endpoint"] == b"?"
    assert f.cluster_shards([node], endpoint="unknown-endpoint")[0][b"nodes"][0][b"endpoint"] == b""
    node.health = "failed"
    assert f.shard_health(node) == "fail"
    node.health = "loading"
    assert f.shard_health(node) == "loading"


def test_info_text():
    info = ClusterInfo("ok", 16384, 16384, 0, 0, 6, 3, 6, 1,
                       messages_sent={"pong": 15, "ping": 11},
                       messages_received={"meet": 5, "ping": 10, "pong": 11, "fail": 0})
    out = f.cluster_info(info)
    assert type(out) is Verbatim
    assert out == (b"cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\n"
                   b"cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:6\r\n"
                   b"cluster_size:3\r\ncluster_current_epoch:6\r\ncluster_my_epoch:1\r\n"
                   b"cluster_stats_messages_ping_sent:11\r\ncluster_stats_messages_pong_sent:15\r\n"
                   b"cluster_stats_messages_sent:26\r\n"
                   b"cluster_stats_messages_ping_received:10\r\n"
                   b"cluster_stats_messages_pong_received:11\r\n"
                   b"cluster_stats_messages_meet_received:5\r\n"
                   b"cluster_stats_messages_received:26\r\n"
                   b"total_cluster_links_buffer_limit_exceeded:0\r\n")


def test_info_empty_counters_and_extra_fields_last():
    info = ClusterInfo("fail", 0, 0, 0, 0, 1, 0, 0, 0,
                       extra={"cluster_state_reason": "no-quorum", "photon_shards_uncovered": 2})
    assert f.cluster_info(info).endswith(
        b"cluster_my_epoch:0\r\ncluster_stats_messages_sent:0\r\n"
        b"cluster_stats_messages_received:0\r\ntotal_cluster_links_buffer_limit_exceeded:0\r\n"
        b"cluster_state_reason:no-quorum\r\nphoton_shards_uncovered:2\r\n")
    with pytest.raises(ValueError):
        f.cluster_info(ClusterInfo("ok", 0, 0, 0, 0, 1, 0, 0, 0, messages_sent={"gossip": 1}))


def test_info_counts_from_nodes():
    nodes = table()
    next(n for n in nodes if n.id == M3).pfail = True
    next(n for n in nodes if n.id == M2).failed = True
    info = f.cluster_info_from_nodes(nodes, R2, state="fail", current_epoch=9,
                                     messages_sent={"ping": 1})
    assert (info.slots_assigned, info.slots_ok, info.slots_pfail, info.slots_fail) == \
        (16384, 5262, 5461, 5661)
    assert (info.known_nodes, info.size, info.current_epoch, info.my_epoch) == (7, 3, 9, 7)
    assert info.messages_sent == {"ping": 1} and info.state == "fail"
    lone = NodeEntry(M1, "h", 1, 2, "master", None, [], config_epoch=5)
    info = f.cluster_info_from_nodes([lone], M1, state="fail", current_epoch=5)
    assert (info.slots_assigned, info.size, info.my_epoch, info.known_nodes) == (0, 0, 5, 1)


def test_links():
    links = [LinkEntry("to", M2, 1796652904113),
             LinkEntry("from", M2, 1796652904057, "rw", 1024, 3)]
    out = f.cluster_links(links)
    assert out[1] == {b"direction": b"from", b"node": M2.encode(), b"create-time": 1796652904057,
                      b"events": b"rw", b"send-buffer-allocated": 1024, b"send-buffer-used": 3}
    assert encode(out[:1], False) == (
        b"*1\r\n*12\r\n$9\r\ndirection\r\n$2\r\nto\r\n$4\r\nnode\r\n$40\r\n" + M2.encode()
        + b"\r\n$11\r\ncreate-time\r\n:1796652904113\r\n$6\r\nevents\r\n$1\r\nr\r\n"
        b"$21\r\nsend-buffer-allocated\r\n:0\r\n$16\r\nsend-buffer-used\r\n:0\r\n")
    assert encode(out[:1], True).startswith(b"*1\r\n%6\r\n$9\r\ndirection\r\n")
    assert f.cluster_links([]) == []


def test_error_texts():
    assert encode_error(f.moved(12182, "127.0.0.1", 27002)) == \
        b"-MOVED 12182 127.0.0.1:27002\r\n"
    assert f.moved(5, "?", 7000) == "MOVED 5 ?:7000"
    assert f.ask(100, "10.0.0.2", 7001) == "ASK 100 10.0.0.2:7001"
    assert encode_error(f.CROSSSLOT) == \
        b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    assert f.CLUSTERDOWN_UNBOUND == "CLUSTERDOWN Hash slot not served"
    assert f.unknown_node("abc") == "ERR Unknown node abc"
    assert f.invalid_node_address("1.2.3", "80") == "ERR Invalid node address specified: 1.2.3:80"
    assert f.slot_range_reversed(10, 5) == \
        "ERR start slot number 10 is greater than end slot number 5"
    assert f.preferred_endpoint(table()[2], "hostname") == "m2.example"
    with pytest.raises(ValueError):
        f.preferred_endpoint(table()[2], "fqdn")
