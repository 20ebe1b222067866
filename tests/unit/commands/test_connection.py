"""Connection commands: HELLO, CLIENT, RESET, QUIT (Redis 7.0.15's replies and texts)."""
from hiredis import ReplyError


def test_hello_maps_and_errors(server, client):
    reply = client.send("HELLO", "3")
    assert reply[b"server"] == b"redis" and reply[b"version"] == b"7.0.15"
    assert reply[b"proto"] == 3 and reply[b"id"] == client.id and reply[b"modules"] == []
    assert str(client.send("HELLO", "4")) == "NOPROTO unsupported protocol version"
    assert str(client.send("HELLO", "x")) == (
        "ERR Protocol version is not an integer or out of range")
    assert str(client.send("HELLO", "3", "FOO")) == "ERR Syntax error in HELLO option 'FOO'"
    # Options act in order: the AUTH failure wins over a later bad name.
    assert str(client.send("HELLO", "2", "AUTH", "nobody", "pw", "SETNAME", "a b")) == (
        "WRONGPASS invalid username-password pair or user is disabled.")
    assert client.send("HELLO", "2", "SETNAME", "named")[5] == 2
    assert client.send("CLIENT", "GETNAME") == b"named"


def test_client_list_by_id(server, client):
    other = server.new_client()
    ids = [client.id, other.id]
    text = client.send("CLIENT", "LIST", "ID", str(ids[1]), "0", "-5", str(ids[0]), str(ids[1]))
    lines = text.decode().splitlines()
    assert [line.split()[0] for line in lines] == [f"id={ids[1]}", f"id={ids[0]}",
                                                   f"id={ids[1]}"]
    assert client.send("CLIENT", "LIST", "ID", "999999") == b""
    assert str(client.send("CLIENT", "LIST", "ID", "x")) == "ERR Invalid client ID"
    assert str(client.send("CLIENT", "LIST", "TYPE", "x")) == "ERR Unknown client type 'x'"


def test_client_info_fields(client):
    client.send("CLIENT", "SETNAME", "me")
    line = client.send("CLIENT", "INFO").decode()
    fields = [f.split("=", 1)[0] for f in line.split()]
    assert fields == ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub",
                      "psub", "ssub", "multi", "qbuf", "qbuf-free", "argv-mem", "multi-mem",
                      "rbs", "rbp", "obl", "oll", "omem", "tot-mem", "events", "cmd", "user",
                      "redir", "resp"]
    assert " name=me " in line and " cmd=client|info " in line


def test_client_info_inside_exec(client):
    client.send("MULTI")
    client.send("PING")
    client.send("CLIENT", "INFO")
    line = client.send("EXEC")[1].decode()
    assert " flags=x " in line and " multi=2 " in line and " cmd=exec " in line
    assert " flags=N " in client.send("CLIENT", "INFO").decode()


def test_client_kill(server, client):
    other = server.new_client()
    assert str(client.send("CLIENT", "KILL", "USER", "nobody")) == "ERR No such user 'nobody'"
    assert str(client.send("CLIENT", "KILL", "ID", "0")) == (
        "ERR client-id should be greater than 0")
    assert str(client.send("CLIENT", "KILL", "1.2.3.4:5")) == "ERR No such client"
    assert client.send("CLIENT", "KILL", "ID", str(client.id)) == 0  # SKIPME yes
    assert client.send("CLIENT", "KILL", "ID", str(other.id)) == 1
    assert other.transport.closed
    # Killing itself: the reply is written first, then the connection closes.
    raw = client.raw(b"*6\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$2\r\nID\r\n$%d\r\n%d\r\n"
                     b"$6\r\nSKIPME\r\n$2\r\nno\r\n" % (len(str(client.id)), client.id))
    assert raw == b":1\r\n"
    assert client.transport.closed


def test_reset(client):
    client.send("HELLO", "3")
    client.send("SELECT", "2")
    client.send("CLIENT", "SETNAME", "x")
    client.send("MULTI")
    assert client.send("RESET") == b"RESET"
    assert client.resp3 is False and client.db == 0 and client.multi is None
    assert client.send("CLIENT", "GETNAME") is None
    assert isinstance(client.send("EXEC"), ReplyError)


def test_quit_replies_then_closes(client):
    assert client.raw(b"*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n") == b"+OK\r\n"
    assert client.transport.closed
