"""Pub/sub end to end: redis-py subscribers in RESP2 and RESP3, patterns, introspection,
byte-for-byte frames against a real redis-server, and output-buffer limits closing a
subscriber that does not read while the publisher keeps publishing at full speed."""
from __future__ import annotations

import socket
import subprocess
import sys
import time

import hiredis
import pytest

LIMITS = "normal 0 0 0 replica 256mb 64mb 60 pubsub %s"


def req(*args) -> bytes:
    argv = [a.encode() if isinstance(a, str) else a for a in args]
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in argv)


class Raw:
    """A socket that returns the exact bytes of whole replies."""

    def __init__(self, port: int, rcvbuf: int | None = None) -> None:
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))

    def send(self, *args) -> None:
        self.sock.sendall(req(*args))

    def read(self, n: int = 1, grace: float = 0.02) -> bytes:
        """Bytes up to ``n`` complete replies, plus whatever follows within ``grace``."""
        reader = hiredis.Reader()
        data = b""
        got = 0
        deadline = time.monotonic() + 10
        while got < n:
            assert time.monotonic() < deadline, f"only {got} of {n} replies: {data!r}"
            chunk = self.sock.recv(65536)
            assert chunk, f"connection closed after {data!r}"
            data += chunk
            reader.feed(chunk)
            while reader.gets() is not False:
                got += 1
        self.sock.settimeout(grace)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, BlockingIOError):
            pass
        finally:
            self.sock.settimeout(10)
        return data

    def call(self, *args, n: int = 1) -> bytes:
        self.send(*args)
        return self.read(n)

    def close(self) -> None:
        self.sock.close()


