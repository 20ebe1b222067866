"""Pub/sub (Redis's pubsub.c): SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBEs,
PUBLISH, SPUBLISH and PUBSUB introspection, with Redis 7.0's exact frames.

The registry is the node's ``pubsub`` (made with the node):
channel -> subscribers, pattern -> subscribers, shard channel -> subscribers, each ordered by
subscription time. A client keeps its own subscriptions in ``c.channels`` / ``c.patterns``
(sets other modules read) and, ordered, in ``c.extra["pubsub"]``; ``c.subscribed`` is the
total, which puts the client in Redis's pub/sub mode (RESP2 command restriction, "pubsub"
output-buffer class, CLIENT LIST flag P).

Messages are appended to the subscriber's output and flushed once per event-loop turn, so a
pipeline of PUBLISHes costs one write per subscriber; the flush applies the subscriber's
output-buffer limits, which close a subscriber that does not read instead of ever making a
publisher wait. ``node.pubsub.publish(channel, message)`` is the entry point for other
modules (keyspace notifications, a cluster bus).
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from photon.commands.table import command, container
from photon.errors import RedisError
from photon.protocol.encoder import encode
from photon.protocol.reply import Push, Raw, Status
from photon.util.glob import compile_glob

_SUBSCRIBE = b"subscribe"
_UNSUBSCRIBE = b"unsubscribe"
_PSUBSCRIBE = b"psubscribe"
_PUNSUBSCRIBE = b"punsubscribe"
_SSUBSCRIBE = b"ssubscribe"
_SUNSUBSCRIBE = b"sunsubscribe"


class ClientSubs:
    """One client's subscriptions in the order it made them."""

    __slots__ = ("channels", "patterns", "shards")

    def __init__(self) -> None:
        self.channels: dict[bytes, None] = {}
        self.patterns: dict[bytes, None] = {}
        self.shards: dict[bytes, None] = {}


