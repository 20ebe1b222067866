"""The proxy against an echo server and a real redis-server: integrity, then each fault."""
from __future__ import annotations

import hashlib
import os
import shutil
import socket
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.faults.nemesis import wait_until
from tests.faults.proxy import Proxy, ProxyMesh
from tests.unit.faults.servers import EchoServer, start_redis

TIMEOUT = 0.3


@pytest.fixture
def proxy_to_redis(redis_port):
    with Proxy(("127.0.0.1", redis_port)) as proxy:
        yield proxy


def client(proxy: Proxy, timeout: float = TIMEOUT) -> redis.Redis:
    return redis.Redis(port=proxy.port, socket_timeout=timeout, socket_connect_timeout=timeout,
                       retry=Retry(NoBackoff(), 0), single_connection_client=True)


def echo_roundtrip(port: int, payload: bytes) -> bytes:
    """Send everything, half-close, read until EOF: the proxy must pass both FINs on."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        def send() -> None:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        sender = threading.Thread(target=send)
        sender.start()
        chunks = []
        while data := sock.recv(1 << 20):
            chunks.append(data)
        sender.join()
    return b"".join(chunks)


def test_ten_megabytes_pass_unchanged_both_ways(echo_server):
    payload = os.urandom(10 * 1024 * 1024)
    with Proxy(echo_server.address) as proxy:
        got = echo_roundtrip(proxy.port, payload)
        assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()
        assert proxy.bytes_forwarded == {"a->b": len(payload), "b->a": len(payload)}
        deadline = time.monotonic() + 2
        while proxy.connections and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proxy.connections == 0


def test_many_connections_at_once_keep_their_own_bytes(echo_server):
    payloads = [os.urandom(100_000 + i) for i in range(40)]
    results: list[bytes | None] = [None] * len(payloads)
    with Proxy(echo_server.address) as proxy:
        def run(i: int) -> None:
            results[i] = echo_roundtrip(proxy.port, payloads[i])
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(payloads))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
    assert results == payloads


def test_large_value_through_redis(proxy_to_redis):
    r = client(proxy_to_redis, timeout=5)
    value = os.urandom(4 * 1024 * 1024)
    r.set("proxy:big", value)
    assert r.get("proxy:big") == value
    r.delete("proxy:big")


def test_cut_resets_open_and_new_connections_until_heal(proxy_to_redis):
    r = client(proxy_to_redis)
    assert r.ping()
    proxy_to_redis.cut()
    with pytest.raises(redis.ConnectionError):
        r.ping()
    with pytest.raises(redis.ConnectionError):
        client(proxy_to_redis).ping()
    proxy_to_redis.heal()
    assert client(proxy_to_redis).ping()


def test_blackhole_gives_timeouts_and_heal_resets_the_silenced(proxy_to_redis):
    r = client(proxy_to_redis)
    assert r.ping()
    proxy_to_redis.blackhole()
    start = time.monotonic()
    with pytest.raises(redis.TimeoutError):
        r.ping()
    assert time.monotonic() - start >= TIMEOUT * 0.9
    raw = socket.create_connection(("127.0.0.1", proxy_to_redis.port), timeout=TIMEOUT)
    raw.sendall(b"PING\r\n")
    with pytest.raises(socket.timeout):
        raw.recv(16)
    assert proxy_to_redis.connections == 2
    proxy_to_redis.heal()
    raw.settimeout(2)
    with pytest.raises(ConnectionResetError):
        raw.recv(16)
    raw.close()
    assert proxy_to_redis.connections == 0
    assert client(proxy_to_redis).ping()


def test_heal_with_resume_delivers_what_the_blackhole_held(proxy_to_redis):
    raw = socket.create_connection(("127.0.0.1", proxy_to_redis.port), timeout=TIMEOUT)
    proxy_to_redis.blackhole()
    late = socket.create_connection(("127.0.0.1", proxy_to_redis.port), timeout=TIMEOUT)
    for sock in (raw, late):
        sock.sendall(b"PING\r\n")
        with pytest.raises(socket.timeout):
            sock.recv(16)
    proxy_to_redis.heal(resume=True)
    for sock in (raw, late):
        sock.settimeout(2)
        assert sock.recv(16) == b"+PONG\r\n"
        sock.close()


def test_one_way_blackhole_applies_the_write_but_loses_the_reply(proxy_to_redis):
    direct = redis.Redis(port=proxy_to_redis.target[1])
    direct.delete("proxy:oneway", "proxy:lost")
    r = client(proxy_to_redis)
    assert r.ping()
    proxy_to_redis.blackhole("b->a")
    with pytest.raises(redis.TimeoutError):
        r.set("proxy:oneway", "applied")
    assert direct.get("proxy:oneway") == b"applied"
    proxy_to_redis.heal()
    r = client(proxy_to_redis)
    assert r.ping()
    proxy_to_redis.blackhole("a->b")
    with pytest.raises(redis.TimeoutError):
        r.set("proxy:lost", "never")
    proxy_to_redis.heal()
    assert direct.get("proxy:lost") is None


def test_delay_adds_latency_each_way_and_keeps_order(proxy_to_redis):
    r = client(proxy_to_redis, timeout=5)
    r.ping()
    proxy_to_redis.delay(0.1)
    start = time.monotonic()
    r.ping()
    assert 0.2 <= time.monotonic() - start < 1.0
    proxy_to_redis.delay(0.05, direction="a->b")
    proxy_to_redis.delay(0.0, direction="b->a")
    start = time.monotonic()
    r.ping()
    assert 0.05 <= time.monotonic() - start < 0.5
    proxy_to_redis.delay(0.001, jitter=0.02)
    with r.pipeline(transaction=False) as pipe:
        for i in range(200):
            pipe.echo(str(i))
        assert pipe.execute() == [str(i).encode() for i in range(200)]
    proxy_to_redis.delay(0.2)
    proxy_to_redis.heal()
    start = time.monotonic()
    r.ping()
    assert time.monotonic() - start < 0.2


def test_a_dead_target_resets_clients_and_stop_frees_the_port(echo_server):
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()
    proxy = Proxy(("127.0.0.1", port)).start()
    with (pytest.raises(ConnectionResetError),
          socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as sock):
        sock.recv(16)
    listen_port = proxy.port
    proxy.stop()
    proxy.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", listen_port), timeout=1).close()
    proxy.target = echo_server.address
    with proxy:
        assert proxy.port == listen_port
        assert echo_roundtrip(proxy.port, b"again") == b"again"


def ping_echo(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=TIMEOUT) as sock:
            sock.sendall(b"x")
            return sock.recv(1) == b"x"
    except OSError:
        return False


def test_mesh_partitions_and_one_way_blocks():
    servers = {}
    nodes = {}
    for name in "abc":
        servers[name] = EchoServer()
        nodes[name] = servers[name].address
    with ProxyMesh(nodes, clients=["client"]) as mesh:
        assert len(mesh.proxies) == 9
        assert all(ping_echo(mesh.address(s, d)) for s, d in mesh.proxies)
        mesh.partition(["a"], ["b", "c"])
        assert not ping_echo(mesh.address("a", "b")) and not ping_echo(mesh.address("c", "a"))
        assert ping_echo(mesh.address("b", "c")) and ping_echo(mesh.address("client", "a"))
        mesh.heal()
        assert ping_echo(mesh.address("a", "b"))
        mesh.isolate("c", mode="cut")
        assert not ping_echo(mesh.address("client", "c")) and ping_echo(mesh.address("a", "b"))
        mesh.heal()
        mesh.block("a", "b")
        assert mesh.proxy("a", "b")._held == {"a->b": True, "b->a": False}
        assert mesh.proxy("b", "a")._held == {"a->b": False, "b->a": True}
        mesh.heal()
        assert all(ping_echo(mesh.address(s, d)) for s, d in mesh.proxies)
    for server in servers.values():
        server.close()


def test_replica_full_sync_through_the_proxy_and_catch_up_after_a_blackhole(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    (tmp_path / "m").mkdir()
    (tmp_path / "r").mkdir()
    master_proc, master_port = start_redis(tmp_path / "m", "--repl-diskless-sync-delay", "0")
    replica_proc = None
    try:
        master = redis.Redis(port=master_port)
        values = {f"big{i}": os.urandom(50_000) for i in range(100)}
        master.mset(values)
        with Proxy(("127.0.0.1", master_port)) as proxy:
            replica_proc, replica_port = start_redis(
                tmp_path / "r", "--replicaof", "127.0.0.1", str(proxy.port))
            replica = redis.Redis(port=replica_port)
            wait_until(lambda: replica.info("replication")["master_link_status"] == "up", 10)
            assert proxy.bytes_forwarded["b->a"] > 5_000_000
            assert replica.mget(list(values)) == list(values.values())
            proxy.blackhole()
            master.set("during", "partition")
            time.sleep(0.3)
            assert replica.get("during") is None
            proxy.heal()
            wait_until(lambda: replica.get("during") == b"partition", 10, what="catch up")
    finally:
        for proc in (master_proc, replica_proc):
            if proc is not None:
                proc.kill()
                proc.wait()
