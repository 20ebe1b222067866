"""List commands through the real gate on in-memory engines; replies and errors as Redis 7.0
gives them (checked against redis-server 7.0.15)."""
import asyncio
import struct

import hiredis
import pytest

from photon import config as cfg
from photon.commands import blocking, lists
from photon.keyspace import encoding as enc
from photon.keyspace.encoding import LIST
from photon.server import Server
from tests.unit.fakes import FakeServer

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "ERR value is not an integer or out of range"
RANK0 = ("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
         "or use negative to start from the end of the list")


@pytest.fixture(params=["memory", "leveldb"])
def server(request, tmp_path):
    """Every test on the in-memory engines and on LevelDB (plyvel's iterators have quirks
    the memory engine does not reproduce)."""
    if request.param == "memory":
        yield FakeServer()
        return
    from photon.storage.leveldb import LevelDBEngine

    srv = FakeServer.__new__(FakeServer)
    config = cfg.load({"http_port": "0", "data_dir": str(tmp_path), "node_id": "unit"}, env={})
    engines = [LevelDBEngine(tmp_path / f"shard-{i}") for i in range(2)]
    Server.__init__(srv, config, engines=engines, node_id="unit")
    yield srv
    for e in engines:
        e.close()


def err(reply) -> str:
    assert isinstance(reply, hiredis.ReplyError), reply
    return str(reply)


def raw(client, *args) -> bytes:
    argv = [a.encode() if isinstance(a, str) else a for a in args]
    return client.raw(b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a)
                                                       for a in argv))


def rng(client, key="l"):
    return client.send("LRANGE", key, "0", "-1")


def L(*xs):
    return [x.encode() for x in xs]


@pytest.fixture
def strkey(client):
    client.send("SET", "s", "v")
    return "s"


# --- layout -----------------------------------------------------------------------------------

def test_layout_is_kvrocks_head_tail(server, client):
    assert client.send("RPUSH", "l", "b", "c") == 2
    assert client.send("LPUSH", "l", "a") == 3
    ks = server.keyspace
    meta = ks.lookup(0, b"l")
    base = 1 << 63
    assert (meta.type, meta.size, meta.head, meta.tail) == (LIST, 3, base - 1, base + 2)
    prefix = enc.sub_prefix(0, b"l", meta.version)
    shard = ks.shard_of(b"l")
    got = [(struct.unpack(">Q", k[len(prefix):])[0], v)
           for k, v in ks.engines[shard].items(prefix, enc.prefix_end(prefix))]
    assert got == [(base - 1, b"a"), (base, b"b"), (base + 1, b"c")]


def test_emptied_list_is_deleted_and_recreated_fresh(server, client):
    client.send("RPUSH", "l", "a")
    v1 = server.keyspace.lookup(0, b"l").version
    assert client.send("LPOP", "l") == b"a"
    assert client.send("EXISTS", "l") == 0
    client.send("RPUSH", "l", "b")
    meta = server.keyspace.lookup(0, b"l")
    assert meta.version != v1 and meta.head == 1 << 63
    assert rng(client) == L("b")


def test_object_encoding_and_type(client):
    client.send("RPUSH", "l", "a")
    assert client.send("OBJECT", "ENCODING", "l") == b"quicklist"
    assert client.send("TYPE", "l") == b"list"


# --- push -------------------------------------------------------------------------------------

def test_push_order_and_length(client):
    assert client.send("LPUSH", "l", "a", "b", "c") == 3
    assert rng(client) == L("c", "b", "a")
    assert client.send("RPUSH", "l", "x", "y") == 5
    assert rng(client) == L("c", "b", "a", "x", "y")


def test_pushx(client, strkey):
    assert client.send("LPUSHX", "l", "a") == 0
    assert client.send("RPUSHX", "l", "a") == 0
    assert client.send("EXISTS", "l") == 0
    client.send("RPUSH", "l", "m")
    assert client.send("LPUSHX", "l", "a", "b") == 3
    assert client.send("RPUSHX", "l", "z") == 4
    assert rng(client) == L("b", "a", "m", "z")
    assert err(client.send("LPUSHX", strkey, "a")) == WRONGTYPE
    assert err(client.send("RPUSHX", strkey, "a")) == WRONGTYPE


def test_push_wrongtype_and_arity(client, strkey):
    assert err(client.send("LPUSH", strkey, "a")) == WRONGTYPE
    assert err(client.send("RPUSH", strkey, "a")) == WRONGTYPE
    assert err(client.send("LPUSH", "l")) == "ERR wrong number of arguments for 'lpush' command"


def test_binary_and_empty_elements(client):
    client.send("RPUSH", "l", b"\x00\xff", b"", b"a\r\nb")
    assert rng(client) == [b"\x00\xff", b"", b"a\r\nb"]
    assert client.send("LPOS", "l", "") == 1


# --- pop --------------------------------------------------------------------------------------

