"""Hash commands against the in-memory server: replies, errors and encodings as Redis 7.0."""
import hiredis
import pytest

from photon.commands import sampling

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def err(reply) -> str:
    assert isinstance(reply, hiredis.ReplyError), reply
    return str(reply)


def enc(client, key):
    return client.send("OBJECT", "ENCODING", key)


# --- HSET / HMSET / HSETNX / HGET ------------------------------------------------------------

def test_hset_counts_new_fields_only(client):
    assert client.send("HSET", "h", "a", "1", "b", "2") == 2
    assert client.send("HSET", "h", "a", "10", "c", "3") == 1
    assert client.send("HSET", "h", "d", "1", "d", "2") == 1  # same field twice: one new
    assert client.send("HGET", "h", "d") == b"2"
    assert client.send("HGET", "h", "a") == b"10"
    assert client.send("HLEN", "h") == 4
    assert client.send("TYPE", "h") == b"hash"


def test_hset_arity(client):
    assert err(client.send("HSET", "h", "a")) == "ERR wrong number of arguments for 'hset' command"
    assert err(client.send("HSET", "h", "a", "b", "c")) == \
        "ERR wrong number of arguments for 'hset' command"
    assert err(client.send("HMSET", "h", "a", "b", "c")) == \
        "ERR wrong number of arguments for 'hmset' command"
    assert err(client.send("HSET", "h")) == "ERR wrong number of arguments for 'hset' command"
    assert client.send("EXISTS", "h") == 0


def test_hmset_replies_ok(client):
    assert client.send("HMSET", "h", "a", "1", "b", "2") == b"OK"
    assert client.send("HMGET", "h", "a", "b", "c") == [b"1", b"2", None]


def test_hsetnx(client):
    assert client.send("HSETNX", "h", "a", "1") == 1
    assert client.send("HSETNX", "h", "a", "2") == 0
    assert client.send("HGET", "h", "a") == b"1"
    assert client.send("HLEN", "h") == 1


def test_binary_and_empty_fields(client):
    assert client.send("HSET", "h", b"", b"", b"\x00\xff", b"\r\n") == 2
    assert client.send("HGET", "h", b"") == b""
    assert client.send("HGET", "h", b"\x00\xff") == b"\r\n"
    assert client.send("HSTRLEN", "h", b"") == 0
    assert client.send("HEXISTS", "h", b"") == 1


def test_missing_key_replies(client):
    assert client.send("HGET", "no", "a") is None
    assert client.send("HMGET", "no", "a", "b") == [None, None]
    assert client.send("HGETALL", "no") == []
    assert client.send("HKEYS", "no") == []
    assert client.send("HVALS", "no") == []
    assert client.send("HLEN", "no") == 0
    assert client.send("HSTRLEN", "no", "a") == 0
    assert client.send("HEXISTS", "no", "a") == 0
    assert client.send("HDEL", "no", "a") == 0
    assert client.send("HRANDFIELD", "no") is None
    assert client.send("HRANDFIELD", "no", "3") == []
    assert client.send("HRANDFIELD", "no", "-3", "WITHVALUES") == []
    assert client.send("HSCAN", "no", "0") == [b"0", []]
    assert client.send("HSCAN", "no", "0", "COUNT", "0") == [b"0", []]  # options unread
    assert client.send("EXISTS", "no") == 0


@pytest.mark.parametrize("args", [
    ("HSET", "s", "a", "1"), ("HMSET", "s", "a", "1"), ("HSETNX", "s", "a", "1"),
    ("HGET", "s", "a"), ("HMGET", "s", "a"), ("HGETALL", "s"), ("HKEYS", "s"), ("HVALS", "s"),
    ("HDEL", "s", "a"), ("HEXISTS", "s", "a"), ("HLEN", "s"), ("HSTRLEN", "s", "a"),
    ("HINCRBY", "s", "a", "1"), ("HINCRBYFLOAT", "s", "a", "1"), ("HRANDFIELD", "s"),
    ("HRANDFIELD", "s", "0"), ("HRANDFIELD", "s", "-2", "WITHVALUES"), ("HSCAN", "s", "0"),
])
def test_wrongtype(client, args):
    client.send("SET", "s", "x")
    assert err(client.send(*args)) == WRONGTYPE
    assert client.send("GET", "s") == b"x"


