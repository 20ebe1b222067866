"""The DUMP / RESTORE codec (photon.util.rdb): CRC64, LZF, the value encodings, and payloads
captured from redis-server 7.0.15, which the codec must read and write byte for byte."""
import hashlib
import math
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from photon.util import rdb
from photon.util.rdb import RdbError

# DUMP replies of redis-server 7.0.15 (key: (OBJECT ENCODING, payload hex)), made with:
#   SET str_hello hello; SET str_int8 12; SET str_int16 -300; SET str_int32 100000;
#   SET str_long_int 12345678901234; SET str_empty ""; SET str_lzf <'a' x 30>;
#   SET str_text "The quick brown fox jumps over the lazy dog. The quick brown fox!"
#   RPUSH list_small a b 1 -5 1000 <'x' x 70>;  SADD set_intset 1 2 3 -100000 70000
#   SADD set_hashtable_one member;  HSET hash_listpack a 1 b two c 3.5
#   HSET hash_hashtable_one field <'v' x 100>;  ZADD zset_listpack 1 a 0.1 b -2.5 c 1e30 d inf e
REDIS = {
    "hash_hashtable_one": ("hashtable", "0401056669656c64c3094064017676e057000176760a00029b8132"
                                        "aefc6596"),
    "hash_listpack": ("listpack", "101c1c000000060081610201018162028374776f0481630283332e3504ff"
                                  "0a00ad45a394786ba21a"),
    "list_small": ("quicklist", "120102c31e405e165e00000006008161028162020101dffb02c3e802e04678"
                                "e03c000148ff0a00e0dcebfcb547720b"),
    "set_hashtable_one": ("hashtable", "0201066d656d6265720a00782717cf5e5d03c4"),
    "set_intset": ("intset", "0b1c04000000050000006079feff01000000020000000300000070110100"
                             "0a003429497f7aba726c"),
    "str_empty": ("embstr", "00000a005d9b5c400f7fa2da"),
    "str_hello": ("embstr", "000568656c6c6f0a006372df766534200a"),
    "str_int16": ("int", "00c1d4fe0a00c6c48623febede2e"),
    "str_int32": ("int", "00c2a08601000a00f12403506f2fa674"),
    "str_int8": ("int", "00c00c0a003c2af8515c04bcd5"),
    "str_long_int": ("int", "000e31323334353637383930313233340a00afcb8c7b76a08b6a"),
    "str_lzf": ("embstr", "00c3091e016161e011000161610a0045737cbb2b647bbb"),
    "str_text": ("raw", "00c33740411f54686520717569636b2062726f776e20666f78206a756d7073206f"
                        "7665722074201e0a6c617a7920646f672e2054200de0052c0178210a00291c855ae7"
                        "36cd5c"),
    "zset_listpack": ("listpack", "11c3363f163f0000000a00816302842d322e350581620293302e3130e005"
                                  "0019311481610201018164028531652b33300681650283696e6604ff0a00"
                                  "21f3a6aeef95f137"),
}

EXPECTED = {
    "hash_hashtable_one": [(b"field", b"v" * 100)],
    "hash_listpack": [(b"a", b"1"), (b"b", b"two"), (b"c", b"3.5")],
    "list_small": [b"a", b"b", b"1", b"-5", b"1000", b"x" * 70],
    "set_hashtable_one": [b"member"],
    "set_intset": [b"-100000", b"1", b"2", b"3", b"70000"],
    "str_empty": b"",
    "str_hello": b"hello",
    "str_int16": b"-300",
    "str_int32": b"100000",
    "str_int8": b"12",
    "str_long_int": b"12345678901234",
    "str_lzf": b"a" * 30,
    "str_text": b"The quick brown fox jumps over the lazy dog. The quick brown fox!",
    "zset_listpack": [(b"c", -2.5), (b"b", 0.1), (b"a", 1.0), (b"d", 1e30), (b"e", math.inf)],
}

