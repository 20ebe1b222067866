"""CLUSTER replies rendered from plain data, byte for byte as Redis 7.0.15 writes them (its
src/cluster.c), so the server answers cluster clients with layouts they already parse. No I/O:
the caller gathers the node table and counters, these functions only lay them out.

What the two usual clients read from a node (redis-cli.c / redis-py source, and MONITOR):

* ``redis-cli --cluster check host:port``: ``INFO`` on the given node (``cluster_enabled:1``
  or it stops), then ``CLUSTER NODES``. It reads only lines that end in ``\\n``, splits on
  spaces: id, ``ip:port@cport[,hostname]``, flags (``myself``; a friend flagged ``fail`` or
  ``noaddr`` is skipped; ``slave`` takes the master id), master id, ping, pong, epoch, link,
  and slots (``a-b``, ``n``, ``[n->-id]`` migrating, ``[n-<-id]`` importing) from the myself
  line only. It connects to every other node listed (AUTH if given) and sends it
  ``CLUSTER NODES`` twice (its own slots; then a signature of the sorted slot lists of every
  line that has slots, which must be equal on all nodes) and ``DBSIZE`` to masters.
  ``--cluster-search-multiple-owners`` adds ``CLUSTER COUNTKEYSINSLOT``.
* redis-py ``RedisCluster``: ``HELLO 3`` (the installed client speaks RESP3), ``CLUSTER SLOTS``
  on a startup node (an error there means "cluster mode is not enabled"), taking start, end
  and each node's host and port (an empty or null host is the node it asked); by default all
  16384 slots must be covered. Then ``COMMAND`` for key positions, ``READONLY`` on replica
  connections when reading from replicas, and it follows ``MOVED``/``ASK`` errors (parsed as
  ``<slot> <host>:<port>``, split at the last colon), ``TRYAGAIN`` and ``CLUSTERDOWN``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from photon.keyspace.slots import SLOTS
from photon.errors import RedisError
from photon.protocol.reply import Verbatim

ENDPOINT_TYPES = ("ip", "hostname", "unknown-endpoint")

# Redis's message type numbering, which is the order CLUSTER INFO lists the counters in.
MESSAGE_TYPES = ("ping", "pong", "meet", "fail", "publish", "auth-req", "auth-ack", "update",
                 "mfstart", "module", "publishshard")


@dataclass
class NodeEntry:
    id: str                      # 40 lowercase hex chars
    ip: str                      # announced address
    port: int                    # RESP port
    cport: int                   # cluster bus port (PhotonDB will announce its HTTP/peer port here)
    role: str                    # "master" | "replica"
    master_id: str | None        # for replicas
    slots: list[tuple[int, int]]  # inclusive slot ranges, for masters (empty for replicas)
    config_epoch: int = 0
    ping_sent_ms: int = 0        # epoch ms, 0 = no ping pending
    pong_recv_ms: int = 0        # epoch ms
    connected: bool = True       # link state
    failed: bool = False         # "fail" flag
    pfail: bool = False          # "fail?" flag
    hostname: str = ""
    shard_id: str = ""           # 40 hex; masters and their replicas share it
    replication_offset: int = 0
    health: str = ""             # "online" | "failed" | "loading" (CLUSTER SHARDS); "": from
                                 # the flags and the offset, as Redis derives it
    tls_port: int = 0


@dataclass
class LinkEntry:
    """One cluster-bus connection: ``to`` is the one this node dialed, ``from`` the peer's."""

    direction: str
    node: str
    create_time: int             # epoch ms
    events: str = "r"            # "r", "w", "rw" or "": handlers installed on the socket
    send_buffer_allocated: int = 0
    send_buffer_used: int = 0


@dataclass
class ClusterInfo:
    """The CLUSTER INFO values. Message counters are keyed by MESSAGE_TYPES names; ``extra``
    fields (PhotonDB's own) come after everything Redis prints, so parsers that look fields
    up by name keep working."""

    state: str                   # "ok" | "fail"
    slots_assigned: int
    slots_ok: int
    slots_pfail: int
    slots_fail: int
    known_nodes: int
    size: int
    current_epoch: int
    my_epoch: int
    messages_sent: dict[str, int] = field(default_factory=dict)
    messages_received: dict[str, int] = field(default_factory=dict)
    links_buffer_limit_exceeded: int = 0
    extra: dict[str, str | int] = field(default_factory=dict)


# --- shared pieces ------------------------------------------------------------------------


