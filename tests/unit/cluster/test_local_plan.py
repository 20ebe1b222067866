"""cluster up's plan (ids, ports, shard ranges, the saved plan and resuming it) and status's
reading of a cluster document, without starting a node."""
from __future__ import annotations

import io
import json
import socket
from datetime import UTC, datetime

import pytest
from rich.console import Console

from photon.cluster.local import (
    PLAN_FILE,
    Plan,
    PlanError,
    RunOptions,
    check_extra,
    health_line,
    make_plan,
    parse_addr,
    resolve_plan,
    save_plan,
    serve_args,
    split_shards,
    status_code,
    status_table,
    taken_ports,
)


def _flags(args: list[str]) -> dict[str, str]:
    """The last value of each flag, as click reads them."""
    return {args[i]: args[i + 1] for i in range(0, len(args) - 1)
            if args[i].startswith("--") and not args[i + 1].startswith("--")}


@pytest.mark.parametrize("shards,masters,expected", [
    (16, 3, [(0, 5), (6, 10), (11, 15)]),
    (16, 1, [(0, 15)]),
    (16, 2, [(0, 7), (8, 15)]),
    (16, 5, [(0, 3), (4, 6), (7, 9), (10, 12), (13, 15)]),
    (16, 16, [(i, i) for i in range(16)]),
    (1, 1, [(0, 0)]),
    (1024, 3, [(0, 341), (342, 682), (683, 1023)]),
])
def test_shards_split_evenly_and_the_first_masters_take_the_remainder(shards, masters,
                                                                      expected):
    assert split_shards(shards, masters) == expected


def test_the_default_plan():
    plan = make_plan()
    assert [(n.id, n.role, n.port, n.http_port, n.range_text, n.master) for n in plan.nodes] == [
        ("master1", "master", 7000, 17000, "0-5", None),
        ("master2", "master", 7001, 17001, "6-10", None),
        ("master3", "master", 7002, 17002, "11-15", None),
        ("master1-r1", "replica", 7003, 17003, "0-5", "master1"),
        ("master1-r2", "replica", 7004, 17004, "0-5", "master1"),
        ("master2-r1", "replica", 7005, 17005, "6-10", "master2"),
        ("master2-r2", "replica", 7006, 17006, "6-10", "master2"),
        ("master3-r1", "replica", 7007, 17007, "11-15", "master3"),
        ("master3-r2", "replica", 7008, 17008, "11-15", "master3"),
    ]


@pytest.mark.parametrize("masters,replicas", [(1, 0), (1, 3), (4, 1), (16, 0), (2, 5)])
def test_every_plan_covers_every_shard_once_on_distinct_ports(masters, replicas):
    plan = make_plan(masters, replicas, base_port=20000, shards=16)
    assert len(plan.nodes) == masters * (1 + replicas)
    ports = [p for n in plan.nodes for p in (n.port, n.http_port)]
    assert len(set(ports)) == len(ports)
    assert [n.port for n in plan.nodes] == list(range(20000, 20000 + len(plan.nodes)))
    covered = [s for n in plan.nodes if n.role == "master"
               for s in range(n.shard_range[0], n.shard_range[1] + 1)]
    assert covered == list(range(16))
    for r in (n for n in plan.nodes if n.role == "replica"):
        assert r.shard_range == plan.node(r.master).shard_range
        assert r.id.startswith(r.master + "-r")


@pytest.mark.parametrize("kwargs,words", [
    ({"masters": 0}, "--masters must be 1 or more"),
    ({"replicas": -1}, "--replicas must be 0 or more"),
    ({"shards": 12}, "power of two"),
    ({"shards": 32768}, "power of two"),
    ({"masters": 17, "shards": 16}, "every master needs at least one shard"),
    ({"base_port": 55528}, "highest base port: 55527"),
    ({"base_port": 0}, "does not fit"),
    ({"masters": 16, "replicas": 1000, "shards": 16}, "would collide"),
])
def test_refusals_are_one_line(kwargs, words):
    with pytest.raises(PlanError) as e:
        make_plan(**{"masters": 3, "replicas": 2, **kwargs})
    assert words in str(e.value) and "\n" not in str(e.value)