def test_pop_single(client):
    client.send("RPUSH", "l", "a", "b", "c")
    assert client.send("LPOP", "l") == b"a"
    assert client.send("RPOP", "l") == b"c"
    assert client.send("RPOP", "l") == b"b"
    assert client.send("RPOP", "l") is None
    assert client.send("EXISTS", "l") == 0


def test_pop_count(client):
    client.send("RPUSH", "l", "a", "b", "c", "d", "e")
    assert client.send("LPOP", "l", "2") == L("a", "b")
    assert client.send("RPOP", "l", "2") == L("e", "d")
    assert client.send("LPOP", "l", "0") == []
    assert client.send("LPOP", "l", "10") == L("c")
    assert client.send("EXISTS", "l") == 0


def test_pop_nil_shapes_resp2(client):
    assert raw(client, "LPOP", "l") == b"$-1\r\n"
    assert raw(client, "LPOP", "l", "1") == b"*-1\r\n"
    assert raw(client, "RPOP", "l", "0") == b"*-1\r\n"
    client.send("RPUSH", "l", "a")
    assert raw(client, "LPOP", "l", "0") == b"*0\r\n"


def test_pop_nil_shapes_resp3(client):
    client.send("HELLO", "3")
    assert raw(client, "LPOP", "l") == b"_\r\n"
    assert raw(client, "LPOP", "l", "1") == b"_\r\n"
    client.send("RPUSH", "l", "a")
    assert raw(client, "LPOP", "l", "0") == b"*0\r\n"


def test_pop_errors(client, strkey):
    positive = "ERR value is out of range, must be positive"
    assert err(client.send("LPOP", "l", "-1")) == positive
    assert err(client.send("LPOP", "l", "abc")) == positive
    assert err(client.send("RPOP", "l", "9223372036854775808")) == positive
    assert err(client.send("LPOP", "l", "1", "2")) == \
        "ERR wrong number of arguments for 'lpop' command"
    assert err(client.send("RPOP", "l", "1", "2")) == \
        "ERR wrong number of arguments for 'rpop' command"
    assert err(client.send("LPOP", strkey)) == WRONGTYPE
    assert err(client.send("LPOP", strkey, "0")) == WRONGTYPE
    assert err(client.send("LPOP", strkey, "-1")) == positive  # count is checked first


def test_pop_huge_count(client):
    client.send("RPUSH", "l", "a", "b")
    assert client.send("LPOP", "l", "9223372036854775807") == L("a", "b")


# --- LLEN LINDEX LRANGE -----------------------------------------------------------------------

def test_llen(client, strkey):
    assert client.send("LLEN", "l") == 0
    client.send("RPUSH", "l", "a", "b")
    assert client.send("LLEN", "l") == 2
    assert err(client.send("LLEN", strkey)) == WRONGTYPE


def test_lindex(client, strkey):
    client.send("RPUSH", "l", "a", "b", "c")
    assert [client.send("LINDEX", "l", str(i)) for i in range(-4, 4)] == \
        [None, b"a", b"b", b"c", b"a", b"b", b"c", None]
    assert client.send("LINDEX", "nokey", "abc") is None  # key looked up first
    assert err(client.send("LINDEX", "l", "abc")) == NOT_INT
    assert err(client.send("LINDEX", strkey, "abc")) == WRONGTYPE
    assert client.send("LINDEX", "l", "9223372036854775807") is None
    assert client.send("LINDEX", "l", "-9223372036854775808") is None


@pytest.mark.parametrize("start,stop,want", [
    (0, -1, "abcde"), (1, 3, "bcd"), (-2, -1, "de"), (-100, 1, "ab"), (3, 100, "de"),
    (4, 4, "e"), (5, 10, ""), (3, 1, ""), (-1, -2, ""), (0, 0, "a"), (-5, -5, "a"),
    (-6, -6, ""), (9223372036854775807, 1, ""), (-9223372036854775808, 9223372036854775807,
                                                  "abcde"),
])
def test_lrange(client, start, stop, want):
    client.send("RPUSH", "l", *"abcde")
    assert client.send("LRANGE", "l", str(start), str(stop)) == L(*want)


def test_lrange_errors(client, strkey):
    assert client.send("LRANGE", "nokey", "0", "-1") == []
    assert err(client.send("LRANGE", "nokey", "a", "1")) == NOT_INT
    assert err(client.send("LRANGE", strkey, "0", "b")) == NOT_INT
    assert err(client.send("LRANGE", strkey, "0", "1")) == WRONGTYPE


# --- LSET LINSERT LREM LTRIM ------------------------------------------------------------------

def test_lset(client, strkey):
    assert err(client.send("LSET", "nokey", "abc", "v")) == "ERR no such key"
    assert err(client.send("LSET", strkey, "0", "v")) == WRONGTYPE
    client.send("RPUSH", "l", "a", "b", "c")
    assert err(client.send("LSET", "l", "abc", "v")) == NOT_INT
    assert err(client.send("LSET", "l", "3", "v")) == "ERR index out of range"
    assert err(client.send("LSET", "l", "-4", "v")) == "ERR index out of range"
    assert client.send("LSET", "l", "-3", "x") == b"OK"
    assert client.send("LSET", "l", "2", "z") == b"OK"
    assert rng(client) == L("x", "b", "z")