def test_hgetall_hkeys_hvals(client):
    client.send("HSET", "h", "b", "2", "a", "1", "c", "3")
    assert client.send("HGETALL", "h") == [b"a", b"1", b"b", b"2", b"c", b"3"]
    assert client.send("HKEYS", "h") == [b"a", b"b", b"c"]
    assert client.send("HVALS", "h") == [b"1", b"2", b"3"]


def test_hgetall_is_a_map_in_resp3(client):
    client.send("HELLO", "3")
    client.send("HSET", "h", "a", "1", "b", "2")
    assert client.send("HGETALL", "h") == {b"a": b"1", b"b": b"2"}
    assert client.raw(b"*2\r\n$7\r\nHGETALL\r\n$2\r\nno\r\n") == b"%0\r\n"
    assert client.raw(b"*3\r\n$4\r\nHGET\r\n$2\r\nno\r\n$1\r\na\r\n") == b"_\r\n"


def test_hdel(client):
    client.send("HSET", "h", "a", "1", "b", "2", "c", "3")
    assert client.send("HDEL", "h", "a", "a", "zz") == 1
    assert client.send("HLEN", "h") == 2
    assert client.send("HDEL", "h", "b", "c") == 2
    assert client.send("EXISTS", "h") == 0  # the emptied hash is gone
    assert client.send("HSET", "h", "x", "1") == 1
    assert client.send("HGETALL", "h") == [b"x", b"1"]  # old fields do not come back


def test_hexists_hstrlen(client):
    client.send("HSET", "h", "a", "hello", "n", "123")
    assert client.send("HEXISTS", "h", "a") == 1
    assert client.send("HEXISTS", "h", "b") == 0
    assert client.send("HSTRLEN", "h", "a") == 5
    assert client.send("HSTRLEN", "h", "n") == 3
    assert client.send("HSTRLEN", "h", "zz") == 0


def test_hset_keeps_ttl(client):
    client.send("HSET", "h", "a", "1")
    client.send("EXPIRE", "h", "100")
    client.send("HSET", "h", "b", "2")
    client.send("HDEL", "h", "a")
    client.send("HINCRBY", "h", "n", "1")
    assert 0 < client.send("TTL", "h") <= 100


def test_expired_hash_is_gone(client, server):
    client.send("HSET", "h", "a", "1")
    client.send("PEXPIRE", "h", "1")
    import time
    time.sleep(0.01)
    assert client.send("HGET", "h", "a") is None
    assert client.send("HSET", "h", "b", "2") == 1
    assert client.send("HGETALL", "h") == [b"b", b"2"]


# --- HINCRBY / HINCRBYFLOAT ----------------------------------------------------------------

def test_hincrby(client):
    assert client.send("HINCRBY", "h", "n", "5") == 5
    assert client.send("HINCRBY", "h", "n", "-7") == -2
    assert client.send("HGET", "h", "n") == b"-2"
    client.send("HSET", "h", "big", "9223372036854775807", "small", "-9223372036854775808")
    assert err(client.send("HINCRBY", "h", "big", "1")) == \
        "ERR increment or decrement would overflow"
    assert err(client.send("HINCRBY", "h", "small", "-1")) == \
        "ERR increment or decrement would overflow"
    assert client.send("HINCRBY", "h", "big", "-1") == 9223372036854775806


@pytest.mark.parametrize("value", ["abc", "1.5", " 1", "007", "+1", "", "99999999999999999999"])
def test_hincrby_value_not_integer(client, value):
    client.send("HSET", "h", "f", value)
    assert err(client.send("HINCRBY", "h", "f", "1")) == "ERR hash value is not an integer"
    assert client.send("HGET", "h", "f") == value.encode()


@pytest.mark.parametrize("incr", ["abc", "1.5", "", "9223372036854775808", "+1", "1 "])
def test_hincrby_bad_increment(client, incr):
    assert err(client.send("HINCRBY", "h", "f", incr)) == \
        "ERR value is not an integer or out of range"
    assert client.send("EXISTS", "h") == 0
    client.send("SET", "s", "x")
    # The increment is checked before the key's type.
    assert err(client.send("HINCRBY", "s", "f", incr)) == \
        "ERR value is not an integer or out of range"


