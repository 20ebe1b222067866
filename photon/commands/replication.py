"""Replication commands: REPLICAOF/SLAVEOF, ROLE, WAIT, READONLY/READWRITE, and the internal
PHOTON.SYNC / PHOTON.ACK / PHOTON.FWD a replica speaks to its master."""
from __future__ import annotations

import asyncio

from photon.commands.dispatch import execute
from photon.commands.table import command
from photon.errors import RedisError
from photon.protocol.encoder import encode
from photon.protocol.parser import RequestParser
from photon.protocol.reply import NO_REPLY, OK, Status
from photon.util.numbers import parse_int, string2ll


def _replicaof(c, argv):
    server = c.server
    host, port = argv[1], argv[2]
    if host.lower() == b"no" and port.lower() == b"one":
        if server.role == "replica":
            server.promote()
        return OK
    p = string2ll(port)
    if p is None or not 0 < p < 65536:
        raise RedisError("ERR Invalid master port")
    h = host.decode("utf-8", "replace")
    if server.replica is not None and (server.replica.host, server.replica.port) == (h, p):
        return Status(b"OK Already connected to specified master")
    server.follow(h, p)
    return OK


@command("replicaof", 3, "admin noscript stale no_async_loading", 0, 0, 0)
def replicaof(c, argv):
    return _replicaof(c, argv)


@command("slaveof", 3, "admin noscript stale no_async_loading", 0, 0, 0)
def slaveof(c, argv):
    return _replicaof(c, argv)


@command("role", 1, "noscript loading stale fast", 0, 0, 0)
def role(c, argv):
    server = c.server
    if server.role == "replica":
        r = server.replica
        return [b"slave", r.host.encode(), r.port, r.state.encode(), server.shardlog.offset]
    links = server.master.links.values()
    return [b"master", server.shardlog.offset,
            [[link.host.encode(), b"%d" % link.port, b"%d" % link.offset()] for link in links]]


@command("wait", 3, "noscript", 0, 0, 0)
def wait(c, argv):
    server = c.server
    needed = parse_int(argv[1])
    timeout = string2ll(argv[2])
    if timeout is None:
        raise RedisError("ERR timeout is not an integer or out of range")
    if timeout < 0:
        raise RedisError("ERR timeout is negative")
    if server.master is None:
        raise RedisError("ERR WAIT cannot be used with replica instances. Please also note that "
                         "since Redis 4.0 if a replica is configured to be writable (which is "
                         "not the default) writes to replicas are just local and are not "
                         "propagated.")
    if c.in_exec:
        return server.master.acked_by(c.repl_marks)
    return server.master.wait_command(c, needed, timeout)


@command("readonly", 1, "loading stale fast", 0, 0, 0)
def readonly(c, argv):
    c.direct_replica = True
    return OK


@command("readwrite", 1, "loading stale fast", 0, 0, 0)
def readwrite(c, argv):
    c.direct_replica = False
    return OK


@command("photon.sync", -6, "admin noscript loading stale", 0, 0, 0)
def photon_sync(c, argv):
    """PHOTON.SYNC node-id host port shard-count [shard replid offset ...]: become a replica
    link (the host shown for it is the connection's own address)."""
    server = c.server
    if server.master is None:
        raise RedisError("ERR this node is a replica; replicate from its master %s:%d" % (
            server.replica.host, server.replica.port))
    if (len(argv) - 5) % 3 or len(argv) == 5:
        raise RedisError("ERR wrong number of arguments for 'photon.sync' command")
    count = parse_int(argv[4])
    if count != len(server.keyspace.engines):
        raise RedisError(f"ERR this node has {len(server.keyspace.engines)} shards, the replica "
                         f"{count}: both must be started with the same --shards")
    wanted = []
    first, last = server.shard_range
    seen = set()
    for i in range(5, len(argv), 3):
        shard = parse_int(argv[i])
        if not first <= shard <= last:
            raise RedisError(f"ERR shard {shard} is not served by this node")
        if shard in seen:
            raise RedisError(f"ERR shard {shard} asked for twice")
        seen.add(shard)
        wanted.append((shard, argv[i + 1], parse_int(argv[i + 2])))
    host = c.addr.rpartition(":")[0] or argv[2].decode()
    server.master.attach(c, argv[1].decode(), host, parse_int(argv[3]), wanted)
    return NO_REPLY


@command("photon.ack", -2, "noscript loading stale fast", 0, 0, 0)
def photon_ack(c, argv):
    """PHOTON.ACK ping-stamp [shard offset ...]: a replica's positions, and the stamp of the
    newest master ping it saw."""
    offsets = {parse_int(argv[i]): parse_int(argv[i + 1]) for i in range(2, len(argv) - 1, 2)}
    if c.server.master is not None:
        c.server.master.ack(c, offsets, parse_int(argv[1]))
    return NO_REPLY


def encode_marks(marks: dict[int, int]) -> bytes:
    return b",".join(b"%d:%d" % kv for kv in marks.items())


def decode_marks(text: bytes) -> dict[int, int]:
    out = {}
    for part in text.split(b","):
        if part:
            shard, _, offset = part.partition(b":")
            out[parse_int(shard)] = parse_int(offset)
    return out


@command("photon.fwd", 5, "noscript", 0, 0, 0)
def photon_fwd(c, argv):
    """PHOTON.FWD resp db marks commands: run commands another node passed on for one of its
    clients; ``marks`` (shard:offset,...) are the offsets that client's own writes reached,
    so a replica that has not applied them passes its reads on to its master. Reply: [the
    last reply encoded for that client, [shard, offset, ...] of its writes]."""
    resp3 = argv[1] == b"3"
    c.db = parse_int(argv[2])
    c.repl_marks = decode_marks(argv[3])
    parser = RequestParser()
    commands = parser.feed(argv[4])
    reply = None
    c.forwarded = True
    try:
        for inner in commands:
            reply = execute(c, inner)
    finally:
        c.forwarded = False
    if isinstance(reply, asyncio.Future):
        out = asyncio.get_running_loop().create_future()

        def done(f: asyncio.Future) -> None:
            if not out.done():
                out.set_result(_fwd_reply(c, f.result(), resp3))

        reply.add_done_callback(done)
        return out
    return _fwd_reply(c, reply, resp3)


def _fwd_reply(c, reply, resp3: bool) -> list:
    flat = []
    for shard, offset in c.repl_marks.items():
        flat += [shard, offset]
    return [encode(reply, resp3), flat]
