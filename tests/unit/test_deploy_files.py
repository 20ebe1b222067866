"""The deployment files under conf/ are read by photon's settings loader, the Kubernetes API
and systemd, none of which runs here before a real deployment; so each file is put through
the reader it is meant for (or its schema), and the cluster it describes is checked to be the
spec's: 3 groups splitting 16 shards 0-5/6-10/11-15, each a master and 2 replicas. Nothing
here starts a node."""
from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from photon import config
from photon.config import Settings, parse_addr, parse_shard_range, split_addrs

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf"
CLUSTER = CONF / "cluster"
LOCAL = CLUSTER / "local"
K8S = CONF / "kubernetes"
UNIT = CONF / "systemd" / "photon@.service"

RANGES = {1: "0-5", 2: "6-10", 3: "11-15"}
NODES = [f"master{g}" for g in RANGES] + [f"replica{g}{s}" for g in RANGES for s in "ab"]
K8S_VERSION = "1.29"
NAMESPACE = "photon"  # the kustomization's


def load(path: Path) -> Settings:
    return config.load({"config": str(path)}, env={})


def group_of(name: str) -> int:
    return int(re.search(r"\d", name).group())


def cluster(directory: Path) -> dict[str, Settings]:
    return {name: load(directory / f"{name}.toml") for name in NODES}


def addr(s: Settings) -> str:
    return f"{s.announce_addr}:{s.port}"


# --- TOML -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted(CONF.rglob("*.toml")),
                         ids=lambda p: str(p.relative_to(CONF)))
def test_every_toml_under_conf_loads(path):
    settings = load(path)
    for key in tomllib.loads(path.read_text()):
        assert settings.source(key) == str(path), key


@pytest.mark.parametrize("directory", [CLUSTER, LOCAL], ids=["hosts", "local"])
def test_one_file_per_node(directory):
    assert sorted(p.stem for p in directory.glob("*.toml")) == sorted(NODES)


@pytest.mark.parametrize("directory", [CLUSTER, LOCAL], ids=["hosts", "local"])
@pytest.mark.parametrize("name", NODES)
def test_node_file_gives_its_role_range_and_master(directory, name):
    s = load(directory / f"{name}.toml")
    g = group_of(name)
    master = load(directory / f"master{g}.toml")
    assert s.node_id == name
    assert s.shard_range == RANGES[g]
    if name.startswith("master"):
        assert (s.role, s.master_addr) == ("master", "")
    else:
        assert (s.role, s.master_addr) == ("replica", addr(master))
    assert (s.write_quorum, s.replication_factor) == (2, 3)
    assert s.cluster_secret and s.seeds


@pytest.mark.parametrize("directory", [CLUSTER, LOCAL], ids=["hosts", "local"])
def test_nodes_form_one_consistent_cluster(directory):
    nodes = cluster(directory)
    masters = {n: s for n, s in nodes.items() if s.role == "master"}
    ranges = sorted(parse_shard_range(s.shard_range, s.shards) for s in masters.values())
    covered = [shard for first, last in ranges for shard in range(first, last + 1)]
    assert covered == list(range(16)), "master ranges must be disjoint and cover every shard"
    by_addr = {addr(s): n for n, s in masters.items()}
    for name, s in nodes.items():
        if s.role == "replica":
            master = nodes[by_addr[s.master_addr]]
            assert s.shard_range == master.shard_range, name
        assert s.shards == 16 and s.write_quorum <= s.replication_factor
        seeds = split_addrs(s.seeds)
        assert set(seeds) <= set(by_addr), f"{name}: seeds must be masters"
        assert addr(s) not in seeds, f"{name} seeds itself"
    for shard_range in RANGES.values():
        copies = [s for s in nodes.values() if s.shard_range == shard_range]
        assert len(copies) == copies[0].replication_factor
    listeners = [(s.announce_addr, p) for s in nodes.values() for p in (s.port, s.http_port)]
    assert len(set(listeners)) == len(listeners), "two nodes listen on one port"
    for field in ("node_id", "data_dir"):
        values = [str(getattr(s, field)) for s in nodes.values()]
        assert len(set(values)) == len(values), field
    logs = [s.log_file for s in nodes.values() if s.log_file]
    assert len(set(logs)) == len(logs)
    for field in ("cluster_secret", "requirepass", "masterauth"):
        assert len({getattr(s, field) for s in nodes.values()}) == 1, field