def slot_runs(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted maximal runs: Redis keeps a slot bitmap, so ranges that touch print as one."""
    runs: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if not 0 <= start <= end < SLOTS:
            raise ValueError(f"bad slot range {start}-{end}")
        if runs and start <= runs[-1][1] + 1:
            if end > runs[-1][1]:
                runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
    return runs


def preferred_endpoint(node: NodeEntry, endpoint: str = "ip") -> str:
    """What cluster-preferred-endpoint-type puts in MOVED/ASK and CLUSTER SHARDS: "?" for a
    node without a hostname, "" when the endpoint is unknown."""
    if endpoint == "ip":
        return node.ip
    if endpoint == "hostname":
        return node.hostname or "?"
    if endpoint == "unknown-endpoint":
        return ""
    raise ValueError(f"unknown endpoint type {endpoint!r}")


def _client_port(node: NodeEntry, tls: bool) -> int:
    return node.tls_port if tls and node.tls_port else node.port


def _replicas_by_master(nodes: Iterable[NodeEntry]) -> dict[str, list[NodeEntry]]:
    """Replicas in list order, which stands for the order Redis learned them (the order
    CLUSTER REPLICAS shows, and the one SLOTS and SHARDS use)."""
    out: dict[str, list[NodeEntry]] = {}
    for n in nodes:
        if n.role == "replica" and n.master_id:
            out.setdefault(n.master_id, []).append(n)
    return out


def _flags(node: NodeEntry, myself: str) -> str:
    flags = []
    if node.id == myself:
        flags.append("myself")
    flags.append("slave" if node.role == "replica" else "master")
    if node.pfail:
        flags.append("fail?")
    if node.failed:
        flags.append("fail")
    return ",".join(flags)


# --- CLUSTER NODES / REPLICAS -------------------------------------------------------------


def cluster_node_line(node: NodeEntry, nodes: Iterable[NodeEntry], myself: str, *,
                      migrating: Mapping[int, str] | None = None,
                      importing: Mapping[int, str] | None = None, tls: bool = False) -> bytes:
    """One CLUSTER NODES line without its newline (CLUSTER REPLICAS sends it so). ``nodes``
    is needed because a replica shows its master's config epoch, not its own. The open slots
    are printed on the myself line only, as Redis does."""
    by_id = {n.id: n for n in nodes}
    return _line(node, by_id, myself, migrating, importing, tls)


def _line(node: NodeEntry, by_id: Mapping[str, NodeEntry], myself: str,
          migrating: Mapping[int, str] | None, importing: Mapping[int, str] | None,
          tls: bool) -> bytes:
    addr = f"{node.ip}:{_client_port(node, tls)}@{node.cport}"
    if node.hostname:
        addr += "," + node.hostname
    master = node.master_id if node.role == "replica" and node.master_id else "-"
    epoch = node.config_epoch
    if node.role == "replica" and node.master_id in by_id:
        epoch = by_id[node.master_id].config_epoch  # type: ignore[index]
    link = "connected" if node.connected or node.id == myself else "disconnected"
    parts = [node.id, addr, _flags(node, myself), master, str(node.ping_sent_ms),
             str(node.pong_recv_ms), str(epoch), link]
    for start, end in slot_runs(node.slots):
        parts.append(str(start) if start == end else f"{start}-{end}")
    if node.id == myself and (migrating or importing):
        migrating, importing = migrating or {}, importing or {}
        for slot in sorted(set(migrating) | set(importing)):
            if slot in migrating:
                parts.append(f"[{slot}->-{migrating[slot]}]")
            else:
                parts.append(f"[{slot}-<-{importing[slot]}]")
    return " ".join(parts).encode()


def cluster_nodes(nodes: list[NodeEntry], myself: str, *,
                  migrating: Mapping[int, str] | None = None,
                  importing: Mapping[int, str] | None = None, tls: bool = False) -> bytes:
    """CLUSTER NODES: every line ends in "\\n", the last included (redis-cli drops a line
    without one). Redis lists nodes in its hash table's order, so any order is faithful; the
    caller's is kept. ``migrating``/``importing`` map slot -> node id for the myself line;
    ``tls`` shows TLS ports, as Redis does for a TLS client of a TLS cluster. A Verbatim,
    because Redis sends it as a verbatim string in RESP3."""
    by_id = {n.id: n for n in nodes}
    return Verbatim(b"".join(_line(n, by_id, myself, migrating, importing, tls) + b"\n"
                             for n in nodes))


def cluster_replicas(nodes: list[NodeEntry], master_id: str, *, tls: bool = False,
                     myself: str = "") -> list[bytes]:
    """CLUSTER REPLICAS/SLAVES: the replicas' NODES lines as bulk strings, no newline. An
    unknown id or a replica's id fails as in Redis. ``myself`` (when it is one of the
    replicas) only adds the "myself" flag to its line."""
    by_id = {n.id: n for n in nodes}
    master = by_id.get(master_id)
    if master is None:
        raise RedisError(unknown_node(master_id))
    if master.role == "replica":
        raise RedisError(NOT_A_MASTER)
    return [_line(n, by_id, myself, None, None, tls)
            for n in _replicas_by_master(nodes).get(master_id, [])]


# --- CLUSTER SLOTS ------------------------------------------------------------------------


def _replica_available(node: NodeEntry) -> bool:
    """Redis leaves out of CLUSTER SLOTS a replica that failed or has not synced yet
    (replication offset 0), so clients do not send reads to it."""
    return shard_health(node) == "online"


def _slots_node(node: NodeEntry, endpoint: str, tls: bool) -> list:
    if endpoint == "unknown-endpoint":
        first: bytes | None = None
    else:
        first = preferred_endpoint(node, endpoint).encode()
    meta: dict[bytes, bytes] = {}
    if endpoint != "ip":
        meta[b"ip"] = node.ip.encode()
    if endpoint != "hostname" and node.hostname:
        meta[b"hostname"] = node.hostname.encode()
    return [first, _client_port(node, tls), node.id.encode(), meta]


def cluster_slots(nodes: list[NodeEntry], *, endpoint: str = "ip", tls: bool = False) -> list:
    """CLUSTER SLOTS: one entry per run of slots with one owner, ordered by slot (not grouped
    by master): [start, end, master, replica...], each node [endpoint, port, id, metadata].
    The metadata is a map, empty (``*0`` / ``%0``) unless there is a hostname or the endpoint
    is not the ip; the endpoint is null for "unknown-endpoint"."""
    if endpoint not in ENDPOINT_TYPES:
        raise ValueError(f"unknown endpoint type {endpoint!r}")
    replicas = _replicas_by_master(nodes)
    runs = sorted(((start, end, n) for n in nodes if n.role == "master"
                   for start, end in slot_runs(n.slots)), key=lambda r: r[0])
    out = []
    last_end = -1
    for start, end, master in runs:
        if start <= last_end:
            raise ValueError(f"slot {start} is claimed by two masters")
        last_end = end
        entry: list = [start, end, _slots_node(master, endpoint, tls)]
        entry += [_slots_node(r, endpoint, tls) for r in replicas.get(master.id, [])
                  if _replica_available(r)]
        out.append(entry)
    return out


# --- CLUSTER SHARDS -----------------------------------------------------------------------


def shard_health(node: NodeEntry) -> str:
    """Redis derives it: "fail" (not "failed") for a node flagged fail, "loading" for a
    replica at offset 0, else "online". An explicit ``health`` of "failed"/"fail" or
    "loading" is honoured too, so a caller may say so without faking flags."""
    if node.failed or node.health in ("failed", "fail"):
        return "fail"
    if node.health == "loading" or (node.role == "replica" and node.replication_offset == 0
                                    and node.health != "online"):
        return "loading"
    return "online"


def _shard_node(node: NodeEntry, endpoint: str) -> dict:
    d: dict[bytes, object] = {b"id": node.id.encode()}
    if node.port:
        d[b"port"] = node.port
    if node.tls_port:
        d[b"tls-port"] = node.tls_port
    d[b"ip"] = node.ip.encode()
    d[b"endpoint"] = preferred_endpoint(node, endpoint).encode()
    if node.hostname:
        d[b"hostname"] = node.hostname.encode()
    d[b"role"] = b"replica" if node.role == "replica" else b"master"
    d[b"replication-offset"] = node.replication_offset
    d[b"health"] = shard_health(node).encode()
    return d


def cluster_shards(nodes: list[NodeEntry], *, endpoint: str = "ip") -> list:
    """CLUSTER SHARDS: one map per master in list order (Redis: hash table order), slots as
    a flat [start, end, ...] array (empty for a master without slots), then the master and
    all its replicas, failed ones included. Maps become flat arrays in RESP2. ``tls-port``
    appears for a node with ``tls_port``, ``port`` for one with a plaintext port."""
    if endpoint not in ENDPOINT_TYPES:
        raise ValueError(f"unknown endpoint type {endpoint!r}")
    replicas = _replicas_by_master(nodes)
    out = []
    for master in nodes:
        if master.role != "master":
            continue
        flat = [x for run in slot_runs(master.slots) for x in run]
        members = [master, *replicas.get(master.id, [])]
        out.append({b"slots": flat, b"nodes": [_shard_node(n, endpoint) for n in members]})
    return out


# --- CLUSTER INFO -------------------------------------------------------------------------


def cluster_info_from_nodes(nodes: list[NodeEntry], myself: str, *, state: str,
                            current_epoch: int, messages_sent: dict[str, int] | None = None,
                            messages_received: dict[str, int] | None = None,
                            links_buffer_limit_exceeded: int = 0,
                            extra: dict[str, str | int] | None = None) -> ClusterInfo:
    """The counts Redis computes from its node table: a slot is "fail" when its owner is
    flagged fail, "pfail" when flagged fail?, the size is the number of masters with slots,
    and a replica's epoch is its master's. State and current epoch stay the caller's: Redis
    keeps them, it does not derive them at INFO time."""
    by_id = {n.id: n for n in nodes}
    assigned = ok = pfail = fail = size = 0
    for n in nodes:
        if n.role != "master" or not n.slots:
            continue
        count = sum(end - start + 1 for start, end in slot_runs(n.slots))
        size += 1
        assigned += count
        if n.failed:
            fail += count
        elif n.pfail:
            pfail += count
        else:
            ok += count
    me = by_id[myself]
    my_epoch = me.config_epoch
    if me.role == "replica" and me.master_id in by_id:
        my_epoch = by_id[me.master_id].config_epoch  # type: ignore[index]
    return ClusterInfo(state=state, slots_assigned=assigned, slots_ok=ok, slots_pfail=pfail,
                       slots_fail=fail, known_nodes=len(nodes), size=size,
                       current_epoch=current_epoch, my_epoch=my_epoch,
                       messages_sent=dict(messages_sent or {}),
                       messages_received=dict(messages_received or {}),
                       links_buffer_limit_exceeded=links_buffer_limit_exceeded,
                       extra=dict(extra or {}))


def _message_lines(counts: Mapping[str, int], suffix: str) -> list[str]:
    unknown = set(counts) - set(MESSAGE_TYPES)
    if unknown:
        raise ValueError(f"unknown cluster message types {sorted(unknown)}")
    lines = [f"cluster_stats_messages_{name}_{suffix}:{counts[name]}"
             for name in MESSAGE_TYPES if counts.get(name)]
    lines.append(f"cluster_stats_messages_{suffix}:{sum(counts.values())}")
    return lines


def cluster_info(info: ClusterInfo) -> bytes:
    """CLUSTER INFO text, "\\r\\n" after every line. Message counters that are zero are left
    out, as Redis does, but the two totals always appear. A Verbatim (RESP3 ``=...txt:``)."""
    lines = [
        f"cluster_state:{info.state}",
        f"cluster_slots_assigned:{info.slots_assigned}",
        f"cluster_slots_ok:{info.slots_ok}",
        f"cluster_slots_pfail:{info.slots_pfail}",
        f"cluster_slots_fail:{info.slots_fail}",
        f"cluster_known_nodes:{info.known_nodes}",
        f"cluster_size:{info.size}",
        f"cluster_current_epoch:{info.current_epoch}",
        f"cluster_my_epoch:{info.my_epoch}",
        *_message_lines(info.messages_sent, "sent"),
        *_message_lines(info.messages_received, "received"),
        f"total_cluster_links_buffer_limit_exceeded:{info.links_buffer_limit_exceeded}",
        *(f"{k}:{v}" for k, v in info.extra.items()),
    ]
    return Verbatim("".join(line + "\r\n" for line in lines).encode())


# --- CLUSTER LINKS ------------------------------------------------------------------------


def cluster_links(links: Iterable[LinkEntry]) -> list[dict]:
    """CLUSTER LINKS: a map per link (a flat array in RESP2). Redis walks its nodes in table
    order and gives each node's outbound ("to") link before its inbound ("from") one."""
    return [{b"direction": link.direction.encode(), b"node": link.node.encode(),
             b"create-time": link.create_time, b"events": link.events.encode(),
             b"send-buffer-allocated": link.send_buffer_allocated,
             b"send-buffer-used": link.send_buffer_used} for link in links]


