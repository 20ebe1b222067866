"""String commands through the real gate on in-memory engines; expected replies are Redis
7.0.15's (the same sequences run side by side in tests/integration/test_compare_core.py)."""
import pytest
from hiredis import ReplyError

from photon.keyspace.encoding import STRING

NOT_INT = "ERR value is not an integer or out of range"
SYNTAX = "ERR syntax error"


def err(reply) -> str:
    assert isinstance(reply, ReplyError), reply
    return str(reply)


def test_set_options(client):
    assert client.send("SET", "a", "1", "NX") == b"OK"
    assert client.send("SET", "a", "2", "NX") is None
    assert client.send("SET", "a", "3", "XX", "GET") == b"1"
    assert client.send("SET", "b", "3", "XX", "GET") is None
    assert client.send("EXISTS", "b") == 0
    assert client.send("SET", "c", "v", "NX", "GET") is None
    assert client.send("GET", "c") == b"v"


def test_repeated_expiry_option_keeps_the_last(client):
    assert client.send("SET", "a", "v", "EX", "10", "EX", "200") == b"OK"
    assert client.send("TTL", "a") == 200
    assert client.send("SET", "a", "v", "PX", "10", "PX", "300000") == b"OK"
    assert client.send("TTL", "a") == 300
    assert client.send("GETEX", "a", "EX", "5", "EX", "400") == b"v"
    assert client.send("TTL", "a") == 400


@pytest.mark.parametrize("args", [
    ("EX", "10", "PX", "10"), ("EX", "10", "KEEPTTL"), ("KEEPTTL", "PXAT", "1"), ("NX", "XX"),
    ("EX",), ("PERSIST",), ("EXAT", "1", "EX", "1"),
])
def test_set_syntax_errors(client, args):
    assert err(client.send("SET", "a", "v", *args)) == SYNTAX


@pytest.mark.parametrize("args", [("EX", "0"), ("PX", "-1"), ("EX", "9223372036854775"),
                                  ("PX", "9223372036854775807"), ("EXAT", "0")])
def test_set_invalid_expire(client, args):
    assert err(client.send("SET", "a", "v", *args)) == "ERR invalid expire time in 'set' command"


def test_getex_rules(client):
    assert client.send("GETEX", "missing", "EX", "0") is None  # no key: checked first
    client.send("SET", "g", "v")
    assert err(client.send("GETEX", "g", "EX", "0")) == "ERR invalid expire time in 'getex' command"
    assert err(client.send("GETEX", "g", "PERSIST", "EX", "1")) == SYNTAX
    assert err(client.send("GETEX", "g", "KEEPTTL")) == SYNTAX
    assert client.send("GETEX", "g", "PERSIST", "PERSIST") == b"v"
    assert client.send("GETEX", "g", "EXAT", "1") == b"v"
    assert client.send("EXISTS", "g") == 0


def test_incrbyfloat_result_is_never_int_encoded(client):
    assert client.send("INCRBYFLOAT", "f", "5") == b"5"
    assert client.send("OBJECT", "ENCODING", "f") == b"embstr"
    assert client.send("INCR", "f") == 6
    assert client.send("OBJECT", "ENCODING", "f") == b"int"
    assert client.send("INCRBYFLOAT", "f", "1e400")[:20] == b"10000000000000000000"
    assert client.send("INCRBYFLOAT", "g", "0x1p3") == b"8"
    assert err(client.send("INCRBYFLOAT", "g", "1e5000")) == "ERR value is not a valid float"
    assert err(client.send("INCRBYFLOAT", "g", "inf")) == (
        "ERR increment would produce NaN or Infinity")


def test_object_encodings(client):
    client.send("SET", "i", "123")
    client.send("SET", "e", "x" * 44)
    client.send("SET", "r", "x" * 45)
    client.send("APPEND", "a", "1")
    client.send("APPEND", "a2", "1")
    client.send("APPEND", "a2", "2")
    assert [client.send("OBJECT", "ENCODING", k) for k in ("i", "e", "r", "a", "a2")] == [
        b"int", b"embstr", b"raw", b"int", b"raw"]
    assert client.send("OBJECT", "REFCOUNT", "i") == 2147483647  # a shared integer
    assert client.send("OBJECT", "REFCOUNT", "e") == 1
    assert client.send("OBJECT", "IDLETIME", "e") == 0
    assert client.send("OBJECT", "FREQ", "missing") is None
    assert err(client.send("OBJECT", "FREQ", "e")).startswith(
        "ERR An LFU maxmemory policy is not selected")


