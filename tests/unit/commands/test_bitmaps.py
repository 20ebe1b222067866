"""Bitmap commands: Redis 7.0's argument order and range rules."""
from hiredis import ReplyError


def test_bitcount_looks_up_the_key_first(client):
    # A missing key answers 0 before any argument is read.
    assert client.send("BITCOUNT", "missing", "a", "b") == 0
    assert client.send("BITCOUNT", "missing", "0") == 0
    assert client.send("BITCOUNT", "missing", "1", "2", "3", "4") == 0
    client.send("SET", "s", "foobar")
    assert isinstance(client.send("BITCOUNT", "s", "0"), ReplyError)
    # Two negatives the wrong way round answer 0 before the unit is read.
    assert client.send("BITCOUNT", "s", "-1", "-5", "FOO") == 0
    assert str(client.send("BITCOUNT", "s", "0", "-1", "FOO")) == "ERR syntax error"
    assert client.send("BITCOUNT", "s", "5", "30", "BIT") == 17
    assert client.send("BITCOUNT", "s", "1", "1") == 6


def test_bitpos_clamps_without_the_bitcount_shortcut(client):
    client.send("SET", "p", b"\xff\xf0\x00")
    assert client.send("BITPOS", "p", "1", "-10", "-20") == 0  # both clamp to byte 0
    assert client.send("BITPOS", "p", "0", "-1", "-5") == -1
    assert client.send("BITPOS", "p", "0") == 12
    assert client.send("BITPOS", "p", "0", "7", "15", "BIT") == 12
    assert client.send("BITPOS", "missing", "0") == 0
    assert client.send("BITPOS", "missing", "1", "x") == -1
    client.send("SET", "ones", b"\xff")
    assert client.send("BITPOS", "ones", "0") == 8
    assert client.send("BITPOS", "ones", "0", "0", "-1") == -1


def test_bit_offset_limit_follows_proto_max_bulk_len(client):
    client.send("CONFIG", "SET", "proto-max-bulk-len", "1mb")
    try:
        assert str(client.send("SETBIT", "b", str(8 * 1024 * 1024), "1")) == (
            "ERR bit offset is not an integer or out of range")
        assert client.send("SETBIT", "b", str(8 * 1024 * 1024 - 1), "1") == 0
    finally:
        client.send("CONFIG", "SET", "proto-max-bulk-len", "512mb")


def test_bitop(client):
    client.send("SET", "a", "abc")
    client.send("SET", "b", "ABCDE")
    assert client.send("BITOP", "XOR", "d", "a", "b") == 5
    assert client.send("GET", "d") == b"\x20\x20\x20DE"
    assert client.send("OBJECT", "ENCODING", "d") == b"raw"
    assert client.send("BITOP", "AND", "d", "missing") == 0
    assert client.send("EXISTS", "d") == 0
    assert str(client.send("BITOP", "NOT", "d", "a", "b")) == (
        "ERR BITOP NOT must be called with a single source key.")


def test_bitfield(client):
    """BITFIELD / BITFIELD_RO (bitops.c): signed and unsigned fields at bit offsets and #N,
    WRAP/SAT/FAIL overflow, the key grown to the highest written bit; as redis-server 7.0.15."""
    cmd = ("BITFIELD", "mykey", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2",
           "102", "1")
    assert client.send(*cmd) == [1, 1]
    assert client.send(*cmd) == [2, 2]
    assert client.send(*cmd) == [3, 3]
    assert client.send(*cmd) == [0, 3]
    assert client.send("STRLEN", "mykey") == 13
    assert client.send("BITFIELD_RO", "hello", "GET", "i8", "16") == [0]
    assert client.send("BITFIELD", "k", "SET", "i8", "0", "-100", "GET", "u8", "0", "GET", "i4",
                       "0", "INCRBY", "i8", "0", "-100") == [0, 156, -7, 56]
    assert client.send("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-100",
                       "OVERFLOW", "SAT", "INCRBY", "i8", "0", "-100", "SET", "u8", "#1",
                       "-1") == [-44, -128, 0]
    assert client.send("BITFIELD", "k", "GET", "u8", "#1", "INCRBY", "i64", "0",
                       "9223372036854775807") == [255, 71776119061217279]
    assert str(client.send("BITFIELD", "k", "GET", "u64", "0")) == (
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported "
        "but i64 is.")
    assert str(client.send("BITFIELD", "k", "OVERFLOW", "foo", "GET", "u8", "0")) == (
        "ERR Invalid OVERFLOW type specified")
    assert str(client.send("BITFIELD", "k", "GET", "u8", "-1")) == (
        "ERR bit offset is not an integer or out of range")
    assert str(client.send("BITFIELD_RO", "k", "SET", "u8", "0", "1")) == (
        "ERR BITFIELD_RO only supports the GET subcommand")
    assert str(client.send("BITFIELD", "k", "GET", "u8")) == "ERR syntax error"