def test_lset_marks_watch(server, client):
    client.send("RPUSH", "l", "a")
    client.send("WATCH", "l")
    other = server.new_client()
    other.send("LSET", "l", "0", "b")
    client.send("MULTI")
    client.send("LLEN", "l")
    assert raw(client, "EXEC") == b"*-1\r\n"


def test_linsert(client, strkey):
    assert client.send("LINSERT", "nokey", "BEFORE", "a", "b") == 0
    assert err(client.send("LINSERT", "nokey", "middle", "a", "b")) == "ERR syntax error"
    assert err(client.send("LINSERT", strkey, "middle", "a", "b")) == "ERR syntax error"
    assert err(client.send("LINSERT", strkey, "before", "a", "b")) == WRONGTYPE
    client.send("RPUSH", "l", "a", "b", "c", "a")
    assert client.send("LINSERT", "l", "before", "z", "x") == -1
    assert client.send("LINSERT", "l", "before", "a", "x") == 5
    assert client.send("LINSERT", "l", "AFTER", "a", "y") == 6
    assert rng(client) == L("x", "a", "y", "b", "c", "a")
    assert client.send("LINSERT", "l", "after", "a", "END") == 7  # first pivot only
    assert rng(client) == L("x", "a", "END", "y", "b", "c", "a")


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_linsert_every_position(client, n):
    """Insert before and after each element: both shifting sides give the right order."""
    items = [str(i) for i in range(n)]
    for i in range(n):
        for where, offset in (("BEFORE", 0), ("AFTER", 1)):
            client.send("DEL", "l")
            client.send("RPUSH", "l", *items)
            assert client.send("LINSERT", "l", where, str(i), "new") == n + 1
            want = items[:i + offset] + ["new"] + items[i + offset:]
            assert rng(client) == L(*want)
            assert client.send("LLEN", "l") == n + 1
            assert client.send("LINDEX", "l", "-1") == want[-1].encode()


def test_lrem(client, strkey):
    assert err(client.send("LREM", "nokey", "abc", "x")) == NOT_INT
    assert err(client.send("LREM", strkey, "abc", "x")) == NOT_INT
    assert err(client.send("LREM", strkey, "0", "x")) == WRONGTYPE
    assert client.send("LREM", "nokey", "0", "a") == 0
    client.send("RPUSH", "l", *"abacada")
    assert client.send("LREM", "l", "2", "a") == 2
    assert rng(client) == L(*"bcada")
    assert client.send("LREM", "l", "-1", "a") == 1
    assert rng(client) == L(*"bcad")
    assert client.send("LREM", "l", "0", "z") == 0
    assert client.send("LREM", "l", "0", "a") == 1
    assert rng(client) == L(*"bcd")
    assert client.send("LREM", "l", "-9223372036854775808", "d") == 1
    assert client.send("LREM", "l", "0", "b") == 1
    assert client.send("LREM", "l", "0", "c") == 1
    assert client.send("EXISTS", "l") == 0


@pytest.mark.parametrize("pattern", ["axxxxxxa", "aaaxxxxx", "xxxxxaaa", "axaxaxax",
                                     "xxxaaxxx", "aaaaaaaa", "a", "x"])
@pytest.mark.parametrize("count", [0, 1, 2, -1, -2, 100, -100])
def test_lrem_matches_python_model(client, pattern, count):
    elems = [f"{ch}{i}" if ch == "x" else "a" for i, ch in enumerate(pattern)]
    client.send("RPUSH", "l", *elems)
    want = list(elems)
    removed = 0
    idxs = [i for i, e in enumerate(want) if e == "a"]
    if count < 0:
        idxs.reverse()
    if count:
        idxs = idxs[:abs(count)]
    for i in sorted(idxs, reverse=True):
        del want[i]
        removed += 1
    assert client.send("LREM", "l", str(count), "a") == removed
    assert rng(client) == L(*want)
    assert client.send("LLEN", "l") == len(want)
    if want:
        assert client.send("LINDEX", "l", "0") == want[0].encode()
        assert client.send("RPOP", "l") == want[-1].encode()


@pytest.mark.parametrize("start,stop", [
    (0, -1), (1, 2), (0, 0), (-1, -1), (2, 100), (-100, 1), (5, 2), (10, 20), (-1, -2),
])
def test_ltrim(client, start, stop):
    items = list("abcdef")
    client.send("RPUSH", "l", *items)
    assert client.send("LTRIM", "l", str(start), str(stop)) == b"OK"
    s, e = start, stop
    n = len(items)
    s = s + n if s < 0 else s
    e = e + n if e < 0 else e
    s = max(s, 0)
    want = [] if s > e or s >= n else items[s:min(e, n - 1) + 1]
    assert rng(client) == L(*want)
    assert client.send("EXISTS", "l") == (1 if want else 0)
    if want:
        client.send("LPUSH", "l", "<")
        client.send("RPUSH", "l", ">")
        assert rng(client) == L("<", *want, ">")


