"""Protected mode over real connections: a node bound to every interface with no password
answers remote clients (connecting through a non-loopback address of this host) with Redis's
-DENIED explanation and closes, while loopback clients work; a password, --protected-mode no
or CONFIG SET protected-mode no (from loopback) lets remote clients in."""
from __future__ import annotations

import shutil
import socket

import pytest

from tests.integration.resp import RawConn
from tests.support import RedisProcess, free_port, wait_for_port

DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no "
    b"password is set for the default user. In this mode connections are only accepted from "
    b"the loopback interface. If you want to connect from external computers to Redis you may "
    b"adopt one of the following solutions: 1) Just disable protected mode sending the command "
    b"'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from "
    b"the same host the server is running, however MAKE SURE Redis is not publicly accessible "
    b"from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) "
    b"Alternatively you can just disable the protected mode by editing the Redis configuration "
    b"file, and setting the protected mode option to 'no', and then restarting the server. 3) "
    b"If you started the server manually just for testing, restart it with the "
    b"'--protected-mode no' option. 4) Setup a an authentication password for the default "
    b"user. NOTE: You only need to do one of the above things in order for the server to start "
    b"accepting connections from the outside.\r\n")


def _external_address() -> str | None:
    """An address of this host that is not loopback (connections from it are 'remote')."""
    candidates = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.200", 9))  # no packet is sent for a UDP connect
            candidates.append(s.getsockname()[0])
    except OSError:
        pass
    try:
        candidates += [ai[4][0] for ai in socket.getaddrinfo(socket.gethostname(), None,
                                                             socket.AF_INET)]
    except OSError:
        pass
    for addr in candidates:
        if not addr.startswith("127.") and addr != "0.0.0.0":
            try:
                with socket.socket() as s:
                    s.bind((addr, 0))
                return addr
            except OSError:
                continue
    return None


EXTERNAL = _external_address()
pytestmark = pytest.mark.skipif(EXTERNAL is None, reason="no non-loopback address on this host")


def _remote(port: int, data: bytes = b"PING\r\n", wait: float = 1.0) -> tuple[bytes, bool]:
    with socket.create_connection((EXTERNAL, port), timeout=wait) as s:
        try:
            s.sendall(data)
        except OSError:
            pass
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out, True
                out += chunk
        except (socket.timeout, TimeoutError):
            return out, False
        except ConnectionResetError:
            return out, True


def _local(port: int, *cmd) -> bytes:
    with RawConn(port) as conn:
        return conn.call(*cmd)


@pytest.fixture
def open_node(photon_factory):
    return photon_factory("--bind", "0.0.0.0")


def test_remote_client_without_password_is_denied(open_node):
    assert _remote(open_node.port) == (DENIED, True)
    assert _local(open_node.port, "PING") == b"+PONG\r\n"
    assert _local(open_node.port, "CONFIG", "GET", "protected-mode") == (
        b"*2\r\n$14\r\nprotected-mode\r\n$3\r\nyes\r\n")


def test_denied_text_is_redis_s(open_node, tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    ref = RedisProcess(tmp_path / "redis")
    ref.args = ["--bind", "0.0.0.0", "--protected-mode", "yes"]
    # RedisProcess binds 127.0.0.1 first; a later --bind wins in redis-server's argv.
    ref.start()
    try:
        assert _remote(ref.port) == _remote(open_node.port) == (DENIED, True)
    finally:
        ref.stop()


def test_config_set_protected_mode_no_from_loopback(open_node):
    assert _local(open_node.port, "CONFIG", "SET", "protected-mode", "no") == b"+OK\r\n"
    assert _remote(open_node.port, wait=0.5) == (b"+PONG\r\n", False)
    assert _local(open_node.port, "CONFIG", "SET", "protected-mode", "yes") == b"+OK\r\n"
    assert _remote(open_node.port) == (DENIED, True)


def test_password_lets_remote_clients_authenticate(photon_factory):
    node = photon_factory("--bind", "0.0.0.0", "--requirepass", "pw")
    assert _remote(node.port, wait=0.5) == (b"-NOAUTH Authentication required.\r\n", False)
    assert _remote(node.port, b"AUTH pw\r\nPING\r\n", wait=0.5) == (b"+OK\r\n+PONG\r\n", False)


def test_protected_mode_flag_off(photon_factory):
    node = photon_factory("--bind", "0.0.0.0", "--protected-mode", "no")
    assert _remote(node.port, wait=0.5) == (b"+PONG\r\n", False)


def test_loopback_bind_is_unreachable_from_outside(photon):
    with pytest.raises(OSError):
        socket.create_connection((EXTERNAL, photon.port), timeout=1).close()
    assert free_port() and wait_for_port(photon.port) is None
