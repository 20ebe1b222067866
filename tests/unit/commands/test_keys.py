"""Generic key commands (db.c / expire.c): replies and error texts as Redis 7.0.15's."""
import time

import pytest
from hiredis import ReplyError

from photon.commands.keys import parse_cursor
from photon.errors import RedisError


def test_select_and_move_int_range(client):
    range_err = "ERR value is out of range, value must between -2147483648 and 2147483647"
    assert str(client.send("SELECT", "2147483648")) == range_err
    assert str(client.send("SELECT", "abc")) == "ERR value is not an integer or out of range"
    assert str(client.send("SELECT", "16")) == "ERR DB index is out of range"
    client.send("SET", "k", "v")
    assert str(client.send("MOVE", "k", "-2147483649")) == range_err
    assert str(client.send("COPY", "k", "x", "DB", "2147483648")) == range_err
    assert str(client.send("MOVE", "k", "0")) == "ERR source and destination objects are the same"
    assert client.send("MOVE", "k", "3") == 1
    assert client.send("SELECT", "3") == b"OK"
    assert client.send("GET", "k") == b"v"


def test_expiretime_rounds_to_the_nearest_second(client):
    client.send("SET", "k", "v", "PXAT", "4102444800600")
    assert client.send("EXPIRETIME", "k") == 4102444801
    client.send("SET", "k", "v", "PXAT", "4102444800499")
    assert client.send("EXPIRETIME", "k") == 4102444800
    assert client.send("PEXPIRETIME", "k") == 4102444800499


def test_expire_options_and_limits(client):
    client.send("SET", "k", "v")
    assert client.send("EXPIRE", "k", "100", "XX") == 0
    assert client.send("EXPIRE", "k", "100", "GT") == 0
    assert client.send("EXPIRE", "k", "100", "LT") == 1
    assert client.send("EXPIRE", "k", "50", "GT") == 0
    assert client.send("EXPIRE", "k", "50", "NX") == 0
    assert str(client.send("EXPIRE", "k", "1", b"\xffz\x00tail")) == "ERR Unsupported option \ufffdz"
    assert str(client.send("EXPIRE", "k", "-9223372036854776")) == (
        "ERR invalid expire time in 'expire' command")
    assert client.send("EXPIRE", "k", "-9223372036854775") == 1  # in range, in the past
    assert client.send("EXISTS", "k") == 0


@pytest.mark.parametrize("text,value", [(b"0", 0), (b"", 0), (b"+5", 5), (b"-1", 2**64 - 1),
                                        (b"18446744073709551615", 2**64 - 1), (b"007", 7)])
def test_scan_cursor_accepts(text, value):
    assert parse_cursor(text) == value


@pytest.mark.parametrize("text", [b" 0", b"0 ", b"0\xa0", b"1_0", b"0x1", b"1.0", b"-",
                                  b"18446744073709551616", b"-18446744073709551616", b"\x0b1"])
def test_scan_cursor_refuses(text):
    with pytest.raises(RedisError, match="ERR invalid cursor"):
        parse_cursor(text)


def test_scan_walks_every_key_once(client):
    keys = {b"k%d" % i for i in range(257)}
    for k in keys:
        client.send("SET", k, "1")
    seen, cursor = [], b"0"
    while True:
        cursor, batch = client.send("SCAN", cursor, "COUNT", "10")
        seen += batch
        if cursor == b"0":
            break
    assert sorted(seen) == sorted(keys)
    _, batch = client.send("SCAN", "0", "MATCH", "k1?", "COUNT", "1000")
    assert sorted(batch) == sorted(k for k in keys if len(k) == 3 and k.startswith(b"k1"))
    assert client.send("SCAN", "0", "TYPE", "hash", "COUNT", "1000") == [b"0", []]


def test_empty_key_name_and_patterns(client):
    client.send("SET", "", "empty")
    client.send("SET", "a", "1")
    assert sorted(client.send("KEYS", "*")) == [b"", b"a"]
    assert client.send("KEYS", "**") == [b"a"]  # stringmatchlen never matches "" but with ""
    assert client.send("KEYS", "") == [b""]
    assert client.send("SCAN", "0", "MATCH", "?*")[1] == [b"a"]


def test_expired_key_never_returned(client):
    client.send("SET", "gone", "v", "PX", "20")
    client.send("SET", "stays", "v")
    time.sleep(0.05)
    assert client.send("GET", "gone") is None
    assert client.send("KEYS", "*") == [b"stays"]
    assert client.send("EXISTS", "gone") == 0
    assert client.send("TTL", "gone") == -2
    assert client.send("RANDOMKEY") == b"stays"


def test_object_help_lists_every_subcommand(client):
    lines = client.send("OBJECT", "HELP")
    assert [x for x in lines if not x.startswith(b" ")] == [
        b"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", b"ENCODING <key>",
        b"FREQ <key>", b"IDLETIME <key>", b"REFCOUNT <key>", b"HELP"]
    assert isinstance(client.send("OBJECT", "FOO", "k"), ReplyError)


