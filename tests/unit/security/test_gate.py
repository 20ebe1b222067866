"""Authentication, ACL commands, the gate's checks, cluster peers and request limits through a
FakeServer client (real gate, real parser, no sockets). Replies as redis-server 7.0.15."""
import hiredis
import pytest

from photon.commands import dispatch
from photon.peer.handshake import handshake_requests, peer_mac, peer_proof
from photon.security import PEER_WINDOW
from tests.unit.fakes import FakeServer

NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


def err(reply) -> str:
    assert isinstance(reply, hiredis.ReplyError), reply
    return str(reply)


@pytest.fixture
def server(tmp_path):
    return FakeServer(data_dir=str(tmp_path))


@pytest.fixture
def secured(tmp_path):
    return FakeServer(data_dir=str(tmp_path), requirepass="s3cret")


def test_requirepass_refuses_commands_until_auth(secured):
    c = secured.new_client()
    assert not c.authenticated and c.parser.auth_required
    assert err(c.send("GET", "a")) == NOAUTH
    assert err(c.send("CONFIG", "GET", "x")) == NOAUTH
    assert err(c.send("AUTH", "wrong")) == WRONGPASS
    assert err(c.send("AUTH", "default", "wrong")) == WRONGPASS
    assert err(c.send("HELLO", "3")).startswith("NOAUTH HELLO must be called with the client "
                                                "already authenticated, otherwise the HELLO "
                                                "AUTH <user> <pass> option")
    assert err(c.send("HELLO", "3", "AUTH", "default", "wrong")) == WRONGPASS
    assert c.send("RESET") == b"RESET"
    assert c.send("AUTH", "s3cret") == b"OK"
    assert c.send("SET", "a", "1") == b"OK" and c.send("GET", "a") == b"1"
    assert c.send("RESET") == b"RESET"  # back to unauthenticated
    assert err(c.send("GET", "a")) == NOAUTH
    assert c.send("HELLO", "3", "AUTH", "default", "s3cret")[b"proto"] == 3
    assert c.send("QUIT") == b"OK"


def test_auth_without_password_configured(server):
    c = server.new_client()
    assert c.authenticated
    assert err(c.send("AUTH", "x")) == ("ERR AUTH <password> called without any password "
                                        "configured for the default user. Are you sure your "
                                        "configuration is correct?")
    assert c.send("AUTH", "default", "anything") == b"OK"  # nopass takes any password
    assert err(c.send("AUTH", "nobody", "x")) == WRONGPASS
    assert err(c.send("AUTH", "a", "b", "c")) == "ERR syntax error"


def test_config_set_requirepass_keeps_connected_clients(server):
    old = server.new_client()
    assert old.send("CONFIG", "SET", "requirepass", "pw") == b"OK"
    assert old.send("PING") == b"PONG"  # still authenticated, as in Redis
    new = server.new_client()
    assert err(new.send("PING")) == NOAUTH
    assert new.send("AUTH", "pw") == b"OK"
    assert old.send("CONFIG", "GET", "requirepass") == [b"requirepass", b"pw"]
    assert old.send("CONFIG", "SET", "requirepass", "") == b"OK"
    assert server.new_client().send("PING") == b"PONG"


def test_acl_users_and_noperm(server):
    admin = server.new_client()
    assert admin.send("ACL", "SETUSER", "app", "on", ">pw", "~app:*", "&news", "+@all",
                      "-@dangerous") == b"OK"
    c = server.new_client()
    assert c.send("AUTH", "app", "pw") == b"OK"
    assert c.acl is not None  # restricted: the gate checks this client
    assert c.send("ACL", "WHOAMI") == b"app"
    assert c.send("SET", "app:1", "x") == b"OK"
    assert err(c.send("GET", "other")) == ("NOPERM this user has no permissions to access one "
                                           "of the keys used as arguments")
    assert err(c.send("DEBUG", "SLEEP", "0")) == ("NOPERM this user has no permissions to run "
                                                  "the 'debug' command")
    assert err(c.send("SHUTDOWN")) == ("NOPERM this user has no permissions to run the "
                                       "'shutdown' command")
    assert err(c.send("CONFIG", "SET", "maxclients", "5")) == (
        "NOPERM this user has no permissions to run the 'config|set' command")
    assert err(c.send("PUBLISH", "other", "x")) == ("NOPERM this user has no permissions to "
                                                    "access one of the channels used as "
                                                    "arguments")
    assert c.send("PUBLISH", "news", "x") == 0
    assert c.send("MULTI") == b"OK"
    assert err(c.send("GET", "other")).startswith("NOPERM")
    assert err(c.send("EXEC")) == "EXECABORT Transaction discarded because of previous errors."
    log = admin.send("ACL", "LOG")
    entry = dict(zip(log[0][::2], log[0][1::2]))
    assert entry[b"reason"] == b"key" and entry[b"context"] == b"multi"
    assert entry[b"object"] == b"other" and entry[b"username"] == b"app"
    # rules change under connected clients at once
    assert admin.send("ACL", "SETUSER", "app", "+debug") == b"OK"
    assert c.send("DEBUG", "SLEEP", "0") == b"OK"
    assert admin.send("ACL", "SETUSER", "app", "allkeys", "allchannels", "+@all") == b"OK"
    assert c.acl is None  # unrestricted again: the fast path serves it
    assert admin.send("ACL", "DELUSER", "app") == 1
    assert c.closing


