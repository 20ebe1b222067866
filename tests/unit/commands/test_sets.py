"""Set commands against the in-memory server: replies, errors and encodings as Redis 7.0."""
import hiredis
import pytest

from photon.commands import sampling

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def err(reply) -> str:
    assert isinstance(reply, hiredis.ReplyError), reply
    return str(reply)


def enc(client, key):
    return client.send("OBJECT", "ENCODING", key)


def members(client, key):
    return sorted(client.send("SMEMBERS", key))


def cmd(*args):
    return b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%b\r\n" % (len(a), a) for a in (x.encode() for x in args))


# --- basics ----------------------------------------------------------------------------------

def test_sadd_srem(client):
    assert client.send("SADD", "s", "a", "b", "a") == 2
    assert client.send("SADD", "s", "b", "c") == 1
    assert client.send("SCARD", "s") == 3
    assert client.send("TYPE", "s") == b"set"
    assert client.send("SREM", "s", "a", "a", "zz") == 1
    assert members(client, "s") == [b"b", b"c"]
    assert client.send("SREM", "s", "b", "c") == 2
    assert client.send("EXISTS", "s") == 0
    assert client.send("SREM", "s", "b") == 0


def test_sismember_smismember(client):
    client.send("SADD", "s", "a", "", "\x00")
    assert client.send("SISMEMBER", "s", "a") == 1
    assert client.send("SISMEMBER", "s", "") == 1
    assert client.send("SISMEMBER", "s", "b") == 0
    assert client.send("SMISMEMBER", "s", "a", "b", "\x00", "a") == [1, 0, 1, 1]
    assert client.send("SISMEMBER", "no", "a") == 0
    assert client.send("SMISMEMBER", "no", "a", "b") == [0, 0]


def test_missing_key_replies(client):
    assert client.send("SMEMBERS", "no") == []
    assert client.send("SCARD", "no") == 0
    assert client.send("SPOP", "no") is None
    assert client.send("SPOP", "no", "3") == []
    assert client.send("SRANDMEMBER", "no") is None
    assert client.send("SRANDMEMBER", "no", "-3") == []
    assert client.send("SSCAN", "no", "0") == [b"0", []]
    assert client.send("SINTER", "no", "no2") == []
    assert client.send("SUNION", "no") == []
    assert client.send("SDIFF", "no") == []
    assert client.send("SINTERCARD", "2", "no", "no2") == 0
    assert client.send("SMOVE", "no", "d", "a") == 0
    assert client.send("DBSIZE") == 0


def test_resp3_reply_types(client):
    client.send("HELLO", "3")
    client.send("SADD", "s", "1", "2", "3")
    assert client.raw(cmd("SMEMBERS", "no")) == b"~0\r\n"
    assert client.raw(cmd("SMEMBERS", "s")).startswith(b"~3\r\n")
    assert client.raw(cmd("SINTER", "s", "no")) == b"~0\r\n"
    assert client.raw(cmd("SUNION", "s")).startswith(b"~3\r\n")
    assert client.raw(cmd("SDIFF", "s")).startswith(b"~3\r\n")
    assert client.raw(cmd("SPOP", "no", "2")) == b"~0\r\n"
    assert client.raw(cmd("SPOP", "s", "0")) == b"~0\r\n"
    assert client.raw(cmd("SPOP", "s", "1")).startswith(b"~1\r\n")
    # SRANDMEMBER always answers an array
    assert client.raw(cmd("SRANDMEMBER", "s", "5")).startswith(b"*2\r\n")
    assert client.raw(cmd("SRANDMEMBER", "s", "1")).startswith(b"*1\r\n")
    assert client.raw(cmd("SRANDMEMBER", "s", "-3")).startswith(b"*3\r\n")
    assert client.raw(cmd("SRANDMEMBER", "no", "3")) == b"*0\r\n"
    assert client.raw(cmd("SRANDMEMBER", "no")) == b"_\r\n"
    assert client.raw(cmd("SMISMEMBER", "s", "x")) == b"*1\r\n:0\r\n"


