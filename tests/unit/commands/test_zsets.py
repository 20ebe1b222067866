"""Sorted-set commands against the in-memory server: replies, errors and encodings as Redis 7.0
(every expected value here was checked against a real redis-server 7.0.15)."""
import math

import hiredis
import pytest

from photon.commands import zsets
from photon.commands.table import COMMANDS
from photon.keyspace.encoding import ZSET, decode_score, encode_score

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_FLOAT = "ERR value is not a valid float"
NOT_INT = "ERR value is not an integer or out of range"
RANGE = "ERR min or max is not a float"
LEX = "ERR min or max not valid string range item"
SYNTAX = "ERR syntax error"


def err(reply) -> str:
    assert isinstance(reply, hiredis.ReplyError), reply
    return str(reply)


def raw(client, *args) -> bytes:
    argv = [a.encode() if isinstance(a, str) else a for a in args]
    return client.raw(b"*%d\r\n" % len(argv) +
                      b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in argv))


def zset(client, key="z"):
    """The whole set as [(member, score text)] in order."""
    flat = client.send("ZRANGE", key, "0", "-1", "WITHSCORES")
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]


@pytest.fixture
def z(client):
    assert client.send("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e") == 5
    return client


# --- score parsing and printing -------------------------------------------------------------

@pytest.mark.parametrize("text,printed", [
    ("1.1", b"1.1000000000000001"), ("0x10", b"16"), ("0x1p3", b"8"), ("0x1.8p1", b"3"),
    ("-0x10", b"-16"), (".5", b"0.5"), ("5.", b"5"), ("+5", b"5"), ("infinity", b"inf"),
    ("-INF", b"-inf"), ("+inF", b"inf"), ("1e-310", b"9.9999999999999694e-311"),
    ("1e+5", b"100000"), ("1e308", b"1e+308"), ("0e0", b"0"), ("-0", b"0"),
    ("1e20", b"1e+20"), ("123456789012345678", b"1.2345678901234568e+17"),
    ("5e-324", b"4.9406564584124654e-324"), ("0.1", b"0.10000000000000001"),
])
def test_scores_parse_and_print_as_redis(client, text, printed):
    assert client.send("ZADD", "z", text, "m") == 1
    assert client.send("ZSCORE", "z", "m") == printed


@pytest.mark.parametrize("text", ["1e", "nan", "0x", "  5", "5 ", "", "2e308", "-1e-400",
                                  "0x1p-1080", "1_0", "abc", "1e999", "--1", "0x1p", "NaN"])
def test_bad_scores(client, text):
    assert err(client.send("ZADD", "z", text, "m")) == NOT_FLOAT
    assert client.send("EXISTS", "z") == 0


@pytest.mark.parametrize("lo,hi,count", [
    ("", "", 0), ("(", "10", 5), ("  1", "2", 2), ("0x1", "0x2", 2), ("1e-400", "1", 1),
    ("-inf", "2e308", 5), ("(1", "(5", 3), ("(-inf", "(+inf", 5), ("5", "1", 0),
    ("3", "(3", 0), ("(3", "3", 0), ("3", "3", 1), ("-0", "1", 1),
])
def test_range_bounds(z, lo, hi, count):
    assert z.send("ZCOUNT", "z", lo, hi) == count


@pytest.mark.parametrize("bound", ["nan", "(nan", "1 ", "a", "1_0", "  ", "((1", "[1"])
def test_bad_range_bounds(z, bound):
    assert err(z.send("ZCOUNT", "z", bound, "1")) == RANGE
    assert err(z.send("ZRANGEBYSCORE", "z", "1", bound)) == RANGE


def test_range_is_parsed_before_the_key_is_looked_up(client):
    client.send("SET", "s", "x")
    assert err(client.send("ZCOUNT", "s", "x", "1")) == RANGE
    assert err(client.send("ZLEXCOUNT", "s", "x", "+")) == LEX
    assert err(client.send("ZCOUNT", "s", "0", "1")) == WRONGTYPE


def test_score_encoding_is_order_preserving():
    values = [-math.inf, -1e308, -1.5, -5e-324, 0.0, 5e-324, 1e-300, 1, 1.5, 2, 1e308, math.inf]
    encoded = [encode_score(v) for v in values]
    assert encoded == sorted(encoded)
    assert [decode_score(e) for e in encoded] == values
    assert encode_score(-0.0) == encode_score(0.0)


def test_double_reply_format_resp3(client):
    client.send("HELLO", "3")
    client.send("ZADD", "z", "1.1", "a", "inf", "b", "-inf", "c")
    assert raw(client, "ZSCORE", "z", "a") == b",1.1000000000000001\r\n"
    assert raw(client, "ZSCORE", "z", "b") == b",inf\r\n"
    assert raw(client, "ZSCORE", "z", "c") == b",-inf\r\n"
    assert raw(client, "ZSCORE", "z", "x") == b"_\r\n"


# --- ZADD / ZINCRBY -------------------------------------------------------------------------

def test_zadd_basic(client):
    assert client.send("ZADD", "z", "1", "a", "2", "b") == 2
    assert client.send("ZADD", "z", "3", "a", "1", "c") == 1
    assert zset(client) == [(b"c", b"1"), (b"b", b"2"), (b"a", b"3")]
    assert client.send("ZCARD", "z") == 3
    assert client.send("TYPE", "z") == b"zset"


def test_zadd_same_member_twice_in_one_call(client):
    assert client.send("ZADD", "z", "1", "q", "2", "q", "3", "q") == 1
    assert client.send("ZSCORE", "z", "q") == b"3"
    assert client.send("ZADD", "z", "CH", "1", "r", "2", "r", "3", "r") == 3
    assert client.send("ZCARD", "z") == 2


def test_zadd_options(client):
    client.send("ZADD", "z", "1", "a", "5", "b")
    assert client.send("ZADD", "z", "NX", "9", "a", "2", "c") == 1
    assert client.send("ZSCORE", "z", "a") == b"1"
    assert client.send("ZADD", "z", "XX", "9", "a", "2", "d") == 0
    assert client.send("ZSCORE", "z", "a") == b"9"
    assert client.send("ZSCORE", "z", "d") is None
    assert client.send("ZADD", "z", "XX", "CH", "10", "a", "1", "new") == 1
    assert client.send("ZADD", "z", "ch", "gt", "4", "a", "7", "b", "1", "c", "0", "e") == 2
    assert client.send("ZSCORE", "z", "a") == b"10"
    assert client.send("ZSCORE", "z", "b") == b"7"
    assert client.send("ZSCORE", "z", "e") == b"0"
    assert client.send("ZADD", "z", "LT", "CH", "4", "a", "8", "b") == 1
    assert zset(client) == [(b"e", b"0"), (b"c", b"2"), (b"a", b"4"), (b"b", b"7")]
    assert client.send("ZADD", "z", "XX", "GT", "CH", "5", "a", "5", "nope") == 1
    assert client.send("ZCARD", "z") == 4