def wait_for(pred, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached")


# --- redis-py ---------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_subscriber_gets_a_publish_from_another_client(photon, protocol):
    sub = photon.client(protocol=protocol)
    pub = photon.client()
    p = sub.pubsub()
    p.subscribe("news")
    msg = p.get_message(timeout=5)
    assert msg["type"] == "subscribe" and msg["channel"] == b"news" and msg["data"] == 1
    assert pub.publish("news", "hello") == 1
    msg = p.get_message(timeout=5)
    assert msg == {"type": "message", "pattern": None, "channel": b"news", "data": b"hello"}
    assert pub.publish("other", "x") == 0
    p.unsubscribe("news")
    msg = p.get_message(timeout=5)
    assert msg["type"] == "unsubscribe" and msg["data"] == 0
    assert pub.publish("news", "again") == 0
    p.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_patterns(photon, protocol):
    sub = photon.client(protocol=protocol)
    pub = photon.client()
    p = sub.pubsub(ignore_subscribe_messages=True)
    p.psubscribe("news.*", "h?llo")
    p.subscribe("news.tech")
    wait_for(lambda: pub.pubsub_numpat() == 2)
    wait_for(lambda: pub.pubsub_numsub("news.tech") == [(b"news.tech", 1)])
    assert pub.publish("news.tech", "a") == 2
    assert pub.publish("hallo", "b") == 1
    assert pub.publish("news", "c") == 0
    got = []
    deadline = time.monotonic() + 10
    while len(got) < 3 and time.monotonic() < deadline:
        m = p.get_message(timeout=1)  # None for an ignored confirmation too
        if m is not None:
            got.append((m["type"], m["pattern"], m["channel"], m["data"]))
    assert got == [("message", None, b"news.tech", b"a"),
                   ("pmessage", b"news.*", b"news.tech", b"a"),
                   ("pmessage", b"h?llo", b"hallo", b"b")]
    p.close()


def test_redis_py_callbacks_in_a_thread(photon):
    pub = photon.client()
    seen = []
    p = photon.client().pubsub(ignore_subscribe_messages=True)
    p.subscribe(**{"jobs": lambda m: seen.append(m["data"])})
    worker = p.run_in_thread(sleep_time=0.01)
    try:
        wait_for(lambda: pub.pubsub_numsub("jobs") == [(b"jobs", 1)])
        for i in range(100):
            assert pub.publish("jobs", str(i)) == 1
        wait_for(lambda: len(seen) == 100)
        assert seen == [str(i).encode() for i in range(100)]
    finally:
        worker.stop()
        worker.join(5)
        p.close()


def test_introspection(photon):
    subs = [photon.client().pubsub() for _ in range(3)]
    subs[0].subscribe("a", "b")
    subs[1].subscribe("a")
    subs[1].psubscribe("p*", "q*")
    subs[2].psubscribe("p*")
    subs[2].ssubscribe("s1")
    c = photon.client()
    wait_for(lambda: c.pubsub_numpat() == 2)
    assert sorted(c.pubsub_channels()) == [b"a", b"b"]
    assert c.pubsub_channels("a*") == [b"a"]
    assert c.pubsub_numsub("a", "b", "zz") == [(b"a", 2), (b"b", 1), (b"zz", 0)]
    assert c.pubsub_shardchannels() == [b"s1"]
    assert c.pubsub_shardnumsub("s1") == [(b"s1", 1)]
    stats = c.info("stats")
    assert (stats["pubsub_channels"], stats["pubsub_patterns"]) == (2, 2)
    pubsub_clients = c.client_list(_type="pubsub")
    assert len(pubsub_clients) == 3 and all("P" in x["flags"] for x in pubsub_clients)
    for p in subs:
        p.close()  # closing the connections leaves the channels
    wait_for(lambda: c.pubsub_numpat() == 0)
    wait_for(lambda: c.pubsub_channels() == [] and c.pubsub_shardchannels() == [])
    assert c.info("stats")["pubsub_channels"] == 0


def test_reset_and_subscribed_mode_over_the_wire(photon):
    s = Raw(photon.port)
    assert s.call("SUBSCRIBE", "a") == b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
    assert s.call("SET", "k", "v").startswith(b"-ERR Can't execute 'set': only (P|S)SUBSCRIBE")
    assert s.call("RESET") == b"+RESET\r\n"
    assert s.call("SET", "k", "v") == b"+OK\r\n"
    assert photon.client().publish("a", "x") == 0
    s.close()


def test_fast_subscriber_gets_every_message_in_order(photon):
    sub = Raw(photon.port)
    sub.call("SUBSCRIBE", "seq")
    pub = photon.client()
    n = 5000
    pipe = pub.pipeline(transaction=False)
    for i in range(n):
        pipe.publish("seq", str(i))
    assert pipe.execute() == [1] * n
    reader = hiredis.Reader()
    got = []
    while len(got) < n:
        reader.feed(sub.sock.recv(1 << 20))
        while (m := reader.gets()) is not False:
            got.append(m)
    assert got == [[b"message", b"seq", str(i).encode()] for i in range(n)]
    sub.close()


# --- byte-for-byte against redis-server ---------------------------------------------------

def _script(port: int, resp3: bool) -> list[tuple[str, bytes]]:
    """A fixed pub/sub session; every reply and delivered frame, as raw bytes."""
    s, p = Raw(port), Raw(port)
    out: list[tuple[str, bytes]] = []
    if resp3:
        s.call("HELLO", "3")  # holds the connection id: not compared
        p.call("HELLO", "3")

    def step(conn, *args, n=1, deliver=0):
        label = ("S " if conn is s else "P ") + " ".join(
            a if isinstance(a, str) else repr(a) for a in args)
        out.append((label, conn.call(*args, n=n)))
        if deliver:
            out.append((label + " -> S", s.read(deliver)))

    step(s, "UNSUBSCRIBE")
    step(s, "PUNSUBSCRIBE")
    step(s, "SUNSUBSCRIBE")
    step(s, "UNSUBSCRIBE", "never")
    step(s, "SUBSCRIBE", "a", "a", "b", n=3)
    step(s, "GET", "x")
    step(s, "PING")
    step(s, "PING", "hi")
    step(s, "PSUBSCRIBE", "h*", "h*", n=2)
    step(s, "SSUBSCRIBE", "s1", "s2", n=2)
    step(s, "UNSUBSCRIBE", "zz")
    step(s, "PUNSUBSCRIBE", "zz")
    step(s, "SUNSUBSCRIBE", "zz")
    step(p, "PUBLISH", "a", "m1", deliver=1)
    step(p, "PUBLISH", "hello", "m2", deliver=1)
    step(p, "PUBLISH", "b", b"\x00bin\r\n\xff", deliver=1)
    step(p, "SPUBLISH", "s1", "m3", deliver=1)
    step(p, "PUBLISH", "s1", "x")
    step(p, "PUBLISH", "nobody", "x")
    step(p, "PUBSUB", "NUMSUB", "a", "b", "c")
    step(p, "PUBSUB", "NUMSUB")
    step(p, "PUBSUB", "NUMPAT")
    step(p, "PUBSUB", "CHANNELS", "a")
    step(p, "PUBSUB", "CHANNELS", "zz*")
    step(p, "PUBSUB", "SHARDCHANNELS", "*1")
    step(p, "PUBSUB", "SHARDNUMSUB", "s1", "x")
    step(p, "PUBSUB", "CHANNELS", "x", "y")
    step(p, "PUBSUB", "NUMPAT", "x")
    step(p, "PUBSUB", "foo")
    step(p, "PUBSUB")
    step(p, "PUBSUB", "HELP")
    step(p, "SUBSCRIBE")
    step(p, "PUBLISH", "a")
    step(s, "UNSUBSCRIBE", "a")
    step(s, "UNSUBSCRIBE")
    step(s, "PUNSUBSCRIBE")
    step(s, "GET", "x")
    step(s, "SUNSUBSCRIBE", "s2")
    step(s, "SUNSUBSCRIBE")
    step(s, "GET", "x")
    step(s, "MULTI")
    step(s, "SUBSCRIBE", "x", "y")
    step(s, "PSUBSCRIBE", "x*")
    step(s, "SSUBSCRIBE", "q")
    step(s, "EXEC", n=2)  # *3 holds three of the four frames, as in Redis
    step(s, "GET", "x")
    step(p, "PUBLISH", "xyz", "both", deliver=1)
    step(p, "PUBLISH", "x", "both", deliver=2)
    step(s, "RESET")
    step(s, "GET", "x")
    step(p, "PUBLISH", "x", "gone")
    step(p, "PUBSUB", "NUMPAT")
    # a client publishing to a channel it listens to gets the message before the count
    step(p, "SUBSCRIBE", "self")
    if resp3:
        step(p, "PUBLISH", "self", "me", n=2)
    step(p, "UNSUBSCRIBE", "self")
    s.close()
    p.close()
    return out


@pytest.mark.redis_compare
@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_frames_match_redis(photon, redis_ref, resp3):
    ours = _script(photon.port, resp3)
    theirs = _script(redis_ref.port, resp3)
    assert [label for label, _ in ours] == [label for label, _ in theirs]
    for (label, a), (_, b) in zip(ours, theirs):
        assert a == b, label


# --- output-buffer limits ---------------------------------------------------------------

def _slow_subscriber(port: int, channel: str) -> Raw:
    """A subscriber with a tiny receive window that never reads after subscribing."""
    slow = Raw(port, rcvbuf=4096)
    assert slow.call("SUBSCRIBE", channel).startswith(b"*3\r\n$9\r\nsubscribe")
    return slow


def _drain_until_closed(r: Raw, timeout: float = 10.0) -> int:
    """Read what the server left in the socket; the byte count once it is closed."""
    total = 0
    r.sock.settimeout(timeout)
    try:
        while True:
            chunk = r.sock.recv(1 << 20)
            if not chunk:
                return total
            total += len(chunk)
    except ConnectionResetError:
        return total


# Counts the messages of a channel as fast as it can, in its own process (no GIL shared with
# the publisher), with a big receive buffer to ride out scheduling hiccups.
_FAST_READER = r"""
import socket, sys, hiredis
port, channel, total = int(sys.argv[1]), sys.argv[2].encode(), int(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.settimeout(30)
s.connect(("127.0.0.1", port))
s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%b\r\n" % (len(channel), channel))
reader = hiredis.Reader()
count = -1  # the confirmation
print("ready", flush=True)
try:
    while count < total:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        reader.feed(chunk)
        while reader.gets() is not False:
            count += 1
except OSError:
    pass
print(count, flush=True)
"""


def test_subscriber_that_never_reads_is_closed_and_the_publisher_never_waits(photon):
    pub = photon.client()
    assert pub.config_set("client-output-buffer-limit", LIMITS % "1mb 512kb 1")
    slow = _slow_subscriber(photon.port, "firehose")
    payload = b"x" * 16384
    batches, batch = 16, 50  # 800 messages: 12.5 MB for each subscriber
    total = batches * batch
    fast = subprocess.Popen([sys.executable, "-c", _FAST_READER, str(photon.port), "firehose",
                             str(total)], stdout=subprocess.PIPE, text=True)
    try:
        assert fast.stdout.readline().strip() == "ready"
        wait_for(lambda: pub.pubsub_numsub("firehose") == [(b"firehose", 2)])
        receivers = []
        slowest = 0.0
        started = time.monotonic()
        for _ in range(batches):
            t = time.monotonic()
            pipe = pub.pipeline(transaction=False)
            for _ in range(batch):
                pipe.publish("firehose", payload)
            receivers += pipe.execute()
            slowest = max(slowest, time.monotonic() - t)
        elapsed = time.monotonic() - started
        out, _ = fast.communicate(timeout=60)
    finally:
        if fast.poll() is None:
            fast.kill()
            fast.wait()
    assert int(out.split()[-1]) == total  # the subscriber that reads got everything
    assert receivers[0] == 2 and receivers[-1] == 1  # the one that does not was dropped
    dropped_at = receivers.index(1)
    assert set(receivers[:dropped_at]) == {2} and set(receivers[dropped_at:]) == {1}
    # closed once the kernel buffers and the 1mb limit were full, long before the end
    assert dropped_at < total / 2
    assert slowest < 2.0, f"a pipeline of {batch} publishes took {slowest:.2f}s"
    assert elapsed < 30
    assert pub.info("stats")["client_output_buffer_limit_disconnections"] == 1
    assert pub.pubsub_numsub("firehose") == [(b"firehose", 0)]
    assert pub.client_list(_type="pubsub") == []
    assert _drain_until_closed(slow) < dropped_at * len(payload) + len(payload)
    assert "overcoming of output buffer limits" in photon.logs()
    slow.close()


def test_soft_limit_closes_a_subscriber_that_stays_behind(photon_factory):
    node = photon_factory("--client-output-buffer-limit", LIMITS % "0 256kb 1")
    pub = node.client()
    slow = _slow_subscriber(node.port, "soft")
    payload = b"y" * 65536
    pipe = pub.pipeline(transaction=False)
    for _ in range(256):  # 16 MB: far past the kernel buffers and the soft limit
        pipe.publish("soft", payload)
    assert pipe.execute() == [1] * 256
    # no hard limit, so it is the soft limit held for over a second that closes it (cron)
    wait_for(lambda: pub.pubsub_numsub("soft") == [(b"soft", 0)], timeout=10)
    assert pub.info("stats")["client_output_buffer_limit_disconnections"] == 1
    assert _drain_until_closed(slow) < 256 * len(payload)
    slow.close()


def test_disconnected_subscriber_leaves_its_channels(photon):
    s = Raw(photon.port)
    s.call("SUBSCRIBE", "a", "b", n=2)
    s.call("PSUBSCRIBE", "c*")
    c = photon.client()
    assert c.publish("a", "x") == 1
    s.close()
    wait_for(lambda: c.pubsub_numsub("a", "b") == [(b"a", 0), (b"b", 0)])
    assert c.pubsub_numpat() == 0
    assert c.publish("cz", "x") == 0


def test_config_set_of_the_pubsub_class_alone_keeps_the_others(photon):
    c = photon.client()
    assert c.config_set("client-output-buffer-limit", "pubsub 1mb 512kb 1")
    value = c.config_get("client-output-buffer-limit")["client-output-buffer-limit"]
    assert "pubsub 1048576 524288 1" in value and "normal " in value
    c.set("big", b"x" * (4 << 20))
    pipe = c.pipeline(transaction=False)
    for _ in range(8):
        pipe.get("big")
    assert all(len(v) == 4 << 20 for v in pipe.execute())