def test_the_highest_base_port_fits_exactly():
    plan = make_plan(3, 2, base_port=55527)
    assert plan.nodes[-1].http_port == 65535


def test_serve_flags_of_masters_and_replicas(tmp_path):
    plan = make_plan(2, 1, base_port=7100)
    opts = RunOptions(heartbeat_interval_ms=200, dead_after_ms=1000, cluster_redirect=True,
                      extra=("--appendfsync", "always"))
    m1 = _flags(serve_args(plan, plan.node("master1"), tmp_path, opts))
    assert m1["--role"] == "master" and m1["--shard-range"] == "0-7"
    assert m1["--node-id"] == "master1" and m1["--port"] == "7100"
    assert m1["--http-port"] == "17100"
    assert m1["--data-dir"] == str(tmp_path.resolve() / "master1")
    assert m1["--log-file"] == str(tmp_path.resolve() / "master1.log")
    assert m1["--announce-addr"] == "127.0.0.1" and "--seeds" not in m1
    assert m1["--heartbeat-interval-ms"] == "200" and m1["--dead-after-ms"] == "1000"
    assert m1["--cluster-redirect"] == "yes" and m1["--appendfsync"] == "always"
    assert m1["--write-quorum"] == "2" and m1["--replication-factor"] == "2"
    r = _flags(serve_args(plan, plan.node("master2-r1"), tmp_path, opts))
    assert r["--role"] == "replica" and r["--master-addr"] == "127.0.0.1:7101"
    assert r["--shard-range"] == "8-15"  # a replica asks its master for these shards
    assert r["--seeds"] == "127.0.0.1:7100"
    m2 = _flags(serve_args(plan, plan.node("master2"), tmp_path, RunOptions()))
    assert m2["--seeds"] == "127.0.0.1:7100" and "--heartbeat-interval-ms" not in m2


def test_the_quorum_follows_the_group_size_and_extra_flags_win(tmp_path):
    alone = make_plan(2, 0)
    args = serve_args(alone, alone.nodes[0], tmp_path, RunOptions())
    assert _flags(args)["--write-quorum"] == "1"
    args = serve_args(alone, alone.nodes[0], tmp_path, RunOptions(extra=("--write-quorum", "1")))
    assert args[-2:] == ["--write-quorum", "1"]


def test_a_wildcard_bind_is_reached_on_loopback_and_not_announced(tmp_path):
    plan = make_plan(1, 1, bind="0.0.0.0")
    assert plan.host == "127.0.0.1"
    r = serve_args(plan, plan.nodes[1], tmp_path, RunOptions())
    assert _flags(r)["--bind"] == "0.0.0.0" and "--announce-addr" not in r
    assert _flags(r)["--master-addr"] == f"127.0.0.1:{plan.nodes[0].port}"


def test_flags_the_plan_sets_cannot_come_after_the_separator():
    check_extra(["--appendfsync", "always", "--write-quorum", "1"])
    for flag in ("--port", "--data-dir=/x", "--role", "--seeds", "--shard-range"):
        with pytest.raises(PlanError, match="set for each node"):
            check_extra([flag, "1"])


def test_the_plan_is_saved_and_a_second_start_resumes_it(tmp_path):
    plan, resumed = resolve_plan(tmp_path, masters=2, replicas=1, base_port=7200, bind=None,
                                 shards=None)
    assert not resumed and plan.shards == 16 and plan.bind == "127.0.0.1"
    save_plan(plan, tmp_path)
    doc = json.loads((tmp_path / PLAN_FILE).read_text())
    assert [n["id"] for n in doc["nodes"]] == ["master1", "master2", "master1-r1", "master2-r1"]
    assert doc["nodes"][1]["shard_range"] == "8-15"
    again, resumed = resolve_plan(tmp_path)
    assert resumed and again == plan
    same, resumed = resolve_plan(tmp_path, masters=2, base_port=7200, shards=16)
    assert resumed and same == plan


@pytest.mark.parametrize("flag,value", [("masters", 3), ("replicas", 2), ("base_port", 7000),
                                        ("shards", 32), ("bind", "0.0.0.0")])
