from hiredis import ReplyError


def test_set_get(client):
    assert client.send("SET", "a", "1") == b"OK"
    assert client.send("GET", "a") == b"1"
    assert client.send("INCR", "a") == 2
    assert isinstance(client.send("LPUSHX"), ReplyError)