# Bigger DUMPs of the same server, by length and SHA-256:
#   RPUSH list_big element-0 .. element-2999 (several quicklist nodes)
#   ZADD zset_big <i * 1.5> member-<i> for i < 300 (skiplist: ZSET_2, from the tail)
#   SADD set_intset_big 0 10 20 .. 4990
REDIS_BIG = {
    "list_big": (15054, "20346aa6c1a3e10e5a4cb1fd15827ec449880e4e61ed74fcaa7ba42e2c90047d"),
    "zset_big": (5603, "0d6392ddc3ba4c224393a529ea29f7c2190f557ef941db2798d8b2b4ca6511fa"),
    "set_intset_big": (1021, "5228718421802ce1dca73158d557bec895022cfff25a0615c013f4d27a8aa10e"),
}


def _ours(name: str) -> bytes:
    v = EXPECTED[name]
    if name.startswith("str_"):
        return rdb.dump_string(v)
    if name == "list_small":
        return rdb.dump_list(v)
    if name == "set_intset":
        return rdb.dump_intset(int(m) for m in v)
    if name == "set_hashtable_one":
        return rdb.dump_set(v, len(v))
    if name == "hash_listpack":
        return rdb.dump_hash_listpack(v)
    if name == "hash_hashtable_one":
        return rdb.dump_hash(v, len(v))
    if name == "zset_listpack":
        return rdb.dump_zset_listpack(v)
    raise AssertionError(name)


# --- CRC64 and the footer ---------------------------------------------------------------------

def test_crc64_jones_check_value():
    assert rdb.crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    assert rdb.crc64(b"") == 0


def test_crc64_slicing_equals_bytewise():
    rng = random.Random(1)
    table = rdb._T[0]
    for n in (0, 1, 7, 8, 9, 63, 64, 1000):
        data = rng.randbytes(n)
        crc = 0
        for b in data:
            crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
        assert rdb.crc64(data) == crc


@pytest.mark.parametrize("name", sorted(REDIS))
def test_redis_payloads_verify(name):
    assert rdb.verify(bytes.fromhex(REDIS[name][1]))


def test_verify_rejects_bad_footers():
    good = bytes.fromhex(REDIS["str_hello"][1])
    assert not rdb.verify(good[:-1] + bytes([good[-1] ^ 1]))  # checksum
    assert not rdb.verify(good[:5] + b"\x00" + good[6:])        # body changed
    assert not rdb.verify(b"\x00" * 9)                           # shorter than the footer
    body = b"\x00\x01a"
    v11 = body + b"\x0b\x00"
    assert not rdb.verify(v11 + rdb.crc64(v11).to_bytes(8, "little"))  # RDB 11 (Redis 7.2)
    v9 = body + b"\x09\x00"
    assert rdb.verify(v9 + rdb.crc64(v9).to_bytes(8, "little"))  # older versions load


# --- Redis's payloads: read them, write the same bytes ----------------------------------------

@pytest.mark.parametrize("name", sorted(REDIS))
def test_load_redis_payload(name):
    loaded = rdb.load(bytes.fromhex(REDIS[name][1]))
    expected = EXPECTED[name]
    if loaded.kind == "set":
        assert sorted(loaded.data) == sorted(expected)
    else:
        assert loaded.data == expected


@pytest.mark.parametrize("name", sorted(REDIS))
def test_dump_bytes_equal_redis(name):
    assert _ours(name).hex() == REDIS[name][1]


def test_big_dumps_equal_redis():
    ours = {
        "list_big": rdb.dump_list(b"element-%d" % i for i in range(3000)),
        "zset_big": rdb.dump_zset2(((b"member-%d" % i, i * 1.5) for i in reversed(range(300))),
                                   300),
        "set_intset_big": rdb.dump_intset(range(0, 5000, 10)),
    }
    for name, (size, digest) in REDIS_BIG.items():
        assert (len(ours[name]), hashlib.sha256(ours[name]).hexdigest()) == (size, digest), name
    nodes = list(rdb.quicklist_nodes(b"element-%d" % i for i in range(3000)))
    assert len(nodes) > 1 and all(len(lp) <= rdb.QUICKLIST_NODE_LIMIT for _, lp in nodes)
    loaded = rdb.load(ours["list_big"])
    assert loaded.data == [b"element-%d" % i for i in range(3000)]


# --- LZF ----------------------------------------------------------------------------------------