# --- error replies (the text after "-", as RedisError takes it) ---------------------------

CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"
TRYAGAIN = "TRYAGAIN Multiple keys request during rehashing of slot"
CLUSTERDOWN = "CLUSTERDOWN The cluster is down"
CLUSTERDOWN_READONLY = "CLUSTERDOWN The cluster is down and only accepts read commands"
CLUSTERDOWN_UNBOUND = "CLUSTERDOWN Hash slot not served"
CLUSTER_DISABLED = "ERR This instance has cluster support disabled"
INVALID_SLOT = "ERR Invalid or out of range slot"  # ADDSLOTS, DELSLOTS, *SLOTSRANGE, SETSLOT
COUNTKEYS_INVALID_SLOT = "ERR Invalid slot"  # COUNTKEYSINSLOT
GETKEYS_INVALID = "ERR Invalid slot or number of keys"  # GETKEYSINSLOT: bad slot or count < 0
FORGET_MYSELF = "ERR I tried hard but I can't forget myself..."
FORGET_MY_MASTER = "ERR Can't forget my master!"
REPLICATE_MYSELF = "ERR Can't replicate myself"
REPLICATE_REPLICA = "ERR I can only replicate a master, not a replica."
REPLICATE_NOT_EMPTY = "ERR To set a master the node must be empty and without assigned slots."
NOT_A_MASTER = "ERR The specified node is not a master"  # REPLICAS/SLAVES
SETSLOT_ON_REPLICA = "ERR Please use SETSLOT only with masters."
SETSLOT_TARGET_NOT_MASTER = "ERR Target node is not a master"
SETSLOT_SYNTAX = "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP"
FAILOVER_ON_MASTER = "ERR You should send CLUSTER FAILOVER to a replica"
FAILOVER_NO_MASTER = "ERR I'm a replica but my master is unknown to me"
FAILOVER_MASTER_DOWN = "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE"
CONFIG_EPOCH_NOT_ALONE = ("ERR The user can assign a config epoch only when the node does not "
                          "know any other node.")