@pytest.mark.parametrize("args", [
    ("SADD", "k", "a"), ("SREM", "k", "a"), ("SMEMBERS", "k"), ("SISMEMBER", "k", "a"),
    ("SMISMEMBER", "k", "a"), ("SCARD", "k"), ("SPOP", "k"), ("SPOP", "k", "0"),
    ("SRANDMEMBER", "k"), ("SRANDMEMBER", "k", "0"), ("SRANDMEMBER", "k", "-2"),
    ("SINTER", "k"), ("SINTER", "no", "k"), ("SUNION", "s", "k"), ("SDIFF", "no", "k"),
    ("SDIFF", "k", "no"), ("SINTERSTORE", "d", "no", "k"), ("SUNIONSTORE", "d", "k"),
    ("SDIFFSTORE", "d", "s", "k"), ("SINTERCARD", "2", "no", "k"), ("SSCAN", "k", "0"),
    ("SMOVE", "k", "s", "a"), ("SMOVE", "s", "k", "a"), ("SMOVE", "s", "k", "zz"),
])
def test_wrongtype(client, args):
    client.send("SET", "k", "x")
    client.send("SADD", "s", "a")
    assert err(client.send(*args)) == WRONGTYPE
    assert client.send("GET", "k") == b"x"
    assert members(client, "s") == [b"a"]


def test_wrongtype_store_leaves_destination(client):
    client.send("SADD", "d", "keep")
    client.send("SET", "k", "x")
    assert err(client.send("SUNIONSTORE", "d", "no", "k")) == WRONGTYPE
    assert members(client, "d") == [b"keep"]


# --- SPOP / SRANDMEMBER ----------------------------------------------------------------------

def test_spop_single(client):
    client.send("SADD", "s", "a", "b", "c")
    popped = {client.send("SPOP", "s") for _ in range(3)}
    assert popped == {b"a", b"b", b"c"}
    assert client.send("EXISTS", "s") == 0
    assert client.send("SPOP", "s") is None


def test_spop_count(client):
    client.send("SADD", "s", *[str(i) for i in range(20)])
    got = client.send("SPOP", "s", "5")
    assert len(set(got)) == 5
    assert client.send("SCARD", "s") == 15
    assert not set(got) & set(client.send("SMEMBERS", "s"))
    got2 = client.send("SPOP", "s", "14")  # most of the set (Redis's case 3)
    assert len(set(got2)) == 14 and client.send("SCARD", "s") == 1
    rest = client.send("SPOP", "s", "100")
    assert len(rest) == 1
    assert sorted(got + got2 + rest, key=int) == [b"%d" % i for i in range(20)]
    assert client.send("EXISTS", "s") == 0


@pytest.mark.parametrize("count", ["-1", "abc", "1.5", "9223372036854775808", ""])
def test_spop_bad_count(client, count):
    client.send("SADD", "s", "a")
    assert err(client.send("SPOP", "s", count)) == "ERR value is out of range, must be positive"


def test_spop_syntax(client):
    assert err(client.send("SPOP", "s", "1", "2")) == "ERR syntax error"
    assert err(client.send("SRANDMEMBER", "s", "1", "2")) == "ERR syntax error"


def test_srandmember(client):
    client.send("SADD", "s", "a", "b", "c")
    assert {client.send("SRANDMEMBER", "s") for _ in range(100)} == {b"a", b"b", b"c"}
    assert sorted(client.send("SRANDMEMBER", "s", "5")) == [b"a", b"b", b"c"]
    two = client.send("SRANDMEMBER", "s", "2")
    assert len(set(two)) == 2
    many = client.send("SRANDMEMBER", "s", "-100")
    assert len(many) == 100 and set(many) == {b"a", b"b", b"c"}
    assert client.send("SRANDMEMBER", "s", "0") == []
    assert client.send("SCARD", "s") == 3