@given(st.binary(max_size=3000))
@settings(max_examples=300, deadline=None)
def test_lzf_round_trip(data):
    packed = rdb.lzf_compress(data, len(data) + 64)
    if not data:
        assert packed is None
        return
    assert packed is not None
    assert rdb.lzf_decompress(packed, len(data)) == data


@given(st.lists(st.sampled_from([b"ab", b"abc", b"hello ", b"x", b"0123456789"]), max_size=400))
@settings(max_examples=200, deadline=None)
def test_lzf_round_trip_repetitive(parts):
    data = b"".join(parts)
    packed = rdb.lzf_compress(data, max(len(data) - 4, 0))
    if packed is not None:
        assert len(packed) <= len(data) - 4
        assert rdb.lzf_decompress(packed, len(data)) == data


def _lzf_reference(data: bytes, out_len: int) -> bytes | None:
    """lzf_c.c written out step by step (a dict for the table, one byte at a time)."""
    in_end = len(data)
    if not in_end or out_len <= 0:
        return None
    out = bytearray(out_len + 8)
    htab: dict[int, int] = {}
    op = 1  # the first literal run's length byte is out[0]
    lit = 0
    ip = 0
    limit = in_end - 2
    while ip < limit:
        h = (data[ip] << 16) | (data[ip + 1] << 8) | data[ip + 2]
        slot = ((h >> 8) - h * 5) & 0xFFFF
        ref = htab.get(slot, 0)
        htab[slot] = ip
        off = ip - ref - 1
        if (ref > 0 and off < (1 << 13) and data[ref] == data[ip] and data[ref + 1] == data[ip + 1]
                and data[ref + 2] == data[ip + 2]):
            length = 2
            maxlen = in_end - ip - length
            if maxlen > 264:
                maxlen = 264
            if op + 3 + 1 >= out_len and op - (not lit) + 3 + 1 >= out_len:
                return None
            out[op - lit - 1] = (lit - 1) & 0xFF  # stop run
            if not lit:
                op -= 1  # undo run if length is zero
            mismatch = False
            if maxlen > 16:  # the unrolled compare: 16 steps, no bound check
                for _ in range(16):
                    length += 1
                    if data[ref + length] != data[ip + length]:
                        mismatch = True
                        break
            if not mismatch:
                while True:
                    length += 1
                    if not (length < maxlen and data[ref + length] == data[ip + length]):
                        break
            length -= 2  # now the number of octets - 2... as the format stores it
            ip += 1
            if length < 7:
                out[op] = (off >> 8) + (length << 5)
                op += 1
            else:
                out[op] = (off >> 8) + (7 << 5)
                out[op + 1] = length - 7
                op += 2
            out[op] = off & 0xFF
            op += 1
            lit = 0
            op += 1  # start run
            ip += length + 1
            if ip >= limit:
                break
            ip -= 2  # VERY_FAST: hash the last two positions of the match
            for _ in range(2):
                h = (data[ip] << 16) | (data[ip + 1] << 8) | data[ip + 2]
                htab[((h >> 8) - h * 5) & 0xFFFF] = ip
                ip += 1
        else:
            if op >= out_len:
                return None
            lit += 1
            out[op] = data[ip]
            op += 1
            ip += 1
            if lit == 32:
                out[op - lit - 1] = lit - 1
                lit = 0
                op += 1
    if op + 3 > out_len:
        return None
    while ip < in_end:
        lit += 1
        out[op] = data[ip]
        op += 1
        ip += 1
        if lit == 32:
            out[op - lit - 1] = lit - 1
            lit = 0
            op += 1
    out[op - lit - 1] = (lit - 1) & 0xFF  # end run
    if not lit:
        op -= 1
    return bytes(out[:op])


