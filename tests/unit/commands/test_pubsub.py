"""Pub/sub through the real gate: exact RESP2/RESP3 frames (taken from redis-server 7.0.15),
counts, the subscribed-mode rule, RESET/disconnect cleanup, introspection, output limits."""
from __future__ import annotations

import pytest

from tests.unit.fakes import FakeTransport


def cmd(*args) -> bytes:
    argv = [a.encode() if isinstance(a, str) else a for a in args]
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in argv)


def bulk(s) -> bytes:
    if s is None:
        return b"$-1\r\n"
    s = s.encode() if isinstance(s, str) else s
    return b"$%d\r\n%b\r\n" % (len(s), s)


def frame(*items, resp3=False) -> bytes:
    """A push frame: '>' in RESP3, '*' in RESP2; None is nil, ints are integers."""
    out = (b">%d\r\n" if resp3 else b"*%d\r\n") % len(items)
    for x in items:
        if x is None and resp3:
            out += b"_\r\n"
        elif isinstance(x, int):
            out += b":%d\r\n" % x
        else:
            out += bulk(x)
    return out


def received(c) -> bytes:
    data = bytes(c.transport.data)
    c.transport.data.clear()
    return data


@pytest.fixture
def sub(server):
    return server.new_client()


@pytest.fixture
def sub3(server):
    c = server.new_client()
    c.raw(cmd("HELLO", "3"))
    return c


# --- confirmations --------------------------------------------------------------------------

def test_subscribe_confirms_each_channel_with_the_running_count(client):
    assert client.raw(cmd("SUBSCRIBE", "a", "a", "b")) == (
        frame("subscribe", "a", 1) + frame("subscribe", "a", 1) + frame("subscribe", "b", 2))


def test_subscribe_resp3_pushes(sub3):
    assert sub3.raw(cmd("SUBSCRIBE", "a", "b")) == (
        frame("subscribe", "a", 1, resp3=True) + frame("subscribe", "b", 2, resp3=True))


def test_counts_add_channels_and_patterns_but_not_shard_channels(client):
    client.raw(cmd("SUBSCRIBE", "a", "b"))
    assert client.raw(cmd("PSUBSCRIBE", "h*", "h*")) == (
        frame("psubscribe", "h*", 3) + frame("psubscribe", "h*", 3))
    assert client.raw(cmd("SSUBSCRIBE", "s1")) == frame("ssubscribe", "s1", 1)
    assert client.raw(cmd("UNSUBSCRIBE", "zz")) == frame("unsubscribe", "zz", 3)
    assert client.raw(cmd("PUNSUBSCRIBE", "zz")) == frame("punsubscribe", "zz", 3)
    assert client.raw(cmd("SUNSUBSCRIBE", "zz")) == frame("sunsubscribe", "zz", 1)


@pytest.mark.parametrize("name", ["unsubscribe", "punsubscribe", "sunsubscribe"])
def test_unsubscribe_with_nothing_subscribed(client, sub3, name):
    assert client.raw(cmd(name)) == frame(name, None, 0)
    assert sub3.raw(cmd(name)) == frame(name, None, 0, resp3=True)
    assert sub3.raw(cmd(name)) == b">3\r\n$%d\r\n%b\r\n_\r\n:0\r\n" % (len(name), name.encode())
    assert client.subscribed == 0
    assert client.raw(cmd("GET", "x")) == b"$-1\r\n"  # not in subscribed mode


def test_unsubscribe_all_in_subscription_order(client):
    client.raw(cmd("SUBSCRIBE", "b", "a"))
    client.raw(cmd("PSUBSCRIBE", "p2", "p1"))
    assert client.raw(cmd("UNSUBSCRIBE")) == (
        frame("unsubscribe", "b", 3) + frame("unsubscribe", "a", 2))
    assert client.raw(cmd("PUNSUBSCRIBE")) == (
        frame("punsubscribe", "p2", 1) + frame("punsubscribe", "p1", 0))
    assert client.subscribed == 0
    assert client.raw(cmd("PING")) == b"+PONG\r\n"


def test_sunsubscribe_all(sub3):
    sub3.raw(cmd("SSUBSCRIBE", "x", "y"))
    assert sub3.raw(cmd("SUNSUBSCRIBE")) == (
        frame("sunsubscribe", "x", 1, resp3=True) + frame("sunsubscribe", "y", 0, resp3=True))


def test_binary_channel_names(client, server):
    other = server.new_client()
    name = b"\x00\xff ch\r\n"
    assert client.raw(cmd("SUBSCRIBE", name)) == frame("subscribe", name, 1)
    received(client)
    assert other.raw(cmd("PUBLISH", name, b"\x00\r\n")) == b":1\r\n"
    assert received(client) == frame("message", name, b"\x00\r\n")