def test_ltrim_errors(client, strkey):
    assert err(client.send("LTRIM", "nokey", "a", "b")) == NOT_INT
    assert err(client.send("LTRIM", strkey, "a", "1")) == NOT_INT
    assert err(client.send("LTRIM", strkey, "0", "1")) == WRONGTYPE
    assert client.send("LTRIM", "nokey", "0", "1") == b"OK"


# --- LPOS -------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,want", [
    ([], 0), (["RANK", "2"], 2), (["RANK", "-1"], 6), (["RANK", "-2", "COUNT", "0"], [4, 2, 0]),
    (["COUNT", "2", "RANK", "2"], [2, 4]), (["COUNT", "0", "MAXLEN", "3"], [0, 2]),
    (["COUNT", "0", "MAXLEN", "0"], [0, 2, 4, 6]), (["RANK", "-1", "MAXLEN", "1"], 6),
    (["RANK", "5"], None), (["COUNT", "1", "COUNT", "2"], [0, 2]), (["RANK", "1", "rank", "3"], 4),
    (["COUNT", "9223372036854775807"], [0, 2, 4, 6]),
    (["RANK", "-9223372036854775808"], 6),  # Redis: LONG_MIN stays negative, matches at once
    (["RANK", "-9223372036854775808", "COUNT", "2"], [6, 4, 2, 0]),
    (["RANK", "-9223372036854775807"], None), (["RANK", "2", "MAXLEN", "2"], None),
    (["RANK", "-1", "COUNT", "1", "MAXLEN", "2"], [6]),
])
def test_lpos(client, args, want):
    client.send("RPUSH", "l", *"abacada")
    assert client.send("LPOS", "l", "a", *args) == want


def test_lpos_missing_and_errors(client, strkey):
    assert client.send("LPOS", "nokey", "a") is None
    assert client.send("LPOS", "nokey", "a", "COUNT", "0") == []
    client.send("RPUSH", "l", "a", "b")
    assert client.send("LPOS", "l", "z") is None
    assert client.send("LPOS", "l", "z", "COUNT", "2") == []
    assert err(client.send("LPOS", "l", "a", "RANK", "0")) == RANK0
    assert err(client.send("LPOS", "nokey", "a", "RANK", "0")) == RANK0
    assert err(client.send("LPOS", "l", "a", "COUNT", "-1")) == "ERR COUNT can't be negative"
    assert err(client.send("LPOS", "l", "a", "COUNT", "abc")) == "ERR COUNT can't be negative"
    assert err(client.send("LPOS", "l", "a", "MAXLEN", "-1")) == "ERR MAXLEN can't be negative"
    assert err(client.send("LPOS", "l", "a", "MAXLEN", "9223372036854775808")) == \
        "ERR MAXLEN can't be negative"
    assert err(client.send("LPOS", "l", "a", "RANK", "x")) == NOT_INT
    assert err(client.send("LPOS", "l", "a", "RANK")) == "ERR syntax error"
    assert err(client.send("LPOS", "l", "a", "foo")) == "ERR syntax error"
    assert err(client.send("LPOS", "l", "a", "RANK", "0", "COUNT", "-1")) == RANK0
    assert err(client.send("LPOS", "l", "a", "COUNT", "-1", "RANK", "0")) == \
        "ERR COUNT can't be negative"
    assert err(client.send("LPOS", "l", "a", "foo", "RANK", "0")) == "ERR syntax error"
    assert err(client.send("LPOS", "l", "a", "RANK", "1", "foo")) == "ERR syntax error"
    assert err(client.send("LPOS", strkey, "a")) == WRONGTYPE
    assert err(client.send("LPOS", strkey, "a", "COUNT", "1")) == WRONGTYPE


# --- LMOVE RPOPLPUSH LMPOP --------------------------------------------------------------------

@pytest.mark.parametrize("wf,wt,src,dst", [
    ("LEFT", "LEFT", "bc", "ad"), ("LEFT", "RIGHT", "bc", "da"),
    ("RIGHT", "LEFT", "ab", "cd"), ("RIGHT", "RIGHT", "ab", "dc"),
])
def test_lmove_directions(client, wf, wt, src, dst):
    client.send("RPUSH", "s", "a", "b", "c")
    client.send("RPUSH", "d", "d")
    moved = client.send("LMOVE", "s", "d", wf, wt)
    assert moved == (b"a" if wf == "LEFT" else b"c")
    assert rng(client, "s") == L(*src)
    assert rng(client, "d") == L(*dst)


