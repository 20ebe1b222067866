"""conf/kubernetes-etcd: the Kubernetes cluster of conf/kubernetes coordinated by etcd, as a
kustomize overlay (and tls/, an optional component). The overlay is rendered as Kubernetes
would receive it, by `kubectl kustomize` where kubectl is installed, otherwise by the small
renderer below (which a test compares with kubectl where both run), then every object is
checked against the Kubernetes schemas and the two halves against each other: photon's
coordinator settings name the etcd client Service, etcd's initial members are its pods, the
probes ask /health, the Secrets referenced hold the keys. Nothing here starts a pod."""
from __future__ import annotations

import atexit
import copy
import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from photon import config

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "conf" / "kubernetes"
OVERLAY = ROOT / "conf" / "kubernetes-etcd"
TLS = OVERLAY / "tls"
K8S_VERSION = "1.29"
NAMESPACE = "photon"
DOMAIN = f"{NAMESPACE}.svc.cluster.local"
VARIANTS = ["plain", "tls"]
TLS_SECRET = "photon-etcd-tls"  # created by the operator (tls/kustomization.yaml)
TLS_KEYS = {"ca.crt", "tls.crt", "tls.key"}

Doc = dict[str, Any]


# --- rendering ------------------------------------------------------------------------------
# What the overlay uses of kustomize: resources (files and directories), components, namespace,
# labels (metadata only), patches by path, with or without a target, JSON6902 or strategic merge.

MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
              "volumeMounts": "mountPath", "ports": "containerPort"}
CLUSTER_SCOPED = {"Namespace", "PersistentVolume", "ClusterRole", "ClusterRoleBinding"}


