"""Reply encoding: every reply type in RESP2 and RESP3, as Redis 7.0 writes it."""
from __future__ import annotations

import math

import hiredis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from photon.errors import RedisError
from photon.protocol.encoder import encode, encode_error, format_double
from photon.protocol.reply import (
    NULL_ARRAY, OK, QUEUED, Double, Push, Raw, SetReply, Status, Verbatim,
)


@pytest.mark.parametrize("value,resp2,resp3", [
    (b"abc", b"$3\r\nabc\r\n", b"$3\r\nabc\r\n"),
    (b"", b"$0\r\n\r\n", b"$0\r\n\r\n"),
    (b"a\r\nb", b"$4\r\na\r\nb\r\n", b"$4\r\na\r\nb\r\n"),
    (OK, b"+OK\r\n", b"+OK\r\n"),
    (QUEUED, b"+QUEUED\r\n", b"+QUEUED\r\n"),
    (Status(b"PONG"), b"+PONG\r\n", b"+PONG\r\n"),
    (0, b":0\r\n", b":0\r\n"),
    (-9223372036854775808, b":-9223372036854775808\r\n", b":-9223372036854775808\r\n"),
    (None, b"$-1\r\n", b"_\r\n"),
    (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
    ([], b"*0\r\n", b"*0\r\n"),
    ([b"a", 1, None], b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n", b"*3\r\n$1\r\na\r\n:1\r\n_\r\n"),
    ([[b"x"], []], b"*2\r\n*1\r\n$1\r\nx\r\n*0\r\n", b"*2\r\n*1\r\n$1\r\nx\r\n*0\r\n"),
    ({b"k": b"v"}, b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n", b"%1\r\n$1\r\nk\r\n$1\r\nv\r\n"),
    ({}, b"*0\r\n", b"%0\r\n"),
    (SetReply([b"a"]), b"*1\r\n$1\r\na\r\n", b"~1\r\n$1\r\na\r\n"),
    (SetReply(), b"*0\r\n", b"~0\r\n"),
    (Push([b"message", b"c", b"m"]), b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n",
     b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n"),
    (Verbatim(b"a:1\r\n"), b"$5\r\na:1\r\n\r\n", b"=9\r\ntxt:a:1\r\n\r\n"),
    (Double(1.5), b"$3\r\n1.5\r\n", b",1.5\r\n"),
    (Double(math.inf), b"$3\r\ninf\r\n", b",inf\r\n"),
    (Double(-math.inf), b"$4\r\n-inf\r\n", b",-inf\r\n"),
    (True, b":1\r\n", b"#t\r\n"),
    (False, b":0\r\n", b"#f\r\n"),
    (RedisError("ERR bad"), b"-ERR bad\r\n", b"-ERR bad\r\n"),
    (RedisError("ERR two\r\nlines\n"), b"-ERR two  lines \r\n", b"-ERR two  lines \r\n"),
    (Raw(b"+RAW\r\n"), b"+RAW\r\n", b"+RAW\r\n"),
    ([Raw(b":7\r\n"), b"x"], b"*2\r\n:7\r\n$1\r\nx\r\n", b"*2\r\n:7\r\n$1\r\nx\r\n"),
])
def test_encode(value, resp2, resp3):
    assert encode(value, False) == resp2
    assert encode(value, True) == resp3


@pytest.mark.parametrize("d,text", [
    (0.0, b"0"), (1.0, b"1"), (-1.5, b"-1.5"), (0.1, b"0.10000000000000001"),
    (1e300, b"1.0000000000000001e+300"), (3.0, b"3"), (1e17, b"1e+17"), (123.456, b"123.456"),
    (math.inf, b"inf"), (-math.inf, b"-inf"), (5e-324, b"4.9406564584124654e-324"),
])
def test_format_double_is_percent_17g(d, text):
    assert format_double(d) == text


def test_encode_error_is_one_line():
    assert encode_error("ERR a\r\nb") == b"-ERR a  b\r\n"
    assert encode_error("ERR caf\udcc3") == b"-ERR caf\xc3\r\n"  # bytes kept as they came


def test_unknown_type_is_refused():
    with pytest.raises(TypeError):
        encode(object(), False)


_leaf = st.one_of(st.binary(max_size=20), st.integers(min_value=-2**63, max_value=2**63 - 1),
                  st.none(), st.sampled_from([OK, QUEUED]))
_tree = st.recursive(_leaf, lambda kids: st.lists(kids, max_size=5) | st.dictionaries(
    st.binary(max_size=5), kids, max_size=4) | st.lists(kids, max_size=4).map(SetReply),
    max_leaves=30)


def _plain(v, resp3: bool):
    """What hiredis should read back."""
    if isinstance(v, Status):
        return bytes(v)
    if isinstance(v, dict):
        if resp3:
            return {k: _plain(x, resp3) for k, x in v.items()}
        out = []
        for k, x in v.items():
            out += [k, _plain(x, resp3)]
        return out
    if isinstance(v, list):
        return [_plain(x, resp3) for x in v]
    return v


@settings(max_examples=500, deadline=None)
@given(value=_tree, resp3=st.booleans())
def test_property_hiredis_reads_back(value, resp3):
    data = encode(value, resp3)
    reader = hiredis.Reader()
    reader.feed(data)
    got = reader.gets()
    assert reader.gets() is False  # exactly one reply
    want = _plain(value, resp3)
    if resp3 and isinstance(value, dict) and not isinstance(got, dict):
        got = dict(zip(got[::2], got[1::2]))
    assert got == want
