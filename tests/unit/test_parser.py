"""RequestParser: the hiredis fast path and the Python reader (Redis's networking.c rules)
must read the same requests from the same bytes, however the bytes are split, and report
protocol errors with Redis's exact texts."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from photon.protocol.parser import RequestParser


def encode(argv: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in argv)


def run(chunks: list[bytes], python_path: bool = False) -> tuple[list[list[bytes]], str | None]:
    """Every request read and the protocol error, if any, feeding ``chunks`` in order.
    ``python_path`` keeps hiredis out (the Python reader also serves unauthenticated clients;
    the tests keep under its limits of 10 arguments and 16 KiB bulks)."""
    parser = RequestParser()
    parser.auth_required = python_path
    out: list[list[bytes]] = []
    for chunk in chunks:
        if chunk:
            out += parser.feed(chunk)
        if parser.error is not None:
            break
    return out, parser.error.message if parser.error is not None else None


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return pieces


# --- exact outcomes -----------------------------------------------------------------------

CASES = [
    (b"*1\r\n$4\r\nPING\r\n", [[b"PING"]], None),
    (b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", [[b"ECHO", b""]], None),
    (b"PING\r\n", [[b"PING"]], None),
    (b"PING\n", [[b"PING"]], None),
    (b"  SET  a   b \r\n", [[b"SET", b"a", b"b"]], None),
    (b"\r\n\n\r\nPING\r\n", [[b"PING"]], None),
    (b"ECHO \"a b\" 'c d'\r\n", [[b"ECHO", b"a b", b"c d"]], None),
    (b"ECHO \"\\x41\\n\\r\\t\\b\\a\\\\\\\"\"\r\n", [[b"ECHO", b"A\n\r\t\b\a\\\""]], None),
    (b"ECHO \"\\xzz\"\r\n", [[b"ECHO", b"xzz"]], None),
    (b"ECHO 'it\\'s'\r\n", [[b"ECHO", b"it's"]], None),
    (b"ECHO 'a\\nb'\r\n", [[b"ECHO", b"a\\nb"]], None),
    (b"ECHO \"\" ''\r\n", [[b"ECHO", b"", b""]], None),
    (b"ECHO \"a\r\n", [], "ERR Protocol error: unbalanced quotes in request"),
    (b"ECHO 'a\r\n", [], "ERR Protocol error: unbalanced quotes in request"),
    (b"ECHO \"a\"b\r\n", [], "ERR Protocol error: unbalanced quotes in request"),
    (b"PING\r\nECHO 'x\r\nPING\r\n", [[b"PING"]], "ERR Protocol error: unbalanced quotes in request"),
    (b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", [[b"PING"]], None),
    (b"*abc\r\n", [], "ERR Protocol error: invalid multibulk length"),
    (b"*01\r\n$4\r\nPING\r\n", [], "ERR Protocol error: invalid multibulk length"),
    (b"*+1\r\n$4\r\nPING\r\n", [], "ERR Protocol error: invalid multibulk length"),
    (b"*1 \r\n$4\r\nPING\r\n", [], "ERR Protocol error: invalid multibulk length"),
    (b"*2147483648\r\n", [], "ERR Protocol error: invalid multibulk length"),
    (b"*1\r\n$abc\r\n", [], "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$-1\r\n", [], "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$04\r\nPING\r\n", [], "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$536870913\r\n", [], "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n:1\r\n", [], "ERR Protocol error: expected '$', got ':'"),
    (b"*2\r\n$4\r\nECHO\r\n*1\r\n", [], "ERR Protocol error: expected '$', got '*'"),
    (b"*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n", [[b"PING"]], "ERR Protocol error: invalid bulk length"),
    (b"*2\r\n$4\r\nECHO\r\n$2\r\nabc\r\n", [[b"ECHO", b"ab"]], None),  # Redis skips 2 bytes
    (b"*1\r\n$4\r\nPINGxx", [[b"PING"]], None),
    (b"*1\r\n$4\r\nPI", [], None),
    (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n", [], None),
]


@pytest.mark.parametrize("data,requests,error", CASES, ids=lambda v: repr(v)[:30])
def test_exact_outcomes(data, requests, error):
    assert run([data]) == (requests, error)
    assert run([data], python_path=True) == (requests, error)
    # One byte at a time: the same requests, the same error.
    assert run([data[i:i + 1] for i in range(len(data))]) == (requests, error)


def test_simple_string_element_is_refused():
    assert run([b"*1\r\n+PING\r\n"]) == ([], "ERR Protocol error: expected '$', got '+'")


def test_simple_string_element_python_path():
    assert run([b"*1\r\n+PING\r\n"], python_path=True) == (
        [], "ERR Protocol error: expected '$', got '+'")


@pytest.mark.timeout(3)
def test_nul_in_inline_line_waits_like_redis():
    """Redis finds the end of an inline line with strchr: a NUL before the newline means no
    newline yet, so nothing is read (until 64 KiB: too big inline request)."""
    assert run([b"\x00\x01\r\nPING\r\n"]) == ([], None)


def test_too_big_inline_request():
    parser = RequestParser()
    assert parser.feed(b"A" * (64 * 1024)) == []
    assert parser.error is None
    parser.feed(b"A" * 10)
    assert parser.error.message == "ERR Protocol error: too big inline request"


def test_too_big_count_strings():
    parser = RequestParser()
    parser.feed(b"*" + b"1" * (64 * 1024 + 10))
    assert parser.error.message == "ERR Protocol error: too big mbulk count string"
    parser = RequestParser()
    parser.feed(b"*1\r\n$" + b"1" * (64 * 1024 + 10))
    assert parser.error.message == "ERR Protocol error: too big bulk count string"


def test_unauthenticated_limits():
    parser = RequestParser()
    parser.auth_required = True
    parser.feed(b"*11\r\n")
    assert parser.error.message == "ERR Protocol error: unauthenticated multibulk length"
    parser = RequestParser()
    parser.auth_required = True
    parser.feed(b"*1\r\n$16385\r\n")
    assert parser.error.message == "ERR Protocol error: unauthenticated bulk length"
    parser = RequestParser()
    parser.auth_required = True
    assert parser.feed(encode([b"AUTH", b"x" * 16384])) == [[b"AUTH", b"x" * 16384]]


def test_max_bulk_follows_the_setting():
    parser = RequestParser(max_bulk=10)
    parser.feed(b"*1\r\n$11\r\n")
    assert parser.error.message == "ERR Protocol error: invalid bulk length"
    assert RequestParser(max_bulk=10).feed(encode([b"x" * 10])) == [[b"x" * 10]]


def test_nothing_after_an_error():
    parser = RequestParser()
    assert parser.feed(b"PING\r\n*x\r\n") == [[b"PING"]]
    assert parser.error is not None
    assert parser.feed(b"PING\r\n") == []


def test_pending_counts_the_partial_request():
    parser = RequestParser()
    assert parser.feed(encode([b"PING"]) + b"*2\r\n$3\r\nGET") == [[b"PING"]]
    # As Redis's query buffer: the header lines already read are gone, the partial bulk stays.
    assert parser.pending == len(b"GET")
    assert parser.feed(b"\r\n$1\r\nk\r\n") == [[b"GET", b"k"]]
    assert parser.pending == 0


# --- properties ---------------------------------------------------------------------------

_arg = st.binary(max_size=40) | st.sampled_from([b"", b"\r\n", b"*1\r\n", b"$3", b"\x00"])
_request = st.lists(_arg, min_size=1, max_size=8)
_inline_word = st.text(alphabet="abcXYZ019:_-.", min_size=1, max_size=10).map(str.encode)
_inline = st.lists(_inline_word, min_size=1, max_size=5)


@st.composite
def streams(draw):
    """A request stream mixing multibulk and inline requests; returns (bytes, argvs)."""
    items = draw(st.lists(st.one_of(_request.map(lambda a: ("m", a)),
                                    _inline.map(lambda a: ("i", a))), min_size=1, max_size=8))
    data, argvs = b"", []
    for kind, argv in items:
        data += encode(argv) if kind == "m" else b" ".join(argv) + draw(
            st.sampled_from([b"\r\n", b"\n"]))
        argvs.append(argv)
    return data, argvs


_hyp = settings(max_examples=600, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@_hyp
@given(stream=streams(), cuts=st.lists(st.integers(min_value=0, max_value=10**6), max_size=12))
def test_property_random_splits_read_the_same_requests(stream, cuts):
    data, argvs = stream
    assert run([data]) == (argvs, None)
    assert run(split_at(data, cuts)) == (argvs, None)
    assert run([data[i:i + 1] for i in range(len(data))]) == (argvs, None)


@_hyp
@given(stream=streams(), cuts=st.lists(st.integers(min_value=0, max_value=10**6), max_size=6),
       at=st.integers(min_value=0, max_value=10**6),
       junk=st.sampled_from([b"*", b"$", b"x", b"\r", b"\n", b"-", b"0", b"9", b" ", b"\"",
                             b"'", b"*-1\r\n", b"$-1\r\n", b"*0\r\n", b"*99\r\n", b"$0\r\n"]),
       mode=st.sampled_from(["insert", "replace", "delete"]))
def test_property_broken_streams_fast_path_agrees(stream, cuts, at, junk, mode):
    """A corrupted stream: the hiredis path (one feed, or split) reads exactly what the
    Python reader reads, and fails with the same error."""
    data, _ = stream
    i = at % (len(data) + 1)
    if mode == "insert":
        data = data[:i] + junk + data[i:]
    elif mode == "replace":
        data = data[:i] + junk + data[i + len(junk):]
    else:
        data = data[:i] + data[i + 1:]
    want = run([data], python_path=True)
    assume(want[1] is None or "unauthenticated" not in want[1])
    assert run([data]) == want
    assert run(split_at(data, cuts)) == want
