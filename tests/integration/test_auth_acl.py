"""Authentication and ACL users over real connections: --requirepass and CONFIG SET
requirepass, AUTH/HELLO/QUIT/RESET before AUTH, WRONGPASS, ACL SETUSER/GETUSER/LIST/DELUSER/
WHOAMI/LOG/DRYRUN with Redis 7.0's texts (compared byte for byte with a redis-server run with
the same settings), NOPERM for commands, keys and channels, admin-only DEBUG/SHUTDOWN/CONFIG,
and users kept in the data dir across restarts."""
from __future__ import annotations

import re
import shutil

import pytest
import redis

from tests.integration.resp import RawConn, encode_request
from tests.support import RedisProcess

PASSWORD = "s3cret-pw"


@pytest.fixture(scope="module")
def redis_pw(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisProcess(tmp_path_factory.mktemp("redis-pw"), "--requirepass", PASSWORD).start()
    yield server
    server.stop()


@pytest.fixture
def secured(photon_factory):
    return photon_factory("--requirepass", PASSWORD)


def _session(port: int, commands: list[tuple]) -> list[bytes]:
    """Raw replies, with what differs between any two servers (client ids) blanked."""
    with RawConn(port) as conn:
        out = []
        for cmd in commands:
            out.append(re.sub(rb"\$2\r\nid\r\n:\d+", b"$2\r\nid\r\n:ID", conn.call(*cmd)))
        return out


BEFORE_AUTH = [
    ("GET", "a"), ("SET", "a", "1"), ("CONFIG", "GET", "maxclients"), ("ACL", "WHOAMI"),
    ("PING",), ("AUTH", "wrong"), ("AUTH", "default", "wrong"), ("AUTH", "nobody", "x"),
    ("AUTH", "a", "b", "c"), ("HELLO", "3"), ("HELLO", "2", "AUTH", "default", "wrong"),
    ("HELLO", "2", "SETNAME"), ("NOSUCH",), ("GET",), ("RESET",), ("MULTI",), ("EXEC",),
    ("AUTH", PASSWORD), ("SET", "a", "1"), ("GET", "a"), ("ACL", "WHOAMI"), ("RESET",),
    ("GET", "a"), ("HELLO", "2", "AUTH", "default", PASSWORD), ("GET", "a"),
]


def test_before_auth_replies_match_redis(secured, redis_pw):
    assert _session(secured.port, BEFORE_AUTH) == _session(redis_pw.port, BEFORE_AUTH)


def test_quit_before_auth(secured, redis_pw):
    for port in (secured.port, redis_pw.port):
        with RawConn(port) as conn:
            conn.send(b"QUIT\r\n")
            assert conn.read_all(1.0) == (b"+OK\r\n", True)


def test_redis_py_with_password(secured):
    with pytest.raises(redis.AuthenticationError):
        secured.client().ping()
    with pytest.raises(redis.AuthenticationError):
        secured.client(password="wrong").ping()
    r = secured.client(password=PASSWORD)
    assert r.set("k", "v") and r.get("k") == b"v"
    r3 = secured.client(password=PASSWORD, protocol=3)
    assert r3.get("k") == b"v"


def test_config_set_requirepass_and_env(photon_factory):
    node = photon_factory()
    admin = node.client()
    assert admin.config_set("requirepass", "newpw")
    assert admin.ping()  # an authenticated connection stays so
    with pytest.raises(redis.AuthenticationError):
        node.client().ping()
    assert node.client(password="newpw").ping()
    assert node.client(password="newpw").config_get("requirepass") == {"requirepass": "newpw"}
    env_node = photon_factory(env={"PHOTON_REQUIREPASS": "from-env"})
    with pytest.raises(redis.AuthenticationError):
        env_node.client().ping()
    assert env_node.client(password="from-env").ping()


ACL_SESSION = [
    ("ACL", "LIST"),
    ("ACL", "SETUSER", "alice", "on", ">pw1", ">pw2", "~foo:*", "&chan*", "+get"),
    ("ACL", "GETUSER", "alice"),
    ("ACL", "SETUSER", "bob", "<nopw"), ("ACL", "SETUSER", "bob", "#abc"),
    ("ACL", "SETUSER", "bob", "%X~foo"), ("ACL", "SETUSER", "bob", "+nosuch"),
    ("ACL", "SETUSER", "bob", "+@nosuch"), ("ACL", "SETUSER", "bob", "-select|0"),
    ("ACL", "SETUSER", "bob", "allkeys", "~x"), ("ACL", "SETUSER", "bob", "allchannels", "&x"),
    ("ACL", "SETUSER", "bob", "(~a*", "+get"), ("ACL", "SETUSER", "bob", "(on)"),
    ("ACL", "SETUSER", "bad name"), ("ACL", "SETUSER", "carol", "on", "nopass", "%R~r:*",
                                     "%W~w:*", "%RW~rw:*", "+@all", "-debug"),
    ("ACL", "SETUSER", "dave", "on", ">p", "(~a* +get)", "(+set ~b*)"),
    ("ACL", "GETUSER", "dave"), ("ACL", "GETUSER", "carol"), ("ACL", "GETUSER", "nosuch"),
    ("ACL", "SETUSER", "eve", "on", ">p", "+@read", "-@dangerous"), ("ACL", "GETUSER", "eve"),
    ("ACL", "LIST"), ("ACL", "USERS"), ("ACL", "WHOAMI"), ("ACL", "WHOAMI", "x"),
    ("ACL", "CAT", "a", "b"), ("ACL", "CAT", "nosuch"), ("ACL", "CAT"),
    ("ACL", "GENPASS", "0"), ("ACL", "GENPASS", "5000"), ("ACL", "GENPASS", "x"),
    ("ACL", "DRYRUN", "dave", "get", "a"), ("ACL", "DRYRUN", "dave", "get", "b"),
    ("ACL", "DRYRUN", "dave", "del", "a"), ("ACL", "DRYRUN", "alice", "publish", "x", "y"),
    ("ACL", "DRYRUN", "nosuch", "get", "a"), ("ACL", "DRYRUN", "dave", "nosuch"),
    ("ACL", "DRYRUN", "dave", "get"),
    ("ACL", "DELUSER", "default"), ("ACL", "DELUSER", "alice", "nosuch", "bob"),
    ("ACL", "NOSUCH"), ("ACL", "LOG", "RESET"), ("ACL", "LOG"), ("ACL", "HELP"),
]


def _canonical(value):
    """A parsed reply with ACL rule lists in a fixed order: Redis prints single-command rules
    in the order of a hash table seeded at random on every start."""
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, bytes) and (b"-@all" in value or b"+@all" in value):
        out = []
        for part in re.split(rb"(\(.*?\))", value):
            words = part.split(b" ")
            head = [w for w in words if not w[:1] in (b"+", b"-") or w[1:2] == b"@"]
            out.append(b" ".join(head + sorted(w for w in words if w not in head)))
        return b"|".join(out)
    return value


