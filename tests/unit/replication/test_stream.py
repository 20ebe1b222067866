"""The stream's pieces: positions as stored with the data, the bounded backlog and its
partial-resync answers, entry and ops encoding."""
from __future__ import annotations

import hiredis
import pytest

from photon.replication.stream import (
    NO_REPLID, Backlog, Position, decode_ops, encode_ops, entry_message, message, new_replid,
    request, snapshot_chunks,
)


def test_position_record_round_trip():
    a = new_replid()
    assert len(a) == 40 and a != new_replid()
    pos = Position(a, 1234)
    back = Position.parse(pos.record())
    assert (back.replid, back.offset, back.replid2, back.offset2) == (a, 1234, NO_REPLID, -1)
    assert Position.parse(pos.record(99)).offset == 99
    assert Position.parse(None) is None
    assert Position.parse(b"short") is None


def test_position_new_history_keeps_the_old_id_valid():
    old = new_replid()
    pos = Position(old, 500)
    pos.new_history(b"n" * 40)
    assert pos.replid == b"n" * 40 and pos.replid2 == old and pos.offset2 == 500
    back = Position.parse(pos.record())
    assert (back.replid2, back.offset2) == (old, 500)
    pos.offset = 700
    assert pos.can_continue(old, 500)  # a replica of the old master, in step
    assert pos.can_continue(old, 100)
    assert not pos.can_continue(old, 501)  # it has writes this node never had
    assert pos.can_continue(b"n" * 40, 600)
    assert not pos.can_continue(b"n" * 40, 701)
    assert not pos.can_continue(new_replid(), 0)
    pos.new_history()
    assert pos.replid not in (old, b"n" * 40) and pos.replid2 == b"n" * 40


def _entries(backlog: Backlog, sizes):
    offset = backlog.entries[-1][1] if backlog.entries else 0
    for n in sizes:
        backlog.append(offset, offset + n, b"m%d" % offset)
        offset += n
    return offset


def test_backlog_since_entry_boundaries():
    b = Backlog(10_000)
    end = _entries(b, [10, 20, 30])  # entries at 0, 10, 30; ends at 60
    assert end == 60
    assert b.since(60, 60) == []
    assert b.since(0, 60) == [b"m0", b"m10", b"m30"]
    assert b.since(10, 60) == [b"m10", b"m30"]
    assert b.since(30, 60) == [b"m30"]
    assert b.since(15, 60) is None  # inside an entry
    assert b.since(61, 60) is None  # ahead of this node
    assert Backlog(100).since(0, 0) == []
    assert Backlog(100).since(0, 10) is None  # empty backlog, behind: full sync


def test_backlog_is_bounded_in_bytes():
    b = Backlog(10)
    for i in range(10):
        b.append(i * 4, i * 4 + 4, b"abcd")  # 4 bytes each
    assert b.size <= 10 and len(b.entries) == 2
    assert b.first == 32
    assert b.since(32, 40) == [b"abcd", b"abcd"]
    assert b.since(28, 40) is None  # trimmed away
    big = Backlog(10)
    big.append(0, 100, b"x" * 100)  # one entry bigger than the limit stays
    assert big.since(0, 100) == [b"x" * 100]


def test_ops_encoding():
    ops = {b"a": b"1", b"\x00m\xffkey": b"\r\n\x00", b"gone": None, b"": b""}
    blob = encode_ops(ops)
    assert decode_ops(blob) == ops
    assert decode_ops(encode_ops({})) == {}


def test_messages_are_resp():
    r = hiredis.Reader()
    r.feed(entry_message(3, 100, b"blob") + message(b"CONTINUE", 2, b"id", 7)
           + request(b"PHOTON.ACK", 1, 2))
    assert r.gets() == [b"W", 3, 100, b"blob"]
    assert r.gets() == [b"CONTINUE", 2, b"id", 7]
    assert r.gets() == [b"PHOTON.ACK", b"1", b"2"]
    assert entry_message(3, 100, b"blob") == message(b"W", 3, 100, b"blob")


@pytest.mark.parametrize("chunk", [1, 100, 1 << 20])
def test_snapshot_chunks_cover_every_pair(chunk):
    pairs = [(b"k%03d" % i, b"v" * i) for i in range(100)]
    blobs = list(snapshot_chunks(iter(pairs), chunk))
    merged = {}
    for blob in blobs:
        merged.update(decode_ops(blob))
    assert merged == dict(pairs)
    if chunk == 1:
        assert len(blobs) == 100
    if chunk == 1 << 20:
        assert len(blobs) == 1
    assert list(snapshot_chunks(iter([]))) == []