# --- subscribed mode ------------------------------------------------------------------------

def test_resp2_subscribed_mode_allows_only_pubsub_ping_quit_reset(client):
    client.raw(cmd("SUBSCRIBE", "a"))
    err = ("-ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
           "RESET are allowed in this context\r\n")
    assert client.raw(cmd("GET", "x")) == (err % "get").encode()
    assert client.raw(cmd("PUBLISH", "a", "m")) == (err % "publish").encode()
    assert client.raw(cmd("MULTI")) == (err % "multi").encode()
    assert client.raw(cmd("PUBSUB", "NUMPAT")) == (err % "pubsub|numpat").encode()
    assert client.raw(cmd("PING")) == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    assert client.raw(cmd("PING", "hi")) == b"*2\r\n$4\r\npong\r\n$2\r\nhi\r\n"
    assert client.raw(cmd("PSUBSCRIBE", "x*")) == frame("psubscribe", "x*", 2)


def test_shard_subscription_alone_keeps_subscribed_mode(client):
    client.raw(cmd("SUBSCRIBE", "a"))
    client.raw(cmd("SSUBSCRIBE", "s"))
    assert client.raw(cmd("UNSUBSCRIBE")) == frame("unsubscribe", "a", 0)
    assert client.raw(cmd("GET", "x")).startswith(b"-ERR Can't execute 'get'")
    assert client.raw(cmd("SUNSUBSCRIBE")) == frame("sunsubscribe", "s", 0)
    assert client.raw(cmd("GET", "x")) == b"$-1\r\n"


def test_resp3_subscriber_runs_any_command(sub3):
    sub3.raw(cmd("SUBSCRIBE", "a"))
    assert sub3.raw(cmd("GET", "x")) == b"_\r\n"
    assert sub3.raw(cmd("PING")) == b"+PONG\r\n"


def test_reset_leaves_everything_silently(client, server):
    client.raw(cmd("SUBSCRIBE", "a"))
    client.raw(cmd("PSUBSCRIBE", "p*"))
    client.raw(cmd("SSUBSCRIBE", "s"))
    assert client.raw(cmd("RESET")) == b"+RESET\r\n"
    assert client.subscribed == 0 and not client.channels and not client.patterns
    assert client.raw(cmd("GET", "x")) == b"$-1\r\n"
    received(client)
    other = server.new_client()
    assert other.raw(cmd("PUBLISH", "a", "m")) == b":0\r\n"
    assert other.raw(cmd("PUBLISH", "pq", "m")) == b":0\r\n"
    assert other.raw(cmd("SPUBLISH", "s", "m")) == b":0\r\n"
    assert other.send("PUBSUB", "NUMPAT") == 0
    assert server.info_counters["pubsub_channels"] == 0
    assert received(client) == b""


def test_reset_of_resp3_subscriber(sub3, server):
    sub3.raw(cmd("SUBSCRIBE", "z"))
    assert sub3.raw(cmd("RESET")) == b"+RESET\r\n"
    assert server.new_client().send("PUBSUB", "NUMSUB", "z") == [b"z", 0]


def test_disconnect_leaves_everything(client, server):
    client.raw(cmd("SUBSCRIBE", "a", "b"))
    client.raw(cmd("PSUBSCRIBE", "p*"))
    client.connection_lost(None)
    other = server.new_client()
    assert other.send("PUBSUB", "CHANNELS") == []
    assert other.send("PUBSUB", "NUMPAT") == 0
    assert other.send("PUBLISH", "a", "x") == 0


# --- publishing -----------------------------------------------------------------------------

def test_publish_to_channel_and_patterns(server, sub, sub3):
    pub = server.new_client()
    sub.raw(cmd("SUBSCRIBE", "ch"))
    sub.raw(cmd("PSUBSCRIBE", "c*", "ch", "x*"))
    sub3.raw(cmd("PSUBSCRIBE", "?h"))
    received(sub)
    received(sub3)
    assert pub.raw(cmd("PUBLISH", "ch", "M")) == b":4\r\n"
    assert received(sub) == frame("message", "ch", "M") + frame("pmessage", "c*", "ch", "M") + \
        frame("pmessage", "ch", "ch", "M")
    assert received(sub3) == frame("pmessage", "?h", "ch", "M", resp3=True)
    assert pub.raw(cmd("PUBLISH", "nobody", "M")) == b":0\r\n"


def test_pattern_semantics(server, sub):
    pub = server.new_client()
    sub.raw(cmd("PSUBSCRIBE", "news.[ab]*", "h\\*llo", "[^x]"))
    assert pub.send("PUBLISH", "news.b1", "m") == 1
    assert pub.send("PUBLISH", "news.c1", "m") == 0
    assert pub.send("PUBLISH", "h*llo", "m") == 1
    assert pub.send("PUBLISH", "hello", "m") == 0
    assert pub.send("PUBLISH", "y", "m") == 1
    assert pub.send("PUBLISH", "x", "m") == 0