def test_lmove_same_list_rotates(client):
    client.send("RPUSH", "l", "a", "b", "c")
    assert client.send("LMOVE", "l", "l", "left", "right") == b"a"
    assert rng(client) == L("b", "c", "a")
    assert client.send("LMOVE", "l", "l", "right", "left") == b"a"
    assert rng(client) == L("a", "b", "c")
    assert client.send("RPOPLPUSH", "l", "l") == b"c"
    assert rng(client) == L("c", "a", "b")
    client.send("DEL", "l")
    client.send("RPUSH", "l", "x")
    assert client.send("LMOVE", "l", "l", "left", "left") == b"x"
    assert rng(client) == L("x")


def test_lmove_creates_and_deletes(client):
    client.send("RPUSH", "s", "a")
    assert client.send("LMOVE", "s", "d", "LEFT", "RIGHT") == b"a"
    assert client.send("EXISTS", "s") == 0
    assert rng(client, "d") == L("a")


def test_lmove_errors(client, strkey):
    assert client.send("LMOVE", "nokey", "l", "left", "right") is None
    assert client.send("LMOVE", "nokey", strkey, "left", "right") is None
    assert client.send("RPOPLPUSH", "nokey", strkey) is None
    assert err(client.send("LMOVE", "nokey", "l", "middle", "right")) == "ERR syntax error"
    assert err(client.send("LMOVE", "nokey", "l", "left", "up")) == "ERR syntax error"
    assert err(client.send("LMOVE", strkey, "l", "left", "right")) == WRONGTYPE
    client.send("RPUSH", "l", "a")
    assert err(client.send("LMOVE", "l", strkey, "left", "right")) == WRONGTYPE
    assert err(client.send("RPOPLPUSH", "l", strkey)) == WRONGTYPE
    assert err(client.send("RPOPLPUSH", strkey, "l")) == WRONGTYPE
    assert rng(client) == L("a")  # nothing popped


def test_lmpop(client, strkey):
    client.send("RPUSH", "l", "a", "b", "c", "d")
    assert client.send("LMPOP", "2", "nokey", "l", "RIGHT") == [b"l", [b"d"]]
    assert client.send("LMPOP", "2", "nokey", "l", "left", "COUNT", "2") == [b"l", L("a", "b")]
    assert client.send("LMPOP", "2", "nokey", "l", "left", "count", "10") == [b"l", L("c")]
    assert raw(client, "LMPOP", "1", "nokey", "LEFT") == b"*-1\r\n"
    assert err(client.send("LMPOP", "2", "nokey", strkey, "left")) == WRONGTYPE
    assert err(client.send("LMPOP", "2", strkey, "nokey", "left")) == WRONGTYPE
    client.send("RPUSH", "l", "a")
    assert client.send("LMPOP", "2", "l", strkey, "left") == [b"l", L("a")]


@pytest.mark.parametrize("args,error", [
    (["0", "a", "left"], "ERR numkeys should be greater than 0"),
    (["-1", "a", "left"], "ERR numkeys should be greater than 0"),
    (["abc", "a", "left"], "ERR numkeys should be greater than 0"),
    (["2", "a", "left"], "ERR syntax error"),
    (["3", "a", "left"], "ERR syntax error"),
    (["9223372036854775807", "a", "left"], "ERR syntax error"),
    (["1", "a", "middle"], "ERR syntax error"),
    (["1", "a", "left", "count"], "ERR syntax error"),
    (["1", "a", "left", "count", "0"], "ERR count should be greater than 0"),
    (["1", "a", "left", "count", "-1"], "ERR count should be greater than 0"),
    (["1", "a", "left", "count", "abc"], "ERR count should be greater than 0"),
    (["1", "a", "left", "count", "9223372036854775808"], "ERR count should be greater than 0"),
    (["1", "a", "left", "count", "1", "count", "2"], "ERR syntax error"),
    (["1", "a", "left", "foo"], "ERR syntax error"),
    (["1", "a"], "ERR wrong number of arguments for 'lmpop' command"),
])
def test_lmpop_errors(client, args, error):
    assert err(client.send("LMPOP", *args)) == error


def test_mpop_keys_for_command_getkeys(client):
    assert client.send("COMMAND", "GETKEYS", "LMPOP", "2", "a", "b", "LEFT") == L("a", "b")
    assert client.send("COMMAND", "GETKEYS", "BLMPOP", "0", "1", "a", "LEFT") == L("a")
    assert client.send("COMMAND", "GETKEYS", "BLPOP", "a", "b", "0") == L("a", "b")
    assert client.send("COMMAND", "GETKEYS", "LMOVE", "a", "b", "LEFT", "LEFT") == L("a", "b")


# --- expiry -----------------------------------------------------------------------------------

def test_expired_list_is_missing(server, client):
    client.send("RPUSH", "l", "a", "b")
    client.send("PEXPIRE", "l", "1")
    server.keyspace.clock_ms += 10_000
    ks = server.keyspace
    ks.tick = lambda: ks.clock_ms  # keep the clock moved forward
    assert client.send("LLEN", "l") == 0
    assert client.send("RPUSH", "l", "c") == 1
    assert rng(client) == L("c")
    assert client.send("TTL", "l") == -1


