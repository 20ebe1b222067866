"""Internal links between real nodes: with --cluster-secret, PHOTON.* commands (replication
stream, acknowledgements, forwarded writes) are refused to plain clients, and a replica only
gets the stream after proving the secret (an HMAC over a fresh timestamp and a nonce never
used before); with a password, replicas authenticate with --masterauth (and --masteruser for
an ACL user)."""
from __future__ import annotations

import time

import pytest
import redis

from photon.peer.handshake import peer_mac
from tests.integration.resp import RawConn, wait_until

SECRET = "cluster-hush"
NOT_PEER = (b"-NOPERM '%s' is an internal command: only cluster peers that proved the cluster "
            b"secret (PHOTON.AUTH) may send it\r\n")


def _master(factory, *extra):
    return factory("--role", "master", "--write-quorum", "1", "--shards", "4", *extra,
                   name="master")


def _replica(factory, master, *extra):
    return factory("--role", "replica", "--shards", "4", "--master-addr",
                   f"127.0.0.1:{master.port}", *extra, name="replica")


def _link_up(replica, password=None) -> bool:
    with replica.client(password=password, socket_timeout=5) as r:
        return r.info("replication").get("master_link_status") == "up"


def _proof(secret: str, nonce: bytes = b"fedcba9876543210fedcba9876543210"):
    node = b"test-node"
    ts = b"%d" % int(time.time() * 1000)
    return ("PHOTON.AUTH", node, ts, nonce, peer_mac(secret.encode(), node, ts, nonce))


def test_plain_clients_cannot_send_internal_commands(photon_factory):
    master = _master(photon_factory, "--cluster-secret", SECRET)
    with RawConn(master.port) as conn:
        assert conn.call("PHOTON.SYNC", "x", "127.0.0.1", "1", "4", "0", "0" * 40, "0") == \
            NOT_PEER % b"photon.sync"
        assert conn.call("PHOTON.ACK", "0", "0") == NOT_PEER % b"photon.ack"
        assert conn.call("PHOTON.FWD", "2", "0", "", "*1\r\n$8\r\nFLUSHALL\r\n") == \
            NOT_PEER % b"photon.fwd"
        assert conn.call("PHOTON.AUTH", "n", "0", "0" * 32, "f" * 64) == \
            b"-ERR cluster secret proof rejected\r\n"
        assert conn.call("PING") == b"+PONG\r\n"  # the connection stays usable
    with master.client() as m:
        assert m.execute_command("ROLE")[2] == []  # nothing attached


def test_proof_accepted_once(photon_factory):
    master = _master(photon_factory, "--cluster-secret", SECRET)
    proof = _proof(SECRET)
    with RawConn(master.port) as conn:
        assert conn.call(*proof) == b"+OK\r\n"
        reply = conn.call("PHOTON.FWD", "2", "0", "", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
        assert reply.startswith(b"*2\r\n$5\r\n+OK\r\n")
    with RawConn(master.port) as conn:  # the same proof again: a replay
        assert conn.call(*proof) == b"-ERR cluster secret proof rejected\r\n"
        assert conn.call("PHOTON.ACK", "0", "0") == NOT_PEER % b"photon.ack"
    with RawConn(master.port) as conn:
        assert conn.call(*_proof("wrong-secret", b"1" * 32)) == \
            b"-ERR cluster secret proof rejected\r\n"
    assert "wrong cluster secret proof" in master.logs()


def test_replica_with_the_secret_replicates(photon_factory):
    master = _master(photon_factory, "--cluster-secret", SECRET)
    replica = _replica(photon_factory, master, "--cluster-secret", SECRET)
    wait_until(lambda: _link_up(replica), 30)
    with master.client() as m, replica.client() as r:
        m.set("k", "v")
        assert wait_until(lambda: r.get("k") == b"v", 10)
        assert r.set("from-replica", "1")  # forwarded over an authenticated link
        assert m.get("from-replica") == b"1"


@pytest.mark.parametrize("replica_args", [("--cluster-secret", "not-it"), ()],
                         ids=["wrong-secret", "no-secret"])
def test_replica_without_the_secret_is_refused(photon_factory, replica_args):
    master = _master(photon_factory, "--cluster-secret", SECRET)
    replica = _replica(photon_factory, master, *replica_args)
    assert wait_until(lambda: "cluster secret proof rejected" in replica.logs(), 20)
    assert not _link_up(replica)
    with master.client() as m:
        assert m.execute_command("ROLE")[2] == []


def test_replica_authenticates_with_masterauth(photon_factory):
    master = _master(photon_factory, "--requirepass", "pw", "--cluster-secret", SECRET)
    refused = _replica(photon_factory, master, "--cluster-secret", SECRET)
    assert wait_until(lambda: "NOAUTH" in refused.logs(), 20)
    assert not _link_up(refused)
    refused.kill()
    replica = _replica(photon_factory, master, "--cluster-secret", SECRET,
                       "--masterauth", "pw", "--requirepass", "pw")
    wait_until(lambda: _link_up(replica, "pw"), 30)
    with master.client(password="pw") as m, replica.client(password="pw") as r:
        m.set("a", "1")
        assert wait_until(lambda: r.get("a") == b"1", 10)
        assert r.set("b", "2") and m.get("b") == b"2"


def test_replica_authenticates_as_an_acl_user(photon_factory):
    master = _master(photon_factory, "--requirepass", "rootpw")
    with master.client(password="rootpw") as m:
        m.acl_setuser("repl", enabled=True, passwords=["+replpw"], keys=["*"],
                      channels=["*"], commands=["+@all"])
    replica = _replica(photon_factory, master, "--masteruser", "repl", "--masterauth", "replpw")
    wait_until(lambda: _link_up(replica), 30)
    with master.client(password="rootpw") as m, replica.client() as r:
        m.set("acl-k", "1")
        assert wait_until(lambda: r.get("acl-k") == b"1", 10)
        clients = m.client_list()
    assert any(c["user"] == "repl" and "S" in c["flags"] for c in clients)
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=master.port, username="repl", password="bad").ping()