def test_publish_to_self_resp3_message_comes_before_the_reply(sub3):
    sub3.raw(cmd("SUBSCRIBE", "a"))
    sub3.raw(cmd("SSUBSCRIBE", "s1"))
    sub3.raw(cmd("PSUBSCRIBE", "h*"))
    assert sub3.raw(cmd("PUBLISH", "a", "self")) == \
        frame("message", "a", "self", resp3=True) + b":1\r\n"
    assert sub3.raw(cmd("SPUBLISH", "s1", "self2")) == \
        frame("smessage", "s1", "self2", resp3=True) + b":1\r\n"
    assert sub3.raw(cmd("PUBLISH", "hx", "pp")) == \
        frame("pmessage", "h*", "hx", "pp", resp3=True) + b":1\r\n"


def test_spublish_reaches_shard_subscribers_only(server, sub):
    pub = server.new_client()
    sub.raw(cmd("SSUBSCRIBE", "s1"))
    sub.raw(cmd("PSUBSCRIBE", "*"))
    received(sub)
    assert pub.raw(cmd("SPUBLISH", "s1", "m3")) == b":1\r\n"
    assert received(sub) == frame("smessage", "s1", "m3")
    assert pub.raw(cmd("PUBLISH", "s1", "x")) == b":1\r\n"  # the pattern, not the shard sub
    assert received(sub) == frame("pmessage", "*", "s1", "x")


def test_many_subscribers_each_get_the_message(server):
    subs = [server.new_client() for _ in range(5)]
    for i, s in enumerate(subs):
        if i % 2:
            s.raw(cmd("HELLO", "3"))
        s.raw(cmd("SUBSCRIBE", "fan"))
        received(s)
    assert server.new_client().send("PUBLISH", "fan", "hi") == 5
    for i, s in enumerate(subs):
        assert received(s) == frame("message", "fan", "hi", resp3=bool(i % 2))


def test_closing_subscriber_counts_but_gets_nothing(server, sub):
    sub.raw(cmd("SUBSCRIBE", "a"))
    received(sub)
    sub.closing = True
    assert server.new_client().send("PUBLISH", "a", "m") == 1
    assert received(sub) == b""


def test_publish_helper_for_other_modules(server, sub):
    assert server.pubsub.publish(b"a", b"m") == 0
    sub.raw(cmd("SUBSCRIBE", "a"))
    received(sub)
    assert server.pubsub.publish(b"a", b"m") == 1
    assert received(sub) == frame("message", "a", "m")


# --- transactions ---------------------------------------------------------------------------

def test_subscribe_inside_exec_nests_frames_like_redis(client):
    client.raw(cmd("MULTI"))
    client.raw(cmd("SUBSCRIBE", "x", "y"))
    client.raw(cmd("PSUBSCRIBE", "x*"))
    assert client.raw(cmd("SSUBSCRIBE", "q")) == b"+QUEUED\r\n"
    assert client.raw(cmd("EXEC")) == (
        b"*3\r\n" + frame("subscribe", "x", 1) + frame("subscribe", "y", 2)
        + frame("psubscribe", "x*", 3)
        + b"-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n")
    assert client.subscribed == 3


def test_subscribe_inside_exec_resp3(sub3):
    sub3.raw(cmd("MULTI"))
    sub3.raw(cmd("SUBSCRIBE", "x", "y"))
    assert sub3.raw(cmd("EXEC")) == (
        b"*1\r\n" + frame("subscribe", "x", 1, resp3=True) + frame("subscribe", "y", 2,
                                                                   resp3=True))


# --- introspection --------------------------------------------------------------------------

def test_pubsub_channels_numsub_numpat(server, sub, sub3):
    sub.raw(cmd("SUBSCRIBE", "a", "b"))
    sub3.raw(cmd("SUBSCRIBE", "a", "ch"))
    sub.raw(cmd("PSUBSCRIBE", "p*", "q*"))
    sub3.raw(cmd("PSUBSCRIBE", "p*"))
    c = server.new_client()
    assert sorted(c.send("PUBSUB", "CHANNELS")) == [b"a", b"b", b"ch"]
    assert c.send("PUBSUB", "channels", "c?") == [b"ch"]
    assert c.send("PUBSUB", "CHANNELS", "zz") == []
    assert c.raw(cmd("PUBSUB", "NUMSUB", "a", "b", "c")) == (
        b"*6\r\n$1\r\na\r\n:2\r\n$1\r\nb\r\n:1\r\n$1\r\nc\r\n:0\r\n")
    assert c.raw(cmd("PUBSUB", "NUMSUB")) == b"*0\r\n"
    assert c.raw(cmd("PUBSUB", "NUMPAT")) == b":2\r\n"  # unique patterns
    c.raw(cmd("HELLO", "3"))
    assert c.raw(cmd("PUBSUB", "NUMSUB", "a")) == b"*2\r\n$1\r\na\r\n:2\r\n"  # array in RESP3
    assert server.info_counters["pubsub_channels"] == 3
    assert server.info_counters["pubsub_patterns"] == 2