def test_a_conflicting_value_is_refused_in_one_line(tmp_path, flag, value):
    save_plan(make_plan(2, 1, base_port=7200), tmp_path)
    with pytest.raises(PlanError) as e:
        resolve_plan(tmp_path, **{flag: value})
    text = str(e.value)
    assert "\n" not in text and "2 masters x 1 replica from port 7200" in text
    assert f"--{flag.replace('_', '-')} {value}" in text


def test_a_damaged_plan_file_is_refused(tmp_path):
    (tmp_path / PLAN_FILE).write_text("{not json")
    with pytest.raises(PlanError, match="is not a cluster plan"):
        resolve_plan(tmp_path)


def test_the_saved_nodes_are_kept_as_written(tmp_path):
    """The nodes on disk are the cluster: a later change to how plans are made moves none."""
    doc = make_plan(1, 1, base_port=7300).to_json()
    doc["nodes"][1]["port"] = 7399
    (tmp_path / PLAN_FILE).write_text(json.dumps(doc))
    plan, _ = resolve_plan(tmp_path)
    assert isinstance(plan, Plan) and plan.nodes[1].port == 7399


def test_a_taken_port_is_named_with_its_node():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        if port + 10000 > 65535:
            pytest.skip("ephemeral port too high for this layout")
        plan = make_plan(1, 1, base_port=port - 1)
        taken = taken_ports(plan)
        others = [t for t in taken if not t.startswith(f"{port} ")]
        if others:  # a port of the layout other than ours is in use on this busy machine
            pytest.skip(f"also taken: {others}")
        assert taken == [f"{port} (RESP of master1-r1)"]


# --- status ----------------------------------------------------------------------------------


def _doc(**more):
    return {"nodes": [
        {"id": "master1-r1", "role": "Replica", "addr": "127.0.0.1:7003",
         "shard_range": {"start": 0, "end": 5}, "last_heartbeat": "2025-01-01T00:00:08Z",
         "connected": False},
        {"id": "master1", "role": "Master", "addr": "127.0.0.1:7000",
         "shard_range": {"start": 0, "end": 5}, "last_heartbeat": "2025-01-01T00:00:09Z",
         "connected": True, "zone": "eu-1", "offset": 1234, "lag_bytes": 0,
         "health": "ok"},
    ], "shards": 16, "replica_count": 0, "health": "healthy", "write_quorum": 2,
        "replication_factor": 3, **more}


def _render(table) -> str:
    console = Console(width=160, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text()


def test_status_table_shows_what_is_there_and_dashes_for_the_rest():
    text = _render(status_table(_doc(), now=datetime(2025, 1, 1, 0, 0, 10, tzinfo=UTC)))
    lines = [line for line in text.splitlines() if "master1" in line]
    assert "master1 " in lines[0] and "eu-1" in lines[0] and "1234" in lines[0]
    assert "0-5" in lines[0] and "1s ago" in lines[0] and " ok " in lines[0]
    assert "master1-r1" in lines[1] and "disconnected" in lines[1] and "2s ago" in lines[1]
    assert lines[1].count(" - ") >= 3  # zone, offset, lag


def test_status_tolerates_nodes_missing_fields():
    text = _render(status_table({"nodes": [{"id": "x"}], "health": "fail"}))
    assert "x" in text and text.count(" - ") >= 7


def test_the_exit_code_follows_health_and_cluster_state():
    assert status_code(_doc()) == 0
    assert status_code(_doc(health="degraded")) == 1
    assert status_code(_doc(cluster_state="ok")) == 0
    assert status_code(_doc(cluster_state="fail")) == 1
    assert status_code({"nodes": []}) == 1


def test_health_line():
    line = health_line(_doc(cluster_state="fail", uncovered_shards=[6, 7]))
    assert line.startswith("cluster health: healthy; state fail; uncovered shards 6,7; ")
    assert "2 nodes, 16 shards" in line and "write quorum 2 of 3" in line


def test_addresses():
    assert parse_addr("127.0.0.1:7000") == ("127.0.0.1", 7000)
    assert parse_addr(":7000") == ("127.0.0.1", 7000)
    assert parse_addr("[::1]:7000") == ("::1", 7000)
    for bad in ("7000", "host:", "host:x", "host:70000"):
        with pytest.raises(PlanError):
            parse_addr(bad)