def test_push_keeps_ttl(client):
    client.send("RPUSH", "l", "a")
    client.send("EXPIRE", "l", "100")
    client.send("RPUSH", "l", "b")
    client.send("LPOP", "l")
    assert 0 < client.send("TTL", "l") <= 100


# --- blocking commands that do not block ------------------------------------------------------

def test_blocking_pops_serve_at_once(client):
    client.send("RPUSH", "l", "a", "b", "c")
    assert client.send("BLPOP", "nokey", "l", "0") == L("l", "a")
    assert client.send("BRPOP", "l", "nokey", "0") == L("l", "c")
    assert client.send("BLMOVE", "l", "d", "LEFT", "RIGHT", "0") == b"b"
    client.send("RPUSH", "l", "x", "y", "z")
    assert client.send("BRPOPLPUSH", "l", "d", "0") == b"z"
    assert client.send("BLMPOP", "0", "2", "nokey", "l", "LEFT", "COUNT", "5") == \
        [b"l", L("x", "y")]
    assert rng(client, "d") == L("z", "b")


def test_blocking_errors(client, strkey):
    tf = "ERR timeout is not a float or out of range"
    neg = "ERR timeout is negative"
    assert err(client.send("BLPOP", "x", "abc")) == tf
    assert err(client.send("BLPOP", "x", "-1")) == neg
    assert err(client.send("BLPOP", "x", "inf")) == neg
    assert err(client.send("BLPOP", "x", "1e16")) == neg
    assert err(client.send("BLPOP", "x", "1_0")) == tf
    assert err(client.send("BLPOP", strkey, "abc")) == tf  # timeout first
    assert err(client.send("BLPOP", strkey, "0")) == WRONGTYPE
    assert err(client.send("BLPOP", "x", strkey, "0")) == WRONGTYPE
    assert err(client.send("BRPOP", strkey, "x", "0")) == WRONGTYPE
    assert err(client.send("BLMPOP", "abc", "1", "a", "left")) == tf
    assert err(client.send("BLMPOP", "0.01", "0", "a", "left")) == \
        "ERR numkeys should be greater than 0"
    assert err(client.send("BLMPOP", "-1", "1", "a", "left")) == neg
    assert err(client.send("BLMPOP", "abc", "0", "a", "left")) == \
        "ERR numkeys should be greater than 0"
    assert err(client.send("BLMPOP", "abc", "1", "a", "foo")) == "ERR syntax error"
    assert err(client.send("BLMPOP", "0", "1", strkey, "left")) == WRONGTYPE
    assert err(client.send("BLMPOP", "0", "1", "a", "left", "count", "0")) == \
        "ERR count should be greater than 0"
    assert err(client.send("BLMOVE", "x", "y", "left", "right", "abc")) == tf
    assert err(client.send("BLMOVE", "x", "y", "foo", "right", "abc")) == "ERR syntax error"
    assert err(client.send("BLMOVE", "x", "y", "left", "right", "-1")) == neg
    assert err(client.send("BLMOVE", strkey, "x", "left", "right", "0")) == WRONGTYPE
    assert err(client.send("BRPOPLPUSH", "x", "y", "abc")) == tf
    client.send("RPUSH", "l", "a")
    assert err(client.send("BLMOVE", "l", strkey, "left", "right", "0")) == WRONGTYPE


def test_blocking_inside_multi_never_blocks(client):
    client.send("MULTI")
    for cmd in (["BLPOP", "l", "0"], ["BRPOP", "l", "0"], ["BLMOVE", "l", "m", "LEFT", "LEFT", "0"],
                ["BRPOPLPUSH", "l", "m", "0"], ["BLMPOP", "0", "1", "l", "LEFT"],
                ["BLPOP", "l", "abc"]):
        assert client.send(*cmd) == b"QUEUED"
    assert raw(client, "EXEC") == (b"*6\r\n*-1\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n"
                                   b"-ERR timeout is not a float or out of range\r\n")


def test_blocking_inside_multi_resp3(client):
    client.send("HELLO", "3")
    client.send("MULTI")
    client.send("BLPOP", "l", "0")
    client.send("BLMOVE", "l", "m", "LEFT", "LEFT", "0")
    assert raw(client, "EXEC") == b"*2\r\n_\r\n_\r\n"


# --- timeout parsing --------------------------------------------------------------------------

@pytest.mark.parametrize("text,seconds", [
    ("0", 0), ("1", 1), ("0.5", 0.5), (".01", 0.01), ("1.", 1), ("-0.0001", 0), ("0.0001", 0.001),
    ("1e-300", 0.001), ("-1e-300", 0), ("0x10", 16), ("0x1p-1", 0.5), ("+2", 2), ("1E2", 100),
    ("9223372036854775", 9223372036854775), ("0e999999", 0),
])
def test_parse_timeout(text, seconds):
    assert blocking.parse_timeout(text.encode()) == pytest.approx(seconds)