def test_counters(client):
    client.send("SET", "i", "9223372036854775807")
    assert err(client.send("INCR", "i")) == "ERR increment or decrement would overflow"
    assert err(client.send("DECRBY", "x", "-9223372036854775808")) == (
        "ERR decrement would overflow")
    for bad in (" 1", "01", "+1", "1 ", "", "-0", "1.0"):
        client.send("SET", "s", bad)
        assert err(client.send("INCR", "s")) == NOT_INT


def test_ranges(client):
    client.send("SET", "r", "Hello World")
    assert client.send("GETRANGE", "r", "-1", "-5") == b""
    assert client.send("GETRANGE", "r", "-100", "4") == b"Hello"
    assert client.send("SETRANGE", "n", "3", "x") == 4
    assert client.send("GET", "n") == b"\0\0\0x"
    assert client.send("SETRANGE", "m", "5", "") == 0
    assert client.send("EXISTS", "m") == 0
    assert err(client.send("SETRANGE", "n", "536870912", "x")) == (
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    assert err(client.send("SETRANGE", "n", "-1", "x")) == "ERR offset is out of range"


def test_string_value_is_inline(server, client):
    client.send("SET", "k", "v")
    meta = server.keyspace.lookup(0, b"k")
    assert meta.type == STRING and meta.value == b"v"


def test_lcs(client):
    """LCS (Redis 7.0): the string, LEN, IDX ranges walked back from the end, MINMATCHLEN,
    WITHMATCHLEN; replies checked against redis-server 7.0.15 (resp-compatibility suite's cases)."""
    client.send("MSET", "key1", "ohmytext", "key2", "mynewtext", "s", "oh", "t", "och")
    assert client.send("LCS", "key1", "key2") == b"mytext"
    assert client.send("LCS", "key1", "key2", "LEN") == 6
    assert client.send("LCS", "key1", "key2", "IDX") == [
        b"matches", [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], b"len", 6]
    assert client.send("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN") == [
        b"matches", [[[4, 7], [5, 8], 4]], b"len", 6]
    assert client.send("LCS", "s", "t", "idx", "minmatchlen", "1", "withmatchlen") == [
        b"matches", [[[1, 1], [2, 2], 1], [[0, 0], [0, 0], 1]], b"len", 2]
    assert client.send("LCS", "s", "missing") == b""
    assert client.send("LCS", "missing", "nope", "IDX") == [b"matches", [], b"len", 0]
    client.send("HSET", "h", "f", "v")
    assert err(client.send("LCS", "s", "h")) == "ERR The specified keys must contain string values"
    assert err(client.send("LCS", "s", "t", "LEN", "IDX")) == (
        "ERR If you want both the length and indexes, please just use IDX.")
    assert err(client.send("LCS", "s", "t", "MINMATCHLEN")) == SYNTAX
    assert err(client.send("LCS", "s", "t", "IDX", "MINMATCHLEN", "x")) == NOT_INT


def test_hyperloglog(client):
    """PFADD / PFCOUNT / PFMERGE (hyperloglog.c): Redis's exact string layout (sparse, then
    dense past 3000 bytes), cached cardinality, counts; checked against redis-server 7.0.15."""
    assert client.send("PFADD", "hll", "a", "b", "c", "d", "e") == 1
    assert client.send("PFCOUNT", "hll") == 5
    assert client.send("GET", "hll") == (
        b"HYLL\x01\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00"
        b"\\{\x80Dv\x80P\xb1\x84I\x8c\x80Bm\x80BZ")
    assert client.send("PFADD", "hll", "a") == 0
    assert client.send("PFADD", "hll1", "0", "1") == 1
    assert client.send("PFADD", "hll2", "2", "3") == 1
    assert client.send("PFMERGE", "hll0", "hll1", "hll2") == b"OK"
    assert client.send("PFCOUNT", "hll0") == 4
    assert client.send("PFCOUNT", "hll", "hll0", "missing") == 9
    assert client.send("PFADD", "empty") == 1
    assert client.send("GET", "empty") == b"HYLL\x01" + bytes(10) + b"\x80\x7f\xff"
    assert client.send("PFADD", "big", *[f"x{i}" for i in range(5000)]) == 1
    assert client.send("STRLEN", "big") == 12304  # dense
    assert client.send("PFCOUNT", "big") == 4970
    client.send("SET", "str", "hello")
    assert str(client.send("PFADD", "str", "x")) == (
        "WRONGTYPE Key is not a valid HyperLogLog string value.")
    client.send("HSET", "h", "f", "v")
    assert str(client.send("PFCOUNT", "h")) == (
        "WRONGTYPE Operation against a key holding the wrong kind of value")
