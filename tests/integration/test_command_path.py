"""The command path's fixed order, seen from outside (docs/architecture.md, "A command's path").

Routing (step 6) comes before the node's own checks (step 7), as Redis's MOVED and READONLY
come before its CLIENT PAUSE: a plain client's write on a node that follows a master is passed
to the master at once, whether the node was paused before or after it began to follow; the
master's own pause is what holds writes. Before the path was fixed, the order of the checks
depended on which of REPLICAOF and CLIENT PAUSE came first.
"""
from __future__ import annotations

import time

import pytest

from tests.integration.replication_support import wait_until

PAUSE_MS = 3000


@pytest.mark.parametrize("order", ["replicaof-then-pause", "pause-then-replicaof"])
def test_a_paused_replica_passes_a_write_on_at_once_in_either_order(photon_factory, order):
    master = photon_factory(name="master")
    node = photon_factory(name="node")
    admin, m = node.client(), master.client()
    if order == "replicaof-then-pause":
        admin.replicaof("127.0.0.1", master.port)
        admin.client_pause(PAUSE_MS, all=False)
    else:
        admin.client_pause(PAUSE_MS, all=False)
        admin.replicaof("127.0.0.1", master.port)
    wait_until(lambda: admin.info("replication")["master_link_status"] == "up",
               what="the link to the master")
    c = node.client()
    started = time.monotonic()
    assert c.set("k", "v") is True
    elapsed = time.monotonic() - started
    assert elapsed < PAUSE_MS / 1000 / 2, f"the write waited {elapsed:.2f}s for the pause"
    assert m.get("k") == b"v"
    assert c.get("k") == b"v"  # read your writes: the node applied it before answering


def test_the_masters_pause_holds_a_forwarded_write(photon_factory):
    master = photon_factory(name="master")
    node = photon_factory(name="node")
    admin, m = node.client(), master.client()
    admin.replicaof("127.0.0.1", master.port)
    wait_until(lambda: admin.info("replication")["master_link_status"] == "up",
               what="the link to the master")
    m.client_pause(2000, all=False)
    started = time.monotonic()
    assert node.client().set("k", "v") is True
    assert time.monotonic() - started > 1.0  # held on the master until its pause ended
    assert m.get("k") == b"v"
