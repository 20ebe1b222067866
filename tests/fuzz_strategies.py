"""Hypothesis strategies for fuzzing the RESP reader and the command gate: random bytes and
RESP-shaped streams (valid requests from a vocabulary of harmless commands, inline lines,
malformed and oversized headers, stray RESP3 types, NULs), split at random points.

The vocabulary leaves out what would end the test rather than exercise the server: SHUTDOWN,
DEBUG, CONFIG, REPLICAOF, ACL, CLIENT KILL, blocking pops and anything that allocates what it is
told to (SETRANGE offsets are kept small)."""
from __future__ import annotations

import os

from hypothesis import strategies as st

# How many examples a fuzz test runs: PHOTON_FUZZ_EXAMPLES overrides the CI defaults.
FUZZ_EXAMPLES = os.environ.get("PHOTON_FUZZ_EXAMPLES")


def examples(default: int) -> int:
    return int(FUZZ_EXAMPLES) if FUZZ_EXAMPLES else default


keys = st.sampled_from([b"k", b"k2", b"h", b"l", b"s", b"z", b"{a}b", b"", b"\x00\xff"])
values = st.one_of(st.binary(max_size=40), st.sampled_from([b"1", b"-1", b"1.5", b"nan",
                                                            b"9223372036854775807", b"x" * 300]))
numbers = st.one_of(st.integers(-3, 1000).map(lambda n: b"%d" % n),
                    st.sampled_from([b"", b"abc", b"1e3", b"99999999999999999999", b"-0"]))
patterns = st.one_of(st.sampled_from([b"*", b"k*", b"*a*a*a*a*b", b"[a-", b"\\", b"?*?",
                                      b"[^]", b"[" * 50]), st.binary(max_size=12))
PASSWORD = b"fuzz-pw"


@st.composite
def commands(draw, pubsub: bool = True) -> list[bytes]:
    k, v, n, p = keys, values, numbers, patterns
    forms = [
        lambda: [b"PING"], lambda: [b"PING", draw(v)], lambda: [b"ECHO", draw(v)],
        lambda: [b"SET", draw(k), draw(v)], lambda: [b"GET", draw(k)],
        lambda: [b"DEL", draw(k), draw(k)], lambda: [b"INCR", draw(k)],
        lambda: [b"INCRBY", draw(k), draw(n)], lambda: [b"APPEND", draw(k), draw(v)],
        lambda: [b"GETRANGE", draw(k), draw(n), draw(n)],
        lambda: [b"SETRANGE", draw(k), b"%d" % draw(st.integers(0, 200)), draw(v)],
        lambda: [b"LPUSH", draw(k), draw(v), draw(v)], lambda: [b"LRANGE", draw(k), draw(n),
                                                               draw(n)],
        lambda: [b"LPOP", draw(k)], lambda: [b"HSET", draw(k), draw(v), draw(v)],
        lambda: [b"HGETALL", draw(k)], lambda: [b"HINCRBYFLOAT", draw(k), draw(v), draw(v)],
        lambda: [b"SADD", draw(k), draw(v)], lambda: [b"SMEMBERS", draw(k)],
        lambda: [b"ZADD", draw(k), draw(n), draw(v)], lambda: [b"ZRANGE", draw(k), draw(n),
                                                              draw(n), b"WITHSCORES"],
        lambda: [b"EXPIRE", draw(k), draw(n)], lambda: [b"PERSIST", draw(k)],
        lambda: [b"EXISTS", draw(k)], lambda: [b"TYPE", draw(k)], lambda: [b"STRLEN", draw(k)],
        lambda: [b"OBJECT", b"ENCODING", draw(k)], lambda: [b"KEYS", draw(p)],
        lambda: [b"SCAN", draw(n), b"MATCH", draw(p), b"COUNT", draw(n)],
        lambda: [b"MULTI"], lambda: [b"EXEC"], lambda: [b"DISCARD"], lambda: [b"WATCH", draw(k)],
        lambda: [b"UNWATCH"], lambda: [b"SELECT", draw(n)], lambda: [b"RESET"],
        lambda: [b"AUTH", draw(st.sampled_from([PASSWORD, b"wrong"]))],
        lambda: [b"AUTH", b"default", PASSWORD],
        lambda: [b"HELLO", draw(st.sampled_from([b"2", b"3", b"4", b"x"]))],
        lambda: [b"CLIENT", b"SETNAME", draw(v)], lambda: [b"CLIENT", b"GETNAME"],
        lambda: [b"ACL", b"WHOAMI"], lambda: [b"COMMAND", b"COUNT"],
        lambda: [b"BITCOUNT", draw(k)], lambda: [b"SETBIT", draw(k),
                                                 b"%d" % draw(st.integers(0, 5000)), b"1"],
        lambda: [draw(st.binary(min_size=1, max_size=10))] + draw(st.lists(v, max_size=3)),
        lambda: [b"QUIT"],
    ]
    if pubsub:
        forms += [lambda: [b"SUBSCRIBE", draw(v)], lambda: [b"PSUBSCRIBE", draw(p)],
                  lambda: [b"UNSUBSCRIBE"], lambda: [b"PUBLISH", draw(v), draw(v)]]
    return draw(st.sampled_from(forms))()