def _parsed_session(port: int, commands: list[tuple]) -> list:
    import hiredis

    out = []
    for raw in _session(port, commands):
        reader = hiredis.Reader()
        reader.feed(raw)
        reply = reader.gets()
        out.append(str(reply) if isinstance(reply, hiredis.ReplyError) else _canonical(reply))
    return out


def _reset_users(port: int) -> None:
    with RawConn(port) as conn:
        users = conn.call("ACL", "USERS")
        names = [line for line in users.split(b"\r\n")[2::2] if line and line != b"default"]
        if names:
            conn.call("ACL", "DELUSER", *names)


def test_acl_replies_match_redis(photon, redis_ref):
    _reset_users(redis_ref.port)
    assert _parsed_session(photon.port, ACL_SESSION) == _parsed_session(redis_ref.port,
                                                                        ACL_SESSION)


def test_noperm_replies_match_redis(photon, redis_ref):
    _reset_users(redis_ref.port)
    setup = [("ACL", "SETUSER", "u1", "reset", "on", ">p", "~foo*", "%R~r*", "%W~w*", "&ch*",
              "+@all", "-debug", "-config|set", "-select", "+select|0", "-flushall")]
    as_u1 = [
        ("AUTH", "u1", "p"), ("DEBUG", "SLEEP", "0"), ("CONFIG", "SET", "maxclients", "10"),
        ("GET", "bar"), ("GET", "foo1"), ("SET", "r1", "x"), ("GET", "r1"), ("SET", "w1", "x"),
        ("GET", "w1"), ("MSET", "foo1", "1", "bar", "2"), ("SELECT", "1"), ("SELECT", "0"),
        ("PUBLISH", "x", "1"), ("PUBLISH", "ch1", "1"), ("PSUBSCRIBE", "ch*x"),
        ("LMOVE", "r1", "w1", "left", "left"), ("MULTI",), ("GET", "bar"), ("DEBUG", "x"),
        ("EXEC",), ("FLUSHALL",), ("ACL", "WHOAMI"), ("AUTH", "u1", "bad"), ("ACL", "WHOAMI"),
        ("SUBSCRIBE", "ch1", "zz"),
    ]
    for port in (photon.port, redis_ref.port):
        _session(port, setup)
    assert _session(photon.port, as_u1) == _session(redis_ref.port, as_u1)
    with RawConn(photon.port) as p, RawConn(redis_ref.port) as r:
        lp = p.call("ACL", "LOG")
        lr = r.call("ACL", "LOG")
    # reason/context/object/username of each entry (age and client details differ)
    def fields(raw: bytes):
        parts = raw.split(b"\r\n")
        return [parts[i + 2] for i, x in enumerate(parts) if x in (
            b"reason", b"context", b"object", b"username")]
    assert fields(lp) == fields(lr)