@pytest.mark.parametrize("start,incr,expected", [
    (None, "1.5", b"1.5"), ("1.5", "0.1", b"1.6"), ("10", "-10", b"0"), (None, "1e20",
     b"100000000000000000000"), (None, "3.0e3", b"3000"), ("5", "0x10", b"21"),
    (None, "0x1p-1", b"0.5"), ("-0", "0", b"0"), ("1", "-1.5", b"-0.5"),
    ("0.1", "0.2", b"0.3"), (None, ".5", b"0.5"), (None, "5.", b"5"), (None, "+2", b"2"),
    ("1e400", "1", b"1" + b"0" * 19 + b"281880683947586514586453433629052038625910693539685534"
     b"008629862039363994848324160522094053927317616200295822777259255734023828976593340661017"
     b"797447434546173917862448116674971723778943824391593338047470675026246684401359237513603"
     b"830343735485505244955964979021825038280091068414947402456898653040951017512658092615827"
     b"588920183472511643316591362664138176309734806343732497430221946880"),
    ("123456789012345678901234567890", "0", b"123456789012345678899921813504"),
    (None, "0.00000000000000000001", b"0"),
])
def test_hincrbyfloat_values(client, start, incr, expected):
    if start is not None:
        client.send("HSET", "h", "f", start)
    assert client.send("HINCRBYFLOAT", "h", "f", incr) == expected
    assert client.send("HGET", "h", "f") == expected


@pytest.mark.parametrize("incr,error", [
    ("abc", "ERR value is not a valid float"), ("", "ERR value is not a valid float"),
    ("nan", "ERR value is not a valid float"), (" 1", "ERR value is not a valid float"),
    ("1 ", "ERR value is not a valid float"), ("1e-5000", "ERR value is not a valid float"),
    ("1e5000", "ERR value is not a valid float"), ("0x", "ERR value is not a valid float"),
    ("1_0", "ERR value is not a valid float"), ("inf", "ERR value is NaN or Infinity"),
    ("-Infinity", "ERR value is NaN or Infinity"),
])
def test_hincrbyfloat_bad_increment(client, incr, error):
    assert err(client.send("HINCRBYFLOAT", "h", "f", incr)) == error
    client.send("SET", "s", "x")
    assert err(client.send("HINCRBYFLOAT", "s", "f", incr)) == error


@pytest.mark.parametrize("value,error", [
    ("abc", "ERR hash value is not a float"), (" 1", "ERR hash value is not a float"),
    ("", "ERR hash value is not a float"),
    ("inf", "ERR increment would produce NaN or Infinity"),
    ("1.18e4932", "ERR increment would produce NaN or Infinity"),
])
def test_hincrbyfloat_bad_value(client, value, error):
    client.send("HSET", "h", "f", value)
    assert err(client.send("HINCRBYFLOAT", "h", "f", "1e4932" if "e4932" in value else "1")) \
        == error
    assert client.send("HGET", "h", "f") == value.encode()


# --- HRANDFIELD ----------------------------------------------------------------------------

def _fill(client, key, n):
    args = []
    for i in range(n):
        args += [f"f{i}", f"v{i}"]
    client.send("HSET", key, *args)


def test_hrandfield_single(client):
    _fill(client, "h", 5)
    seen = {client.send("HRANDFIELD", "h") for _ in range(200)}
    assert seen == {b"f%d" % i for i in range(5)}


def test_hrandfield_positive_count(client):
    _fill(client, "h", 10)
    for count in (1, 3, 9):
        fields = client.send("HRANDFIELD", "h", str(count))
        assert len(fields) == count == len(set(fields))
        assert set(fields) <= {b"f%d" % i for i in range(10)}
    assert sorted(client.send("HRANDFIELD", "h", "10")) == sorted(b"f%d" % i for i in range(10))
    assert len(client.send("HRANDFIELD", "h", "9223372036854775807")) == 10
    assert client.send("HRANDFIELD", "h", "0") == []


def test_hrandfield_negative_count_repeats(client):
    _fill(client, "h", 2)
    fields = client.send("HRANDFIELD", "h", "-50")
    assert len(fields) == 50
    assert set(fields) == {b"f0", b"f1"}