@pytest.mark.parametrize("count,error", [
    ("abc", "ERR value is not an integer or out of range"),
    ("-9223372036854775808", "ERR value is out of range, value must between "
     "-9223372036854775807 and 9223372036854775807"),
])
def test_srandmember_bad_count(client, count, error):
    client.send("SADD", "s", "a")
    assert err(client.send("SRANDMEMBER", "s", count)) == error


def test_srandmember_distribution_small_set(client):
    client.send("SADD", "s", *[str(i) for i in range(10)])
    counts = {}
    for m in client.send("SRANDMEMBER", "s", "-5000"):
        counts[m] = counts.get(m, 0) + 1
    assert len(counts) == 10
    assert all(350 < n < 650 for n in counts.values()), counts


def test_big_set_random_by_probes(client, monkeypatch):
    monkeypatch.setattr(sampling, "EXACT_LIMIT", 100)
    every = {b"m%d" % i for i in range(3000)}
    client.send("SADD", "s", *every)
    got = client.send("SRANDMEMBER", "s", "20")
    assert len(set(got)) == 20 and set(got) <= every
    got = client.send("SRANDMEMBER", "s", "-20")
    assert len(got) == 20 and set(got) <= every
    popped = set()
    for _ in range(200):
        popped.add(client.send("SPOP", "s"))
    assert len(popped) == 200 and popped <= every
    assert client.send("SCARD", "s") == 2800
    more = client.send("SPOP", "s", "30")
    assert len(set(more)) == 30 and not set(more) & popped
    assert client.send("SCARD", "s") == 2770
    assert len(set(client.send("SMEMBERS", "s"))) == 2770


# --- SMOVE -----------------------------------------------------------------------------------

def test_smove(client):
    client.send("SADD", "s", "a", "b")
    assert client.send("SMOVE", "s", "d", "zz") == 0
    assert client.send("EXISTS", "d") == 0
    assert client.send("SMOVE", "s", "d", "a") == 1
    assert members(client, "s") == [b"b"] and members(client, "d") == [b"a"]
    client.send("SADD", "d", "b")
    assert client.send("SMOVE", "s", "d", "b") == 1  # already in dst: still moved out of src
    assert client.send("EXISTS", "s") == 0
    assert members(client, "d") == [b"a", b"b"]
    assert client.send("SMOVE", "d", "d", "a") == 1
    assert client.send("SMOVE", "d", "d", "zz") == 0
    assert members(client, "d") == [b"a", b"b"]


def test_smove_missing_source_ignores_destination_type(client):
    client.send("SET", "str", "x")
    assert client.send("SMOVE", "no", "str", "a") == 0


def test_smove_encoding_of_new_destination(client):
    client.send("SADD", "s", "1", "x")
    client.send("SMOVE", "s", "d", "1")
    assert enc(client, "d") == b"intset"
    client.send("SMOVE", "s", "d", "x")
    assert enc(client, "d") == b"hashtable"
    assert client.send("EXISTS", "s") == 0


# --- algebra ---------------------------------------------------------------------------------

@pytest.fixture
def abc(client):
    client.send("SADD", "a", "1", "2", "3", "4")
    client.send("SADD", "b", "3", "4", "5")
    client.send("SADD", "c", "4", "5", "6", "x")
    return client


def test_sinter(abc):
    assert sorted(abc.send("SINTER", "a", "b")) == [b"3", b"4"]
    assert sorted(abc.send("SINTER", "a", "b", "c")) == [b"4"]
    assert sorted(abc.send("SINTER", "a")) == [b"1", b"2", b"3", b"4"]
    assert abc.send("SINTER", "a", "no") == []
    assert sorted(abc.send("SINTER", "a", "a")) == [b"1", b"2", b"3", b"4"]


def test_sunion(abc):
    assert sorted(abc.send("SUNION", "a", "b", "no", "c")) == \
        [b"1", b"2", b"3", b"4", b"5", b"6", b"x"]