CONFIG_EPOCH_NONZERO = "ERR Node config epoch is already non-zero"
RESET_WITH_KEYS = "ERR CLUSTER RESET can't be called with master nodes containing keys"
FLUSHSLOTS_NOT_EMPTY = "ERR DB must be empty to perform CLUSTER FLUSHSLOTS."


def moved(slot: int, host: str, port: int) -> str:
    """``host`` is preferred_endpoint(owner): "?" or "" are what Redis sends in that case."""
    return f"MOVED {slot} {host}:{port}"


def ask(slot: int, host: str, port: int) -> str:
    return f"ASK {slot} {host}:{port}"


def unknown_node(name: str) -> str:
    """FORGET, REPLICATE, REPLICAS, COUNT-FAILURE-REPORTS, SETSLOT ... NODE: name as given."""
    return f"ERR Unknown node {name}"


def setslot_unknown_node(name: str) -> str:
    """SETSLOT MIGRATING/IMPORTING word it differently from SETSLOT NODE."""
    return f"ERR I don't know about node {name}"


def invalid_node_address(ip: str, port: str) -> str:
    """CLUSTER MEET with an address that does not parse or a port (or bus port) outside
    1..65535; both are echoed as the client sent them."""
    return f"ERR Invalid node address specified: {ip}:{port}"


def invalid_base_port(port: str) -> str:
    return f"ERR Invalid TCP base port specified: {port}"


def invalid_bus_port(port: str) -> str:
    return f"ERR Invalid TCP bus port specified: {port}"


def slot_busy(slot: int) -> str:
    return f"ERR Slot {slot} is already busy"


def slot_unassigned(slot: int) -> str:
    return f"ERR Slot {slot} is already unassigned"


def slot_repeated(slot: int) -> str:
    return f"ERR Slot {slot} specified multiple times"


def slot_range_reversed(start: int, end: int) -> str:
    return f"ERR start slot number {start} is greater than end slot number {end}"


def not_slot_owner(slot: int) -> str:
    return f"ERR I'm not the owner of hash slot {slot}"


def already_slot_owner(slot: int) -> str:
    return f"ERR I'm already the owner of hash slot {slot}"


def slot_has_keys(slot: int) -> str:
    return (f"ERR Can't assign hashslot {slot} to a different node while I still hold keys "
            "for this hash slot.")


def invalid_config_epoch(epoch: int) -> str:
    return f"ERR Invalid config epoch specified: {epoch}"