def test_zadd_incr(client):
    assert client.send("ZADD", "z", "INCR", "1.5", "a") == b"1.5"
    assert client.send("ZADD", "z", "INCR", "1", "a") == b"2.5"
    assert client.send("ZADD", "z", "NX", "INCR", "1", "a") is None
    assert client.send("ZADD", "z", "XX", "INCR", "1", "b") is None
    assert client.send("ZADD", "z", "GT", "INCR", "-1", "a") is None
    assert client.send("ZADD", "z", "LT", "INCR", "-1", "a") == b"1.5"
    assert client.send("ZADD", "nokey", "XX", "INCR", "1", "a") is None
    assert client.send("ZADD", "nokey", "XX", "1", "a") == 0
    assert client.send("EXISTS", "nokey") == 0


def test_zadd_errors(client):
    client.send("SET", "s", "x")
    assert err(client.send("ZADD", "z", "nx", "1")) == SYNTAX
    assert err(client.send("ZADD", "z", "1", "a", "2")) == SYNTAX
    assert err(client.send("ZADD", "z", "nx", "xx", "1", "a")) == \
        "ERR XX and NX options at the same time are not compatible"
    for opts in (("gt", "lt"), ("nx", "gt"), ("lt", "nx")):
        assert err(client.send("ZADD", "z", *opts, "1", "a")) == \
            "ERR GT, LT, and/or NX options at the same time are not compatible"
    assert err(client.send("ZADD", "z", "incr", "1", "a", "2", "b")) == \
        "ERR INCR option supports a single increment-element pair"
    assert err(client.send("ZADD", "z", "1", "a", "x", "b")) == NOT_FLOAT
    assert client.send("EXISTS", "z") == 0  # nothing added when a later score is bad
    assert err(client.send("ZADD", "s", "1", "a")) == WRONGTYPE
    assert err(client.send("ZADD", "s", "xx", "1", "a")) == WRONGTYPE
    assert err(client.send("ZADD", "s", "x", "a")) == NOT_FLOAT  # scores before the key
    assert err(client.send("ZADD", "z", "1")) == "ERR wrong number of arguments for 'zadd' command"


def test_zincrby(client):
    assert client.send("ZINCRBY", "z", "1.5", "a") == b"1.5"
    assert client.send("ZINCRBY", "z", "-0.5", "a") == b"1"
    assert client.send("ZINCRBY", "n", "-0", "a") == b"-0"  # the computed value...
    assert client.send("ZSCORE", "n", "a") == b"0"          # ...stored as Redis stores it
    assert client.send("ZINCRBY", "z", "1e308", "b") == b"1e+308"
    assert client.send("ZINCRBY", "z", "1e308", "b") == b"inf"
    assert err(client.send("ZINCRBY", "z", "-inf", "b")) == \
        "ERR resulting score is not a number (NaN)"
    assert client.send("ZSCORE", "z", "b") == b"inf"
    assert err(client.send("ZINCRBY", "z", "x", "b")) == NOT_FLOAT
    # ZINCRBY shares ZADD's option parser, so an option word leaves an odd argument count
    assert err(client.send("ZINCRBY", "z", "nx", "a")) == SYNTAX
    assert err(client.send("ZINCRBY", "z", "incr", "a")) == SYNTAX
    client.send("SET", "s", "x")
    assert err(client.send("ZINCRBY", "s", "1", "a")) == WRONGTYPE


def test_zadd_keeps_ttl(client):
    client.send("ZADD", "z", "1", "a")
    client.send("EXPIRE", "z", "100")
    client.send("ZADD", "z", "2", "b")
    client.send("ZINCRBY", "z", "2", "b")
    client.send("ZREM", "z", "a")
    assert 0 < client.send("TTL", "z") <= 100


# --- ZREM / ZSCORE / ZMSCORE / ZCARD ----------------------------------------------------------

def test_zrem(z):
    assert z.send("ZREM", "z", "a", "x", "a", "b") == 2
    assert z.send("ZCARD", "z") == 3
    assert z.send("ZRANGE", "z", "0", "-1") == [b"c", b"d", b"e"]
    assert z.send("ZREM", "z", "c", "d", "e") == 3
    assert z.send("EXISTS", "z") == 0
    assert z.send("ZREM", "z", "a") == 0
    z.send("SET", "s", "x")
    assert err(z.send("ZREM", "s", "a")) == WRONGTYPE


def test_zscore_zmscore_zcard(z):
    assert z.send("ZSCORE", "z", "c") == b"3"
    assert z.send("ZSCORE", "z", "x") is None
    assert z.send("ZSCORE", "nokey", "x") is None
    assert z.send("ZMSCORE", "z", "a", "x", "e") == [b"1", None, b"5"]
    assert z.send("ZMSCORE", "nokey", "a", "b") == [None, None]
    assert z.send("ZCARD", "nokey") == 0
    z.send("SET", "s", "x")
    for cmd in (("ZSCORE", "s", "a"), ("ZMSCORE", "s", "a"), ("ZCARD", "s")):
        assert err(z.send(*cmd)) == WRONGTYPE


def test_binary_members(client):
    members = [b"", b"\x00", b"\x00\x01", b"\xff", b"a\r\nb", b"\xff\xff"]
    for i, m in enumerate(members):
        assert client.send("ZADD", "z", "0", m) == 1
    assert client.send("ZRANGE", "z", "0", "-1") == sorted(members)
    assert client.send("ZRANGEBYLEX", "z", "[\x00", "(\xff") == [b"\x00", b"\x00\x01", b"a\r\nb"]
    assert client.send("ZSCORE", "z", b"") == b"0"
    assert client.send("ZREM", "z", b"") == 1
    assert client.send("ZCARD", "z") == len(members) - 1


# --- ZRANK / ZREVRANK -------------------------------------------------------------------------

def test_zrank(z):
    assert z.send("ZRANK", "z", "a") == 0
    assert z.send("ZRANK", "z", "c") == 2
    assert z.send("ZREVRANK", "z", "c") == 2
    assert z.send("ZREVRANK", "z", "a") == 4
    assert z.send("ZRANK", "z", "x") is None
    assert z.send("ZRANK", "nokey", "x") is None
    z.send("ZADD", "z", "3", "bb")  # same score as c: member order
    assert z.send("ZRANK", "z", "bb") == 2
    assert z.send("ZRANK", "z", "c") == 3
    z.send("SET", "s", "x")
    assert err(z.send("ZRANK", "s", "a")) == WRONGTYPE


def test_zrank_withscore_handler(z):
    """WITHSCORE (Redis 7.2's option, which the issue asks for) through the handler and the
    gate; more arguments are an arity error, as in 7.2."""
    assert zsets.zrank(z, [b"zrank", b"z", b"c", b"withscore"]) == [2, 3.0]
    assert zsets.zrevrank(z, [b"zrevrank", b"z", b"c", b"WITHSCORE"]) == [2, 3.0]
    assert zsets.zrank(z, [b"zrank", b"z", b"x", b"withscore"]) is zsets.NULL_ARRAY
    assert zsets.zrank(z, [b"zrank", b"nokey", b"x", b"withscore"]) is zsets.NULL_ARRAY
    with pytest.raises(zsets.RedisError, match="syntax"):
        zsets.zrank(z, [b"zrank", b"z", b"c", b"withscores"])
    assert z.send("ZRANK", "z", "c", "withscore") == [2, b"3"]
    assert z.send("ZREVRANK", "z", "missing", "withscore") is None
    assert err(z.send("ZRANK", "z", "c", "withscore", "x")) == \
        "ERR wrong number of arguments for 'zrank' command"