def test_sdiff(abc):
    assert sorted(abc.send("SDIFF", "a", "b")) == [b"1", b"2"]
    assert sorted(abc.send("SDIFF", "a", "no", "c")) == [b"1", b"2", b"3"]
    assert abc.send("SDIFF", "a", "a") == []
    assert abc.send("SDIFF", "a", "b", "a") == []
    assert abc.send("SDIFF", "no", "a") == []


def test_store_commands(abc):
    assert abc.send("SINTERSTORE", "d", "a", "b") == 2
    assert members(abc, "d") == [b"3", b"4"]
    assert abc.send("SUNIONSTORE", "d", "a", "c") == 7
    assert abc.send("SCARD", "d") == 7
    assert abc.send("SDIFFSTORE", "d", "c", "a") == 3
    assert members(abc, "d") == [b"5", b"6", b"x"]


def test_store_replaces_any_type_and_drops_ttl(abc):
    abc.send("SET", "d", "x", "EX", "100")
    assert abc.send("SUNIONSTORE", "d", "a") == 4
    assert abc.send("TYPE", "d") == b"set"
    assert abc.send("TTL", "d") == -1
    abc.send("HSET", "h", "f", "v")
    assert abc.send("SINTERSTORE", "h", "a", "b") == 2
    assert abc.send("TYPE", "h") == b"set"


@pytest.mark.parametrize("args", [
    ("SINTERSTORE", "d", "a", "no"), ("SINTERSTORE", "d", "a", "c", "b", "2"),
    ("SDIFFSTORE", "d", "a", "a"), ("SDIFFSTORE", "d", "no", "a"), ("SUNIONSTORE", "d", "no"),
])
def test_store_empty_result_deletes_destination(abc, args):
    abc.send("SET", "d", "x")
    assert abc.send(*args) == 0
    assert abc.send("EXISTS", "d") == 0


def test_store_destination_is_a_source(abc):
    assert abc.send("SUNIONSTORE", "a", "a", "b") == 5
    assert members(abc, "a") == [b"1", b"2", b"3", b"4", b"5"]
    assert abc.send("SDIFFSTORE", "a", "a", "b") == 2
    assert members(abc, "a") == [b"1", b"2"]
    assert abc.send("SINTERSTORE", "b", "b", "c") == 2
    assert members(abc, "b") == [b"4", b"5"]


def test_store_encodings(abc):
    abc.send("SINTERSTORE", "d", "a", "b")
    assert enc(abc, "d") == b"intset"
    abc.send("SUNIONSTORE", "d", "a", "c")
    assert enc(abc, "d") == b"hashtable"
    abc.send("SDIFFSTORE", "d", "c", "a")  # 5 6 x
    assert enc(abc, "d") == b"hashtable"
    abc.send("SINTERSTORE", "d", "c", "b")
    assert enc(abc, "d") == b"intset"


def test_sintercard(abc):
    assert abc.send("SINTERCARD", "2", "a", "b") == 2
    assert abc.send("SINTERCARD", "3", "a", "b", "c") == 1
    assert abc.send("SINTERCARD", "2", "a", "b", "LIMIT", "1") == 1
    assert abc.send("SINTERCARD", "2", "a", "b", "limit", "0") == 2
    assert abc.send("SINTERCARD", "1", "a", "LIMIT", "3", "LIMIT", "0") == 4
    assert abc.send("SINTERCARD", "2", "a", "no") == 0


@pytest.mark.parametrize("args,error", [
    (("0", "a"), "ERR numkeys should be greater than 0"),
    (("-1", "a"), "ERR numkeys should be greater than 0"),
    (("abc", "a"), "ERR numkeys should be greater than 0"),
    (("3", "a"), "ERR Number of keys can't be greater than number of args"),
    (("1", "a", "LIMIT", "-1"), "ERR LIMIT can't be negative"),
    (("1", "a", "LIMIT", "abc"), "ERR LIMIT can't be negative"),
    (("1", "a", "LIMIT"), "ERR syntax error"),
    (("1", "a", "foo"), "ERR syntax error"),
])
def test_sintercard_errors(client, args, error):
    assert err(client.send("SINTERCARD", *args)) == error


