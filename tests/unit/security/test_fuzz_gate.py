"""In-process fuzzing of the RESP reader and the command gate (FakeServer, no sockets):
random and RESP-shaped streams, with and without a password, must

* never raise out of data_received (a bug would otherwise kill the connection),
* give byte-for-byte the same replies however the stream is split into reads (one read takes
  the hiredis fast path, small reads the Python reader: they must agree) -- except for
  cross-protocol requests, which drop replies not yet written, as Redis,
* leave the server answering PING on a new connection.

CI runs a bounded number of examples; PHOTON_FUZZ_EXAMPLES=20000 runs a longer campaign."""
from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from photon.commands.keys import CURSORS
from tests.fuzz_strategies import PASSWORD, chunked, examples, streams
from tests.unit.fakes import FakeServer

_ID = re.compile(rb"\$2\r\nid\r\n:\d+")
SETTINGS = settings(max_examples=examples(600), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _run(chunks: list[bytes], password: bool) -> bytes:
    # SCAN cursors come from one process-wide counter: start each run from the same state
    CURSORS._positions.clear()
    CURSORS._next = 1 << 20
    server = FakeServer(**({"requirepass": PASSWORD.decode()} if password else {}))
    c = server.new_client()
    for chunk in chunks:
        c.data_received(chunk)
    out = bytes(c.transport.data)
    probe = server.new_client()
    if password:
        probe.send("AUTH", PASSWORD)
    assert probe.send("PING") == b"PONG"
    return _ID.sub(b"$2\r\nid\r\n:ID", out)


@SETTINGS
@given(chunks=chunked(streams(pubsub=False, http=False)), password=st.booleans())
def test_replies_do_not_depend_on_how_the_stream_is_split(chunks, password):
    whole = _run([b"".join(chunks)], password)
    split = _run(chunks, password)
    assert split == whole
    byte_by_byte = _run([bytes([b]) for b in b"".join(chunks)[:600]], password)
    assert byte_by_byte == _run([b"".join(chunks)[:600]], password)


@SETTINGS
@given(data=st.binary(max_size=4096), password=st.booleans())
def test_random_bytes(data, password):
    _run([data], password)
