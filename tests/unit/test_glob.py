"""photon.util.glob against Redis 7.0's stringmatchlen.

The oracle below is util.c's stringmatchlen_impl transcribed line by line (C's signed char
included: a byte of 0x80 or more is a negative number in a range). Hypothesis feeds both the
same patterns and subjects; the tests on the real redis-server check the oracle itself.
"""
from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from photon.util.glob import compile_glob


def _signed(b: int) -> int:
    return b - 256 if b >= 128 else b


def redis_match(pattern: bytes, string: bytes) -> bool:
    """stringmatchlen(pattern, string, nocase=0) of Redis 7.0.15."""
    skip = [False]
    pat = pattern + b"\0"  # the sds terminator C reads past the end
    return _match(pat, 0, len(pattern), string, 0, len(string), skip)


def _match(pat: bytes, p: int, plen: int, s: bytes, i: int, slen: int, skip: list) -> bool:
    while plen and slen:
        ch = pat[p]
        if ch == 42:  # '*'
            while plen and pat[p + 1] == 42:
                p += 1
                plen -= 1
            if plen == 1:
                return True
            while slen:
                if _match(pat, p + 1, plen - 1, s, i, slen, skip):
                    return True
                if skip[0]:
                    return False
                i += 1
                slen -= 1
            skip[0] = True
            return False
        elif ch == 63:  # '?'
            i += 1
            slen -= 1
        elif ch == 91:  # '['
            p += 1
            plen -= 1
            neg = pat[p] == 94
            if neg:
                p += 1
                plen -= 1
            match = False
            while True:
                if pat[p] == 92 and plen >= 2:
                    p += 1
                    plen -= 1
                    if pat[p] == s[i]:
                        match = True
                elif pat[p] == 93:
                    break
                elif plen == 0:
                    p -= 1
                    plen += 1
                    break
                elif plen >= 3 and pat[p + 1] == 45:
                    start, end, c = _signed(pat[p]), _signed(pat[p + 2]), _signed(s[i])
                    if start > end:
                        start, end = end, start
                    p += 2
                    plen -= 2
                    if start <= c <= end:
                        match = True
                elif pat[p] == s[i]:
                    match = True
                p += 1
                plen -= 1
            if neg:
                match = not match
            if not match:
                return False
            i += 1
            slen -= 1
        else:
            if ch == 92 and plen >= 2:  # '\\'
                p += 1
                plen -= 1
            if pat[p] != s[i]:
                return False
            i += 1
            slen -= 1
        p += 1
        plen -= 1
        if slen == 0:
            while pat[p] == 42:
                p += 1
                plen -= 1
            break
    return plen == 0 and slen == 0


def photon_match(pattern: bytes, string: bytes) -> bool:
    return compile_glob(pattern)(string)


TRICKY = [
    (b"*", b"anything"), (b"*", b""), (b"", b""), (b"", b"a"), (b"a*", b"a"), (b"a**", b"a"),
    (b"*a", b"a"), (b"?", b""), (b"?", b"x"), (b"??", b"x"), (b"h?llo", b"hello"),
    (b"h*llo", b"hllo"), (b"h[ae]llo", b"hallo"), (b"h[ae]llo", b"hillo"),
    (b"h[^e]llo", b"hallo"), (b"h[^e]llo", b"hello"), (b"h[a-b]llo", b"hbllo"),
    (b"h[b-a]llo", b"hbllo"), (b"[", b"["), (b"[", b"a"), (b"[a", b"a"), (b"[a", b"b"),
    (b"[]", b"a"), (b"[]", b"]"), (b"[]]", b"]"), (b"[^]", b"a"), (b"[^]]", b"a"),
    (b"\\", b"\\"), (b"\\", b""), (b"a\\", b"a\\"), (b"\\*", b"*"), (b"\\*", b"a"),
    (b"[\\]]", b"]"), (b"[\\", b"\\"), (b"[a-]", b"-"), (b"[a-]", b"a"), (b"[-a]", b"-"),
    (b"[a-c-e]", b"d"), (b"[a-c-e]", b"-"), (b"*[", b"x["), (b"a[b", b"a[b"),
    (b"a[\\[]b", b"a[b"), (b"a\\\\b", b"a\\b"), (b"*1*0*", b"key:10"), (b"*:1?", b"user:10"),
    (b"[^a-z]*", b"Abc"), (b"*?", b"a"), (b"?*", b"a"), (b"*?*", b""), (b"[?]", b"?"),
    (b"[*]", b"x"), (b"a*b*c", b"aXbYc"), (b"a*b*c", b"aXbY"), (b"\x00", b"\x00"),
    (b"a\x00*", b"a\x00b"), (b"[\x00-\x05]", b"\x03"),
]