def test_sintercard_getkeys(client):
    assert client.send("COMMAND", "GETKEYS", "SINTERCARD", "2", "a", "b", "LIMIT", "1") == \
        [b"a", b"b"]


# --- SSCAN -----------------------------------------------------------------------------------

def test_sscan_intset_whole(client):
    client.send("SADD", "s", *[str(i) for i in range(100)])
    cursor, items = client.send("SSCAN", "s", "0", "COUNT", "5")
    assert cursor == b"0" and len(items) == 100
    cursor, items = client.send("SSCAN", "s", "0", "MATCH", "9*")
    assert sorted(items) == sorted([b"9"] + [b"9%d" % i for i in range(10)])


def test_sscan_big_set(client):
    every = {b"m%d" % i for i in range(1000)}
    client.send("SADD", "s", *every)
    cursor, seen = b"0", []
    while True:
        cursor, items = client.send("SSCAN", "s", cursor, "COUNT", "100")
        seen += items
        if cursor == b"0":
            break
    assert len(seen) == 1000 and set(seen) == every


def test_sscan_survives_changes(client):
    client.send("SADD", "s", *[f"m{i:04d}" for i in range(600)])
    cursor, items = client.send("SSCAN", "s", "0", "COUNT", "100")
    kept = set(items)
    client.send("SREM", "s", *[x.decode() for x in items[:50]])
    client.send("SADD", "s", "zzz-new")
    while cursor != b"0":
        cursor, items = client.send("SSCAN", "s", cursor, "COUNT", "100")
        kept |= set(items)
    assert {f"m{i:04d}".encode() for i in range(600)} <= kept


@pytest.mark.parametrize("args,error", [
    (("0", "COUNT", "0"), "ERR syntax error"), (("0", "TYPE", "set"), "ERR syntax error"),
    (("x",), "ERR invalid cursor"), (("0", "MATCH"), "ERR syntax error"),
])
def test_sscan_errors(client, args, error):
    client.send("SADD", "s", "a")
    assert err(client.send("SSCAN", "s", *args)) == error


# --- encodings -------------------------------------------------------------------------------

@pytest.mark.parametrize("values,expected", [
    (["1", "2", "-3"], b"intset"),
    (["9223372036854775807", "-9223372036854775808"], b"intset"),
    (["9223372036854775808"], b"hashtable"), (["007"], b"hashtable"), ([" 1"], b"hashtable"),
    (["+1"], b"hashtable"), (["-0"], b"hashtable"), (["0"], b"intset"), ([""], b"hashtable"),
    (["1", "a"], b"hashtable"), (["1.0"], b"hashtable"),
])
def test_encoding_intset_rules(client, values, expected):
    client.send("SADD", "s", *values)
    assert enc(client, "s") == expected


def test_encoding_size_threshold_and_sticky(client):
    client.send("SADD", "s", *[str(i) for i in range(512)])
    assert enc(client, "s") == b"intset"
    client.send("SADD", "s", "512")
    assert enc(client, "s") == b"hashtable"
    client.send("SREM", "s", "1", "2", "3")
    assert enc(client, "s") == b"hashtable"
    client.send("SADD", "t", "x")
    client.send("SREM", "t", "x")
    client.send("SADD", "t", "1")
    assert enc(client, "t") == b"intset"  # a deleted set starts over


def test_spop_near_whole_set_rebuilds_encoding(client):
    client.send("SADD", "s", *[str(i) for i in range(600)])
    assert enc(client, "s") == b"hashtable"
    client.send("SPOP", "s", "500")
    assert enc(client, "s") == b"intset"
    client.send("SADD", "t", *[str(i) for i in range(3000)])
    client.send("SPOP", "t", "2300")  # 700 remain: more than 512
    assert enc(client, "t") == b"hashtable"
    client.send("SADD", "u", "x", *[str(i) for i in range(10)])
    client.send("SPOP", "u", "1")  # a small share: no rebuild
    assert enc(client, "u") == b"hashtable"