def test_host_cluster_spreads_each_group_over_three_hosts():
    nodes = cluster(CLUSTER)
    for g, shard_range in RANGES.items():
        hosts = {s.announce_addr for s in nodes.values() if s.shard_range == shard_range}
        assert len(hosts) == 3, f"group {g}"
    for s in nodes.values():
        assert s.bind == s.announce_addr and s.announce_addr.endswith(".example.internal")
        # protected mode refuses every non-loopback client and peer of a node without one
        assert s.requirepass and s.masterauth == s.requirepass
        assert Path(s.data_dir) == Path("/var/lib/photon") / s.node_id
        assert Path(s.log_file) == Path("/var/log/photon") / f"{s.node_id}.log"


def test_local_cluster_uses_the_agreed_ports_and_dirs():
    nodes = cluster(LOCAL)
    assert sorted(s.port for s in nodes.values()) == list(range(7000, 7009))
    assert sorted(s.http_port for s in nodes.values()) == list(range(17000, 17009))
    for name, s in nodes.items():
        assert (s.bind, s.announce_addr) == ("127.0.0.1", "127.0.0.1")
        assert s.data_dir == f"./cluster-data/{name}"
        assert s.http_port == s.port + 10000
        assert s.dead_after_ms > s.heartbeat_interval_ms


# --- systemd --------------------------------------------------------------------------------

def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False,
                                       comment_prefixes=("#", ";"))
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_systemd_unit_runs_photon_with_the_instance_config():
    u = unit()
    assert set(u.sections()) == {"Unit", "Service", "Install"}
    argv = shlex.split(u["Service"]["ExecStart"])
    assert argv[0].startswith("/") and Path(argv[0]).name == "photon"
    assert argv[1:] == ["serve", "--config", "/etc/photon/%i.toml"]
    assert u["Service"]["Restart"] == "on-failure"
    assert u["Install"]["WantedBy"] == "multi-user.target"
    assert "systemctl enable --now photon@" in UNIT.read_text().split("[Unit]")[0]


def test_systemd_unit_is_hardened_and_can_write_what_the_tomls_name():
    service = unit()["Service"]
    assert service["User"] not in ("", "root") and service["Group"]
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    writable = [Path(p) for p in service["ReadWritePaths"].split()]
    for s in cluster(CLUSTER).values():
        for path in (Path(s.data_dir), Path(s.log_file)):
            assert any(path.is_relative_to(w) for w in writable), path
        assert int(service["LimitNOFILE"]) > s.maxclients + 16 * 64  # clients + LevelDB files


def test_systemd_analyze_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    true = shutil.which("true")
    assert true
    # verify insists that ExecStart's program exists, and photon is not installed there
    text = UNIT.read_text()
    program = shlex.split(unit()["Service"]["ExecStart"])[0]
    (tmp_path / UNIT.name).write_text(text.replace(program, true))
    result = subprocess.run(["systemd-analyze", "verify", "--man=no",
                             str(tmp_path / "photon@master1.service")],
                            capture_output=True, text=True, timeout=60, check=False)
    complaints = [line for line in (result.stdout + result.stderr).splitlines()
                  if str(tmp_path) in line or "photon@" in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


# --- Kubernetes -----------------------------------------------------------------------------

def k8s_docs() -> list[dict[str, Any]]:
    """Every object the kustomization applies, in its order."""
    yaml = pytest.importorskip("yaml")
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    return docs


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in k8s_docs() if d["kind"] == kind]


def container(sts: dict[str, Any]) -> dict[str, Any]:
    (c,) = sts["spec"]["template"]["spec"]["containers"]
    return c