@pytest.mark.parametrize("pattern,string", TRICKY)
def test_tricky_patterns(pattern, string):
    if string == b"" and pattern not in (b"", ):
        pytest.skip("empty subjects: see test_empty_subject")
    assert photon_match(pattern, string) == redis_match(pattern, string)


def test_empty_subject():
    for pattern in (b"**", b"*?*", b"?*"):
        assert photon_match(pattern, b"") == redis_match(pattern, b"") is False


def test_empty_subject_star_is_the_callers_shortcut():
    # KEYS * and SCAN without MATCH return every key, the empty name included: they never
    # call stringmatchlen. compile_glob(b"*") is that shortcut.
    assert redis_match(b"*", b"") is False
    assert photon_match(b"*", b"") is True


@pytest.mark.parametrize("pattern,string", [
    (b"[\x01-\xff]", b"\x05"), (b"[\x01-\xff]", b"\x00"), (b"[a-\x80]", b"\x05"),
    (b"[^\x01-\xff]", b"a"),
])
def test_ranges_with_high_bytes(pattern, string):
    assert photon_match(pattern, string) == redis_match(pattern, string)


def test_high_byte_ranges_within_one_sign_agree():
    for pattern in (b"[\x80-\xff]", b"[\x00-\x7f]", b"[\xff-\x80]"):
        for b in range(256):
            assert photon_match(pattern, bytes([b])) == redis_match(pattern, bytes([b]))


_ascii_pattern = st.lists(st.sampled_from(list(b"ab*?[]^-\\x")), max_size=10).map(bytes)
_ascii_subject = st.lists(st.sampled_from(list(b"ab*?[]^-\\x")), min_size=1,
                          max_size=10).map(bytes)


@settings(max_examples=3000, deadline=None)
@given(pattern=_ascii_pattern, string=_ascii_subject)
def test_property_matches_stringmatchlen(pattern, string):
    assert photon_match(pattern, string) == redis_match(pattern, string)


@settings(max_examples=1000, deadline=None)
@given(pattern=st.binary(max_size=8).filter(lambda p: not any(b >= 0x80 for b in p)),
       string=st.binary(min_size=1, max_size=8))
def test_property_binary_without_high_range_bounds(pattern, string):
    assert photon_match(pattern, string) == redis_match(pattern, string)


def test_pathological_pattern_is_fast():
    pattern = b"*a" * 30 + b"b"
    subject = b"a" * 5000
    start = time.perf_counter()
    assert photon_match(pattern, subject) is False
    assert time.perf_counter() - start < 0.5


@pytest.mark.redis_compare
def test_oracle_agrees_with_redis(redis_ref):
    """The transcription above answers as the real server does (through KEYS)."""
    from tests.integration.resp import RawConn
    from tests.integration.test_compare_core import decode

    subjects = [b"", b"a", b"\\", b"[", b"]", b"-", b"hello", b"hallo", b"a[b", b"\x00", b"\x05",
                b"\x80", b"\xff", b"*", b"?", b"ab", b"ba", b"abc"]
    patterns = [p for p, _ in TRICKY] + [b"[\x01-\xff]", b"[a-\x80]", b"[^\x01-\xff]", b"**",
                                         b"*?*", b"[\\"]
    with RawConn(redis_ref.port) as conn:
        conn.call("SELECT", "11")
        conn.call("FLUSHDB")
        for s in subjects:
            conn.call("SET", s, "1")
        for pattern in patterns:
            got = set(decode(conn.call("KEYS", pattern)))
            if pattern == b"*":
                continue  # KEYS's shortcut, not stringmatchlen
            want = {s for s in subjects if redis_match(pattern, s)}
            assert got == want, pattern
        conn.call("FLUSHDB")
