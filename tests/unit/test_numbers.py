"""Redis's number rules: string2ll, strtod as getDoubleFromObject uses it, and INCRBYFLOAT's
long double arithmetic and printing (photon.util.numbers and the strtold reader in strings)."""
from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from photon.commands.strings import strtold
from photon.errors import RedisError
from photon.util.numbers import (
    INT64_MAX, INT64_MIN, add_long_double, format_long_double, parse_int, parse_long_double,
    string2d, string2ll,
)


@pytest.mark.parametrize("text,value", [
    (b"0", 0), (b"1", 1), (b"-1", -1), (b"9223372036854775807", INT64_MAX),
    (b"-9223372036854775808", INT64_MIN), (b"123456789", 123456789),
])
def test_string2ll_accepts(text, value):
    assert string2ll(text) == value
    assert parse_int(text) == value


@pytest.mark.parametrize("text", [
    b"", b"-", b"+1", b" 1", b"1 ", b"01", b"-0", b"00", b"1.0", b"1e3", b"0x10",
    b"9223372036854775808", b"-9223372036854775809", b"123456789012345678901", b"1_0",
    b"\xd9\xa1",  # an Arabic-Indic digit: str.isdigit says yes, Redis says no
    "١".encode(), b"\x00", b"1\x00",
])
def test_string2ll_refuses(text):
    assert string2ll(text) is None
    with pytest.raises(RedisError, match="ERR value is not an integer or out of range"):
        parse_int(text)


@settings(max_examples=2000, deadline=None)
@given(st.integers(min_value=INT64_MIN, max_value=INT64_MAX))
def test_string2ll_round_trips(n):
    assert string2ll(b"%d" % n) == n


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=22))
def test_string2ll_is_strict(b):
    v = string2ll(b)
    if v is not None:
        assert b"%d" % v == b  # only the canonical spelling of a number is a number


@pytest.mark.parametrize("text,value", [
    (b"1", 1.0), (b"-1.5", -1.5), (b"1e3", 1000.0), (b".5", 0.5), (b"5.", 5.0),
    (b"inf", math.inf), (b"-inf", -math.inf), (b"+inf", math.inf), (b"Infinity", math.inf),
    (b"1.7976931348623157e308", 1.7976931348623157e308), (b"4.9e-324", 5e-324),
])
def test_string2d_accepts(text, value):
    assert string2d(text) == value


@pytest.mark.parametrize("text", [b"", b" 1", b"1 ", b"nan", b"-nan", b"abc", b"1e", b"1_0",
                                  b"--1", b"\t1"])
def test_string2d_refuses(text):
    assert string2d(text) is None


@pytest.mark.parametrize("text,value", [(b"1e400", None), (b"-1e400", None), (b"1e-400", None),
                                        (b"2e-324", None), (b"0x10", 16.0), (b"0x1p-2", 0.25)])
def test_string2d_follows_strtod_ranges(text, value):
    assert string2d(text) == value


@pytest.mark.parametrize("text", [b"1e400", b"0x1p3"])
def test_parse_long_double_beyond_double(text):
    assert parse_long_double(text) == strtold(text)


@pytest.mark.parametrize("text,printed", [
    (b"0", b"0"), (b"1", b"1"), (b"-0", b"0"), (b"0.1", b"0.1"), (b"1.5", b"1.5"),
    (b"10.50", b"10.5"), (b"3.0e-5", b"0.00003"), (b"1e-20", b"0"), (b"-1e-20", b"0"),
    (b"1e3", b"1000"), (b"5.", b"5"), (b".5", b"0.5"), (b"0x1p3", b"8"), (b"0X.8", b"0.5"),
    (b"1.23456789012345678901", b"1.23456789012345679"),
    (b"123456789012345678", b"123456789012345678"),
    (b"1e400", b"10000000000000000000281880683947586514586453433629052038625910693539685534008629"
              b"86203936399484832416052209405392731761620029582277725925573402382897659334066101"
              b"77974474345461739178624481166749717237789438243915933380474706750262466844013592"
              b"37513603830343735485505244955964979021825038280091068414947402456898653040951017"
              b"51265809261582758892018347251164331659136266413817630973480634373249743022194688"
              b"0"),
])
def test_strtold_then_print(text, printed):
    """Reference values read back from redis-server 7.0.15 (INCRBYFLOAT key <text> on a
    missing key)."""
    assert format_long_double(add_long_double(Fraction(0), strtold(text))) == printed


@pytest.mark.parametrize("text", [b"", b" 1", b"1 ", b"nan", b"1e", b".", b"0x", b"1e5000",
                                  b"-1e5000", b"1e-5000", b"1_0", b"x" * 5120, b"++1"])
def test_strtold_refuses(text):
    assert strtold(text) is None


def test_strtold_infinities():
    assert strtold(b"inf") == math.inf and strtold(b"-INFINITY") == -math.inf


def test_long_double_sums_round_like_x87():
    # 0.1 + 0.2 in 64-bit-mantissa long double prints as 0.3 with %.17Lf
    s = add_long_double(strtold(b"0.1"), strtold(b"0.2"))
    assert format_long_double(s) == b"0.3"
    big = add_long_double(strtold(b"1.18973149535723176502e+4932"),
                          strtold(b"1.18973149535723176502e+4932"))
    assert big == math.inf