def test_hrandfield_withvalues(client):
    _fill(client, "h", 4)
    flat = client.send("HRANDFIELD", "h", "-6", "withvalues")
    assert len(flat) == 12
    for f, v in zip(flat[::2], flat[1::2]):
        assert v == b"v" + f[1:]
    flat = client.send("HRANDFIELD", "h", "3", "WITHVALUES")
    assert len(flat) == 6 and len(set(flat[::2])) == 3
    client.send("HELLO", "3")
    pairs = client.send("HRANDFIELD", "h", "-3", "WITHVALUES")
    assert len(pairs) == 3 and all(len(p) == 2 and p[1] == b"v" + p[0][1:] for p in pairs)
    pairs = client.send("HRANDFIELD", "h", "10", "WITHVALUES")
    assert sorted(pairs) == [[b"f%d" % i, b"v%d" % i] for i in range(4)]


@pytest.mark.parametrize("args,error", [
    (("h", "abc"), "ERR value is not an integer or out of range"),
    (("h", "1", "withvalue"), "ERR syntax error"),
    (("h", "1", "withvalues", "x"), "ERR syntax error"),
    (("no", "0", "foo"), "ERR syntax error"),
    (("h", "-9223372036854775808"),
     "ERR value is out of range, value must between -9223372036854775807 and "
     "9223372036854775807"),
    (("h", "-4611686018427387904", "withvalues"), "ERR value is out of range"),
    (("h", "4611686018427387904", "withvalues"), "ERR value is out of range"),
    (("no", "-9223372036854775807", "withvalues"), "ERR value is out of range"),
])
def test_hrandfield_errors(client, args, error):
    _fill(client, "h", 2)
    assert err(client.send("HRANDFIELD", *args)) == error


def test_hrandfield_huge_counts(client):
    _fill(client, "h", 2)
    assert len(client.send("HRANDFIELD", "h", "4611686018427387903", "withvalues")) == 4


def test_hrandfield_big_hash_uses_skeleton(client, monkeypatch):
    monkeypatch.setattr(sampling, "EXACT_LIMIT", 50)
    _fill(client, "h", 400)
    every = {b"f%d" % i for i in range(400)}
    got = client.send("HRANDFIELD", "h", "10")
    assert len(set(got)) == 10 and set(got) <= every
    got = client.send("HRANDFIELD", "h", "-10", "WITHVALUES")
    assert len(got) == 20 and set(got[::2]) <= every
    seen = {client.send("HRANDFIELD", "h") for _ in range(300)}
    assert len(seen) > 50 and seen <= every


# --- HSCAN ---------------------------------------------------------------------------------

def test_hscan_small_hash_in_one_call(client):
    _fill(client, "h", 20)
    cursor, items = client.send("HSCAN", "h", "0", "COUNT", "2")
    assert cursor == b"0"
    assert len(items) == 40
    assert client.send("HSCAN", "h", "0", "MATCH", "f1*") == \
        [b"0", [b"f1", b"v1", b"f10", b"v10", b"f11", b"v11", b"f12", b"v12", b"f13", b"v13",
                b"f14", b"v14", b"f15", b"v15", b"f16", b"v16", b"f17", b"v17", b"f18", b"v18",
                b"f19", b"v19"]]


def test_hscan_big_hash_with_cursor(client):
    _fill(client, "h", 600)
    cursor = b"0"
    got = {}
    calls = 0
    while True:
        cursor, items = client.send("HSCAN", "h", cursor, "COUNT", "25")
        calls += 1
        got.update(zip(items[::2], items[1::2]))
        if cursor == b"0":
            break
    assert got == {b"f%d" % i: b"v%d" % i for i in range(600)}
    assert calls >= 24


def test_hscan_match_on_big_hash(client):
    _fill(client, "h", 300)
    cursor, found = b"0", []
    while True:
        cursor, items = client.send("HSCAN", "h", cursor, "MATCH", "f2?", "COUNT", "50")
        found += items[::2]
        if cursor == b"0":
            break
    assert sorted(found) == sorted(b"f2%d" % i for i in range(10))


@pytest.mark.parametrize("args,error", [
    (("0", "COUNT", "0"), "ERR syntax error"),
    (("0", "COUNT", "-1"), "ERR syntax error"),
    (("0", "COUNT", "x"), "ERR value is not an integer or out of range"),
    (("0", "MATCH"), "ERR syntax error"),
    (("0", "TYPE", "string"), "ERR syntax error"),
    (("0", "NOVALUES"), "ERR syntax error"),
    (("abc",), "ERR invalid cursor"),
    (("-",), "ERR invalid cursor"),
])
def test_hscan_errors(client, args, error):
    client.send("HSET", "h", "a", "1")
    assert err(client.send("HSCAN", "h", *args)) == error