def test_lzf_compress_equals_the_plain_port():
    rng = random.Random(11)
    for _ in range(800):
        n = rng.choice([1, 2, 3, 4, 5, 10, 21, 30, 50, 100, 300, 1000, 9000])
        kind = rng.randrange(4)
        if kind == 0:
            data = rng.randbytes(n)
        elif kind == 1:
            data = bytes(rng.choice(b"ab") for _ in range(n))
        elif kind == 2:
            data = bytes(rng.choice(b"abcdefgh ") for _ in range(n))
        else:
            data = rng.randbytes(rng.randrange(1, 20)) * (n // 5 + 1)
        for out_len in (len(data) - 4, len(data) + 40, len(data) // 2, 3):
            assert rdb.lzf_compress(data, out_len) == _lzf_reference(data, out_len)


def test_lzf_gives_up_when_output_would_not_shrink():
    data = random.Random(3).randbytes(200)
    assert rdb.lzf_compress(data, len(data) - 4) is None
    assert rdb.encode_string(data) == rdb.encode_len(200) + data


def test_lzf_decompress_rejects_corrupt_input():
    assert rdb.lzf_decompress(b"\x05ab", 6) is None           # literal runs past the input
    assert rdb.lzf_decompress(b"\x00a\x20\x05", 10) is None   # back reference before the start
    assert rdb.lzf_decompress(b"\x01ab", 1) is None           # output too long (E2BIG)
    assert rdb.lzf_decompress(b"\x00a\xe0", 10) is None       # truncated long back reference
    assert rdb.lzf_decompress(b"\x00a\x40\x00", 10) == b"aaaaa"  # overlapping copy


def test_encode_string_choices():
    assert rdb.encode_string(b"7") == b"\xc0\x07"
    assert rdb.encode_string(b"-129") == b"\xc1\x7f\xff"
    assert rdb.encode_string(b"2147483647") == b"\xc2\xff\xff\xff\x7f"
    assert rdb.encode_string(b"2147483648") == b"\x0a2147483648"  # beyond int32
    assert rdb.encode_string(b"007") == b"\x03007"                   # not canonical
    assert rdb.encode_string(b"-0") == b"\x02-0"
    assert rdb.encode_string(b"a" * 20) == b"\x14" + b"a" * 20       # never compressed <= 20
    assert rdb.encode_string(b"a" * 21)[0] == 0xC3
    big = b"ab" * (rdb.LZF_MAX_INPUT // 2 + 1)
    assert rdb.encode_string(big) == rdb.encode_len(len(big)) + big   # too big to compress here
    budget = rdb.Budget(100)
    assert rdb.encode_string(b"a" * 60, budget)[0] == 0xC3
    assert rdb.encode_string(b"a" * 60, budget)[0] != 0xC3            # budget spent
    assert rdb.Reader(rdb.encode_string(big)).string() == big


def test_lengths_round_trip():
    for n in (0, 63, 64, 16383, 16384, 2**32 - 1, 2**32, 2**40):
        r = rdb.Reader(rdb.encode_len(n))
        assert r.length() == (n, False)
    with pytest.raises(RdbError):
        rdb.Reader(b"\x82").length()
    with pytest.raises(RdbError):
        rdb.Reader(b"\x80\x00").length()


# --- listpacks, ziplists, intsets, zipmaps ------------------------------------------------------

ITEMS = [b"", b"a", b"0", b"127", b"128", b"-1", b"-4096", b"4095", b"4096", b"-32768", b"32767",
         b"32768", b"-8388608", b"8388607", b"8388608", b"2147483647", b"-2147483649",
         b"9223372036854775807", b"-9223372036854775808", b"9223372036854775808", b"01",
         b"x" * 63, b"y" * 64, b"z" * 4095, b"w" * 4096, b"v" * 20000, b"3.14", b" 1"]


def test_listpack_round_trip_and_integer_encodings():
    lp = rdb.listpack(ITEMS)
    assert rdb.parse_listpack(lp) == ITEMS
    assert rdb.listpack_entry(b"5") == b"\x05\x01"
    assert rdb.listpack_entry(b"-1") == b"\xdf\xff\x02"
    assert rdb.listpack_entry(b"1000") == b"\xc3\xe8\x02"
    assert rdb.listpack_entry(b"ab") == b"\x82ab\x03"
    assert rdb.parse_listpack(rdb.listpack([])) == []


def test_listpack_with_unknown_count_header():
    lp = bytearray(rdb.listpack([b"a", b"b"]))
    lp[4:6] = b"\xff\xff"
    assert rdb.parse_listpack(bytes(lp)) == [b"a", b"b"]


@pytest.mark.parametrize("mutate", [
    lambda lp: lp[:-1] + b"\x00",                       # no terminator
    lambda lp: b"\x00" + lp[1:],                        # total bytes wrong
    lambda lp: lp[:4] + b"\x05\x00" + lp[6:],           # element count wrong
    lambda lp: lp[:6] + b"\xf7" + lp[7:],               # unknown encoding
    lambda lp: lp[:8] + b"\x09" + lp[9:],               # back length wrong
])
def test_listpack_corruption_is_refused(mutate):
    lp = rdb.listpack([b"a", b"bb", b"300"])
    with pytest.raises(RdbError):
        rdb.parse_listpack(mutate(lp))


def test_ziplist_round_trip():
    items = ITEMS + [b"12", b"13", b"-128", b"-129"]
    assert rdb.parse_ziplist(rdb.ziplist(items)) == items
    assert rdb.parse_ziplist(rdb.ziplist([])) == []
    zl = rdb.ziplist([b"a", b"b"])
    with pytest.raises(RdbError):
        rdb.parse_ziplist(zl[:4] + b"\x00\x00\x00\x00" + zl[8:])   # tail offset
    with pytest.raises(RdbError):
        rdb.parse_ziplist(zl[:-1] + b"\x00")
    with pytest.raises(RdbError):
        rdb.parse_ziplist(zl[:8] + b"\x07\x00" + zl[10:])          # count


def test_intset_round_trip_and_widths():
    for values in ([1, 2, 3], [-40000, 5], [1, 2**40], [-(2**63), 2**63 - 1]):
        blob = rdb.intset(values)
        assert rdb.parse_intset(blob) == sorted(values)
    assert struct.unpack_from("<I", rdb.intset([1, 70000]))[0] == 4
    unsorted = struct.pack("<IIhh", 2, 2, 5, 1)
    assert rdb.parse_intset(unsorted) == [1, 5]  # Redis loads it without sanitizing
    with pytest.raises(RdbError):
        rdb.parse_intset(struct.pack("<IIhh", 2, 2, 1, 1))   # a repeated value
    with pytest.raises(RdbError):
        rdb.parse_intset(struct.pack("<IIh", 3, 1, 1))        # unknown width
    with pytest.raises(RdbError):
        rdb.parse_intset(struct.pack("<IIh", 2, 2, 1))        # short


def test_zipmap_round_trip():
    pairs = [(b"a", b"1"), (b"b" * 300, b"2"), (b"c", b"")]
    assert rdb.parse_zipmap(rdb.zipmap(pairs)) == pairs
    with pytest.raises(RdbError):
        rdb.parse_zipmap(rdb.zipmap(pairs)[:-1])


# --- scores ---------------------------------------------------------------------------------

@pytest.mark.parametrize("score,text", [
    (0.0, b"0"), (-0.0, b"0"), (3.0, b"3"), (1e15, b"1000000000000000"),
    (1e16, b"10000000000000000"), (1e17, b"100000000000000000"), (9007199254740992.0,
                                                                   b"9007199254740992"),
    (1.2345678901234569e+23, b"1.2345678901234569e+23"), (0.5, b"0.5"),
    (1e-5, b"1.0000000000000001e-05"), (1.5e300, b"1.5000000000000001e+300"),
    (-1e-300, b"-1e-300"), (1e20, b"1e+20"), (0.1, b"0.10000000000000001"),
    (math.inf, b"inf"), (-math.inf, b"-inf"), (-4503599627370496.0, b"-4503599627370496"),
])
def test_d2string_as_redis_7_0_stores_listpack_scores(score, text):
    # Each text is what redis-server 7.0.15 put in the listpack for ZADD z <score> m.
    assert rdb.d2string(score) == text


def test_strtod_prefix():
    assert rdb.strtod_prefix(b"1.5") == 1.5
    assert rdb.strtod_prefix(b" 1.5x") == 1.5
    assert rdb.strtod_prefix(b"-inf") == -math.inf
    assert math.isnan(rdb.strtod_prefix(b"nan"))
    assert rdb.strtod_prefix(b"0x10") == 16.0
    assert rdb.strtod_prefix(b"abc") is None


# --- loading every object type -------------------------------------------------------------

def _p(t: int, *parts: bytes) -> bytes:
    return rdb.payload(bytes((t,)) + b"".join(parts))


es = rdb.encode_string
el = rdb.encode_len


def test_load_older_and_plain_encodings():
    assert rdb.load(_p(rdb.TYPE_LIST, el(2), es(b"a"), es(b"7"))).data == [b"a", b"7"]
    assert rdb.load(_p(rdb.TYPE_LIST_ZIPLIST, es(rdb.ziplist([b"a", b"1"])))).data == [b"a",
                                                                                          b"1"]
    ql = _p(rdb.TYPE_LIST_QUICKLIST, el(3), es(rdb.ziplist([b"a", b"1"])), es(rdb.ziplist([])),
            es(rdb.ziplist([b"c"])))
    assert rdb.load(ql).data == [b"a", b"1", b"c"]
    ql2 = _p(rdb.TYPE_LIST_QUICKLIST_2, el(3), el(2), es(rdb.listpack([b"a"])), el(1),
             es(b"plain"), el(2), es(rdb.listpack([])))
    assert rdb.load(ql2).data == [b"a", b"plain"]
    assert sorted(rdb.load(_p(rdb.TYPE_SET, el(2), es(b"x"), es(b"5"))).data) == [b"5", b"x"]
    assert rdb.load(_p(rdb.TYPE_SET_INTSET, es(rdb.intset([3, 1])))).data == [b"1", b"3"]
    h = [(b"f", b"v"), (b"g", b"12")]
    assert rdb.load(_p(rdb.TYPE_HASH, el(2), es(b"f"), es(b"v"), es(b"g"), es(b"12"))).data == h
    assert rdb.load(_p(rdb.TYPE_HASH_ZIPMAP, es(rdb.zipmap(h)))).data == h
    assert rdb.load(_p(rdb.TYPE_HASH_ZIPLIST, es(rdb.ziplist([b"f", b"v", b"g", b"12"])))).data \
        == h
    assert rdb.load(_p(rdb.TYPE_HASH_LISTPACK, es(rdb.listpack([b"f", b"v", b"g", b"12"])))
                    ).data == h
    z = [(b"a", 1.5), (b"b", math.inf), (b"c", -2.0)]
    assert rdb.load(_p(rdb.TYPE_ZSET, el(3), es(b"a"), b"\x031.5", es(b"b"), b"\xfe", es(b"c"),
                       b"\x02-2")).data == z
    assert rdb.load(_p(rdb.TYPE_ZSET_2, el(3), *[es(m) + struct.pack("<d", s) for m, s in z])
                    ).data == z
    flat = [b"a", b"1.5", b"b", b"inf", b"c", b"-2"]
    assert rdb.load(_p(rdb.TYPE_ZSET_ZIPLIST, es(rdb.ziplist(flat)))).data == z
    assert rdb.load(_p(rdb.TYPE_ZSET_LISTPACK, es(rdb.listpack(flat)))).data == z


@pytest.mark.parametrize("payload", [
    _p(rdb.TYPE_LIST, el(0)),
    _p(rdb.TYPE_SET, el(0)),
    _p(rdb.TYPE_HASH, el(0)),
    _p(rdb.TYPE_ZSET_2, el(0)),
    _p(rdb.TYPE_LIST_QUICKLIST_2, el(0)),
    _p(rdb.TYPE_LIST_QUICKLIST_2, el(1), el(2), es(rdb.listpack([]))),
    _p(rdb.TYPE_LIST_QUICKLIST, el(1), es(rdb.ziplist([]))),
    _p(rdb.TYPE_LIST_ZIPLIST, es(rdb.ziplist([]))),
    _p(rdb.TYPE_SET_INTSET, es(rdb.intset([]))),
    _p(rdb.TYPE_HASH_LISTPACK, es(rdb.listpack([]))),
    _p(rdb.TYPE_ZSET_LISTPACK, es(rdb.listpack([]))),
], ids=lambda p: "type%d" % p[0])
def test_empty_collections_are_refused(payload):
    with pytest.raises(RdbError):
        rdb.load(payload)


@pytest.mark.parametrize("payload", [
    _p(rdb.TYPE_SET, el(2), es(b"a"), es(b"a")),
    _p(rdb.TYPE_HASH, el(2), es(b"f"), es(b"1"), es(b"f"), es(b"2")),
    _p(rdb.TYPE_ZSET_2, el(2), es(b"m"), struct.pack("<d", 1), es(b"m"), struct.pack("<d", 2)),
    _p(rdb.TYPE_ZSET_2, el(1), es(b"m"), struct.pack("<d", math.nan)),
    _p(rdb.TYPE_ZSET, el(1), es(b"m"), b"\xfd"),
    _p(rdb.TYPE_ZSET, el(1), es(b"m"), b"\x03abc"),
    _p(rdb.TYPE_HASH_ZIPLIST, es(rdb.ziplist([b"f", b"1", b"f", b"2"]))),
    _p(rdb.TYPE_HASH_LISTPACK, es(rdb.listpack([b"f", b"1", b"g"]))),
    _p(rdb.TYPE_LIST_QUICKLIST_2, el(1), el(3), es(rdb.listpack([b"a"]))),
    _p(rdb.TYPE_STRING, b"\xc3\x02\x05\x00\x61"),    # LZF that does not inflate to 5 bytes
    _p(rdb.TYPE_STRING, b"\xc4"),                    # unknown string encoding
    _p(rdb.TYPE_STRING, b"\x82abc"),                 # unknown length encoding
    _p(rdb.TYPE_STREAM_LISTPACKS, b"\x00"),
    _p(rdb.TYPE_STREAM_LISTPACKS_2, b"\x00"),
    _p(rdb.TYPE_MODULE_2, b"\x00" * 16),
    _p(8, b"\x00"),
    _p(20, es(rdb.listpack([b"a"]))),                # RDB_TYPE_SET_LISTPACK is Redis 7.2's
    _p(rdb.TYPE_LIST, el(1000)),                     # runs out of data
])
def test_bad_data_is_refused(payload):
    with pytest.raises(RdbError):
        rdb.load(payload)


def test_load_reads_as_redis_does_past_the_object():
    # Redis reads the object from the whole argument: bytes after it are ignored, and a string
    # cut short takes its last bytes from the footer.
    assert rdb.load(_p(rdb.TYPE_STRING, es(b"abc"), b"junk")).data == b"abc"
    assert rdb.load(_p(rdb.TYPE_STRING, b"\x05ab")).data[:2] == b"ab"
    # An LZF string of length 0 is the empty string whatever follows (lzf_decompress's 0).
    assert rdb.load(_p(rdb.TYPE_STRING, b"\xc3\x01\x00\x00")).data == b""


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=300))
@settings(max_examples=60, deadline=None)
def test_list_round_trip(elements):
    assert rdb.load(rdb.dump_list(elements)).data == elements


@given(st.dictionaries(st.binary(max_size=80), st.binary(max_size=80), min_size=1,
                       max_size=100))
@settings(max_examples=60, deadline=None)
def test_hash_round_trips(d):
    pairs = sorted(d.items())
    assert rdb.load(rdb.dump_hash_listpack(pairs)).data == pairs
    assert rdb.load(rdb.dump_hash(pairs, len(pairs))).data == pairs


@given(st.dictionaries(st.binary(max_size=40),
                       st.floats(allow_nan=False).map(lambda f: f + 0.0), min_size=1,
                       max_size=100))
@settings(max_examples=60, deadline=None)
def test_zset_round_trips(d):
    pairs = sorted(d.items(), key=lambda p: (p[1], p[0]))
    assert rdb.load(rdb.dump_zset_listpack(pairs)).data == pairs  # %.17g is exact
    tail_first = pairs[::-1]
    assert rdb.load(rdb.dump_zset2(tail_first, len(pairs))).data == tail_first


@given(st.sets(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=200))
@settings(max_examples=60, deadline=None)
def test_intset_payload_round_trip(values):
    assert rdb.load(rdb.dump_intset(values)).data == [b"%d" % v for v in sorted(values)]
