"""A real Redis Cluster for comparisons, and readers that turn what its nodes reply into the
plain data photon.cluster.formats renders, so a test can render it back and compare bytes."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from photon.cluster.formats import MESSAGE_TYPES, ClusterInfo, LinkEntry, NodeEntry
from tests.integration.resp import RawConn, wait_until
from tests.support import free_port, wait_for_port


def redis_version() -> str | None:
    """The x.y.z of the redis-server on PATH, or None without one (or without redis-cli)."""
    exe = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
    if exe is None or shutil.which("redis-cli") is None:
        return None
    out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    for word in out.split():
        if word.startswith("v="):
            return word[2:]
    return None


@dataclass
class RedisNode:
    port: int
    cport: int
    workdir: Path
    proc: subprocess.Popen | None = None

    def conn(self, resp3: bool = False) -> RawConn:
        c = RawConn(self.port)
        if resp3:
            c.call("HELLO", "3")
        return c

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


@dataclass
class RedisCluster:
    """Nodes started by ``start_node``; ``stop`` kills every one of them, whatever happened."""

    base: Path
    nodes: list[RedisNode] = field(default_factory=list)

    def start_node(self, *args: str, cluster: bool = True) -> RedisNode:
        exe = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
        node = RedisNode(free_port(), free_port(), self.base / f"node-{len(self.nodes)}")
        node.workdir.mkdir(parents=True)
        argv = [exe, "--port", str(node.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(node.workdir), "--logfile", "redis.log"]
        if cluster:
            argv += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                     "--cluster-port", str(node.cport), "--cluster-node-timeout", "2000",
                     "--repl-ping-replica-period", "3600"]
        node.proc = subprocess.Popen(argv + list(args), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, cwd=node.workdir)
        self.nodes.append(node)
        wait_for_port(node.port, node.proc, log=node.workdir / "redis.log")
        return node

    def create(self, members: list[RedisNode], replicas: int = 1) -> None:
        """``redis-cli --cluster create``, then wait until every member says cluster_state:ok
        and sees every other one with its final role (a replica first shows up elsewhere as
        a master without slots, until gossip says whose replica it is)."""
        addrs = [f"127.0.0.1:{n.port}" for n in members]
        subprocess.run(["redis-cli", "--cluster", "create", *addrs, "--cluster-replicas",
                        str(replicas), "--cluster-yes"], check=True, capture_output=True,
                       timeout=60)
        want_replicas = len(members) - len(members) // (replicas + 1)

        def ready() -> bool:
            for n in members:
                info = cluster_info_fields(n)
                if info.get("cluster_state") != "ok" or \
                        info.get("cluster_known_nodes") != str(len(members)):
                    return False
                with n.conn() as c:
                    view = nodes_from_text(parse(c.call("CLUSTER", "NODES"))).nodes
                if sum(v.role == "replica" for v in view) != want_replicas or \
                        any(v.failed or v.pfail or not v.connected for v in view):
                    return False
            return True

        if not wait_until(ready, timeout=30, interval=0.1):
            raise TimeoutError("the cluster did not reach cluster_state:ok")

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()


def cluster_info_fields(node: RedisNode) -> dict[str, str]:
    with node.conn() as c:
        return info_fields(parse(c.call("CLUSTER", "INFO")))


def info_fields(text: bytes) -> dict[str, str]:
    out = {}
    for line in text.decode().split("\r\n"):
        if ":" in line:
            k, _, v = line.partition(":")
            out[k] = v
    return out


# --- RESP, as bytes in and Python values out ----------------------------------------------


class ErrorReply(str):
    pass


def _read(raw: bytes, pos: int) -> tuple[object, int]:
    nl = raw.index(b"\r\n", pos)
    kind, head, pos = raw[pos:pos + 1], raw[pos + 1:nl], nl + 2
    if kind in b"$=!":
        n = int(head)
        if n < 0:
            return None, pos
        data = raw[pos:pos + n]
        if kind == b"=":
            data = data[4:]
        return (ErrorReply(data.decode()) if kind == b"!" else data), pos + n + 2
    if kind in b"*~>%":
        n = int(head)
        if n < 0:
            return None, pos
        items = []
        for _ in range(2 * n if kind == b"%" else n):
            item, pos = _read(raw, pos)
            items.append(item)
        if kind == b"%":
            return dict(zip(items[::2], items[1::2])), pos
        return items, pos
    if kind in b":(":
        return int(head), pos
    if kind == b"+":
        return head.decode(), pos
    if kind == b"-":
        return ErrorReply(head.decode()), pos
    if kind == b"_":
        return None, pos
    if kind == b"#":
        return head == b"t", pos
    if kind == b",":
        return float(head), pos
    raise ValueError(f"unknown RESP type {kind!r}")


def parse(raw: bytes) -> object:
    """One whole reply; maps become dicts, RESP2 flat arrays stay lists."""
    value, end = _read(raw, 0)
    assert end == len(raw), "trailing bytes after the reply"
    return value


def split_array(raw: bytes) -> list[bytes]:
    """The raw bytes of each element of an array reply (an EXEC reply: one per command)."""
    nl = raw.index(b"\r\n")
    assert raw[:1] == b"*", raw[:20]
    pos, out = nl + 2, []
    for _ in range(int(raw[1:nl])):
        _, end = _read(raw, pos)
        out.append(raw[pos:end])
        pos = end
    assert pos == len(raw)
    return out


def as_map(value: object) -> dict:
    """A RESP3 map, or the flat array RESP2 sends for it."""
    if isinstance(value, dict):
        return value
    assert isinstance(value, list) and len(value) % 2 == 0
    return dict(zip(value[::2], value[1::2]))


# --- replies -> formats' data -------------------------------------------------------------


@dataclass
class NodesView:
    nodes: list[NodeEntry]
    myself: str
    migrating: dict[int, str]
    importing: dict[int, str]


def nodes_from_text(text: bytes) -> NodesView:
    """CLUSTER NODES back into NodeEntry values, in the order Redis listed them. A replica's
    own config epoch is not in the text (Redis prints its master's), so it is left 0: the
    renderer has to print the master's."""
    nodes, myself, migrating, importing = [], "", {}, {}
    for line in text.decode().split("\n"):
        if not line:
            continue
        node_id, addr, flags, master, ping, pong, epoch, link, *slots = line.split(" ")
        addr, _, hostname = addr.partition(",")
        hostport, _, cport = addr.rpartition("@")
        ip, _, port = hostport.rpartition(":")
        flag_set = set(flags.split(","))
        ranges = []
        for token in slots:
            if token.startswith("["):
                slot, arrow, other = token[1:-1].partition("->-")
                if arrow:
                    migrating[int(slot)] = other
                else:
                    slot, _, other = token[1:-1].partition("-<-")
                    importing[int(slot)] = other
            else:
                start, _, end = token.partition("-")
                ranges.append((int(start), int(end or start)))
        if "myself" in flag_set:
            myself = node_id
        nodes.append(NodeEntry(
            id=node_id, ip=ip, port=int(port), cport=int(cport),
            role="replica" if "slave" in flag_set else "master",
            master_id=None if master == "-" else master, slots=ranges,
            config_epoch=0 if "slave" in flag_set else int(epoch),
            ping_sent_ms=int(ping), pong_recv_ms=int(pong),
            connected=link == "connected", failed="fail" in flag_set,
            pfail="fail?" in flag_set, hostname=hostname))
    return NodesView(nodes, myself, migrating, importing)


def apply_shards(nodes: list[NodeEntry], shards: object) -> None:
    """Replication offsets (and the TLS port) are only in CLUSTER SHARDS."""
    by_id = {n.id: n for n in nodes}
    for shard in shards:  # type: ignore[attr-defined]
        for member in as_map(shard)[b"nodes"]:
            m = as_map(member)
            node = by_id[m[b"id"].decode()]
            node.replication_offset = m[b"replication-offset"]
            node.tls_port = m.get(b"tls-port", 0)


def order_replicas(nodes: list[NodeEntry], order: dict[str, list[str]]) -> list[NodeEntry]:
    """The list with each master's replicas in the given order (CLUSTER REPLICAS's, which is
    the order Redis keeps them in), every node staying in a slot a node of its kind held."""
    queues = {m: list(ids) for m, ids in order.items()}
    by_id = {n.id: n for n in nodes}
    out = []
    for n in nodes:
        if n.role == "replica" and n.master_id in queues and queues[n.master_id]:
            out.append(by_id[queues[n.master_id].pop(0)])
        else:
            out.append(n)
    return out


def links_from_reply(reply: object) -> list[LinkEntry]:
    out = []
    for item in reply:  # type: ignore[attr-defined]
        m = as_map(item)
        out.append(LinkEntry(direction=m[b"direction"].decode(), node=m[b"node"].decode(),
                             create_time=m[b"create-time"], events=m[b"events"].decode(),
                             send_buffer_allocated=m[b"send-buffer-allocated"],
                             send_buffer_used=m[b"send-buffer-used"]))
    return out


def info_from_text(text: bytes) -> ClusterInfo:
    fields = info_fields(text)
    sent, received = {}, {}
    for name in MESSAGE_TYPES:
        if f"cluster_stats_messages_{name}_sent" in fields:
            sent[name] = int(fields[f"cluster_stats_messages_{name}_sent"])
        if f"cluster_stats_messages_{name}_received" in fields:
            received[name] = int(fields[f"cluster_stats_messages_{name}_received"])
    return ClusterInfo(
        state=fields["cluster_state"],
        slots_assigned=int(fields["cluster_slots_assigned"]),
        slots_ok=int(fields["cluster_slots_ok"]),
        slots_pfail=int(fields["cluster_slots_pfail"]),
        slots_fail=int(fields["cluster_slots_fail"]),
        known_nodes=int(fields["cluster_known_nodes"]), size=int(fields["cluster_size"]),
        current_epoch=int(fields["cluster_current_epoch"]),
        my_epoch=int(fields["cluster_my_epoch"]), messages_sent=sent,
        messages_received=received,
        links_buffer_limit_exceeded=int(fields["total_cluster_links_buffer_limit_exceeded"]))


def wait_for(predicate, what: str, timeout: float = 15.0) -> None:
    if not wait_until(predicate, timeout=timeout, interval=0.1):
        raise TimeoutError(f"timed out waiting for {what}")