# --- ZRANGE and friends -----------------------------------------------------------------------

@pytest.mark.parametrize("start,stop,expected", [
    ("0", "-1", "abcde"), ("1", "2", "bc"), ("-2", "-1", "de"), ("-100", "1", "ab"),
    ("3", "100", "de"), ("4", "3", ""), ("5", "10", ""), ("0", "-6", ""), ("-1", "-1", "e"),
])
def test_zrange_by_rank(z, start, stop, expected):
    assert z.send("ZRANGE", "z", start, stop) == [m.encode() for m in expected]
    reverse = "".join(chr(ord("a") + ord("e") - ord(m)) for m in expected)  # same ranks, from e
    assert z.send("ZREVRANGE", "z", start, stop) == [m.encode() for m in reverse]
    assert z.send("ZRANGE", "z", start, stop, "REV") == [m.encode() for m in reverse]


def test_zrevrange(z):
    assert z.send("ZREVRANGE", "z", "0", "1", "WITHSCORES") == [b"e", b"5", b"d", b"4"]
    assert z.send("ZREVRANGE", "z", "-2", "-1") == [b"b", b"a"]


def test_zrange_by_rank_from_either_end_of_a_bigger_set(client):
    client.send("ZADD", "z", *sum([[str(i), "m%03d" % i] for i in range(300)], []))
    assert client.send("ZRANGE", "z", "-3", "-1") == [b"m297", b"m298", b"m299"]
    assert client.send("ZRANGE", "z", "250", "252") == [b"m250", b"m251", b"m252"]
    assert client.send("ZREVRANGE", "z", "0", "1") == [b"m299", b"m298"]
    assert client.send("ZREVRANGE", "z", "297", "-1") == [b"m002", b"m001", b"m000"]
    assert client.send("ZRANGE", "z", "10", "12", "REV") == [b"m289", b"m288", b"m287"]
    assert client.send("ZRANK", "z", "m250") == 250
    assert client.send("ZREVRANK", "z", "m250") == 49


def test_zrange_withscores_resp2_and_resp3(z):
    assert z.send("ZRANGE", "z", "0", "1", "WITHSCORES") == [b"a", b"1", b"b", b"2"]
    z.send("HELLO", "3")
    assert raw(z, "ZRANGE", "z", "0", "1", "WITHSCORES") == \
        b"*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n"
    assert raw(z, "ZRANGE", "z", "0", "1") == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"


