"""Fuzzing a running node over real sockets (hypothesis): random bytes and RESP-shaped streams
(valid commands, inline lines, malformed and oversized headers, stray RESP3 types, HTTP lines),
split at random points, each on a fresh connection to a node without a password and to one
with --requirepass. After every case the node must still answer PING on a separate connection
within a second, and at the end its log must hold no traceback.

CI runs a bounded number of cases (about half a minute); a longer campaign is one command:

    PHOTON_FUZZ_EXAMPLES=20000 python3 -m pytest tests/integration/test_fuzz.py \
        tests/unit/security/test_fuzz_gate.py -p no:cacheprovider
"""
from __future__ import annotations

import socket
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz_strategies import PASSWORD, chunked, examples, streams
from tests.support import PhotonProcess

SETTINGS = settings(max_examples=examples(350), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


class Target:
    def __init__(self, node: PhotonProcess, password: bytes | None) -> None:
        self.node = node
        self.password = password
        self.probe: socket.socket | None = None

    def _connect_probe(self) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.node.port), timeout=2)
        if self.password:
            s.sendall(b"AUTH %s\r\n" % self.password)
            assert s.recv(100) == b"+OK\r\n"
        return s

    def ping(self) -> None:
        """The node answers PING on its long-lived probe connection within a second."""
        if self.probe is None:
            self.probe = self._connect_probe()
        start = time.monotonic()
        self.probe.sendall(b"PING\r\n")
        self.probe.settimeout(1.0)
        assert self.probe.recv(100) == b"+PONG\r\n"
        assert time.monotonic() - start < 1.0
        assert self.node.proc.poll() is None, self.node.logs()[-3000:]

    def send(self, chunks: list[bytes]) -> None:
        with socket.create_connection(("127.0.0.1", self.node.port), timeout=2) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                for chunk in chunks:
                    s.sendall(chunk)
                s.settimeout(0.02)
                while s.recv(65536):
                    pass
            except OSError:  # closed by the server (protocol error, limits, QUIT) or idle
                pass


@pytest.fixture(scope="module")
def targets(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    nodes = [PhotonProcess(root / "open").start(),
             PhotonProcess(root / "secured", "--requirepass", PASSWORD.decode()).start()]
    made = [Target(nodes[0], None), Target(nodes[1], PASSWORD)]
    yield made
    for t in made:
        if t.probe is not None:
            t.probe.close()
    logs = [n.logs() for n in nodes]
    for n in nodes:
        n.kill()
    for text in logs:
        for bad in ("Traceback", "Fatal error", "internal error"):
            assert bad not in text, text[text.find(bad) - 2000:text.find(bad) + 3000]


@SETTINGS
@given(chunks=chunked(streams()), which=st.integers(0, 1))
def test_resp_shaped_streams(targets, chunks, which):
    target = targets[which]
    target.send(chunks)
    target.ping()


@SETTINGS
@given(data=st.binary(min_size=1, max_size=8192), cuts=st.integers(1, 6),
       which=st.integers(0, 1))
def test_random_bytes(targets, data, cuts, which):
    step = max(1, len(data) // cuts)
    target = targets[which]
    target.send([data[i:i + step] for i in range(0, len(data), step)])
    target.ping()