@pytest.mark.parametrize("text,error", [
    ("abc", "not a float"), ("", "not a float"), (" 1", "not a float"), ("1 ", "not a float"),
    ("1_0", "not a float"), ("nan", "not a float"), ("0x", "not a float"), ("1e", "not a float"),
    ("1e5000", "not a float"), ("1e-5000", "not a float"), ("-1", "negative"),
    ("inf", "negative"), ("-inf", "negative"), ("1e16", "negative"),
    ("9223372036854776", "negative"), ("1e300", "negative"), ("-1e300", "negative"),
])
def test_parse_timeout_errors(text, error):
    with pytest.raises(Exception) as e:
        blocking.parse_timeout(text.encode())
    assert error in e.value.message


# --- blocking with a running loop (fake clients) -----------------------------------------------

def _run(coro):
    return asyncio.run(coro)


def test_block_then_push_serves_in_fifo_order(server):
    async def main():
        a, b, p = server.new_client(), server.new_client(), server.new_client()
        a.send("BLPOP", "l", "0")
        b.send("BLPOP", "l", "0")
        assert a.blocked is not None and b.blocked is not None
        assert p.send("RPUSH", "l", "x", "y", "z") == 3
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert a.blocked is None and b.blocked is None
        assert _decode(a) == L("l", "x")
        assert _decode(b) == L("l", "y")
        assert p.send("LRANGE", "l", "0", "-1") == L("z")
    _run(main())


def test_block_serves_from_the_ready_key(server):
    async def main():
        a, p = server.new_client(), server.new_client()
        a.send("BLPOP", "k1", "k2", "0")
        p.send("MULTI")
        p.send("RPUSH", "k2", "x")
        p.send("RPUSH", "k1", "y")
        p.send("EXEC")
        for _ in range(3):
            await asyncio.sleep(0)
        assert _decode(a) == L("k2", "x")
    _run(main())


def test_exec_push_then_pop_leaves_nothing(server):
    async def main():
        a, p = server.new_client(), server.new_client()
        a.send("BLPOP", "l", "0")
        p.send("MULTI")
        p.send("RPUSH", "l", "x")
        p.send("RPOP", "l")
        assert p.send("EXEC") == [1, b"x"]
        for _ in range(3):
            await asyncio.sleep(0)
        assert a.blocked is not None
        p.send("RPUSH", "l", "y")
        for _ in range(3):
            await asyncio.sleep(0)
        assert _decode(a) == L("l", "y")
    _run(main())


def test_pipelined_push_then_pop_serves_the_blocked_first(server):
    async def main():
        a, p = server.new_client(), server.new_client()
        a.send("BLPOP", "l", "0")
        argv = [[b"RPUSH", b"l", b"x"], [b"RPOP", b"l"]]
        out = p.raw(b"".join(b"*%d\r\n" % len(c) + b"".join(b"$%d\r\n%b\r\n" % (len(x), x)
                                                          for x in c) for c in argv))
        assert out == b":1\r\n$-1\r\n"
        for _ in range(3):
            await asyncio.sleep(0)
        assert _decode(a) == L("l", "x")
    _run(main())


def test_blmove_chain(server):
    async def main():
        a, b, p = server.new_client(), server.new_client(), server.new_client()
        a.send("BLMOVE", "l1", "l2", "LEFT", "RIGHT", "0")
        b.send("BLPOP", "l2", "0")
        p.send("RPUSH", "l1", "v")
        for _ in range(3):
            await asyncio.sleep(0)
        assert _decode(a) == b"v"
        assert _decode(b) == L("l2", "v")
        assert p.send("EXISTS", "l1", "l2") == 0
    _run(main())


def test_blmove_dst_wrongtype_when_served(server):
    async def main():
        a, p = server.new_client(), server.new_client()
        p.send("SET", "s", "v")
        a.send("BLMOVE", "src", "s", "LEFT", "RIGHT", "0")
        assert a.blocked is not None
        p.send("RPUSH", "src", "a")
        for _ in range(3):
            await asyncio.sleep(0)
        assert str(_decode(a)) == WRONGTYPE
        assert p.send("LRANGE", "src", "0", "-1") == L("a")
    _run(main())


def test_wrong_type_while_blocked_keeps_waiting(server):
    async def main():
        a, p = server.new_client(), server.new_client()
        a.send("BLPOP", "x", "0")
        p.send("SET", "x", "v")
        await asyncio.sleep(0.01)
        assert a.blocked is not None
        p.send("DEL", "x")
        p.send("RPUSH", "x", "a")
        await asyncio.sleep(0.01)
        assert _decode(a) == L("x", "a")
    _run(main())