def test_zrange_byscore(z):
    assert z.send("ZRANGE", "z", "(1", "3", "BYSCORE") == [b"b", b"c"]
    assert z.send("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2", "WITHSCORES") == \
        [b"b", b"2", b"c", b"3"]
    assert z.send("ZRANGE", "z", "+inf", "(1", "BYSCORE", "REV") == [b"e", b"d", b"c", b"b"]
    assert z.send("ZRANGE", "z", "(1", "+inf", "BYSCORE", "REV") == []
    assert z.send("ZRANGEBYSCORE", "z", "2", "4") == [b"b", b"c", b"d"]
    assert z.send("ZREVRANGEBYSCORE", "z", "4", "2", "WITHSCORES") == \
        [b"d", b"4", b"c", b"3", b"b", b"2"]
    assert z.send("ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "2", "2") == [b"c", b"b"]
    assert z.send("ZRANGEBYSCORE", "z", "5", "1") == []


@pytest.mark.parametrize("offset,count,expected", [
    ("-1", "2", ""), ("1", "-1", "bcde"), ("1", "0", ""), ("5", "1", ""), ("4", "5", "e"),
    ("0", "2", "ab"),
])
def test_limit(z, offset, count, expected):
    want = [m.encode() for m in expected]
    assert z.send("ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", offset, count) == want
    assert z.send("ZRANGEBYLEX", "z", "-", "+", "LIMIT", offset, count) == want


def test_zrange_errors(z):
    assert err(z.send("ZRANGEBYSCORE", "z", "0", "1", "LIMIT", "0")) == SYNTAX
    assert err(z.send("ZRANGE", "z", "0", "-1", "LIMIT", "0", "1")) == \
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    assert z.send("ZRANGE", "z", "0", "-1", "LIMIT", "0", "-1") == [b"a", b"b", b"c", b"d", b"e"]
    assert err(z.send("ZRANGE", "z", "0", "-1", "REV", "REV")) == SYNTAX
    assert err(z.send("ZRANGE", "z", "0", "-1", "BYSCORE", "BYLEX")) == SYNTAX
    assert err(z.send("ZRANGE", "z", "[a", "+", "BYLEX", "WITHSCORES")) == \
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
    assert err(z.send("ZRANGEBYLEX", "z", "[a", "+", "WITHSCORES")) == \
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
    assert err(z.send("ZRANGEBYSCORE", "z", "0", "10", "REV")) == SYNTAX
    assert err(z.send("ZREVRANGE", "z", "0", "1", "REV")) == SYNTAX
    assert err(z.send("ZRANGE", "z", "0", "1", "BYLEX")) == LEX
    assert err(z.send("ZRANGE", "z", "a", "1")) == NOT_INT
    assert err(z.send("ZRANGE", "z", "0", "1", "LIMIT", "x", "1", "BYSCORE")) == NOT_INT
    assert err(z.send("ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "0", "1.5")) == NOT_INT
    z.send("SET", "s", "x")
    assert err(z.send("ZRANGE", "s", "0", "1")) == WRONGTYPE
    assert z.send("ZRANGE", "nokey", "0", "1") == []


def test_zrangestore(z):
    assert z.send("ZRANGESTORE", "d", "z", "1", "2") == 2
    assert zset(z, "d") == [(b"b", b"2"), (b"c", b"3")]
    assert z.send("ZRANGESTORE", "d", "z", "4", "(1", "BYSCORE", "REV", "LIMIT", "0", "2") == 2
    assert zset(z, "d") == [(b"c", b"3"), (b"d", b"4")]
    assert z.send("ZRANGESTORE", "d", "z", "[b", "[c", "BYLEX") == 2
    assert err(z.send("ZRANGESTORE", "d", "z", "0", "-1", "WITHSCORES")) == SYNTAX
    assert z.send("ZRANGESTORE", "d", "nokey", "0", "-1") == 0
    assert z.send("EXISTS", "d") == 0
    z.send("SET", "d", "x")
    z.send("EXPIRE", "d", "100")
    assert z.send("ZRANGESTORE", "d", "z", "0", "0") == 1
    assert z.send("TYPE", "d") == b"zset"
    assert z.send("TTL", "d") == -1
    z.send("SET", "s", "x")
    assert err(z.send("ZRANGESTORE", "d", "s", "0", "0")) == WRONGTYPE
    assert z.send("ZRANGESTORE", "z", "z", "0", "1") == 2  # source and destination the same
    assert zset(z) == [(b"a", b"1"), (b"b", b"2")]


# --- lexicographic ranges ---------------------------------------------------------------------

@pytest.fixture
def lex(client):
    client.send("ZADD", "l", *sum([["0", m] for m in "abcdefg"], []))
    return client


@pytest.mark.parametrize("lo,hi,expected", [
    ("-", "+", "abcdefg"), ("[b", "(f", "bcde"), ("(b", "[f", "cdef"), ("[bb", "+", "cdefg"),
    ("-", "(a", ""), ("[h", "+", ""), ("+", "-", ""), ("-", "-", ""), ("+", "+", ""),
    ("[a", "(a", ""), ("[a", "[a", "a"), ("(a", "(b", ""), ("[", "+", "abcdefg"), ("(", "[a", "a"),
])
def test_lex_ranges(lex, lo, hi, expected):
    want = [m.encode() for m in expected]
    assert lex.send("ZRANGEBYLEX", "l", lo, hi) == want
    assert lex.send("ZRANGE", "l", lo, hi, "BYLEX") == want
    assert lex.send("ZREVRANGEBYLEX", "l", hi, lo) == want[::-1]
    assert lex.send("ZRANGE", "l", hi, lo, "BYLEX", "REV") == want[::-1]
    assert lex.send("ZLEXCOUNT", "l", lo, hi) == len(want)


def test_lex_limit_and_bad_items(lex):
    assert lex.send("ZRANGEBYLEX", "l", "(b", "[f", "LIMIT", "1", "2") == [b"d", b"e"]
    assert lex.send("ZREVRANGEBYLEX", "l", "(f", "[b", "LIMIT", "1", "10") == [b"d", b"c", b"b"]
    for bad in ("a", "+b", "-a", "", "{a"):
        assert err(lex.send("ZRANGEBYLEX", "l", bad, "+")) == LEX
        assert err(lex.send("ZLEXCOUNT", "l", "-", bad)) == LEX
        assert err(lex.send("ZREMRANGEBYLEX", "l", bad, "+")) == LEX


def test_lex_on_mixed_scores_walks_like_a_listpack(client):
    # Redis leaves this unspecified; these replies are the ones Redis 7.0 gives.
    client.send("ZADD", "m", "1", "z", "2", "a", "3", "m", "4", "b", "5", "y")
    assert client.send("ZRANGEBYLEX", "m", "-", "+") == [b"z", b"a", b"m", b"b", b"y"]
    assert client.send("ZRANGEBYLEX", "m", "[b", "+") == [b"z", b"a", b"m", b"b", b"y"]
    assert client.send("ZRANGEBYLEX", "m", "[n", "+") == [b"z", b"a", b"m", b"b", b"y"]
    assert client.send("ZRANGEBYLEX", "m", "-", "[c") == []
    assert client.send("ZRANGEBYLEX", "m", "(a", "[y") == []
    assert client.send("ZREVRANGEBYLEX", "m", "[y", "[b") == []
    assert client.send("ZREVRANGEBYLEX", "m", "(z", "-") == []
    assert client.send("ZREVRANGEBYLEX", "m", "+", "[b") == [b"y", b"b", b"m"]
    assert client.send("ZLEXCOUNT", "m", "[b", "[z") == 5
    assert client.send("ZLEXCOUNT", "m", "[c", "[x") == 0
    assert client.send("ZREMRANGEBYLEX", "m", "[b", "[n") == 0
    assert client.send("ZREMRANGEBYLEX", "m", "[m", "[z") == 5
    assert client.send("EXISTS", "m") == 0


# --- ZCOUNT / ZLEXCOUNT / ZREMRANGEBY* --------------------------------------------------------

def test_zcount(z):
    assert z.send("ZCOUNT", "z", "2", "4") == 3
    assert z.send("ZCOUNT", "z", "(2", "(4") == 1
    assert z.send("ZCOUNT", "z", "-inf", "+inf") == 5
    assert z.send("ZCOUNT", "nokey", "-inf", "+inf") == 0


def test_zremrangebyrank(z):
    assert z.send("ZREMRANGEBYRANK", "z", "1", "2") == 2
    assert z.send("ZRANGE", "z", "0", "-1") == [b"a", b"d", b"e"]
    assert z.send("ZREMRANGEBYRANK", "z", "5", "10") == 0
    assert z.send("ZREMRANGEBYRANK", "z", "-1", "-1") == 1
    assert z.send("ZREMRANGEBYRANK", "z", "0", "-1") == 2
    assert z.send("EXISTS", "z") == 0
    assert z.send("ZREMRANGEBYRANK", "z", "0", "-1") == 0
    assert err(z.send("ZREMRANGEBYRANK", "z", "a", "-1")) == NOT_INT


def test_zremrangebyscore(z):
    assert z.send("ZREMRANGEBYSCORE", "z", "(1", "3") == 2
    assert z.send("ZRANGE", "z", "0", "-1") == [b"a", b"d", b"e"]
    assert z.send("ZREMRANGEBYSCORE", "z", "10", "1") == 0
    assert z.send("ZREMRANGEBYSCORE", "z", "-inf", "+inf") == 3
    assert z.send("EXISTS", "z") == 0
    assert err(z.send("ZREMRANGEBYSCORE", "z", "x", "1")) == RANGE
    z.send("SET", "s", "x")
    assert err(z.send("ZREMRANGEBYSCORE", "s", "0", "1")) == WRONGTYPE


def test_zremrangebylex(lex):
    assert lex.send("ZREMRANGEBYLEX", "l", "(a", "[c") == 2
    assert lex.send("ZRANGE", "l", "0", "-1") == [b"a", b"d", b"e", b"f", b"g"]
    assert lex.send("ZREMRANGEBYLEX", "l", "-", "+") == 5
    assert lex.send("EXISTS", "l") == 0


# --- pops -------------------------------------------------------------------------------------

def test_zpopmin_zpopmax(z):
    assert z.send("ZPOPMIN", "z") == [b"a", b"1"]
    assert z.send("ZPOPMAX", "z", "2") == [b"e", b"5", b"d", b"4"]
    assert z.send("ZPOPMIN", "z", "0") == []
    assert z.send("ZPOPMIN", "z", "10") == [b"b", b"2", b"c", b"3"]
    assert z.send("EXISTS", "z") == 0
    assert z.send("ZPOPMIN", "z") == []
    assert z.send("ZPOPMIN", "z", "2") == []


def test_zpop_errors(client):
    client.send("SET", "s", "x")
    assert err(client.send("ZPOPMIN", "z", "-1")) == "ERR value is out of range, must be positive"
    assert err(client.send("ZPOPMIN", "z", "x")) == "ERR value is out of range, must be positive"
    assert err(client.send("ZPOPMIN", "z", "1", "2")) == SYNTAX
    assert err(client.send("ZPOPMAX", "s", "0")) == WRONGTYPE
    assert err(client.send("ZPOPMAX", "s")) == WRONGTYPE


def test_zpop_resp3_shapes(z):
    z.send("HELLO", "3")
    assert raw(z, "ZPOPMIN", "z") == b"*2\r\n$1\r\na\r\n,1\r\n"
    assert raw(z, "ZPOPMIN", "z", "1") == b"*1\r\n*2\r\n$1\r\nb\r\n,2\r\n"
    assert raw(z, "ZPOPMAX", "z", "2") == b"*2\r\n*2\r\n$1\r\ne\r\n,5\r\n*2\r\n$1\r\nd\r\n,4\r\n"
    assert raw(z, "ZPOPMIN", "nokey") == b"*0\r\n"


def test_zmpop(z):
    assert z.send("ZMPOP", "2", "nokey", "z", "MIN") == [b"z", [[b"a", b"1"]]]
    assert z.send("ZMPOP", "1", "z", "max", "COUNT", "2") == [b"z", [[b"e", b"5"], [b"d", b"4"]]]
    assert z.send("ZMPOP", "1", "z", "min", "count", "10") == [b"z", [[b"b", b"2"], [b"c", b"3"]]]
    assert raw(z, "ZMPOP", "1", "z", "MIN") == b"*-1\r\n"
    z.send("HELLO", "3")
    z.send("ZADD", "z", "1", "a")
    assert raw(z, "ZMPOP", "1", "z", "MIN") == b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n,1\r\n"
    assert raw(z, "ZMPOP", "1", "z", "MIN") == b"_\r\n"


def test_zmpop_errors(z):
    z.send("SET", "s", "x")
    assert err(z.send("ZMPOP", "0", "z", "min")) == "ERR numkeys should be greater than 0"
    assert err(z.send("ZMPOP", "x", "z", "min")) == "ERR numkeys should be greater than 0"
    assert err(z.send("ZMPOP", "1", "z", "mid")) == SYNTAX
    assert err(z.send("ZMPOP", "2", "z", "min")) == SYNTAX
    assert err(z.send("ZMPOP", "1", "z", "min", "count", "0")) == \
        "ERR count should be greater than 0"
    assert err(z.send("ZMPOP", "1", "z", "min", "count", "1", "count", "2")) == SYNTAX
    assert err(z.send("ZMPOP", "1", "z", "min", "count")) == SYNTAX
    assert err(z.send("ZMPOP", "2", "nokey", "s", "min")) == WRONGTYPE
    assert z.send("ZMPOP", "2", "z", "s", "min")[0] == b"z"  # stops at the first set found


def test_blocking_pops_served_at_once(z):
    z.send("SET", "s", "x")
    assert z.send("BZPOPMIN", "nokey", "z", "0") == [b"z", b"a", b"1"]
    assert z.send("BZPOPMAX", "z", "s", "0") == [b"z", b"e", b"5"]
    assert err(z.send("BZPOPMAX", "s", "z", "0")) == WRONGTYPE
    assert z.send("BZMPOP", "0", "2", "nokey", "z", "MIN", "COUNT", "2") == \
        [b"z", [[b"b", b"2"], [b"c", b"3"]]]
    z.send("HELLO", "3")
    assert raw(z, "BZPOPMIN", "z", "0") == b"*3\r\n$1\r\nz\r\n$1\r\nd\r\n,4\r\n"


def test_blocking_pop_errors(client):
    client.send("SET", "s", "x")
    assert err(client.send("BZPOPMIN", "s", "-1")) == "ERR timeout is negative"
    assert err(client.send("BZPOPMIN", "s", "abc")) == "ERR timeout is not a float or out of range"
    assert err(client.send("BZPOPMIN", "s", "0")) == WRONGTYPE
    assert err(client.send("BZMPOP", "abc", "1", "z", "min")) == \
        "ERR timeout is not a float or out of range"
    assert err(client.send("BZMPOP", "abc", "0", "z", "min")) == \
        "ERR numkeys should be greater than 0"  # numkeys, where and count come first
    assert err(client.send("BZMPOP", "-1", "1", "z", "min")) == "ERR timeout is negative"
    assert err(client.send("BZMPOP", "0", "1", "z", "min", "count", "x")) == \
        "ERR count should be greater than 0"


def test_blocking_pops_inside_multi_reply_as_timeout(client):
    client.send("MULTI")
    for cmd in (("BZPOPMIN", "z", "0"), ("BZPOPMAX", "z", "1"), ("BZMPOP", "0", "1", "z", "MIN")):
        assert client.send(*cmd) == b"QUEUED"
    assert raw(client, "EXEC") == b"*3\r\n*-1\r\n*-1\r\n*-1\r\n"
    client.send("HELLO", "3")
    client.send("MULTI")
    client.send("BZPOPMIN", "z", "0")
    assert raw(client, "EXEC") == b"*1\r\n_\r\n"


# --- set operations ---------------------------------------------------------------------------

@pytest.fixture
def sets(client):
    client.send("ZADD", "u1", "1", "a", "2", "b", "3", "c")
    client.send("ZADD", "u2", "10", "b", "20", "c", "30", "d")
    client.send("SADD", "s1", "a", "d", "x")
    client.send("SET", "str", "x")
    return client


def test_zunion_zinter_zdiff(sets):
    c = sets
    assert c.send("ZUNION", "2", "u1", "u2", "WITHSCORES") == \
        [b"a", b"1", b"b", b"12", b"c", b"23", b"d", b"30"]
    assert c.send("ZUNION", "2", "u1", "u2", "WEIGHTS", "2", "3", "WITHSCORES") == \
        [b"a", b"2", b"b", b"34", b"c", b"66", b"d", b"90"]
    assert c.send("ZUNION", "2", "u1", "u2", "AGGREGATE", "MIN", "WITHSCORES") == \
        [b"a", b"1", b"b", b"2", b"c", b"3", b"d", b"30"]
    assert c.send("ZUNION", "2", "u1", "u2", "aggregate", "max") == [b"a", b"b", b"c", b"d"]
    assert c.send("ZINTER", "2", "u1", "u2", "WITHSCORES") == [b"b", b"12", b"c", b"23"]
    assert c.send("ZINTER", "2", "u1", "u2", "WEIGHTS", "1", "-1", "WITHSCORES") == \
        [b"c", b"-17", b"b", b"-8"]
    assert c.send("ZDIFF", "2", "u1", "u2", "WITHSCORES") == [b"a", b"1"]
    assert c.send("ZDIFF", "2", "u2", "u1") == [b"d"]
    assert c.send("ZDIFF", "2", "nokey", "u1") == []
    assert c.send("ZINTER", "2", "u1", "nokey") == []
    assert c.send("ZUNION", "2", "nokey", "nokey2") == []


def test_setops_accept_plain_sets(sets):
    c = sets
    assert c.send("ZUNION", "2", "u1", "s1", "WITHSCORES") == \
        [b"d", b"1", b"x", b"1", b"a", b"2", b"b", b"2", b"c", b"3"]
    assert c.send("ZINTER", "2", "u2", "s1", "WITHSCORES") == [b"d", b"31"]
    assert c.send("ZDIFF", "2", "s1", "u1", "WITHSCORES") == [b"d", b"1", b"x", b"1"]
    assert c.send("ZINTER", "2", "s1", "s1", "WITHSCORES") == \
        [b"a", b"2", b"d", b"2", b"x", b"2"]
    assert c.send("ZUNIONSTORE", "dst", "1", "s1") == 3
    assert c.send("TYPE", "dst") == b"zset"


def test_setops_inf_and_nan_rules(client):
    client.send("ZADD", "i1", "inf", "a", "-inf", "b")
    client.send("ZADD", "i2", "-inf", "a", "inf", "b")
    client.send("ZADD", "n3", "-1", "a")
    assert client.send("ZUNION", "2", "i1", "i2", "WITHSCORES") == [b"a", b"0", b"b", b"0"]
    assert client.send("ZINTER", "2", "i1", "i2", "WEIGHTS", "0", "1", "WITHSCORES") == \
        [b"a", b"-inf", b"b", b"inf"]
    assert client.send("ZUNION", "2", "i1", "i2", "WEIGHTS", "0", "0", "WITHSCORES") == \
        [b"a", b"0", b"b", b"0"]
    assert client.send("ZINTER", "2", "i1", "i2", "WEIGHTS", "0", "0", "AGGREGATE", "MIN",
                       "WITHSCORES") == [b"a", b"0", b"b", b"0"]
    assert client.send("ZUNION", "1", "n3", "WEIGHTS", "0", "WITHSCORES") == [b"a", b"-0"]
    assert client.send("ZUNION", "1", "n3", "WEIGHTS", "-0", "WITHSCORES") == [b"a", b"0"]


def test_setop_stores(sets):
    c = sets
    assert c.send("ZUNIONSTORE", "dst", "2", "u1", "u2", "WEIGHTS", "1", "inf") == 4
    assert zset(c, "dst") == [(b"a", b"1"), (b"b", b"inf"), (b"c", b"inf"), (b"d", b"inf")]
    assert c.send("ZINTERSTORE", "dst", "2", "u1", "u2", "AGGREGATE", "MAX") == 2
    assert zset(c, "dst") == [(b"b", b"10"), (b"c", b"20")]
    assert c.send("ZDIFFSTORE", "dst", "2", "u1", "u2") == 1
    assert zset(c, "dst") == [(b"a", b"1")]
    assert c.send("ZDIFFSTORE", "dst", "1", "nokey") == 0
    assert c.send("EXISTS", "dst") == 0
    assert c.send("ZUNIONSTORE", "str", "1", "u1") == 3  # the destination's type does not matter
    assert c.send("TYPE", "str") == b"zset"
    assert c.send("ZUNIONSTORE", "u1", "2", "u1", "u2") == 4  # a source as destination
    assert zset(c, "u1") == [(b"a", b"1"), (b"b", b"12"), (b"c", b"23"), (b"d", b"30")]


def test_setop_errors(sets):
    c = sets
    for name, args in (("zinter", ()), ("zunion", ()), ("zdiff", ()), ("zintercard", ())):
        assert err(c.send(name.upper(), "0", "u1", *args)) == \
            f"ERR at least 1 input key is needed for '{name}' command"
    for name in ("zunionstore", "zinterstore", "zdiffstore"):
        assert err(c.send(name, "d", "0", "u1")) == \
            f"ERR at least 1 input key is needed for '{name}' command"
        assert err(c.send(name, "d", "-1", "u1")) == \
            f"ERR at least 1 input key is needed for '{name}' command"
    assert err(c.send("ZUNION", "x", "u1")) == NOT_INT
    assert err(c.send("ZUNION", "2", "u1")) == SYNTAX
    assert err(c.send("ZUNION", "1", "u1", "WEIGHTS", "1", "2")) == SYNTAX
    assert err(c.send("ZUNION", "1", "u1", "WEIGHTS", "x")) == "ERR weight value is not a float"
    assert err(c.send("ZUNION", "1", "u1", "WEIGHTS", "nan")) == "ERR weight value is not a float"
    assert err(c.send("ZUNION", "1", "u1", "AGGREGATE", "avg")) == SYNTAX
    assert err(c.send("ZUNION", "1", "str", "WEIGHTS", "x")) == WRONGTYPE  # keys come first
    assert err(c.send("ZDIFF", "1", "u1", "WEIGHTS", "1")) == SYNTAX
    assert err(c.send("ZDIFF", "1", "u1", "AGGREGATE", "sum")) == SYNTAX
    assert err(c.send("ZUNIONSTORE", "d", "1", "u1", "WITHSCORES")) == SYNTAX
    assert err(c.send("ZINTERSTORE", "d", "2", "u1", "str")) == WRONGTYPE


def test_zintercard(sets):
    c = sets
    assert c.send("ZINTERCARD", "2", "u1", "u2") == 2
    assert c.send("ZINTERCARD", "2", "u1", "u2", "LIMIT", "1") == 1
    assert c.send("ZINTERCARD", "2", "u1", "u2", "LIMIT", "0") == 2
    assert c.send("ZINTERCARD", "1", "u1", "limit", "2", "limit", "3") == 3
    assert c.send("ZINTERCARD", "2", "u1", "nokey") == 0
    assert c.send("ZINTERCARD", "2", "u1", "s1") == 1
    assert err(c.send("ZINTERCARD", "1", "u1", "LIMIT", "-1")) == "ERR LIMIT can't be negative"
    assert err(c.send("ZINTERCARD", "1", "u1", "LIMIT", "x")) == "ERR LIMIT can't be negative"
    assert err(c.send("ZINTERCARD", "1", "u1", "WITHSCORES")) == SYNTAX
    assert err(c.send("ZINTERCARD", "x", "u1")) == NOT_INT


def test_setops_resp3(sets):
    sets.send("HELLO", "3")
    assert raw(sets, "ZINTER", "2", "u1", "u2", "WITHSCORES") == \
        b"*2\r\n*2\r\n$1\r\nb\r\n,12\r\n*2\r\n$1\r\nc\r\n,23\r\n"


def test_numkeys_key_positions(client):
    assert client.send("COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1",
                       "2") == [b"d", b"a", b"b"]
    assert client.send("COMMAND", "GETKEYS", "ZINTER", "2", "a", "b") == [b"a", b"b"]
    assert client.send("COMMAND", "GETKEYS", "ZMPOP", "2", "a", "b", "MIN") == [b"a", b"b"]
    assert client.send("COMMAND", "GETKEYS", "BZMPOP", "0", "2", "a", "b", "MIN") == [b"a", b"b"]
    assert client.send("COMMAND", "GETKEYS", "ZINTERCARD", "1", "a") == [b"a"]
    assert client.send("COMMAND", "GETKEYS", "BZPOPMIN", "a", "b", "0") == [b"a", b"b"]
    assert client.send("COMMAND", "GETKEYS", "ZRANGESTORE", "d", "s", "0", "1") == [b"d", b"s"]
    # numkeys past the arguments: no keys, as Redis's getkeys procs say
    assert COMMANDS[b"zunionstore"].key_positions([b"zunionstore", b"d", b"3", b"a"]) == []
    assert COMMANDS[b"zmpop"].key_positions([b"zmpop", b"x", b"a", b"min"]) == []


# --- ZRANDMEMBER ------------------------------------------------------------------------------

def test_zrandmember(z):
    assert z.send("ZRANDMEMBER", "z") in [b"a", b"b", b"c", b"d", b"e"]
    assert z.send("ZRANDMEMBER", "nokey") is None
    assert z.send("ZRANDMEMBER", "nokey", "5") == []
    assert z.send("ZRANDMEMBER", "z", "0") == []
    # the whole set, walked from the top as Redis does
    assert z.send("ZRANDMEMBER", "z", "5", "WITHSCORES") == \
        [b"e", b"5", b"d", b"4", b"c", b"3", b"b", b"2", b"a", b"1"]
    assert z.send("ZRANDMEMBER", "z", "100") == [b"e", b"d", b"c", b"b", b"a"]
    three = z.send("ZRANDMEMBER", "z", "3")
    assert len(three) == 3 == len(set(three))
    many = z.send("ZRANDMEMBER", "z", "-20", "WITHSCORES")
    assert len(many) == 40
    pairs = {many[i]: many[i + 1] for i in range(0, 40, 2)}
    assert all(int(v) == ord(k) - ord("a") + 1 for k, v in pairs.items())
    assert len(z.send("ZRANDMEMBER", "z", "1")) == 1


def test_zrandmember_uses_every_member(client):
    client.send("ZADD", "z", *sum([[str(i), "m%d" % i] for i in range(20)], []))
    seen = set(client.send("ZRANDMEMBER", "z", "-2000"))
    assert seen == {b"m%d" % i for i in range(20)}


def test_zrandmember_on_a_big_set(client):
    n = 3000
    client.send("ZADD", "z", *sum([[str(i / 2), "m%d" % i] for i in range(n)], []))
    one = client.send("ZRANDMEMBER", "z")
    assert one.startswith(b"m") and 0 <= int(one[1:]) < n
    flat = client.send("ZRANDMEMBER", "z", "200", "WITHSCORES")
    members = flat[::2]
    assert len(members) == 200 == len(set(members))
    assert all(float(s) == int(m[1:]) / 2 for m, s in zip(members, flat[1::2]))
    many = client.send("ZRANDMEMBER", "z", "-20000")
    assert len(many) == 20000 and len(set(many)) > n * 0.9  # every member about equally likely
    client.send("ZADD", "z", "-1", "new")
    assert b"new" in client.send("ZRANDMEMBER", "z", "-60000")


def test_zrandmember_errors(z):
    z.send("SET", "s", "x")
    assert err(z.send("ZRANDMEMBER", "z", "-9223372036854775808")) == \
        "ERR value is out of range, value must between -9223372036854775807 and " \
        "9223372036854775807"
    assert err(z.send("ZRANDMEMBER", "z", "9223372036854775807", "WITHSCORES")) == \
        "ERR value is out of range"
    assert err(z.send("ZRANDMEMBER", "z", "-4611686018427387904", "WITHSCORES")) == \
        "ERR value is out of range"
    assert err(z.send("ZRANDMEMBER", "z", "1", "WITHSCORE")) == SYNTAX
    assert err(z.send("ZRANDMEMBER", "z", "1", "WITHSCORES", "x")) == SYNTAX
    assert err(z.send("ZRANDMEMBER", "z", "x")) == NOT_INT
    assert err(z.send("ZRANDMEMBER", "s")) == WRONGTYPE
    assert err(z.send("ZRANDMEMBER", "s", "1")) == WRONGTYPE


def test_zrandmember_resp3(z):
    z.send("HELLO", "3")
    assert raw(z, "ZRANDMEMBER", "z", "5", "WITHSCORES").startswith(
        b"*5\r\n*2\r\n$1\r\ne\r\n,5\r\n")
    assert raw(z, "ZRANDMEMBER", "nokey") == b"_\r\n"


# --- ZSCAN ------------------------------------------------------------------------------------

def test_zscan_small_set_comes_whole(client):
    client.send("ZADD", "z", "1.5", "a", "123456789012345678", "d", "-0", "n", "inf", "i")
    assert client.send("ZSCAN", "z", "0") == [
        b"0", [b"n", b"0", b"a", b"1.5", b"d", b"123456789012345680", b"i", b"inf"]]
    assert client.send("ZSCAN", "z", "0", "MATCH", "[ad]", "COUNT", "1") == [
        b"0", [b"a", b"1.5", b"d", b"123456789012345680"]]
    assert client.send("ZSCAN", "nokey", "0") == [b"0", []]
    assert client.send("ZSCAN", "nokey", "0", "COUNT", "0") == [b"0", []]
    assert err(client.send("ZSCAN", "z", "0", "COUNT", "0")) == SYNTAX
    assert err(client.send("ZSCAN", "z", "x")) == "ERR invalid cursor"
    client.send("SET", "s", "x")
    assert err(client.send("ZSCAN", "s", "0")) == WRONGTYPE


def test_zscan_big_set_in_pages(client):
    n = 1000
    client.send("ZADD", "z", *sum([[str(i / 4), "m%d" % i] for i in range(n)], []))
    seen = {}
    cursor = b"0"
    calls = 0
    while True:
        cursor, items = client.send("ZSCAN", "z", cursor, "COUNT", "100")
        calls += 1
        for i in range(0, len(items), 2):
            seen[items[i]] = items[i + 1]
        if cursor == b"0":
            break
    assert calls >= 10
    assert len(seen) == n
    assert seen[b"m1"] == b"0.25"
    assert seen[b"m999"] == b"249.75"
    cursor, items = client.send("ZSCAN", "z", "0", "MATCH", "m99*", "COUNT", "2000")
    assert cursor == b"0" and len(items) == 2 * 11


# --- encodings, emptied keys, types -----------------------------------------------------------

def test_object_encoding(client):
    client.send("ZADD", "z", "1", "a")
    assert client.send("OBJECT", "ENCODING", "z") == b"listpack"
    client.send("ZADD", "z", *sum([[str(i), "m%d" % i] for i in range(127)], []))
    assert client.send("ZCARD", "z") == 128
    assert client.send("OBJECT", "ENCODING", "z") == b"listpack"
    client.send("ZADD", "z", "1", "one-more")
    assert client.send("OBJECT", "ENCODING", "z") == b"skiplist"
    client.send("ZREMRANGEBYRANK", "z", "0", "100")
    assert client.send("OBJECT", "ENCODING", "z") == b"skiplist"  # never converts back
    assert client.send("ZUNIONSTORE", "u", "1", "z") == 28
    assert client.send("OBJECT", "ENCODING", "u") == b"listpack"  # a stored result is fresh
    client.send("ZADD", "long", "1", "x" * 64)
    assert client.send("OBJECT", "ENCODING", "long") == b"listpack"
    client.send("ZADD", "long", "1", "x" * 65)
    assert client.send("OBJECT", "ENCODING", "long") == b"skiplist"
    client.send("ZADD", "k3", "1", "a")
    client.send("ZADD", "k3", "XX", "1", "b" * 65)  # not added: stays compact
    assert client.send("OBJECT", "ENCODING", "k3") == b"listpack"
    client.send("ZINCRBY", "k3", "1", "b" * 65)
    assert client.send("OBJECT", "ENCODING", "k3") == b"skiplist"
    client.send("ZADD", "dup", *(["1", "a"] * 129))
    assert client.send("OBJECT", "ENCODING", "dup") == b"listpack"


def test_every_command_checks_the_type(client):
    client.send("SET", "s", "x")
    for cmd in (("ZADD", "s", "1", "a"), ("ZINCRBY", "s", "1", "a"), ("ZREM", "s", "a"),
                ("ZCOUNT", "s", "0", "1"), ("ZLEXCOUNT", "s", "-", "+"),
                ("ZRANGE", "s", "0", "1"), ("ZRANGEBYSCORE", "s", "0", "1"),
                ("ZREVRANGEBYLEX", "s", "+", "-"), ("ZRANK", "s", "a"),
                ("ZREVRANK", "s", "a"), ("ZREMRANGEBYRANK", "s", "0", "1"),
                ("ZREMRANGEBYSCORE", "s", "0", "1"), ("ZREMRANGEBYLEX", "s", "-", "+"),
                ("ZINTERCARD", "1", "s"), ("ZRANDMEMBER", "s", "1"), ("ZSCAN", "s", "0"),
                ("ZRANGESTORE", "d", "s", "0", "1"), ("ZMSCORE", "s", "a")):
        assert err(client.send(*cmd)) == WRONGTYPE, cmd


def test_emptied_set_is_deleted_and_recreated_fresh(client):
    client.send("ZADD", "z", "1", "a", "2", "b")
    assert client.send("ZPOPMIN", "z", "5") == [b"a", b"1", b"b", b"2"]
    assert client.send("EXISTS", "z") == 0
    client.send("ZADD", "z", "5", "c")
    assert zset(client) == [(b"c", b"5")]
    client.send("DEL", "z")
    assert client.send("ZCARD", "z") == 0
    client.send("ZADD", "z", "1", "x")
    assert zset(client) == [(b"x", b"1")]
    assert client.send("ZRANK", "z", "c") is None


def test_rename_and_copy_keep_both_indexes(client):
    client.send("ZADD", "z", "1", "a", "2", "b")
    client.send("RENAME", "z", "y")
    assert zset(client, "y") == [(b"a", b"1"), (b"b", b"2")]
    assert client.send("ZSCORE", "y", "b") == b"2"
    client.send("COPY", "y", "w")
    client.send("ZADD", "w", "3", "c")
    assert client.send("ZCARD", "y") == 2
    assert client.send("ZRANGEBYSCORE", "w", "2", "3") == [b"b", b"c"]


def test_multi_exec_sees_its_own_writes(client):
    client.send("MULTI")
    client.send("ZADD", "z", "1", "a", "2", "b")
    client.send("ZINCRBY", "z", "5", "a")
    client.send("ZRANGE", "z", "0", "-1", "WITHSCORES")
    client.send("ZPOPMIN", "z")
    assert client.send("EXEC") == [2, b"6", [b"b", b"2", b"a", b"6"], [b"b", b"2"]]


def test_watch_sees_score_changes(client):
    other = client.server.new_client()
    client.send("ZADD", "z", "1", "a")
    client.send("WATCH", "z")
    other.send("ZINCRBY", "z", "1", "a")  # size unchanged, still a change
    client.send("MULTI")
    client.send("ZCARD", "z")
    assert client.send("EXEC") is None


def test_collection_layout(client):
    """Both indexes exist for each member, and nothing else is left after a removal."""
    client.send("ZADD", "z", "1.5", "a")
    ks = client.server.keyspace
    coll = zsets._open(client, b"z")
    assert coll.meta.type == ZSET and coll.meta.size == 1
    assert decode_score(coll.get(b"a")) == 1.5
    assert list(coll.zitems()) == [encode_score(1.5) + b"a"]
    client.send("ZADD", "z", "2", "a")
    assert list(coll.zitems()) == [encode_score(2.0) + b"a"]
    client.send("ZREM", "z", "a")
    assert list(coll.items()) == [] and list(coll.zitems()) == []
    assert ks.lookup(0, b"z") is None


def test_geo(client):
    """GEOADD..GEOSEARCHSTORE over a sorted set: scores, distances, coordinates and the search
    order of redis-server 7.0.15 (the resp-compatibility suite's Sicily cases)."""
    assert client.send("GEOADD", "Sicily", "13.361389", "38.115556", "Palermo",
                       "15.087269", "37.502669", "Catania") == 2
    assert client.send("ZSCORE", "Sicily", "Palermo") == b"3479099956230698"
    assert client.send("GEODIST", "Sicily", "Palermo", "Catania") == b"166274.1516"
    assert client.send("GEODIST", "Sicily", "Palermo", "Catania", "mi") == b"103.3182"
    assert client.send("GEOHASH", "Sicily", "Palermo", "Catania", "x") == [
        b"sqc8b49rny0", b"sqdtr74hyu0", None]
    assert client.send("GEOPOS", "Sicily", "Palermo", "NonExisting") == [
        [b"13.36138933897018433", b"38.11555639549629859"], None]
    assert client.send("GEORADIUS", "Sicily", "15", "37", "200", "km") == [b"Palermo", b"Catania"]
    assert client.send("GEORADIUS", "Sicily", "15", "37", "200", "KM", "COUNT", "1") == [
        b"Catania"]
    assert client.send("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1",
                       "ANY") == [b"Palermo"]
    assert client.send("GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST",
                       "WITHHASH") == [[b"Palermo", b"190.4424", 3479099956230698],
                                       [b"Catania", b"56.4413", 3479447370796909]]
    assert client.send("GEOADD", "Sicily", "12.758489", "38.788135", "edge1",
                       "17.241510", "38.788135", "edge2") == 2
    assert client.send("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400",
                       "km") == [b"Palermo", b"edge1", b"Catania", b"edge2"]
    assert client.send("GEOSEARCHSTORE", "here", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS",
                       "200", "km", "STOREDIST") == 3
    assert client.send("ZRANGE", "here", "0", "0", "WITHSCORES") == [b"Palermo", b"0"]
    assert err(client.send("GEOADD", "Sicily", "200", "38", "x")) == (
        "ERR invalid longitude,latitude pair 200.000000,38.000000")
    assert err(client.send("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "ASC", "ANY")) == (
        "ERR exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH")
    assert err(client.send("GEORADIUS", "Sicily", "15", "37", "1", "km", "STORE", "x",
                           "WITHDIST")) == ("ERR STORE option in GEORADIUS is not compatible "
                                            "with WITHDIST, WITHHASH and WITHCOORD options")
    assert err(client.send("GEORADIUS", "Sicily", "15", "37", "1", "parsec")) == (
        "ERR unsupported unit provided. please use M, KM, FT, MI")
    assert client.send("GEORADIUSBYMEMBER", "nokey", "x", "1", "km", "STORE", "here") == 0
    assert client.send("EXISTS", "here") == 0
