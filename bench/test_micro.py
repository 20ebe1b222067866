"""Micro-benchmarks of the hot paths, in-process (no sockets): run with ``pytest bench/``.

Each benchmark reports time per call (pytest-benchmark's table); ``extra_info`` says what one
call does. Nothing is asserted about speed; the asserts only check the benchmark measured what
it claims to (the right reply came back).
"""
from __future__ import annotations

import itertools

import pytest

from photon.protocol.encoder import encode
from photon.protocol.parser import RequestParser

KEYS = 10_000  # distinct keys cycled through, so engines see a realistic spread of keys
VALUE = b"x" * 32


def resp(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def key_cycle(prefix: bytes = b"key:") -> itertools.cycle:
    return itertools.cycle([prefix + b"%06d" % i for i in range(KEYS)])


# --- RESP request parsing -----------------------------------------------------------------

SET_REQUEST = resp(b"SET", b"key:000123", VALUE)
PIPELINE_16 = b"".join(resp(b"SET", b"key:%06d" % i, VALUE) if i % 2 else
                       resp(b"GET", b"key:%06d" % i) for i in range(16))


def test_parse_single_request(benchmark):
    parser = RequestParser()
    benchmark.extra_info["what"] = "RequestParser.feed of one whole SET (hiredis fast path)"
    out = benchmark(parser.feed, SET_REQUEST)
    assert out == [[b"SET", b"key:000123", VALUE]]


def test_parse_pipeline_16(benchmark):
    parser = RequestParser()
    benchmark.extra_info["what"] = "RequestParser.feed of one read holding 16 requests"
    benchmark.extra_info["requests_per_call"] = 16
    out = benchmark(parser.feed, PIPELINE_16)
    assert len(out) == 16


def test_parse_request_split_across_reads(benchmark):
    """The Python reader's path: a request whose bytes arrive in two reads."""
    parser = RequestParser()
    head, tail = SET_REQUEST[:17], SET_REQUEST[17:]

    def feed_both():
        parser.feed(head)
        return parser.feed(tail)

    benchmark.extra_info["what"] = "two RequestParser.feed calls completing one SET"
    out = benchmark(feed_both)
    assert out == [[b"SET", b"key:000123", VALUE]]


# --- reply encoding -----------------------------------------------------------------------

REPLIES = {
    "bulk": VALUE,
    "array": [b"member:%03d" % i for i in range(10)],
    "map": {b"field:%03d" % i: b"value:%03d" % i for i in range(10)},
}


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
@pytest.mark.parametrize("kind", list(REPLIES))
def test_encode(benchmark, kind, resp3):
    value = REPLIES[kind]
    benchmark.extra_info["what"] = f"encode() of a {kind} reply ({'RESP3' if resp3 else 'RESP2'})"
    out = benchmark(encode, value, resp3)
    if kind == "map":
        assert out.startswith(b"%10\r\n" if resp3 else b"*20\r\n")


# --- keyspace on each engine --------------------------------------------------------------

def test_keyspace_set_string_commit(benchmark, keyspace):
    keys = key_cycle()

    def set_commit():
        keyspace.set_string(0, next(keys), VALUE)
        keyspace.commit()

    benchmark.extra_info["what"] = "Keyspace.set_string + commit (one engine write)"
    benchmark(set_commit)
    assert keyspace.get_string(0, b"key:000000") == VALUE


def test_keyspace_get_string(benchmark, keyspace):
    for i in range(KEYS):
        keyspace.set_string(0, b"key:%06d" % i, VALUE)
    keyspace.commit()
    keys = key_cycle()

    def get():
        return keyspace.get_string(0, next(keys))

    benchmark.extra_info["what"] = "Keyspace.get_string of an existing key"
    assert benchmark(get) == VALUE


# --- whole commands through the socketless client -----------------------------------------

def _runner(client, requests):
    """One call sends the next request through data_received and returns the reply bytes."""
    data = client.transport.data
    requests = itertools.cycle(requests)

    def run():
        data.clear()
        client.data_received(next(requests))
        return bytes(data)

    return run


def test_client_hset(benchmark, fake_client):
    run = _runner(fake_client, [resp(b"HSET", b"hash:%03d" % (i % 100), b"f:%06d" % i, VALUE)
                                for i in range(KEYS)])
    benchmark.extra_info["what"] = "HSET (100 hashes) through Client.data_received"
    reply = benchmark(run)
    assert reply in (b":1\r\n", b":0\r\n")


def test_client_hget(benchmark, fake_client):
    fill = _runner(fake_client, [resp(b"HSET", b"hash:%03d" % (i % 100), b"f:%06d" % i, VALUE)
                                 for i in range(KEYS)])
    for _ in range(KEYS):
        fill()
    run = _runner(fake_client, [resp(b"HGET", b"hash:%03d" % (i % 100), b"f:%06d" % i)
                                for i in range(KEYS)])
    benchmark.extra_info["what"] = "HGET of an existing field through Client.data_received"
    assert benchmark(run) == b"$32\r\n" + VALUE + b"\r\n"


def test_client_set(benchmark, fake_client):
    run = _runner(fake_client, [resp(b"SET", b"key:%06d" % i, VALUE) for i in range(KEYS)])
    benchmark.extra_info["what"] = "SET through Client.data_received (parse, run, encode)"
    assert benchmark(run) == b"+OK\r\n"


def test_client_get(benchmark, fake_client):
    fill = _runner(fake_client, [resp(b"SET", b"key:%06d" % i, VALUE) for i in range(KEYS)])
    for _ in range(KEYS):
        fill()
    run = _runner(fake_client, [resp(b"GET", b"key:%06d" % i) for i in range(KEYS)])
    benchmark.extra_info["what"] = "GET of an existing key through Client.data_received"
    assert benchmark(run) == b"$32\r\n" + VALUE + b"\r\n"


def test_client_pipeline_16(benchmark, fake_client):
    run = _runner(fake_client, [PIPELINE_16])
    benchmark.extra_info["what"] = "one read of 16 pipelined SET/GET through data_received"
    benchmark.extra_info["requests_per_call"] = 16
    reply = benchmark(run)
    assert reply.count(b"+OK\r\n") == 8


# --- the raw stack, for the in-process photon/raw ratio ------------------------------------

@pytest.fixture
def raw_protocol(tmp_path):
    """bench/raw_server.py's protocol over 16 LevelDB shards, socketless: what
    test_client_set/get[leveldb] cost above it is photon's own Python."""
    from bench.raw_server import RawProtocol, open_dbs
    from tests.unit.fakes import FakeTransport

    (tmp_path / "raw").mkdir()
    dbs = open_dbs(tmp_path / "raw")
    proto = RawProtocol(dbs)
    proto.connection_made(FakeTransport())
    yield proto
    for db in dbs:
        db.close()


def test_raw_set(benchmark, raw_protocol):
    run = _runner(raw_protocol, [resp(b"SET", b"key:%06d" % i, VALUE) for i in range(KEYS)])
    benchmark.extra_info["what"] = "SET through the raw stack's data_received (LevelDB)"
    assert benchmark(run) == b"+OK\r\n"


def test_raw_get(benchmark, raw_protocol):
    fill = _runner(raw_protocol, [resp(b"SET", b"key:%06d" % i, VALUE) for i in range(KEYS)])
    for _ in range(KEYS):
        fill()
    run = _runner(raw_protocol, [resp(b"GET", b"key:%06d" % i) for i in range(KEYS)])
    benchmark.extra_info["what"] = "GET through the raw stack's data_received (LevelDB)"
    assert benchmark(run) == b"$32\r\n" + VALUE + b"\r\n"