def test_sort(client):
    """SORT / SORT_RO (sort.c): numeric and ALPHA order, LIMIT, BY/GET patterns (hash fields
    too), BY nosort, STORE; replies as redis-server 7.0.15's."""
    client.send("RPUSH", "l", "3", "1", "2", "10", "-5", "2.5")
    assert client.send("SORT", "l") == [b"-5", b"1", b"2", b"2.5", b"3", b"10"]
    assert client.send("SORT", "l", "DESC", "LIMIT", "1", "2") == [b"3", b"2.5"]
    assert client.send("SORT", "l", "ALPHA") == [b"-5", b"1", b"10", b"2", b"2.5", b"3"]
    assert client.send("SORT", "l", "BY", "nosort", "DESC") == [
        b"2.5", b"-5", b"10", b"2", b"1", b"3"]
    client.send("MSET", "w_3", "30", "w_1", "10", "w_2", "20")
    client.send("HSET", "o_1", "f", "b")
    client.send("HSET", "o_2", "f", "a")
    assert client.send("SORT", "l", "BY", "w_*", "GET", "#", "GET", "w_*", "LIMIT", "0", "4") == [
        b"-5", None, b"10", None, b"2.5", None, b"1", b"10"]
    assert client.send("SORT", "l", "BY", "o_*->f", "ALPHA", "LIMIT", "4", "2") == [b"2", b"1"]
    assert client.send("SORT", "l", "LIMIT", "0", "3", "GET", "o_*->f", "STORE", "dst") == 3
    assert client.send("LRANGE", "dst", "0", "-1") == [b"", b"b", b"a"]
    assert client.send("SORT", "missing", "STORE", "dst") == 0
    assert client.send("EXISTS", "dst") == 0
    client.send("SADD", "s", "5", "10", "1")
    assert client.send("SORT", "s", "BY", "nosort", "STORE", "dst") == 3  # sorted for STORE
    assert client.send("LRANGE", "dst", "0", "-1") == [b"1", b"10", b"5"]
    client.send("ZADD", "z", "1", "c", "2", "b", "3", "a")
    assert client.send("SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "1") == [b"b"]
    assert client.send("SORT_RO", "z", "ALPHA") == [b"a", b"b", b"c"]
    client.send("RPUSH", "bad", "1", "x")
    for value in ("x", "1e400", "1e-310", "nan", "1 "):
        client.send("DEL", "bad")
        client.send("RPUSH", "bad", "1", value)
        assert str(client.send("SORT", "bad")) == (
            "ERR One or more scores can't be converted into double")
    client.send("DEL", "bad")
    client.send("RPUSH", "bad", " 2", "", "-inf", "0x10")
    assert client.send("SORT", "bad") == [b"-inf", b"", b" 2", b"0x10"]
    client.send("SET", "str", "x")
    assert str(client.send("SORT", "str")) == (
        "WRONGTYPE Operation against a key holding the wrong kind of value")
    assert str(client.send("SORT", "l", "LIMIT", "x", "1")) == (
        "ERR value is not an integer or out of range")
    assert str(client.send("SORT", "l", "BY")) == "ERR syntax error"
    assert str(client.send("SORT_RO", "l", "STORE", "x")) == "ERR syntax error"
    assert client.send("COMMAND", "GETKEYS", "SORT", "l", "STORE", "a", "LIMIT", "0", "1",
                       "STORE", "b") == [b"l", b"b"]
    assert client.send("COMMAND", "GETKEYS", "SORT", "l", "GET", "STORE", "BY", "STORE") == [b"l"]


def test_keyspace_hits_and_misses_count_read_lookups(client):
    """INFO keyspace_hits/misses count key lookups of read commands, as Redis's
    lookupKeyRead: a found key (even of another type) is a hit, a missing or expired one a
    miss; writes do not count."""
    def stats():
        info = client.send("INFO", "stats").decode()
        fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
        return int(fields["keyspace_hits"]), int(fields["keyspace_misses"])

    client.send("SET", "s", "v")
    client.send("LPUSH", "l", "a")
    client.send("SET", "gone", "v", "PX", "1")
    before = stats()
    client.send("GET", "s")
    client.send("GET", "nokey")
    client.send("GET", "l")  # WRONGTYPE: the key was found
    client.send("LLEN", "l")
    client.send("EXISTS", "s", "nokey")
    import time
    time.sleep(0.01)
    client.send("GET", "gone")
    client.send("SET", "s", "w")  # a write: not counted
    hits, misses = stats()
    assert (hits - before[0], misses - before[1]) == (4, 3)


def test_info_keyspace_avg_ttl_estimates_remaining_ttls(client):
    for i in range(40):
        client.send("SET", f"k{i}", "v", "EX", str(100 + i))
    client.send("SET", "persistent", "v")
    line = client.send("INFO", "keyspace").decode().splitlines()[1]
    fields = dict(kv.split("=") for kv in line.split(":", 1)[1].split(","))
    assert (fields["keys"], fields["expires"]) == ("41", "40")
    assert 99_000 <= int(fields["avg_ttl"]) <= 140_000