def plain_env(c: dict[str, Any], **given: str) -> dict[str, str]:
    """The container's environment as Kubernetes sets it: downward API and secret values
    from `given`, $(VAR) references to earlier variables expanded."""
    env: dict[str, str] = {}
    for var in c["env"]:
        if "value" in var:
            env[var["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m[1], m[0]),
                                      var["value"])
        else:
            env[var["name"]] = given[var["name"]]
    return env


def container_port(c: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in c["ports"] if p["name"] == port]
    return number


def test_kustomization_lists_every_manifest():
    yaml = pytest.importorskip("yaml")
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    on_disk = [p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"]
    assert sorted(listed) == sorted(on_disk)


def test_manifests_validate_against_kubernetes_schemas():
    kv = pytest.importorskip("kubernetes_validate")
    docs = k8s_docs()
    assert len(docs) == 3 + 3 * 3  # namespace, secret, client service; 3 objects per group
    for doc in docs:
        try:
            kv.validate(doc, desired_version=K8S_VERSION, strict=True)
        except kv.SchemaNotFoundError as e:
            pytest.skip(f"kubernetes-validate has no {K8S_VERSION} schemas here: {e}")


def test_kustomize_builds():
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    result = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\nkind: StatefulSet") == 3
    assert f"namespace: {NAMESPACE}\n" in result.stdout


def test_groups_differ_only_in_name_and_shard_range():
    yaml = pytest.importorskip("yaml")

    def normalised(g: int) -> str:
        docs = list(yaml.safe_load_all((K8S / f"group{g}.yaml").read_text()))
        for var in container(docs[1])["env"]:
            if var["name"] == "SHARD_RANGE":
                assert var["value"] == RANGES[g]
                var["value"] = "RANGE"
        text = json.dumps(docs, sort_keys=True)
        return text.replace("photon-g1-0.photon-g1.", "SEED").replace(f"photon-g{g}", "GROUP") \
            .replace(f'"g{g}"', '"G"')

    assert normalised(2) == normalised(1) and normalised(3) == normalised(1)


def test_statefulsets_make_the_spec_cluster():
    docs = k8s_docs()
    statefulsets = of_kind("StatefulSet")
    assert [s["metadata"]["name"] for s in statefulsets] == [f"photon-g{g}" for g in RANGES]
    (secret,) = of_kind("Secret")
    shards: list[int] = []
    for sts in statefulsets:
        spec, c = sts["spec"], container(sts)
        env = plain_env(c, POD_NAME="x", POD_NAMESPACE=NAMESPACE, PHOTON_CLUSTER_SECRET="s",
                        PHOTON_REQUIREPASS="p", PHOTON_MASTERAUTH="p")
        known = {s.env_name for s in config.SETTINGS}
        assert {n for n in env if n.startswith("PHOTON_")} <= known
        assert spec["replicas"] == int(env["PHOTON_REPLICATION_FACTOR"]) == 3
        assert c["image"] == "photondb:latest"
        first, last = parse_shard_range(env["SHARD_RANGE"], 16)
        shards += range(first, last + 1)
        assert env["CLUSTER_SEEDS"] == (f"photon-g1-0.photon-g1.{NAMESPACE}.svc.cluster.local:"
                                        f"{env['PHOTON_PORT']}")
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items()
        assert spec["podManagementPolicy"] == "Parallel"
        (headless,) = [d for d in docs if d["kind"] == "Service"
                       and d["metadata"]["name"] == spec["serviceName"]]
        assert headless["spec"]["clusterIP"] == "None"
        assert headless["spec"]["publishNotReadyAddresses"] is True
        assert headless["spec"]["selector"] == spec["selector"]["matchLabels"]
        assert env["GROUP_SERVICE"] == spec["serviceName"]
        (pdb,) = [d for d in of_kind("PodDisruptionBudget")
                  if d["spec"]["selector"] == spec["selector"]]
        assert pdb["spec"]["minAvailable"] == int(env["PHOTON_WRITE_QUORUM"])
        (claim,) = spec["volumeClaimTemplates"]
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        assert mounts[claim["metadata"]["name"]] == env["PHOTON_DATA_DIR"]
        for var in c["env"]:
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["name"] == secret["metadata"]["name"]
                assert ref["key"] in secret["stringData"]
        assert int(env["PHOTON_PORT"]) == container_port(c, "redis")
    assert sorted(shards) == list(range(16))


def test_client_service_reaches_every_group():
    (client,) = [d for d in of_kind("Service") if d["spec"].get("clusterIP") != "None"]
    for sts in of_kind("StatefulSet"):
        labels = sts["spec"]["template"]["metadata"]["labels"]
        assert client["spec"]["selector"].items() <= labels.items()
        for port in client["spec"]["ports"]:
            container_port(container(sts), port["targetPort"])


def test_probes_use_health_on_the_http_port():
    for sts in of_kind("StatefulSet"):
        c = container(sts)
        env = plain_env(c, POD_NAME="x", POD_NAMESPACE=NAMESPACE, PHOTON_CLUSTER_SECRET="s",
                        PHOTON_REQUIREPASS="p", PHOTON_MASTERAUTH="p")
        http_port = int(env["PHOTON_HTTP_PORT"])
        ready = c["readinessProbe"]["httpGet"]
        assert ready["path"] == "/_health/node"
        assert container_port(c, ready["port"]) == http_port
        for probe in ("livenessProbe", "startupProbe"):
            script = c[probe]["exec"]["command"][-1]
            assert "/_health" in script and "PHOTON_HTTP_PORT" in script


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/_health" else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("status,alive", [(200, True), (503, True), (None, False)])
def test_liveness_probe_fails_only_when_health_does_not_answer(status, alive):
    """A 503 means a degraded node or cluster, which a restart does not cure."""
    (sts, *_) = of_kind("StatefulSet")
    argv = container(sts)["livenessProbe"]["exec"]["command"]
    assert argv[0] == "python3"
    handler = type("Health", (_Health,), {"status": status})
    if status is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = None
    else:
        server = HTTPServer(("127.0.0.1", 0), handler)
        port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = subprocess.run([sys.executable, *argv[1:]], capture_output=True, timeout=30,
                                env={"PHOTON_HTTP_PORT": str(port)}, check=False)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
    assert (result.returncode == 0) == alive, result.stderr


FAKE_PHOTON = """#!{python}
import json, os, sys
json.dump({{"argv": sys.argv[1:], "env": dict(os.environ)}}, open(os.environ["DUMP"], "w"))
"""


@pytest.mark.parametrize("group", list(RANGES))
def test_start_script_derives_role_and_master_from_the_ordinal(group, tmp_path):
    """Runs the container's shell wrapper with a stand-in photon, then feeds what it would
    have started into photon's settings loader."""
    if shutil.which("sh") is None:
        pytest.skip("no sh")
    (sts,) = [s for s in of_kind("StatefulSet") if s["metadata"]["name"] == f"photon-g{group}"]
    c = container(sts)
    assert c["command"][:2] == ["/bin/sh", "-c"]
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "photon"
    fake.write_text(FAKE_PHOTON.format(python=sys.executable))
    fake.chmod(0o755)
    domain = f"photon-g{group}.{NAMESPACE}.svc.cluster.local"
    for ordinal in range(sts["spec"]["replicas"]):
        pod = f"photon-g{group}-{ordinal}"
        dump = tmp_path / f"{pod}.json"
        env = plain_env(c, POD_NAME=pod, POD_NAMESPACE=NAMESPACE, PHOTON_CLUSTER_SECRET="s",
                        PHOTON_REQUIREPASS="p", PHOTON_MASTERAUTH="p")
        env |= {"PATH": f"{bindir}:/usr/bin:/bin", "DUMP": str(dump)}
        subprocess.run(["sh", "-c", c["command"][2]], env=env, check=True, timeout=30)
        seen = json.loads(dump.read_text())
        argv = seen["argv"]
        assert argv[0] == "serve" and len(argv) % 2 == 1
        flags = {argv[i].removeprefix("--").replace("-", "_"): argv[i + 1]
                 for i in range(1, len(argv), 2)}
        s = config.load(flags, env=seen["env"])
        assert (s.node_id, s.announce_addr) == (pod, f"{pod}.{domain}")
        assert (s.bind, s.port, s.http_port, s.data_dir) == ("0.0.0.0", 6379, 8080, "/data")
        assert s.shard_range == RANGES[group]
        if ordinal == 0:
            assert (s.role, s.master_addr) == ("master", "")
        else:
            assert (s.role, s.master_addr) == ("replica", f"photon-g{group}-0.{domain}:6379")
            assert parse_addr(s.master_addr)[1] == s.port
        seed = f"photon-g1-0.photon-g1.{NAMESPACE}.svc.cluster.local:6379"
        assert s.seeds == ("" if pod == "photon-g1-0" else seed)
        assert (s.cluster_secret, s.requirepass, s.masterauth) == ("s", "p", "p")


def test_dockerfile_builds_the_manifests_image():
    text = (K8S / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.MULTILINE)
    assert re.search(r"^RUN pip install \.", text, re.MULTILINE)
    assert re.search(r'^CMD \["photon", "serve"\]$', text, re.MULTILINE)
    for src in re.findall(r"^COPY (.+) \S+$", text, re.MULTILINE):
        for path in src.split():
            assert (ROOT / path).exists(), path
    (uid,) = re.findall(r"^USER (\d+)$", text, re.MULTILINE)
    for sts in of_kind("StatefulSet"):
        assert sts["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(uid)


def test_conf_readme_is_short_and_matches_the_files():
    text = (CONF / "README.md").read_text()
    assert len(text.splitlines()) < 100  # 80 before the etcd section
    for needle in ("photon serve --config conf/cluster/master1.toml", "photon@",
                   "kubectl apply -k conf/kubernetes"):
        assert needle in text
    nodes = cluster(CLUSTER)
    row = r"^\| (\S+\.example\.internal) \| (\w+) \| (\w+) \| (\w+) \|$"
    rows = re.findall(row, text, re.MULTILINE)
    assert len(rows) == 3
    for host, *names in rows:
        for name, port in zip(names, (6379, 6380, 6381)):
            assert (nodes[name].announce_addr, nodes[name].port) == (host, port), name