def test_acl_users_through_redis_py(photon):
    admin = photon.client()
    assert admin.acl_setuser("app", enabled=True, passwords=["+pw"], keys=["app:*"],
                             channels=["news"], commands=["+@all", "-@dangerous"])
    app = photon.client(username="app", password="pw")
    assert app.acl_whoami() == "app"
    assert app.set("app:1", "x") and app.get("app:1") == b"x"
    with pytest.raises(redis.exceptions.NoPermissionError):
        app.get("other")
    with pytest.raises(redis.exceptions.NoPermissionError):
        app.execute_command("DEBUG", "SLEEP", "0")
    with pytest.raises(redis.exceptions.NoPermissionError):
        app.shutdown()
    with pytest.raises(redis.exceptions.NoPermissionError):
        app.config_set("maxclients", "5")
    with pytest.raises(redis.exceptions.NoPermissionError):
        app.execute_command("KEYS", "*")
    with pytest.raises(redis.AuthenticationError):
        photon.client(username="app", password="bad").ping()
    info = admin.acl_getuser("app")
    assert info["enabled"] and "~app:*" in info["keys"]
    assert admin.acl_deluser("app") == 1
    with pytest.raises(redis.ConnectionError):
        app.ping()  # its connection was closed
    assert admin.ping()  # the default user still runs everything, DEBUG included
    assert admin.execute_command("DEBUG", "SLEEP", "0")


def test_users_survive_restart_in_the_data_dir(photon_factory):
    node = photon_factory()
    admin = node.client()
    admin.acl_setuser("alice", enabled=True, passwords=["+pw"], keys=["a:*"],
                      commands=["+get", "+set"])
    admin.config_set("requirepass", "rootpw")
    before = node.client(password="rootpw").acl_list()
    assert (node.data_dir / "users.acl").exists()
    assert "rootpw" not in (node.data_dir / "users.acl").read_text()
    node.restart()
    with pytest.raises(redis.AuthenticationError):
        node.client().ping()
    assert node.client(password="rootpw").acl_list() == before
    alice = node.client(username="alice", password="pw")
    assert alice.set("a:1", "v") and alice.get("a:1") == b"v"
    with pytest.raises(redis.exceptions.NoPermissionError):
        alice.delete("a:1")


def test_config_set_cannot_change_dir_or_logfile(photon):
    """Redis 7.0 refuses 'dir' as a protected config and 'logfile' as an immutable one; the
    data dir, log file and ACL file of a running node never move."""
    with RawConn(photon.port) as conn:
        for name, value, kind in (("dir", "/tmp", b"protected"),
                                  ("logfile", "/tmp/x.log", b"immutable"),
                                  ("aclfile", "/tmp/a", b"immutable")):
            reply = conn.call("CONFIG", "SET", name, value)
            assert reply == (b"-ERR CONFIG SET failed (possibly related to argument '%s') - "
                             b"can't set %s config\r\n" % (name.encode(), kind)), reply
        assert conn.call("CONFIG", "GET", "dir") == (
            b"*2\r\n$3\r\ndir\r\n$%d\r\n%s\r\n" % (len(str(photon.data_dir)),
                                                 str(photon.data_dir).encode()))


def test_pipelined_auth_then_big_request(secured):
    big = b"x" * 50000
    with RawConn(secured.port) as conn:
        conn.send(encode_request("AUTH", PASSWORD) + encode_request("SET", "k", big)
                  + encode_request("STRLEN", "k"))
        assert [conn.read_reply() for _ in range(3)] == [b"+OK\r\n", b"+OK\r\n", b":50000\r\n"]


def test_exec_checks_acl_again_like_redis(photon, redis_ref):
    """Rules changed between MULTI and EXEC: the commands no longer allowed answer NOPERM
    inside EXEC's reply, the others run (Redis 7.0's execCommand)."""
    _reset_users(redis_ref.port)
    replies = []
    for port in (photon.port, redis_ref.port):
        _session(port, [("ACL", "SETUSER", "bob", "reset", "on", ">pw", "~*", "+@all")])
        with RawConn(port) as user, RawConn(port) as admin:
            out = [user.call("AUTH", "bob", "pw"), user.call("MULTI"),
                   user.call("SET", "k", "v"), user.call("GET", "k")]
            admin.call("ACL", "SETUSER", "bob", "-set")
            out.append(user.call("EXEC"))
            admin.call("ACL", "SETUSER", "bob", "+set", "resetkeys", "~x*")
            out += [user.call("MULTI"), user.call("SET", "x1", "v")]
            admin.call("ACL", "SETUSER", "bob", "resetkeys", "~y*")
            out.append(user.call("EXEC"))
        replies.append(out)
    assert replies[0] == replies[1]
    assert b"no permission to touch the specified keys" in replies[0][-1]