def test_pubsub_shard_introspection(server, sub):
    sub.raw(cmd("SSUBSCRIBE", "s1", "s2"))
    c = server.new_client()
    assert sorted(c.send("PUBSUB", "SHARDCHANNELS")) == [b"s1", b"s2"]
    assert c.send("PUBSUB", "SHARDCHANNELS", "*1") == [b"s1"]
    assert c.raw(cmd("PUBSUB", "SHARDNUMSUB", "s1", "x")) == (
        b"*4\r\n$2\r\ns1\r\n:1\r\n$1\r\nx\r\n:0\r\n")
    assert c.raw(cmd("PUBSUB", "SHARDNUMSUB")) == b"*0\r\n"
    assert c.send("PUBSUB", "CHANNELS") == []
    assert server.info_counters["pubsubshard_channels"] == 2


def test_pubsub_errors_and_help(client):
    assert client.raw(cmd("PUBSUB", "CHANNELS", "a", "b")) == (
        b"-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB "
        b"HELP.\r\n")
    assert client.raw(cmd("PUBSUB", "shardchannels", "a", "b")) == (
        b"-ERR unknown subcommand or wrong number of arguments for 'shardchannels'. Try "
        b"PUBSUB HELP.\r\n")
    assert client.raw(cmd("PUBSUB", "NUMPAT", "x")) == (
        b"-ERR wrong number of arguments for 'pubsub|numpat' command\r\n")
    assert client.raw(cmd("PUBSUB")) == b"-ERR wrong number of arguments for 'pubsub' command\r\n"
    assert client.raw(cmd("PUBSUB", "foo")) == (
        b"-ERR unknown subcommand 'foo'. Try PUBSUB HELP.\r\n")
    assert client.raw(cmd("SUBSCRIBE")) == (
        b"-ERR wrong number of arguments for 'subscribe' command\r\n")
    assert client.raw(cmd("PUBLISH", "a")) == (
        b"-ERR wrong number of arguments for 'publish' command\r\n")
    help_ = client.raw(cmd("PUBSUB", "HELP"))
    assert help_.startswith(b"*14\r\n+PUBSUB <subcommand> [<arg> [value] [opt] ...]. "
                            b"Subcommands are:\r\n+CHANNELS [<pattern>]\r\n")
    assert help_.endswith(b"+HELP\r\n+    Prints this help.\r\n")


def test_client_list_shows_subscriptions(server, sub):
    sub.raw(cmd("SUBSCRIBE", "a", "b"))
    sub.raw(cmd("PSUBSCRIBE", "p*"))
    line = sub.describe()
    assert " flags=P " in line and " sub=2 psub=1 " in line
    listing = server.new_client().send("CLIENT", "LIST", "TYPE", "pubsub")
    assert listing.count(b"\n") == 1 and b"id=%d " % sub.id in listing


# --- output-buffer limits -------------------------------------------------------------------

class BackedUpTransport(FakeTransport):
    """A peer that stopped reading: everything written stays buffered."""

    def get_write_buffer_size(self) -> int:
        return len(self.data)


def test_subscriber_over_the_pubsub_hard_limit_is_closed(server):
    server.apply_setting("client_output_buffer_limit", "normal 0 0 0 replica 0 0 0 pubsub 1kb 0 0")
    slow = server.new_client()
    slow.connection_made(BackedUpTransport())
    server.clients[slow.id] = slow
    slow.raw(cmd("SUBSCRIBE", "a"))
    pub = server.new_client()
    payload = b"x" * 100
    for _ in range(20):
        assert pub.send("PUBLISH", "a", payload) in (0, 1)
    assert slow.closing and slow.transport.closed
    assert server.stats.output_limit_disconnections == 1
    slow.connection_lost(None)
    assert pub.send("PUBLISH", "a", payload) == 0
    assert pub.send("PUBSUB", "NUMSUB", "a") == [b"a", 0]


def test_normal_class_limit_does_not_apply_to_subscribers(server):
    server.apply_setting("client_output_buffer_limit", "normal 1kb 0 0 replica 0 0 0 pubsub 0 0 0")
    slow = server.new_client()
    slow.connection_made(BackedUpTransport())
    slow.raw(cmd("SUBSCRIBE", "a"))
    pub = server.new_client()
    for _ in range(50):
        pub.send("PUBLISH", "a", b"y" * 100)
    assert not slow.closing