# --- point reads, WATCH ----------------------------------------------------------------------

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
    (("SISMEMBER", "s", "m5"), 2), (("SMISMEMBER", "s", "m5", "zz"), 3), (("SCARD", "s"), 1),
    (("SADD", "s", "m1", "new"), 3), (("SREM", "s", "m1"), 2), (("SMOVE", "s", "d", "m1"), 5),
])
def test_point_reads(client, server, args, gets):
    client.send("SADD", "s", *[f"m{i}" for i in range(700)])
    ks = server.keyspace
    counters = [_Counting(e) for e in ks.engines]
    ks.engines[:] = counters
    ks.drop_cache()  # count the reads that reach the engines
    client.send(*args)
    assert sum(c.scans for c in counters) == 0
    assert sum(c.gets for c in counters) == gets


def test_watch(client, server):
    client.send("SADD", "s", "a")
    other = server.new_client()
    client.send("WATCH", "s")
    assert other.send("SADD", "s", "a") == 0
    assert other.send("SREM", "s", "zz") == 0
    client.send("MULTI")
    client.send("SCARD", "s")
    assert client.send("EXEC") == [1]
    client.send("WATCH", "s")
    other.send("SADD", "s", "b")
    client.send("MULTI")
    client.send("SCARD", "s")
    assert client.send("EXEC") is None


def test_watch_store_destination(client, server):
    client.send("SADD", "a", "1")
    other = server.new_client()
    client.send("WATCH", "d")
    other.send("SUNIONSTORE", "d", "a")
    client.send("MULTI")
    client.send("PING")
    assert client.send("EXEC") is None


# --- random picks on collections too big for an exact scan -------------------------------

def test_skeleton_picks_are_uniform(client):
    client.send("SADD", "s", *[f"m:{i}" for i in range(2000)])
    groups = {}
    for _ in range(400):
        for m in client.send("SRANDMEMBER", "s", "-20"):
            g = int(m[2:]) // 100
            groups[g] = groups.get(g, 0) + 1
    assert len(groups) == 20
    assert all(260 < n < 540 for n in groups.values()), groups  # 400 expected each


def test_skeleton_spop_drains_everything(client):
    every = {b"k%d" % i for i in range(700)}
    client.send("SADD", "s", *every)
    popped = [client.send("SPOP", "s") for _ in range(700)]
    assert set(popped) == every and len(popped) == 700
    assert client.send("EXISTS", "s") == 0
    assert client.send("SPOP", "s") is None


def test_skeleton_sees_added_elements(client):
    client.send("SADD", "s", *[f"m{i:04d}" for i in range(1000)])
    client.send("SRANDMEMBER", "s", "-3")  # builds the skeleton
    client.send("SADD", "s", "a-first", "z-last")
    seen = set()
    for _ in range(600):
        seen.update(client.send("SRANDMEMBER", "s", "-15"))
    assert {b"a-first", b"z-last"} <= seen
    # many additions in one place: the skeleton is rebuilt and they get their share
    client.send("SADD", "s", *[f"zz{i:04d}" for i in range(1000)])
    got = []
    for _ in range(100):
        got += client.send("SRANDMEMBER", "s", "-20")
    share = sum(1 for m in got if m.startswith(b"zz")) / len(got)
    assert 0.4 < share < 0.6


def test_skeleton_big_hash_withvalues(client):
    client.send("HSET", "h", *[x for i in range(1000) for x in (f"f{i}", f"v{i}")])
    flat = client.send("HRANDFIELD", "h", "-10", "WITHVALUES")
    assert all(v == b"v" + f[1:] for f, v in zip(flat[::2], flat[1::2]))
    fields = client.send("HRANDFIELD", "h", "12")
    assert len(set(fields)) == 12
    assert {client.send("HRANDFIELD", "h") for _ in range(50)} <= {b"f%d" % i for i in range(1000)}