def test_blocked_client_in_other_db_is_not_served(server):
    async def main():
        a, p = server.new_client(), server.new_client()
        a.send("SELECT", "1")
        a.send("BLPOP", "l", "0.05")
        p.send("RPUSH", "l", "q")
        await asyncio.sleep(0.2)
        assert raw_reply(a) == b"*-1\r\n"
        assert p.send("LRANGE", "l", "0", "-1") == L("q")
    _run(main())


def test_timeout_and_later_commands_wait(server):
    async def main():
        a = server.new_client()
        a.transport.data.clear()
        a.data_received(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nl\r\n$4\r\n0.05\r\n*1\r\n$4\r\nPING\r\n")
        assert bytes(a.transport.data) == b""
        await asyncio.sleep(0.2)
        assert bytes(a.transport.data) == b"*-1\r\n+PONG\r\n"
    _run(main())


def test_blmpop_blocked_pops_count(server):
    async def main():
        a, p = server.new_client(), server.new_client()
        a.send("BLMPOP", "0", "2", "x", "l", "RIGHT", "COUNT", "2")
        p.send("RPUSH", "l", "a", "b", "c")
        for _ in range(3):
            await asyncio.sleep(0)
        assert _decode(a) == [b"l", L("c", "b")]
    _run(main())


def test_client_unblock_api(server):
    async def main():
        a, b = server.new_client(), server.new_client()
        a.send("BLPOP", "l", "0")
        b.send("BLMOVE", "l", "m", "LEFT", "LEFT", "0")
        reg = server.blocking
        assert reg.unblock(a) is True
        assert reg.unblock(b, error=True) is True
        assert reg.unblock(a) is False
        await asyncio.sleep(0)
        assert raw_reply(a) == b"*-1\r\n"
        assert str(_decode(b)) == "UNBLOCKED client unblocked via CLIENT UNBLOCK"
        assert not reg.by_key
    _run(main())


def test_disconnected_waiter_is_forgotten(server):
    async def main():
        a, p = server.new_client(), server.new_client()
        a.send("BLPOP", "l", "0")
        a.connection_lost(None)
        await asyncio.sleep(0)
        assert not server.blocking.by_key
        p.send("RPUSH", "l", "x")
        assert p.send("LLEN", "l") == 1
    _run(main())


def raw_reply(c) -> bytes:
    data = bytes(c.transport.data)
    c.transport.data.clear()
    return data


def _decode(c):
    reader = hiredis.Reader()
    reader.feed(raw_reply(c))
    return reader.gets()


def test_module_helpers(server):
    ks = server.keyspace
    coll = lists.open_or_create(ks, 0, b"h")
    lists.push(coll, [b"1", b"2", b"3"], False)
    assert lists.values(coll) == [b"1", b"2", b"3"]
    assert lists.pop(coll, False, 2) == [b"3", b"2"]
    assert lists.element(coll, -1) == b"1"
    coll.save()
    ks.commit()
    assert ks.lookup(0, b"h").size == 1


def test_reverse_scans_of_one_element(client):
    """plyvel's reverse range iterator drops a range whose last key equals its start."""
    client.send("RPUSH", "l", "a")
    assert client.send("LREM", "l", "-1", "a") == 1
    client.send("RPUSH", "l", "a", "b", "c", "d", "e")
    assert client.send("LPOS", "l", "e", "RANK", "-1", "MAXLEN", "1") == 4
    assert client.send("LINSERT", "l", "BEFORE", "e", "x") == 6
    assert rng(client) == L("a", "b", "c", "d", "x", "e")
    assert client.send("RPOP", "l", "1") == L("e")


def test_hold_defers_serving_until_released(server):
    async def main():
        a, p = server.new_client(), server.new_client()
        a.send("BLPOP", "l", "0")
        with blocking.hold(server):
            p.send("RPUSH", "l", "x")
            await asyncio.sleep(0.01)
            assert a.blocked is not None
        for _ in range(3):
            await asyncio.sleep(0)
        assert _decode(a) == L("l", "x")
    _run(main())


def test_databases_changed_readies_waited_keys(server):
    async def main():
        a, p = server.new_client(), server.new_client()
        a.send("BLPOP", "l", "0")
        ks = server.keyspace
        coll = lists.open_or_create(ks, 0, b"l")
        lists.push(coll, [b"v"], False)
        coll.save()
        ks.touched.clear()  # as if written behind the registry's back (SWAPDB)
        ks.commit()
        await asyncio.sleep(0.01)
        assert a.blocked is not None
        server.blocking.databases_changed([0])
        for _ in range(3):
            await asyncio.sleep(0)
        assert _decode(a) == L("l", "v")
    _run(main())


def test_deny_blocking_answers_at_once(client):
    client.deny_blocking = True
    assert raw(client, "BLPOP", "l", "0") == b"*-1\r\n"
    assert raw(client, "BLMOVE", "l", "m", "LEFT", "LEFT", "0") == b"$-1\r\n"
    assert raw(client, "BLMPOP", "0", "1", "l", "LEFT") == b"*-1\r\n"