# --- OBJECT ENCODING -----------------------------------------------------------------------

def test_encoding_entries_threshold(client):
    _fill(client, "h", 512)
    assert enc(client, "h") == b"listpack"
    client.send("HSET", "h", "x", "1")
    assert enc(client, "h") == b"hashtable"
    client.send("HDEL", "h", "x", "f1", "f2")
    assert enc(client, "h") == b"hashtable"  # sticky


def test_encoding_one_call_over_threshold(client):
    _fill(client, "h", 513)
    assert enc(client, "h") == b"hashtable"


def test_encoding_value_length(client):
    client.send("HSET", "h", "a", "x" * 64)
    assert enc(client, "h") == b"listpack"
    client.send("HSET", "h", "b", "x" * 65)
    assert enc(client, "h") == b"hashtable"
    client.send("HSET", "g", "a" * 65, "1")
    assert enc(client, "g") == b"hashtable"


def test_encoding_hsetnx_existing_field_does_not_convert(client):
    client.send("HSET", "h", "a", "1")
    client.send("HSETNX", "h", "a", "x" * 100)
    assert enc(client, "h") == b"listpack"
    client.send("HSETNX", "h", "b", "x" * 100)
    assert enc(client, "h") == b"hashtable"


def test_encoding_counters(client):
    client.send("HINCRBYFLOAT", "h", "f", "1e70")
    assert enc(client, "h") == b"hashtable"
    client.send("HINCRBY", "g", "f" * 65, "1")
    assert enc(client, "g") == b"hashtable"
    client.send("HINCRBY", "k", "f", "1")
    assert enc(client, "k") == b"listpack"


def test_encoding_survives_rename(client):
    _fill(client, "h", 600)
    client.send("RENAME", "h", "h2")
    assert enc(client, "h2") == b"hashtable"
    assert client.send("HLEN", "h2") == 600
    assert client.send("HGET", "h2", "f150") == b"v150"


# --- point reads, WATCH, MULTI -------------------------------------------------------------

class _Counting:
    def __init__(self, engine):
        self.engine = engine
        self.gets = 0
        self.scans = 0

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def get(self, key):
        self.gets += 1
        return self.engine.get(key)

    def items(self, *a, **kw):
        self.scans += 1
        return self.engine.items(*a, **kw)


@pytest.mark.parametrize("args,gets", [
    (("HGET", "h", "f3"), 2), (("HEXISTS", "h", "f3"), 2), (("HSTRLEN", "h", "f3"), 2),
    (("HLEN", "h"), 1), (("HMGET", "h", "f1", "f2", "zz"), 4),
    (("HSET", "h", "f1", "new"), 2), (("HDEL", "h", "f1"), 2), (("HINCRBY", "h", "n", "1"), 2),
])
def test_point_reads(client, server, args, gets):
    _fill(client, "h", 300)
    ks = server.keyspace
    counters = [_Counting(e) for e in ks.engines]
    ks.engines[:] = counters
    ks.drop_cache()  # count the reads that reach the engines
    client.send(*args)
    assert sum(c.scans for c in counters) == 0
    assert sum(c.gets for c in counters) == gets


def test_watch_sees_field_updates(client, server):
    client.send("HSET", "h", "a", "1")
    other = server.new_client()
    client.send("WATCH", "h")
    other.send("HSET", "h", "a", "1")  # same value: still a modification, as in Redis
    client.send("MULTI")
    client.send("HGET", "h", "a")
    assert client.send("EXEC") is None


def test_watch_ignores_noop_hdel(client, server):
    client.send("HSET", "h", "a", "1")
    other = server.new_client()
    client.send("WATCH", "h")
    assert other.send("HDEL", "h", "zz") == 0
    assert other.send("HSETNX", "h", "a", "2") == 0
    client.send("MULTI")
    client.send("HGET", "h", "a")
    assert client.send("EXEC") == [b"1"]


def test_multi_reads_own_writes(client):
    client.send("MULTI")
    client.send("HSET", "h", "a", "1", "b", "2")
    client.send("HINCRBY", "h", "a", "5")
    client.send("HDEL", "h", "b")
    client.send("HGETALL", "h")
    client.send("HLEN", "h")
    assert client.send("EXEC") == [2, 6, 1, [b"a", b"6"], 1]
