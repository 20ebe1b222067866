"""TLS with real connections and certificates made at test time with the openssl CLI: a TLS
port next to the plain one, redis-cli --tls, redis-py over TLS, client certificates
(required, optional, from another CA), TLS with a password, and a replica following its master
over TLS (--tls-replication) with the cluster secret."""
from __future__ import annotations

import shutil
import ssl
import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.support import free_port

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl CLI")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ca(d: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", f"{name}.key", "-out", f"{name}.crt", "-subj", f"/CN={name}", cwd=d)


def _signed(d: Path, name: str, ca: str, server: bool) -> None:
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
             "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    ext = d / f"{name}.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                   f"extendedKeyUsage={'serverAuth,clientAuth' if server else 'clientAuth'}\n")
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", "-extfile", ext.name,
             cwd=d)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("certs")
    _ca(d, "ca")
    _ca(d, "rogue-ca")
    _signed(d, "server", "ca", server=True)
    _signed(d, "client", "ca", server=False)
    _signed(d, "rogue", "rogue-ca", server=False)
    return d


def _tls_args(certs: Path, port: int, *extra: str) -> list[str]:
    return ["--tls-port", str(port), "--tls-cert-file", str(certs / "server.crt"),
            "--tls-key-file", str(certs / "server.key"), *extra]


def _tls_client(port: int, certs: Path, cert: str | None = None, **kw) -> redis.Redis:
    extra = {}
    if cert is not None:
        extra = {"ssl_certfile": str(certs / f"{cert}.crt"),
                 "ssl_keyfile": str(certs / f"{cert}.key")}
    return redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=str(certs / "ca.crt"),
                       ssl_cert_reqs="required", ssl_check_hostname=False, socket_timeout=10,
                       **extra, **kw)


def _up(port: int, certs: Path, cert: str | None = None, **kw) -> redis.Redis:
    deadline = time.monotonic() + 20
    while True:
        client = _tls_client(port, certs, cert, **kw)
        try:
            client.ping()
            return client
        except (redis.ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_tls_port_beside_the_plain_port(photon_factory, certs):
    port = free_port()
    node = photon_factory(*_tls_args(certs, port))
    r = _up(port, certs)
    assert r.set("k", "over-tls") and r.get("k") == b"over-tls"
    assert node.client().get("k") == b"over-tls"  # the plain port still works
    assert r.client_info()["addr"].startswith("127.0.0.1:")
    # a plain client speaking RESP to the TLS port gets nothing back
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"PING\r\n")
        try:
            assert not s.recv(100).startswith(b"+PONG")
        except (socket.timeout, ConnectionResetError):
            pass


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="no redis-cli")
def test_redis_cli_tls(photon_factory, certs):
    port = free_port()
    photon_factory(*_tls_args(certs, port, "--requirepass", "pw"))
    _up(port, certs, password="pw")
    base = ["redis-cli", "--tls", "--cacert", str(certs / "ca.crt"), "-p", str(port)]
    out = subprocess.run(base + ["-a", "pw", "--no-auth-warning", "SET", "cli", "yes"],
                         capture_output=True, text=True, timeout=20)
    assert out.stdout.strip() == "OK", out
    out = subprocess.run(base + ["-a", "pw", "--no-auth-warning", "GET", "cli"],
                         capture_output=True, text=True, timeout=20)
    assert out.stdout.strip() == "yes", out
    out = subprocess.run(base + ["PING"], capture_output=True, text=True, timeout=20)
    assert "NOAUTH Authentication required." in out.stdout + out.stderr


def test_client_certificates_required(photon_factory, certs):
    port = free_port()
    photon_factory(*_tls_args(certs, port, "--tls-ca-cert-file", str(certs / "ca.crt")))
    r = _up(port, certs, cert="client")
    assert r.ping()
    with pytest.raises((redis.ConnectionError, OSError)):
        _tls_client(port, certs).ping()  # no certificate
    with pytest.raises((redis.ConnectionError, OSError)):
        _tls_client(port, certs, cert="rogue").ping()  # signed by another CA
    assert r.ping()  # the server is unaffected


def test_client_certificates_optional(photon_factory, certs):
    port = free_port()
    photon_factory(*_tls_args(certs, port, "--tls-ca-cert-file", str(certs / "ca.crt"),
                              "--tls-auth-clients", "optional"))
    assert _up(port, certs).ping()  # none sent: fine
    assert _tls_client(port, certs, cert="client").ping()
    with pytest.raises((redis.ConnectionError, OSError)):
        _tls_client(port, certs, cert="rogue").ping()  # sent and bad: refused


def test_bad_tls_settings_stop_start_up(photon_factory, certs):
    node = photon_factory("--tls-port", str(free_port()), start=False)
    node.start(wait=False)
    assert node.proc.wait(timeout=30) == 1
    assert "TLS needs --tls-cert-file and --tls-key-file" in node.logs()
    node = photon_factory("--tls-port", str(free_port()), "--tls-cert-file",
                          str(certs / "nope.crt"), "--tls-key-file", str(certs / "server.key"),
                          start=False)
    node.start(wait=False)
    assert node.proc.wait(timeout=30) == 1
    assert "cannot load" in node.logs()


def test_replica_follows_its_master_over_tls(photon_factory, certs):
    mport = free_port()
    common = ["--shards", "4", "--requirepass", "pw", "--masterauth", "pw",
              "--cluster-secret", "hush", "--tls-ca-cert-file", str(certs / "ca.crt")]
    master = photon_factory("--role", "master", "--write-quorum", "1",
                            *_tls_args(certs, mport), *common, name="m")
    replica = photon_factory("--role", "replica", "--master-addr", f"127.0.0.1:{mport}",
                             "--tls-replication", "yes", *_tls_args(certs, free_port()),
                             *common, name="r")
    m = master.client(password="pw")
    r = replica.client(password="pw")
    deadline = time.monotonic() + 30
    while r.info("replication").get("master_link_status") != "up":
        assert time.monotonic() < deadline, replica.logs()
        time.sleep(0.1)
    m.set("tls-key", "v1")
    deadline = time.monotonic() + 30
    while r.get("tls-key") != b"v1":
        assert time.monotonic() < deadline, replica.logs()
        time.sleep(0.05)
    # a write sent to the replica is forwarded to the master over TLS too
    assert r.set("via-replica", "v2")
    assert m.get("via-replica") == b"v2"
    # the replica's link (flags S) and its forwarding connection came in on the TLS port
    links = [c for c in m.client_list() if c["laddr"].endswith(f":{mport}")]
    assert any("S" in c["flags"] for c in links), m.client_list()
    assert not any("S" in c["flags"] for c in m.client_list()
                   if c["laddr"].endswith(f":{master.port}"))
