"""MULTI / EXEC / DISCARD / WATCH through the gate (Redis 7.0's multi.c behaviour)."""
import time

from hiredis import ReplyError


def test_exec_runs_queued_commands(client):
    assert client.send("MULTI") == b"OK"
    assert client.send("SET", "a", "1") == b"QUEUED"
    assert client.send("INCR", "a") == b"QUEUED"
    assert client.send("EXEC") == [b"OK", 2]


def test_errors_while_queueing_abort(client):
    client.send("MULTI")
    client.send("SET", "a", "1")
    assert isinstance(client.send("NOSUCH"), ReplyError)
    assert str(client.send("EXEC")) == (
        "EXECABORT Transaction discarded because of previous errors.")
    assert client.send("EXISTS", "a") == 0


def test_runtime_errors_stay_in_the_array(client):
    client.send("SET", "s", "abc")
    client.send("MULTI")
    client.send("INCR", "s")
    client.send("SET", "t", "1")
    reply = client.send("EXEC")
    assert isinstance(reply[0], ReplyError) and reply[1] == b"OK"


def test_nested_multi_and_watch_inside_do_not_abort(client):
    client.send("MULTI")
    assert str(client.send("MULTI")) == "ERR MULTI calls can not be nested"
    assert str(client.send("WATCH", "a")) == "ERR WATCH inside MULTI is not allowed"
    client.send("SET", "a", "1")
    assert client.send("EXEC") == [b"OK"]


def test_not_allowed_inside_multi(client):
    client.send("MULTI")
    assert str(client.send("SAVE")) == "ERR Command not allowed inside a transaction"
    assert isinstance(client.send("EXEC"), ReplyError)


def test_watch_by_another_client(server, client):
    other = server.new_client()
    client.send("SET", "w", "1")
    client.send("WATCH", "w")
    other.send("SET", "w", "2")
    client.send("MULTI")
    client.send("SET", "w", "mine")
    assert client.raw(b"*1\r\n$4\r\nEXEC\r\n") == b"*-1\r\n"
    assert client.send("GET", "w") == b"2"


def test_watch_by_expiry(client):
    client.send("SET", "w", "1", "PX", "20")
    client.send("WATCH", "w")
    time.sleep(0.05)
    client.send("MULTI")
    client.send("SET", "x", "1")
    assert client.send("EXEC") is None
    assert client.send("EXISTS", "x") == 0


def test_watch_by_flushall_only_for_existing_keys(server, client):
    other = server.new_client()
    client.send("WATCH", "missing")
    other.send("FLUSHALL")
    client.send("MULTI")
    client.send("PING")
    assert client.send("EXEC") == [b"PONG"]
    client.send("SET", "w", "1")
    client.send("WATCH", "w")
    other.send("FLUSHALL")
    client.send("MULTI")
    client.send("PING")
    assert client.send("EXEC") is None


def test_exec_unwatches_first(server, client):
    client.send("SET", "w", "1")
    client.send("WATCH", "w")
    client.send("MULTI")
    client.send("SET", "w", "2")
    assert client.send("EXEC") == [b"OK"]
    assert client.watched == {} and client.multi is None


def test_discard(client):
    assert str(client.send("DISCARD")) == "ERR DISCARD without MULTI"
    client.send("MULTI")
    client.send("SET", "a", "1")
    assert client.send("DISCARD") == b"OK"
    assert client.send("EXISTS", "a") == 0
    assert str(client.send("EXEC")) == "ERR EXEC without MULTI"