def _load_all(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def _json_patch(doc: Doc, ops: list[Doc]) -> None:
    for op in ops:
        *parents, last = _pointer(op["path"])
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = last if isinstance(node, dict) else (len(node) if last == "-" else int(last))
        if op["op"] == "test":
            assert node[key] == op["value"], f"JSON patch test failed at {op['path']}"
        elif op["op"] == "add" and isinstance(node, list):
            node.insert(key, copy.deepcopy(op["value"]))
        elif op["op"] in ("add", "replace"):
            node[key] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            del node[key]
        else:
            raise NotImplementedError(op["op"])


def _merge(base: Doc, patch: Doc) -> None:
    """Strategic merge as kustomize does it for these patches: lists with a merge key take the
    patch's items first (merged into the originals they name), then the untouched originals."""
    for key, value in patch.items():
        old = base.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            _merge(old, value)
        elif isinstance(value, list) and key in MERGE_KEYS and isinstance(old, list):
            mk = MERGE_KEYS[key]
            rest = {item[mk]: item for item in old}
            merged = []
            for item in value:
                if item[mk] in rest:
                    original = rest.pop(item[mk])
                    _merge(original, item)
                    merged.append(original)
                else:
                    merged.append(copy.deepcopy(item))
            base[key] = merged + [item for item in old if item[mk] in rest]
        else:
            base[key] = copy.deepcopy(value)


def _selected(doc: Doc, target: Doc | None, body: Any) -> bool:
    if target is None:  # a strategic merge patch names its object
        return (doc["kind"], doc["metadata"]["name"]) == (body["kind"], body["metadata"]["name"])
    labels = doc["metadata"].get("labels", {})
    for term in filter(None, target.get("labelSelector", "").split(",")):
        k, _, v = term.partition("=")
        if labels.get(k.strip()) != v.strip():
            return False
    return all(doc[f] == target[f] if f == "kind" else doc["metadata"][f] == target[f]
               for f in ("kind", "name") if f in target)


def _patch(doc: Doc, body: Any) -> None:
    if isinstance(body, list):
        _json_patch(doc, body)
    else:
        body = copy.deepcopy(body)
        body.pop("apiVersion", None)
        body.pop("kind", None)
        body.get("metadata", {}).pop("name", None)
        _merge(doc, body)


def _kustomization(root: Path) -> Doc:
    k = yaml.safe_load((root / "kustomization.yaml").read_text())
    known = {"apiVersion", "kind", "namespace", "labels", "resources", "components", "patches"}
    assert set(k) <= known, f"{root}: the renderer does not know {set(k) - known}"
    return k


def render_python(root: Path) -> list[Doc]:
    k = _kustomization(root)
    docs: list[Doc] = []
    for entry in k.get("resources", []):
        path = root / entry
        docs += render_python(path) if path.is_dir() else _load_all(path)
    for entry in k.get("components", []):
        docs = _transform(root / entry, _kustomization(root / entry), docs)
    return _transform(root, k, docs)


def _transform(root: Path, k: Doc, docs: list[Doc]) -> list[Doc]:
    for resource in k.get("resources", []) if k.get("kind") == "Component" else []:
        docs += _load_all(root / resource)
    for patch in k.get("patches", []):
        body = yaml.safe_load((root / patch["path"]).read_text() if "path" in patch
                              else patch["patch"])
        hits = [d for d in docs if _selected(d, patch.get("target"), body)]
        assert hits, f"{root}: patch {patch} matches nothing"
        for doc in hits:
            _patch(doc, body)
    for doc in docs:
        if "namespace" in k and doc["kind"] not in CLUSTER_SCOPED:
            doc["metadata"]["namespace"] = k["namespace"]
        for entry in k.get("labels", []):
            assert not entry.get("includeSelectors") and not entry.get("includeTemplates")
            doc["metadata"].setdefault("labels", {}).update(entry["pairs"])
    return docs


def render_kubectl(root: Path) -> list[Doc]:
    result = subprocess.run(["kubectl", "kustomize", str(root)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


@functools.cache
def _with_tls_dir() -> Path:
    """A kustomization that adds the tls component to the overlay, as its header says to
    (kustomize wants relative paths)."""
    d = Path(tempfile.mkdtemp(prefix="photon-etcd-tls-"))
    atexit.register(shutil.rmtree, d, True)
    rel = os.path.relpath(OVERLAY, d)
    (d / "kustomization.yaml").write_text(
        f"resources: [{rel}]\ncomponents: [{os.path.relpath(TLS, d)}]\n")
    return d


@functools.cache
def _rendered(variant: str, how: str) -> str:
    root = OVERLAY if variant == "plain" else _with_tls_dir()
    docs = render_kubectl(root) if how == "kubectl" else render_python(root)
    return json.dumps(docs)


def build(variant: str) -> list[Doc]:
    """The overlay (variant "plain") or the overlay with tls/ ("tls"), as applied."""
    how = "kubectl" if shutil.which("kubectl") else "python"
    return json.loads(_rendered(variant, how))


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def named(docs: list[Doc], kind: str, name: str) -> Doc:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def photon_sets(docs: list[Doc]) -> list[Doc]:
    return [d for d in of_kind(docs, "StatefulSet")
            if d["metadata"]["labels"].get("app.kubernetes.io/name") == "photondb"]


def etcd_set(docs: list[Doc]) -> Doc:
    (sts,) = [d for d in of_kind(docs, "StatefulSet") if d not in photon_sets(docs)]
    return sts


def container(sts: Doc, name: str) -> Doc:
    (c,) = [c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == name]
    return c


def secret_keys(docs: list[Doc]) -> dict[str, set[str]]:
    return {s["metadata"]["name"]: set(s.get("stringData", {})) | set(s.get("data", {}))
            for s in of_kind(docs, "Secret")}


def resolve_env(c: Doc, pod: str) -> dict[str, str]:
    """The container's environment as the kubelet makes it: downward API fields of pod `pod`,
    secrets as `<secret>/<key>`, and $(VAR) expanded only from variables defined above; a
    reference left unexpanded fails."""
    fields = {"metadata.name": pod, "metadata.namespace": NAMESPACE}
    env: dict[str, str] = {}
    for var in c.get("env", []):
        if "value" in var:
            value = re.sub(r"\$\((\w+)\)", lambda m: env.get(m[1], m[0]), var["value"])
            assert "$(" not in value, f"{var['name']}: {value} refers to a later or no variable"
            env[var["name"]] = value
        elif "fieldRef" in var["valueFrom"]:
            env[var["name"]] = fields[var["valueFrom"]["fieldRef"]["fieldPath"]]
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = f"{ref['name']}/{ref['key']}"
    return env


def pod_labels(sts: Doc) -> dict[str, str]:
    return sts["spec"]["template"]["metadata"]["labels"]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def port_number(c: Doc, port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in c["ports"] if p["name"] == port]
    return number


def url_port(url: str) -> int:
    port = urlsplit(url).port
    assert port
    return port


# --- the files ------------------------------------------------------------------------------

@pytest.mark.parametrize("root", [OVERLAY, TLS], ids=["overlay", "tls"])
def test_kustomization_uses_every_file_beside_it(root):
    k = yaml.safe_load((root / "kustomization.yaml").read_text())
    used = set(k.get("resources", [])) | {p["path"] for p in k.get("patches", []) if "path" in p}
    used |= set(k.get("components", []))
    on_disk = {p.name for p in root.glob("*.yaml") if p.name != "kustomization.yaml"}
    assert on_disk <= used
    assert k["kind"] == ("Kustomization" if root == OVERLAY else "Component")
    if root == OVERLAY:
        assert "../kubernetes" in k["resources"] and k["namespace"] == NAMESPACE


@pytest.mark.parametrize("variant", VARIANTS)
def test_python_rendering_matches_kubectl(variant):
    """The renderer above stands in for kubectl where it is missing (CI): it must agree."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")

    def keyed(docs: list[Doc]) -> dict[tuple[str, str], Doc]:
        return {(d["kind"], d["metadata"]["name"]): d for d in docs}

    ours = keyed(json.loads(_rendered(variant, "python")))
    theirs = keyed(json.loads(_rendered(variant, "kubectl")))
    assert sorted(ours) == sorted(theirs)
    for key, doc in theirs.items():
        assert ours[key] == doc, key


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_object_validates_against_kubernetes_schemas(variant):
    kv = pytest.importorskip("kubernetes_validate")
    docs = build(variant)
    base = ["Namespace", "Secret", "Service"] + ["Service", "StatefulSet",
                                                  "PodDisruptionBudget"] * 3
    etcd = ["Secret", "Service", "Service", "StatefulSet", "PodDisruptionBudget", "NetworkPolicy"]
    assert sorted(d["kind"] for d in docs) == sorted(base + etcd)
    for doc in docs:
        assert doc["metadata"].get("namespace", NAMESPACE) == NAMESPACE
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "photondb"
        try:
            kv.validate(doc, desired_version=K8S_VERSION, strict=True)
        except kv.SchemaNotFoundError as e:
            pytest.skip(f"kubernetes-validate has no {K8S_VERSION} schemas here: {e}")


def test_overlay_only_appends_the_coordinator_to_photon():
    base = {(d["kind"], d["metadata"]["name"]): d for d in render_python(BASE)}
    added = ["COORDINATOR_SCHEME", "PHOTON_COORDINATOR", "PHOTON_COORDINATOR_PREFIX",
             "PHOTON_COORDINATOR_USER", "PHOTON_COORDINATOR_PASSWORD"]
    docs = build("plain")
    for doc in docs:
        key = (doc["kind"], doc["metadata"]["name"])
        if doc in photon_sets(docs):
            env = container(doc, "photon")["env"]
            assert [v["name"] for v in env[-len(added):]] == added
            del env[-len(added):]
        if key in base:
            assert doc == base[key], key
    assert len(docs) == len(base) + 6


# --- photon's side --------------------------------------------------------------------------

@pytest.mark.parametrize("variant", VARIANTS)
def test_every_photon_container_is_coordinated_by_the_etcd_service(variant):
    docs = build(variant)
    client = named(docs, "Service", "photon-etcd")
    assert client["spec"].get("clusterIP") != "None"
    etcd = etcd_set(docs)
    assert selects(client["spec"]["selector"], pod_labels(etcd))
    (service_port,) = client["spec"]["ports"]
    etcd_env = resolve_env(container(etcd, "etcd"), "photon-etcd-0")
    listen = url_port(etcd_env["ETCD_LISTEN_CLIENT_URLS"])
    assert port_number(container(etcd, "etcd"), service_port["targetPort"]) == listen
    scheme, etcd_scheme = ("etcds", "https") if variant == "tls" else ("etcd", "http")
    assert urlsplit(etcd_env["ETCD_ADVERTISE_CLIENT_URLS"]).scheme == etcd_scheme
    sets = photon_sets(docs)
    assert len(sets) == 3
    known = {s.env_name for s in config.SETTINGS}
    for sts in sets:
        assert not selects(client["spec"]["selector"], pod_labels(sts))
        c = container(sts, "photon")
        for ordinal in range(sts["spec"]["replicas"]):
            env = resolve_env(c, f"{sts['metadata']['name']}-{ordinal}")
            assert {n for n in env if n.startswith("PHOTON_")} <= known
            s = config.load({}, env=env)  # photon's own checks of every value
            assert s.coordinator == f"{scheme}://photon-etcd.{DOMAIN}:{service_port['port']}"
            assert s.coordinator_prefix == f"/photon/{NAMESPACE}"
            assert s.coordinator_prefix.startswith("/photon/")  # what the README's etcdctl reads
            assert (s.coordinator_user, s.coordinator_password) == ("photon-etcd/user",
                                                                    "photon-etcd/password")
            files = (s.coordinator_ca_file, s.coordinator_cert_file, s.coordinator_key_file)
            if variant == "plain":
                assert files == ("", "", "")
                continue
            mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
            volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
            for path, key in zip(files, ("ca.crt", "tls.crt", "tls.key")):
                mount = mounts[str(Path(path).parent)]
                assert Path(path).name == key and mount.get("readOnly") is True
                assert volumes[mount["name"]]["secret"]["secretName"] == TLS_SECRET


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_secret_key_referenced_exists(variant):
    docs = build(variant)
    keys = secret_keys(docs)
    assert keys["photon-etcd"] == {"user", "password"}
    for sts in of_kind(docs, "StatefulSet"):
        pod = sts["spec"]["template"]["spec"]
        for c in pod["containers"]:
            for var in c.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in keys[ref["name"]], (sts["metadata"]["name"], ref)
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                # the TLS Secret is the operator's (certificates cannot be placeholders)
                assert volume["secret"]["secretName"] in keys or (
                    variant == "tls" and volume["secret"]["secretName"] == TLS_SECRET)
    if variant == "tls":
        header = (TLS / "kustomization.yaml").read_text()
        assert TLS_SECRET in header and all(k in header for k in TLS_KEYS)


# --- etcd's side ----------------------------------------------------------------------------

@pytest.mark.parametrize("variant", VARIANTS)
def test_etcd_initial_members_are_its_pods(variant):
    docs = build(variant)
    sts = etcd_set(docs)
    spec, c = sts["spec"], container(sts, "etcd")
    name, replicas = sts["metadata"]["name"], spec["replicas"]
    assert replicas == 3 and spec["podManagementPolicy"] == "Parallel"
    assert re.fullmatch(r"(quay\.io/coreos|gcr\.io/etcd-development)/etcd:v3\.5\.\d+", c["image"])
    headless = named(docs, "Service", spec["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    assert headless["spec"]["selector"] == spec["selector"]["matchLabels"]
    assert selects(spec["selector"]["matchLabels"], pod_labels(sts))
    scheme = "https" if variant == "tls" else "http"
    pods = [f"{name}-{i}" for i in range(replicas)]
    for pod in pods:
        env = resolve_env(c, pod)
        members = dict(m.split("=", 1) for m in env["ETCD_INITIAL_CLUSTER"].split(","))
        assert list(members) == pods
        assert env["ETCD_NAME"] == pod
        peer = f"{scheme}://{pod}.{spec['serviceName']}.{DOMAIN}:{port_number(c, 'peer')}"
        assert members[pod] == env["ETCD_INITIAL_ADVERTISE_PEER_URLS"] == peer
        assert env["ETCD_ADVERTISE_CLIENT_URLS"] == \
            f"{scheme}://{pod}.{spec['serviceName']}.{DOMAIN}:{port_number(c, 'client')}"
        assert url_port(env["ETCD_LISTEN_PEER_URLS"]) == port_number(c, "peer")
        assert urlsplit(env["ETCD_LISTEN_CLIENT_URLS"]).scheme == scheme
        assert env["ETCD_INITIAL_CLUSTER_STATE"] == "new"
        (claim,) = spec["volumeClaimTemplates"]
        (mount,) = [m for m in c["volumeMounts"] if m["name"] == claim["metadata"]["name"]]
        # below the volume's root, so that etcd creates it 0700 itself
        assert Path(env["ETCD_DATA_DIR"]).parent == Path(mount["mountPath"])
        if variant == "tls":
            for var in ("ETCD_CLIENT_CERT_AUTH", "ETCD_PEER_CLIENT_CERT_AUTH"):
                assert env[var] == "true"
            mounts = {m["mountPath"] for m in c["volumeMounts"]}
            for var in ("ETCD_CERT_FILE", "ETCD_KEY_FILE", "ETCD_TRUSTED_CA_FILE",
                        "ETCD_PEER_CERT_FILE", "ETCD_PEER_KEY_FILE", "ETCD_PEER_TRUSTED_CA_FILE",
                        "ETCDCTL_CACERT", "ETCDCTL_CERT", "ETCDCTL_KEY"):
                assert str(Path(env[var]).parent) in mounts and Path(env[var]).name in TLS_KEYS
    (pdb,) = [d for d in of_kind(docs, "PodDisruptionBudget")
              if d["spec"]["selector"] == spec["selector"]]
    assert pdb["spec"]["minAvailable"] == replicas // 2 + 1  # etcd's quorum


@pytest.mark.parametrize("variant", VARIANTS)
def test_etcd_probes_ask_health_on_the_plain_metrics_port(variant):
    sts = etcd_set(build(variant))
    c = container(sts, "etcd")
    metrics = resolve_env(c, "photon-etcd-0")["ETCD_LISTEN_METRICS_URLS"]
    assert urlsplit(metrics).scheme == "http"  # kubelet probes carry no client certificate
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        get = c[probe]["httpGet"]
        assert urlsplit(get["path"]).path == "/health", probe
        assert get.get("scheme", "HTTP") == "HTTP"
        assert port_number(c, get["port"]) == url_port(metrics)
    # ready only with a leader (what photon needs of the member the Service picks); alive
    # without one (a member cut off from the others is not cured by a restart)
    assert "serializable" not in c["readinessProbe"]["httpGet"]["path"]
    assert "serializable=true" in c["livenessProbe"]["httpGet"]["path"]


def test_etcd_variables_are_etcd_flags():
    """etcd reads every ETCD_<FLAG> variable as --<flag> (and only warns about others);
    checked with the etcd installed for the coordination tests."""
    flags = {}
    for program in ("etcd", "etcdctl"):
        if shutil.which(program) is None:
            pytest.skip(f"{program} is not installed")
        out = subprocess.run([program, "--help"], capture_output=True, text=True, timeout=30,
                             check=False)
        flags[program] = set(re.findall(r"--([a-z][a-z0-9-]+)", out.stdout + out.stderr))
    c = container(etcd_set(build("tls")), "etcd")
    for var in c["env"]:
        name = var["name"]
        if name.startswith("ETCDCTL_"):
            assert name[8:].lower().replace("_", "-") in flags["etcdctl"], name
        elif name.startswith("ETCD_"):
            assert name[5:].lower().replace("_", "-") in flags["etcd"], name


@pytest.mark.parametrize("variant", VARIANTS)
def test_network_policy_lets_in_photon_and_the_members(variant):
    docs = build(variant)
    etcd = etcd_set(docs)
    c = container(etcd, "etcd")
    (policy,) = of_kind(docs, "NetworkPolicy")
    assert policy["spec"]["podSelector"] == etcd["spec"]["selector"]
    assert policy["spec"]["policyTypes"] == ["Ingress"]

    def allowed(labels: dict[str, str]) -> set[int]:
        ports: set[int] = set()
        for rule in policy["spec"]["ingress"]:
            sources = rule.get("from")
            if sources is None or any(selects(s["podSelector"]["matchLabels"], labels)
                                      for s in sources):
                ports |= {port_number(c, p["port"]) for p in rule["ports"]}
        return ports

    for sts in photon_sets(docs):
        assert allowed(pod_labels(sts)) == {2379, 2381}
    assert allowed(pod_labels(etcd)) == {2379, 2380, 2381}
    assert allowed({"app": "other"}) == {2381}  # probes and Prometheus only


# --- documentation --------------------------------------------------------------------------

def test_conf_readme_has_the_etcd_section():
    text = (ROOT / "conf" / "README.md").read_text()
    section = text.split("## With etcd", 1)[1].split("\n## ", 1)[0]
    for needle in ("kubectl apply -k conf/kubernetes-etcd", "etcdctl get --prefix /photon/",
                   "PHOTON_COORDINATOR", "tls/", "Patroni"):
        assert needle in section, needle