def test_restricted_default_user(server):
    admin = server.new_client()
    assert admin.send("ACL", "SETUSER", "root", "on", ">r", "+@all", "~*", "&*") == b"OK"
    assert admin.send("ACL", "SETUSER", "default", "-flushall") == b"OK"
    assert admin.acl is not None
    assert err(admin.send("FLUSHALL")).startswith("NOPERM")
    c = server.new_client()
    assert c.acl is not None and err(c.send("FLUSHALL")).startswith("NOPERM")
    assert c.send("AUTH", "root", "r") == b"OK" and c.acl is None
    assert c.send("FLUSHALL") == b"OK"


def test_acl_subcommand_errors(server):
    c = server.new_client()
    assert err(c.send("ACL", "SETUSER", "x y")) == ("ERR Usernames can't contain spaces or null "
                                                    "characters")
    assert err(c.send("ACL", "DELUSER", "default", "x")) == ("ERR The 'default' user cannot be "
                                                             "removed")
    assert c.send("ACL", "GETUSER", "nosuch") is None
    assert err(c.send("ACL", "CAT", "nosuch")) == "ERR Unknown category 'nosuch'"
    assert err(c.send("ACL", "CAT", "a", "b")) == ("ERR unknown subcommand or wrong number of "
                                                   "arguments for 'CAT'. Try ACL HELP.")
    assert err(c.send("ACL", "WHOAMI", "x")) == ("ERR wrong number of arguments for 'acl|whoami' "
                                                 "command")
    assert err(c.send("ACL", "NOSUCH")) == "ERR unknown subcommand 'NOSUCH'. Try ACL HELP."
    assert err(c.send("ACL", "GENPASS", "0")) == (
        "ERR ACL GENPASS argument must be the number of bits for the output password, a "
        "positive number up to 4096")
    assert len(c.send("ACL", "GENPASS")) == 64 and len(c.send("ACL", "GENPASS", "5")) == 2
    assert err(c.send("ACL", "DRYRUN", "nosuch", "get", "a")) == "ERR User 'nosuch' not found"
    assert err(c.send("ACL", "DRYRUN", "default", "nosuch")) == "ERR Command 'nosuch' not found"
    assert err(c.send("ACL", "DRYRUN", "default", "get")) == (
        "ERR wrong number of arguments for 'get' command")
    assert c.send("ACL", "DRYRUN", "default", "get", "a") == b"OK"
    c.send("ACL", "SETUSER", "d", "on", "~a*", "+get", "&c")
    assert c.send("ACL", "DRYRUN", "d", "get", "b") == (b"This user has no permissions to access "
                                                        b"the 'b' key")
    assert c.send("ACL", "DRYRUN", "d", "set", "a", "1") == (
        b"This user has no permissions to run the 'set' command")
    assert c.send("ACL", "LOG", "RESET") == b"OK" and c.send("ACL", "LOG") == []


def test_users_persist_in_the_data_dir(tmp_path):
    server = FakeServer(data_dir=str(tmp_path))
    c = server.new_client()
    c.send("ACL", "SETUSER", "alice", "on", ">pw", "~a:*", "+get")
    assert (tmp_path / "users.acl").exists()
    again = FakeServer(data_dir=str(tmp_path))
    assert again.security.users.get(b"alice").check_password(b"pw")
    c2 = again.new_client()
    assert c2.send("ACL", "LIST") == c.send("ACL", "LIST")
    (tmp_path / "users.acl").write_text("user default on nopass ~* &* +@all\n")
    assert c2.send("ACL", "LOAD") == b"OK"
    assert c2.send("ACL", "USERS") == [b"default"]
    (tmp_path / "users.acl").write_text("user bad +nosuch\n")
    assert err(c2.send("ACL", "LOAD")).startswith(f"ERR {tmp_path}/users.acl:1: Unknown command")


def test_cross_protocol_request_is_closed_without_reply(server):
    c = server.new_client()
    assert c.raw(b"PING\r\nPOST / HTTP/1.1\r\nHost: example.com\r\n\r\n") == b""
    assert c.closing and c.transport.closed
    c = server.new_client()
    assert c.raw(b"*1\r\n$5\r\nHost:\r\n") == b""
    assert c.transport.closed
    assert server.security.attacks == 2


# --- internal commands and peers -----------------------------------------------------------