def encode(argv: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in argv)


def inline(argv: list[bytes]) -> bytes:
    return b" ".join(a.replace(b"\n", b"").replace(b"\r", b"") or b'""' for a in argv) + b"\r\n"


@st.composite
def malformed(draw, http: bool = True) -> bytes:
    choice = draw(st.integers(0, 11))
    if choice == 0:
        return b"*" + draw(st.sampled_from([b"2147483648", b"3000000000", b"-2", b"x", b"",
                                            b"1000000000", b"11", b"+1", b"01"])) + b"\r\n"
    if choice == 1:
        return b"*1\r\n$" + draw(st.sampled_from([b"536870913", b"536870912", b"-1", b"x",
                                                  b"16385", b"", b"03"])) + b"\r\n"
    if choice == 2:
        t = draw(st.sampled_from(b"+-:~>%|_,#!=("))
        return b"*1\r\n" + bytes([t]) + draw(st.sampled_from([b"2000000000", b"1", b"x"])) + \
            b"\r\n"
    if choice == 3:
        return b"*1\r\n" * draw(st.integers(1, 12)) + b"$1\r\na\r\n"
    if choice == 4:
        return draw(st.binary(max_size=64))
    if choice == 5:
        return b'SET a "unbalanced\r\n' if draw(st.booleans()) else b"PING '\r\n"
    if choice == 6:
        return b"\x00" * draw(st.integers(1, 5)) + b"PING\r\n"
    if choice == 7:
        return draw(st.sampled_from([b"\r\n", b"\n", b"\r", b"*0\r\n", b"*-1\r\n", b" \r\n"]))
    if choice == 8:  # closes at once, dropping replies not yet written (as Redis)
        return b"POST / HTTP/1.1\r\nHost: x\r\n\r\n" if http else b"GET\r\n"
    if choice == 9:
        return b"*2\r\n$3\r\nGET\r\n$" + b"9" * draw(st.integers(1, 30)) + b"\r\n"
    if choice == 10:
        return b"*1\r\n$4\r\nPINGXX"  # the two bytes after a bulk are skipped, as Redis
    return b"x" * draw(st.integers(0, 300)) + b"\r\n"


@st.composite
def streams(draw, pubsub: bool = True, allow_random: bool = True, http: bool = True) -> bytes:
    parts = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.integers(0, 9))
        if kind <= 5:
            parts.append(encode(draw(commands(pubsub))))
        elif kind <= 7:
            parts.append(inline(draw(commands(pubsub))))
        else:
            parts.append(draw(malformed(http)))
    data = b"".join(parts)
    if allow_random and draw(st.integers(0, 9)) == 0:
        data = draw(st.binary(min_size=1, max_size=2048))
    return data


@st.composite
def chunked(draw, data_strategy) -> list[bytes]:
    """The stream and the points it is split at."""
    data = draw(data_strategy)
    cuts = sorted(set(draw(st.lists(st.integers(0, max(0, len(data))), max_size=8))))
    out, last = [], 0
    for c in cuts:
        if c > last:
            out.append(data[last:c])
            last = c
    if last < len(data):
        out.append(data[last:])
    return out or [b""]
