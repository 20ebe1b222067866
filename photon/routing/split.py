"""Commands that span groups, for a plain client: a cluster looks like one big Redis.

MGET, MSET, DEL, UNLINK, EXISTS and TOUCH are split by group and their replies merged (MSET is
then atomic per group, not across groups). DBSIZE, KEYS, SCAN, RANDOMKEY, FLUSHDB, FLUSHALL and
INFO's keyspace section cover every group. Each group's share runs here when this node serves
it, else on that group (router.part); shares passed to other nodes come back in RESP2 and are
merged into plain values, which the client's own protocol then encodes.

A cluster-wide SCAN walks the groups in the order of their first shard, asking each group's
master (a group's cursor is that node's); its cursor (kept by this node) names the group it is
in and that group's own cursor, so it never returns a key twice nor misses one that existed
throughout, as long as the groups' shards stay put.
"""
from __future__ import annotations

import asyncio
import random
from typing import Any

import hiredis

from photon.commands.keys import CURSORS, parse_cursor
from photon.errors import RedisError
from photon.protocol.reply import OK, Raw, Verbatim

SPLIT = frozenset({"mget", "mset", "del", "unlink", "exists", "touch"})
FANOUT = frozenset({"dbsize", "keys", "scan", "randomkey", "flushdb", "flushall", "info"})


def _value(reply: Any) -> Any:
    """A share's reply as a plain value (a relayed reply is RESP2 bytes)."""
    if isinstance(reply, Raw):
        reader = hiredis.Reader()
        reader.feed(bytes(reply))
        value = reader.gets()
        if isinstance(value, hiredis.ReplyError):
            return RedisError(str(value))
        return value
    return reply


def _gather(parts: list[Any], merge: Any) -> Any:
    """Merge the shares' replies now, or in a future once the forwarded ones arrived. The
    first error is the reply."""
    def finish(values: list[Any]) -> Any:
        values = [_value(v) for v in values]
        for v in values:
            if isinstance(v, RedisError):
                return v
        return merge(values)

    if not any(isinstance(p, asyncio.Future) for p in parts):
        return finish(parts)

    async def wait() -> Any:
        values = []
        for p in parts:
            values.append(await p if isinstance(p, asyncio.Future) else p)
        return finish(values)
    return asyncio.ensure_future(wait())


def split(router: Any, c: Any, cmd: Any, argv: list[bytes]) -> Any:
    name = cmd.name
    shard_of = router.node.keyspace.shard_of
    owners = router.owners
    by_group: dict[str, list[bytes]] = {}
    order: dict[str, list[int]] = {}
    if name == "mset":
        for i in range(1, len(argv) - 1, 2):
            g = owners[shard_of(argv[i])]
            by_group.setdefault(g, []).extend(argv[i:i + 2])
    else:
        for i, key in enumerate(argv[1:]):
            g = owners[shard_of(key)]
            by_group.setdefault(g, []).append(key)
            order.setdefault(g, []).append(i)
    groups = list(by_group)
    parts = [router.part(c, cmd, [argv[0], *by_group[g]], g) for g in groups]
    if name == "mget":
        def merge(values: list[Any]) -> Any:
            out: list[Any] = [None] * (len(argv) - 1)
            for g, vals in zip(groups, values):
                for i, v in zip(order[g], vals):
                    out[i] = v
            return out
    elif name == "mset":
        def merge(values: list[Any]) -> Any:
            return OK
    else:
        def merge(values: list[Any]) -> Any:
            return sum(values)
    return _gather(parts, merge)


def _groups(router: Any) -> list[str]:
    """Groups in the order of their first shard."""
    firsts: dict[str, int] = {}
    for shard, g in enumerate(router.owners):
        if g is not None:
            firsts.setdefault(g, shard)
    return sorted(firsts, key=firsts.__getitem__)


def fan_out(router: Any, c: Any, cmd: Any, argv: list[bytes]) -> Any:
    groups = _groups(router)
    if groups == [router.my_group] or not groups:
        return None  # this node's group is the whole keyspace: nothing to cover
    name = cmd.name
    if name == "scan":
        return _scan(router, c, cmd, argv, groups)
    if name == "info":
        return _info(router, c, cmd, argv, groups)
    parts = [router.part(c, cmd, argv, g) for g in groups]
    if name == "dbsize":
        return _gather(parts, sum)
    if name == "keys":
        return _gather(parts, lambda values: [k for v in values for k in v])
    if name == "randomkey":
        return _gather(parts, lambda values: random.choice(
            [v for v in values if v is not None] or [None]))
    return _gather(parts, lambda values: OK)  # flushdb, flushall


def _scan(router: Any, c: Any, cmd: Any, argv: list[bytes], groups: list[str]) -> Any:
    cursor = parse_cursor(argv[1])
    index, inner = 0, b"0"
    if cursor:
        position = CURSORS.load(cursor)
        if position is not None and position[0] == "cluster" and position[1] == c.db:
            index, inner = position[2], position[3]
            index = min(index, len(groups) - 1)
    share = router.part(c, cmd, [argv[0], inner, *argv[2:]], groups[index], primary=True)

    def merge(values: list[Any]) -> Any:
        (next_inner, keys), = values
        nxt, more = index, next_inner
        if next_inner in (b"0", 0):
            nxt, more = index + 1, b"0"
        if nxt >= len(groups):
            return [b"0", keys]
        return [b"%d" % CURSORS.save(("cluster", c.db, nxt, more)), keys]
    return _gather([share], merge)


def _info(router: Any, c: Any, cmd: Any, argv: list[bytes], groups: list[str]) -> Any:
    """INFO with its keyspace section counting every group's keys."""
    wanted = {a.lower() for a in argv[1:]}
    if wanted and not wanted & {b"keyspace", b"default", b"all", b"everything"}:
        return None
    local = router.part(c, cmd, argv, router.my_group) if router.my_group in groups else None
    if local is None:
        return None
    others = [router.part(c, cmd, [b"INFO", b"keyspace"], g) for g in groups
              if g != router.my_group]

    def merge(values: list[Any]) -> Any:
        text = bytes(values[0]).decode()
        totals: dict[str, list[int]] = {}
        for v in values:
            for line in bytes(v).decode().split("\r\n"):
                if line.startswith("db") and ":" in line:
                    db, _, fields = line.partition(":")
                    f = dict(kv.split("=", 1) for kv in fields.split(","))
                    t = totals.setdefault(db, [0, 0, 0])
                    t[0] += int(f["keys"])
                    t[1] += int(f["expires"])
                    t[2] += int(f["avg_ttl"]) * int(f["expires"])
        head, sep, rest = text.partition("# Keyspace\r\n")
        if not sep:
            return values[0]
        tail = rest.split("\r\n\r\n", 1)
        lines = [f"{db}:keys={k},expires={e},avg_ttl={(w // e) if e else 0}"
                 for db, (k, e, w) in sorted(totals.items(), key=lambda kv: int(kv[0][2:]))]
        body = "".join(line + "\r\n" for line in lines)
        return Verbatim((head + sep + body + ("\r\n" + tail[1] if len(tail) > 1 else ""))
                        .encode())
    return _gather([local, *others], merge)