def _peer_args(secret: str, node: bytes = b"n1", ts=None, nonce=b"0123456789abcdef0123"):
    import time

    ts = b"%d" % int((time.time() if ts is None else ts) * 1000)
    return ["PHOTON.AUTH", node, ts, nonce, peer_mac(secret.encode(), node, ts, nonce)]


def test_internal_commands_need_the_cluster_secret(tmp_path):
    server = FakeServer(data_dir=str(tmp_path), cluster_secret="hush")
    c = server.new_client()
    for cmd in (["PHOTON.ACK", "0", "1"], ["PHOTON.FWD", "2", "0", "", "*1\r\n$4\r\nPING\r\n"]):
        assert err(c.send(*cmd)) == (f"NOPERM '{cmd[0].lower()}' is an internal command: only "
                                     "cluster peers that proved the cluster secret "
                                     "(PHOTON.AUTH) may send it")
    assert err(c.send(*_peer_args("wrong"))) == "ERR cluster secret proof rejected"
    assert err(c.send(*_peer_args("hush", ts=1000))) == "ERR cluster secret proof rejected"
    good = _peer_args("hush")
    assert c.send(*good) == b"OK" and c.peer
    assert c.send("PHOTON.FWD", "2", "0", "", "*1\r\n$4\r\nPING\r\n")[0] == b"+PONG\r\n"
    replay = server.new_client()
    assert err(replay.send(*good)) == "ERR cluster secret proof rejected"  # nonce seen
    assert not replay.peer


def test_without_a_secret_internal_commands_stay_open(server):
    c = server.new_client()
    assert c.send("PHOTON.FWD", "2", "0", "", "*1\r\n$4\r\nPING\r\n")[0] == b"+PONG\r\n"
    assert c.send(*_peer_args("anything")) == b"OK"


def test_internal_commands_never_take_the_fast_path(tmp_path):
    server = FakeServer(data_dir=str(tmp_path), cluster_secret="hush")
    c = server.new_client()
    for _ in range(3):
        assert err(c.send("PHOTON.ACK", "0", "1")).startswith("NOPERM")
    assert b"PHOTON.ACK" not in dispatch._by_spelling


def test_link_handshake_sends_masterauth_then_the_proof(tmp_path):
    server = FakeServer(data_dir=str(tmp_path), cluster_secret="hush", masteruser="repl",
                        masterauth="pw")
    reqs = handshake_requests(server.config, "node-a")
    reader = hiredis.Reader()
    for r in reqs:
        reader.feed(r)
    assert reader.gets() == [b"AUTH", b"repl", b"pw"]
    proof = reader.gets()
    assert proof[0] == b"PHOTON.AUTH" and proof[1] == b"node-a"
    assert proof[4] == peer_mac(b"hush", *proof[1:4]).encode()
    assert len(peer_proof(server.config, "x")) == 4 and PEER_WINDOW >= 60


# --- request limits --------------------------------------------------------------------------

def test_unauthenticated_limits(secured):
    c = secured.new_client()
    assert c.raw(b"*11\r\n") == b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    assert c.closing
    c = secured.new_client()
    assert c.raw(b"*1\r\n$16385\r\n") == b"-ERR Protocol error: unauthenticated bulk length\r\n"
    c = secured.new_client()
    assert c.raw(b"*2\r\n$3\r\nGET\r\n$16384\r\n") == b""  # at the limit: waits for the data
    assert not c.closing


def test_auth_then_big_request_in_one_write(secured):
    """Redis reads one request at a time, so an AUTH decides the limits of what follows."""
    c = secured.new_client()
    big = b"x" * 20000
    out = c.raw(b"*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000\r\n"
                + big + b"\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
    assert out == b"+OK\r\n+OK\r\n$20000\r\n" + big + b"\r\n"
    c = secured.new_client()
    out = c.raw(b"*2\r\n$4\r\nAUTH\r\n$5\r\nwrong\r\n*11\r\n")
    assert out == (b"-" + WRONGPASS.encode() + b"\r\n"
                   b"-ERR Protocol error: unauthenticated multibulk length\r\n")
    assert c.closing


def test_query_buffer_counts_arguments_of_an_unfinished_request(server):
    c = server.new_client()
    c.send("CONFIG", "SET", "client-query-buffer-limit", "1mb")
    c.raw(b"*100000000\r\n")
    chunk = b"$0\r\n\r\n" * 10000
    for _ in range(30):  # 300,000 empty arguments: tiny on the wire, not in memory
        c.raw(chunk)
        if c.closing:
            break
    assert c.closing and c.transport.closed


def test_huge_aggregate_headers_never_reach_hiredis_allocation(server):
    import time

    for data in (b"*2000000000\r\n", b"*1\r\n~2000000000\r\n", b"*1\r\n>2000000000\r\n",
                 b"*1\r\n*2000000000\r\n$1\r\na\r\n"):
        c = server.new_client()
        t = time.monotonic()
        c.raw(data)
        assert time.monotonic() - t < 0.5, data