class PubSub:
    """The subscriptions of one server."""

    def __init__(self, server) -> None:
        self.server = server
        self.channels: dict[bytes, dict[Any, None]] = {}
        self.patterns: dict[bytes, dict[Any, None]] = {}
        self.matchers: dict[bytes, Callable[[bytes], bool]] = {}
        self.shards: dict[bytes, dict[Any, None]] = {}
        self._pending: dict[Any, None] = {}  # subscribers with messages to flush
        self._flush_scheduled = False
        self._count()

    # --- bookkeeping -------------------------------------------------------------------

    def _count(self) -> None:
        counters = self.server.info_counters
        counters["pubsub_channels"] = len(self.channels)
        counters["pubsub_patterns"] = len(self.patterns)
        counters["pubsubshard_channels"] = len(self.shards)

    @staticmethod
    def subs(c) -> ClientSubs:
        s = c.extra.get("pubsub")
        if s is None:
            s = c.extra["pubsub"] = ClientSubs()
        return s

    @staticmethod
    def _sync(c, s: ClientSubs) -> None:
        c.subscribed = len(s.channels) + len(s.patterns) + len(s.shards)

    def subscribe(self, c, channel: bytes, shard: bool = False) -> None:
        s = self.subs(c)
        mine = s.shards if shard else s.channels
        if channel in mine:
            return
        mine[channel] = None
        registry = self.shards if shard else self.channels
        registry.setdefault(channel, {})[c] = None
        if not shard:
            c.channels.add(channel)
        self._sync(c, s)
        self._count()

    def unsubscribe(self, c, channel: bytes, shard: bool = False) -> bool:
        s = self.subs(c)
        mine = s.shards if shard else s.channels
        if channel not in mine:
            return False
        del mine[channel]
        registry = self.shards if shard else self.channels
        clients = registry.get(channel)
        if clients is not None:
            clients.pop(c, None)
            if not clients:
                del registry[channel]
        if not shard:
            c.channels.discard(channel)
        self._sync(c, s)
        self._count()
        return True

    def psubscribe(self, c, pattern: bytes) -> None:
        s = self.subs(c)
        if pattern in s.patterns:
            return
        s.patterns[pattern] = None
        clients = self.patterns.get(pattern)
        if clients is None:
            clients = self.patterns[pattern] = {}
            self.matchers[pattern] = compile_glob(pattern)
        clients[c] = None
        c.patterns.add(pattern)
        self._sync(c, s)
        self._count()

    def punsubscribe(self, c, pattern: bytes) -> bool:
        s = self.subs(c)
        if pattern not in s.patterns:
            return False
        del s.patterns[pattern]
        clients = self.patterns.get(pattern)
        if clients is not None:
            clients.pop(c, None)
            if not clients:
                del self.patterns[pattern]
                del self.matchers[pattern]
        c.patterns.discard(pattern)
        self._sync(c, s)
        self._count()
        return True

    def drop_client(self, c) -> None:
        """Leave every channel and pattern without a word (disconnect, RESET)."""
        s = c.extra.get("pubsub")
        if s is None:
            return
        for channel in list(s.channels):
            self.unsubscribe(c, channel)
        for pattern in list(s.patterns):
            self.punsubscribe(c, pattern)
        for channel in list(s.shards):
            self.unsubscribe(c, channel, shard=True)
        self._pending.pop(c, None)

    # --- delivery ----------------------------------------------------------------------

    def publish(self, channel: bytes, message: bytes) -> int:
        """Send a message to the channel's subscribers and the matching patterns'; the
        number of clients that received it (a client counts once per subscription)."""
        receivers = 0
        queue = self._queue
        clients = self.channels.get(channel)
        if clients:
            frames: list[bytes | None] = [None, None]
            for c in clients:
                receivers += 1
                if c.closing or c.closed:
                    continue
                resp = 1 if c.resp3 else 0
                frame = frames[resp]
                if frame is None:
                    frame = frames[resp] = encode(
                        Push([b"message", channel, message]), bool(resp))
                queue(c, frame)
        if self.patterns:
            matchers = self.matchers
            for pattern, clients in self.patterns.items():
                if not matchers[pattern](channel):
                    continue
                frames = [None, None]
                for c in clients:
                    receivers += 1
                    if c.closing or c.closed:
                        continue
                    resp = 1 if c.resp3 else 0
                    frame = frames[resp]
                    if frame is None:
                        frame = frames[resp] = encode(
                            Push([b"pmessage", pattern, channel, message]), bool(resp))
                    queue(c, frame)
        if self._pending:
            self._schedule()
        return receivers

    def spublish(self, channel: bytes, message: bytes) -> int:
        receivers = 0
        clients = self.shards.get(channel)
        if clients:
            frames: list[bytes | None] = [None, None]
            for c in clients:
                receivers += 1
                if c.closing or c.closed:
                    continue
                resp = 1 if c.resp3 else 0
                frame = frames[resp]
                if frame is None:
                    frame = frames[resp] = encode(
                        Push([b"smessage", channel, message]), bool(resp))
                self._queue(c, frame)
        if self._pending:
            self._schedule()
        return receivers

    def _queue(self, c, frame: bytes) -> None:
        c.out.append(frame)
        self._pending[c] = None

    def _schedule(self) -> None:
        if self._flush_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (unit tests): write now
            self.flush()
            return
        self._flush_scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write the queued messages: one write per subscriber, then its output limits."""
        self._flush_scheduled = False
        pending = self._pending
        self._pending = {}
        for c in pending:
            if not c.closed:
                c.flush()


# --- commands ---------------------------------------------------------------------------

def _confirmations(c, frames: list) -> Raw:
    """Confirmations are replies of the command (so EXEC nests them as Redis does) written
    as pushes: '>' in RESP3, arrays in RESP2."""
    resp3 = c.resp3
    return Raw(b"".join(encode(Push(f), resp3) for f in frames))


def _subscribe(c, kind: bytes, names: list[bytes], join, shard: bool = False) -> Raw:
    s = c.server.pubsub.subs(c)
    frames = []
    for name in names:
        join(c, name)
        frames.append([kind, name, _count(s, shard)])
    return _confirmations(c, frames)


def _unsubscribe(c, kind: bytes, names: list[bytes], current, leave,
                 shard: bool = False) -> Raw:
    """No names: leave everything; nothing to leave still confirms once, with a nil."""
    s = c.server.pubsub.subs(c)
    frames = []
    for name in names or list(current):
        leave(c, name)
        frames.append([kind, name, _count(s, shard)])
    if not frames:
        frames.append([kind, None, _count(s, shard)])
    return _confirmations(c, frames)


def _count(s, shard: bool) -> int:
    """Shard channels are counted apart from channels and patterns, as in Redis."""
    return len(s.shards) if shard else len(s.channels) + len(s.patterns)


@command("subscribe", -2, "pubsub noscript loading stale", 0, 0, 0)
def subscribe(c, argv):
    return _subscribe(c, _SUBSCRIBE, argv[1:], c.server.pubsub.subscribe)


@command("unsubscribe", -1, "pubsub noscript loading stale", 0, 0, 0)
def unsubscribe(c, argv):
    ps = c.server.pubsub
    return _unsubscribe(c, _UNSUBSCRIBE, argv[1:], ps.subs(c).channels, ps.unsubscribe)


@command("psubscribe", -2, "pubsub noscript loading stale", 0, 0, 0)
def psubscribe(c, argv):
    return _subscribe(c, _PSUBSCRIBE, argv[1:], c.server.pubsub.psubscribe)


@command("punsubscribe", -1, "pubsub noscript loading stale", 0, 0, 0)
def punsubscribe(c, argv):
    ps = c.server.pubsub
    return _unsubscribe(c, _PUNSUBSCRIBE, argv[1:], ps.subs(c).patterns, ps.punsubscribe)


@command("ssubscribe", -2, "pubsub noscript loading stale", 1, -1, 1)
def ssubscribe(c, argv):
    if c.in_exec:  # Redis denies it to a client that expects one reply per command
        raise RedisError("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
    ps = c.server.pubsub
    return _subscribe(c, _SSUBSCRIBE, argv[1:],
                      lambda c, ch: ps.subscribe(c, ch, shard=True), shard=True)


@command("sunsubscribe", -1, "pubsub noscript loading stale", 1, -1, 1)
def sunsubscribe(c, argv):
    ps = c.server.pubsub
    return _unsubscribe(c, _SUNSUBSCRIBE, argv[1:], ps.subs(c).shards,
                        lambda c, ch: ps.unsubscribe(c, ch, shard=True), shard=True)


@command("publish", 3, "pubsub loading stale fast", 0, 0, 0)
def publish_(c, argv):
    return c.server.pubsub.publish(argv[1], argv[2])


@command("spublish", 3, "pubsub loading stale fast", 1, 1, 1)
def spublish(c, argv):
    return c.server.pubsub.spublish(argv[1], argv[2])


@command("photon.publish", 4, "pubsub loading stale fast", 0, 0, 0)
def photon_publish(c, argv):
    """PHOTON.PUBLISH shard channel message: a message published on another node, for this
    node's subscribers (shard 1: a shard channel's)."""
    ps = c.server.pubsub
    return ps.spublish(argv[2], argv[3]) if argv[1] == b"1" else ps.publish(argv[2], argv[3])


# --- PUBSUB -------------------------------------------------------------------------------

container("pubsub", -2)


def _syntax(argv) -> RedisError:
    return RedisError("ERR unknown subcommand or wrong number of arguments for '%s'. Try "
                      "PUBSUB HELP." % argv[1].decode("utf-8", "replace"))


def _active(registry: dict[bytes, dict], argv) -> list[bytes]:
    if len(argv) > 3:
        raise _syntax(argv)
    if len(argv) == 2:
        return list(registry)
    match = compile_glob(argv[2])
    return [ch for ch in registry if match(ch)]


@command("pubsub|channels", -2, "pubsub loading stale", 0, 0, 0)
def pubsub_channels(c, argv):
    return _active(c.server.pubsub.channels, argv)


@command("pubsub|numsub", -2, "pubsub loading stale", 0, 0, 0)
def pubsub_numsub(c, argv):
    channels = c.server.pubsub.channels
    out: list = []
    for ch in argv[2:]:
        out.append(ch)
        out.append(len(channels.get(ch, ())))
    return out


@command("pubsub|numpat", 2, "pubsub loading stale", 0, 0, 0)
def pubsub_numpat(c, argv):
    return len(c.server.pubsub.patterns)


@command("pubsub|shardchannels", -2, "pubsub loading stale", 0, 0, 0)
def pubsub_shardchannels(c, argv):
    return _active(c.server.pubsub.shards, argv)


@command("pubsub|shardnumsub", -2, "pubsub loading stale", 0, 0, 0)
def pubsub_shardnumsub(c, argv):
    shards = c.server.pubsub.shards
    out: list = []
    for ch in argv[2:]:
        out.append(ch)
        out.append(len(shards.get(ch, ())))
    return out


@command("pubsub|help", 2, "loading stale", 0, 0, 0)
def pubsub_help(c, argv):
    return [Status(s) for s in (
        b"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        b"CHANNELS [<pattern>]",
        b"    Return the currently active channels matching a <pattern> (default: '*').",
        b"NUMPAT",
        b"    Return number of subscriptions to patterns.",
        b"NUMSUB [<channel> ...]",
        b"    Return the number of subscribers for the specified channels, excluding",
        b"    pattern subscriptions(default: no channels).",
        b"SHARDCHANNELS [<pattern>]",
        b"    Return the currently active shard level channels matching a <pattern> "
        b"(default: '*').",
        b"SHARDNUMSUB [<shardchannel> ...]",
        b"    Return the number of subscribers for the specified shard level channel(s)",
        b"HELP",
        b"    Prints this help.",
    )]
