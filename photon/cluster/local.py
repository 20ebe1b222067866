"""A whole cluster on one machine (``photon cluster up``) and one node's view of its cluster
(``photon cluster status``).

Nodes are ``python -m photon serve`` child processes, never servers inside this process: a node
that crashes takes only itself down, and what runs here is exactly what runs in production.
The plan (ids, ports, shard ranges) is saved beside the data, so a second ``up`` brings back
the same nodes on the same data.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

PLAN_FILE = "cluster.json"
HTTP_OFFSET = 10000
YOUNG_DEATH = 30.0  # each further death this soon after a start doubles the restart delay
MAX_RESTART_DELAY = 60.0
WILDCARDS = ("0.0.0.0", "::", "*", "")
DEFAULTS = {"masters": 3, "replicas": 2, "base_port": 7000, "bind": "127.0.0.1", "shards": 16}
# Set for every node by the plan; passing them after "--" would split the cluster apart.
MANAGED_FLAGS = ("--port", "--http-port", "--data-dir", "--node-id", "--role", "--shard-range",
                 "--master-addr", "--seeds", "--announce-addr", "--bind", "--shards",
                 "--log-file", "--config")


class PlanError(Exception):
    """A refusal the user can act on; its text is one line."""


# --- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeSpec:
    id: str
    role: str  # "master" or "replica"
    port: int
    http_port: int
    shard_range: tuple[int, int]
    master: str | None = None  # a replica's master

    @property
    def range_text(self) -> str:
        return f"{self.shard_range[0]}-{self.shard_range[1]}"


@dataclass(frozen=True)
class Plan:
    masters: int
    replicas: int
    base_port: int
    bind: str
    shards: int
    nodes: tuple[NodeSpec, ...] = field(default=())

    @property
    def host(self) -> str:
        """Where this machine reaches the nodes (a wildcard bind listens on loopback too)."""
        return "127.0.0.1" if self.bind in WILDCARDS else self.bind

    def node(self, node_id: str) -> NodeSpec:
        return next(n for n in self.nodes if n.id == node_id)

    def summary(self) -> str:
        last = self.base_port + len(self.nodes) - 1
        return (f"{_n(self.masters, 'master')} x {_n(self.replicas, 'replica')}, {self.shards} "
                f"shards, ports {self.base_port}-{last}, HTTP {self.base_port + HTTP_OFFSET}-"
                f"{last + HTTP_OFFSET}")

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "nodes"}
        out["version"] = 1
        out["nodes"] = [{**asdict(n), "shard_range": n.range_text} for n in self.nodes]
        return out

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Plan:
        nodes = tuple(NodeSpec(n["id"], n["role"], int(n["port"]), int(n["http_port"]),
                               _parse_range(n["shard_range"]), n.get("master"))
                      for n in doc["nodes"])
        return cls(int(doc["masters"]), int(doc["replicas"]), int(doc["base_port"]),
                   str(doc["bind"]), int(doc["shards"]), nodes)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def _parse_range(text: str) -> tuple[int, int]:
    first, _, last = str(text).partition("-")
    return int(first), int(last or first)


def split_shards(shards: int, masters: int) -> list[tuple[int, int]]:
    """Even contiguous ranges; the first masters take one more when it does not divide."""
    size, extra = divmod(shards, masters)
    ranges, start = [], 0
    for i in range(masters):
        end = start + size + (i < extra) - 1
        ranges.append((start, end))
        start = end + 1
    return ranges


def make_plan(masters: int = 3, replicas: int = 2, base_port: int = 7000,
              bind: str = "127.0.0.1", shards: int = 16) -> Plan:
    """Masters take the first ports so ``redis-cli -p <base>`` always reaches master1."""
    if masters < 1:
        raise PlanError(f"--masters must be 1 or more (got {masters})")
    if replicas < 0:
        raise PlanError(f"--replicas must be 0 or more (got {replicas})")
    if shards < 1 or shards > 16384 or shards & (shards - 1):
        raise PlanError(f"--shards must be a power of two from 1 to 16384 (got {shards})")
    if masters > shards:
        raise PlanError(f"--masters {masters} is more than the {shards} shards: every master "
                        "needs at least one shard")
    count = masters * (1 + replicas)
    if count > HTTP_OFFSET:
        raise PlanError(f"{count} nodes need more than {HTTP_OFFSET} ports: their RESP and "
                        "HTTP ports would collide")
    last = base_port + count - 1
    if base_port < 1 or last + HTTP_OFFSET > 65535:
        raise PlanError(f"--base-port {base_port} does not fit {count} nodes: ports "
                        f"{base_port}-{last} and HTTP {base_port + HTTP_OFFSET}-"
                        f"{last + HTTP_OFFSET} must lie within 1-65535 (highest base port: "
                        f"{65535 - HTTP_OFFSET - count + 1})")
    ranges = split_shards(shards, masters)
    nodes = [NodeSpec(f"master{i + 1}", "master", base_port + i, base_port + i + HTTP_OFFSET,
                      ranges[i]) for i in range(masters)]
    port = base_port + masters
    for m in list(nodes):
        for r in range(1, replicas + 1):
            nodes.append(NodeSpec(f"{m.id}-r{r}", "replica", port, port + HTTP_OFFSET,
                                  m.shard_range, m.id))
            port += 1
    return Plan(masters, replicas, base_port, bind, shards, tuple(nodes))


def load_plan(data_dir: Path) -> Plan | None:
    path = Path(data_dir) / PLAN_FILE
    try:
        return Plan.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise PlanError(f"{path} is not a cluster plan ({e}); move it away or use another "
                        "--data-dir") from None


def save_plan(plan: Plan, data_dir: Path) -> Path:
    path = Path(data_dir) / PLAN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(plan.to_json(), indent=2) + "\n")
    tmp.replace(path)
    return path


def resolve_plan(data_dir: Path, **given: Any) -> tuple[Plan, bool]:
    """The saved plan when there is one (True: resumed), else a new one from the given values.
    A value given on the command line that differs from the saved plan is refused: the data
    on disk belongs to the saved layout."""
    given = {k: v for k, v in given.items() if v is not None}
    saved = load_plan(data_dir)
    if saved is None:
        return make_plan(**{**DEFAULTS, **given}), False
    conflicts = [f"--{k.replace('_', '-')} {v} (saved: {getattr(saved, k)})"
                 for k, v in given.items() if getattr(saved, k) != v]
    if conflicts:
        raise PlanError(f"{Path(data_dir) / PLAN_FILE} holds {_n(saved.masters, 'master')} x "
                        f"{_n(saved.replicas, 'replica')} from port {saved.base_port}; "
                        f"{', '.join(conflicts)} conflicts (drop it or use another --data-dir)")
    return saved, True


def taken_ports(plan: Plan) -> list[str]:
    """Ports something else already listens on, named by the node that needs them."""
    taken = []
    for n in plan.nodes:
        for kind, port in (("RESP", n.port), ("HTTP", n.http_port)):
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind((plan.host, port))
                except OSError:
                    taken.append(f"{port} ({kind} of {n.id})")
    return taken


@dataclass(frozen=True)
class RunOptions:
    heartbeat_interval_ms: int | None = None
    dead_after_ms: int | None = None
    cluster_redirect: bool = False
    cluster_secret: str | None = None
    extra: tuple[str, ...] = ()
    coordinator: str | None = None  # etcd://...: masters and leases live in that etcd
    coordinator_prefix: str | None = None


def check_extra(extra: Sequence[str]) -> None:
    for arg in extra:
        name = arg.split("=", 1)[0]
        if name in MANAGED_FLAGS:
            raise PlanError(f"{name} is set for each node by 'cluster up'; it cannot be passed "
                            "after --")


def serve_args(plan: Plan, node: NodeSpec, data_dir: Path, opts: RunOptions) -> list[str]:
    """The ``photon serve`` flags of one node. The quorum follows the group size so a cluster
    without replicas is healthy; flags after ``--`` come last and so win."""
    data_dir = Path(data_dir).resolve()
    master1 = plan.nodes[0]
    args = ["--node-id", node.id, "--bind", plan.bind, "--port", str(node.port),
            "--http-port", str(node.http_port), "--data-dir", str(data_dir / node.id),
            "--log-file", str(data_dir / f"{node.id}.log"), "--shards", str(plan.shards),
            "--role", node.role, "--shard-range", node.range_text,
            "--replication-factor", str(1 + plan.replicas),
            "--write-quorum", str(min(2, 1 + plan.replicas))]
    if node.master is not None:
        args += ["--master-addr", f"{plan.host}:{plan.node(node.master).port}"]
    if node.id != master1.id:
        args += ["--seeds", f"{plan.host}:{master1.port}"]
    if plan.bind not in WILDCARDS:
        args += ["--announce-addr", plan.bind]
    if opts.heartbeat_interval_ms is not None:
        args += ["--heartbeat-interval-ms", str(opts.heartbeat_interval_ms)]
    if opts.dead_after_ms is not None:
        args += ["--dead-after-ms", str(opts.dead_after_ms)]
    if opts.cluster_redirect:
        args += ["--cluster-redirect", "yes"]
    if opts.coordinator:
        args += ["--coordinator", opts.coordinator,
                 "--coordinator-prefix", opts.coordinator_prefix or "/photon/default"]
    return args + list(opts.extra)


# --- the processes ---------------------------------------------------------------------------


def _http_get(url: str, timeout: float) -> tuple[int, Any]:
    """(status, JSON body or None); 0 when nothing answered. No proxy: nodes are local."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    except (OSError, ValueError):
        return 0, None
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def probe_health(host: str, http_port: int, timeout: float = 1.0) -> tuple[bool, bool]:
    """(answering, healthy): 200 and, when the document says, status healthy."""
    status, doc = _http_get(f"http://{host}:{http_port}/_health", timeout)
    healthy = status == 200 and (not isinstance(doc, dict)
                                 or doc.get("status", "healthy") == "healthy")
    return status != 0, healthy


def health_detail(host: str, http_port: int) -> str:
    """Why a node is not healthy, as far as its /_health says."""
    status, doc = _http_get(f"http://{host}:{http_port}/_health", 1.0)
    if status == 0:
        return f"nothing answers on its HTTP port {http_port}"
    said = doc.get("status") if isinstance(doc, dict) else None
    return f"/_health answers {status}" + (f" ({said})" if said else "")


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class LocalCluster:
    """The node processes of one plan. They share this process's group, so a Ctrl-C in a
    terminal or a kill of the group reaches them too."""

    def __init__(self, plan: Plan, data_dir: Path, opts: RunOptions) -> None:
        self.plan = plan
        self.data_dir = Path(data_dir)
        self.opts = opts
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.log_starts: dict[str, int] = {}
        self.started_at: dict[str, float] = {}

    def log_path(self, node_id: str) -> Path:
        return self.data_dir / f"{node_id}.log"

    def start(self) -> None:
        for node in self.plan.nodes:
            self.spawn(node.id)

    def spawn(self, node_id: str) -> None:
        """Nodes ignore SIGHUP (exec keeps an ignored signal ignored): a closed terminal reaches
        this process, which stops them cleanly, instead of killing them mid-write."""
        env = dict(os.environ)
        if self.opts.cluster_secret:
            env["PHOTON_CLUSTER_SECRET"] = self.opts.cluster_secret  # not in `ps` output
        node = self.plan.node(node_id)
        (self.data_dir / node.id).mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "photon", "serve",
               *serve_args(self.plan, node, self.data_dir, self.opts)]
        old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
        try:
            with open(self.log_path(node.id), "ab") as f:
                self.log_starts[node.id] = f.tell()
                f.write(f"--- photon cluster up {datetime.now():%Y-%m-%d %H:%M:%S}: "
                        f"{' '.join(cmd)}\n".encode())
                f.flush()
                self.procs[node.id] = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f,
                                                       stderr=subprocess.STDOUT, env=env)
        finally:
            signal.signal(signal.SIGHUP, old)
        self.started_at[node.id] = time.monotonic()

    def dead(self) -> list[tuple[str, int]]:
        return [(nid, p.returncode) for nid, p in self.procs.items() if p.poll() is not None]

    def tail(self, node_id: str, lines: int = 12) -> list[str]:
        try:
            with open(self.log_path(node_id), "rb") as f:
                f.seek(self.log_starts.get(node_id, 0))
                text = f.read().decode(errors="replace")
        except OSError:
            return []
        return text.splitlines()[-lines:]

    def stop(self, timeout: float, forced: Callable[[], bool] = lambda: False,
             ) -> dict[str, str]:
        """SIGTERM to every node, SIGKILL to those still up after ``timeout`` (or at once when
        ``forced`` says so); how each one ended."""
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while (any(p.poll() is None for p in self.procs.values())
               and time.monotonic() < deadline and not forced()):
            time.sleep(0.05)
        ended = {}
        for nid, p in self.procs.items():
            if p.poll() is None:
                p.kill()
                p.wait()
                ended[nid] = "killed (SIGKILL) after not stopping in time"
            else:
                ended[nid] = "stopped" if p.returncode in (0, -signal.SIGTERM,
                                                           -signal.SIGINT) else \
                    _exit_text(p.returncode)
        return ended


# --- cluster up ------------------------------------------------------------------------------


class _Signals:
    """Turns SIGINT/SIGTERM/SIGHUP into a flag the loops read, so no wait is cut in half; a
    second signal asks for SIGKILL."""

    def __init__(self) -> None:
        self.name: str | None = None
        self.count = 0
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._old[sig] = signal.signal(sig, self._on)
        return self

    def _on(self, signum: int, frame: Any) -> None:
        self.name = self.name or signal.Signals(signum).name
        self.count += 1

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def make_console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    wide = stream.isatty() or "COLUMNS" in os.environ
    return Console(stderr=stderr, highlight=False, width=None if wide else 120,
                   soft_wrap=not stream.isatty())


def nodes_table(cluster: LocalCluster) -> Any:
    from rich.table import Table

    plan = cluster.plan
    table = Table(title=f"PhotonDB cluster in {cluster.data_dir}", title_justify="left")
    for col in ("node", "role", "RESP", "HTTP", "shards", "pid"):
        table.add_column(col, justify="right" if col == "pid" else "left")
    for n in plan.nodes:
        role = "master" if n.master is None else f"replica of {n.master}"
        table.add_row(n.id, role, f"{plan.host}:{n.port}", f"{plan.host}:{n.http_port}",
                      n.range_text, str(cluster.procs[n.id].pid))
    return table


def connect_hints(plan: Plan, data_dir: Path) -> list[str]:
    host = "" if plan.host == "127.0.0.1" else f"-h {plan.host} "
    port = plan.base_port
    first = f"master1, shards {plan.nodes[0].range_text}"
    return [f"  redis-cli {host}-p {port}".ljust(40) + f"# {first}",
            f"  redis-cli -c {host}-p {port}".ljust(40) + "# follows MOVED (--cluster-redirect)",
            f"  photon cluster status --addr {plan.host}:{port}",
            f"  logs: {data_dir}/<node>.log; Ctrl-C stops every node"]


def _wait_healthy(cluster: LocalCluster, console: Any, sigs: _Signals, timeout: float,
                  ) -> tuple[str, list[str]]:
    """("ready" | "died" | "timeout" | "signal", the nodes concerned)."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                               TextColumn, TimeElapsedColumn)

    nodes = cluster.plan.nodes
    host = cluster.plan.host
    started: set[str] = set()
    healthy: set[str] = set()
    t0 = time.monotonic()
    with Progress(SpinnerColumn(), TextColumn("{task.description:<15}"), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=console) as progress:
        t_started = progress.add_task("nodes started", total=len(nodes))
        t_healthy = progress.add_task("nodes healthy", total=len(nodes))
        while True:
            if sigs.name:
                return "signal", []
            dead = [nid for nid, _ in cluster.dead()]
            if dead:
                return "died", dead
            for n in nodes:
                if n.id in healthy:
                    continue
                answering, ok = probe_health(host, n.http_port)
                if answering:
                    started.add(n.id)
                if ok:
                    healthy.add(n.id)
                    console.print(f"  {n.id} healthy after {time.monotonic() - t0:.1f}s")
            progress.update(t_started, completed=len(started))
            progress.update(t_healthy, completed=len(healthy))
            if len(healthy) == len(nodes):
                return "ready", []
            if time.monotonic() - t0 > timeout:
                return "timeout", [n.id for n in nodes if n.id not in healthy]
            time.sleep(0.25)


def _report_nodes(cluster: LocalCluster, err: Any, node_ids: list[str], why: str) -> None:
    for nid in node_ids:
        err.print(f"[bold red]{nid}[/] {why}; last lines of {cluster.log_path(nid)}:")
        for line in cluster.tail(nid):
            err.print(f"    {line}", markup=False, soft_wrap=True)


def _stop(cluster: LocalCluster, console: Any, sigs: _Signals, timeout: float,
          reported: set[str]) -> bool:
    """True when every node still running stopped by itself."""
    alive = sum(1 for p in cluster.procs.values() if p.poll() is None)
    if alive:
        console.print(f"Stopping {_n(alive, 'node')} (SIGTERM; SIGKILL after {timeout:g}s or "
                      "a second Ctrl-C)...")
    before = sigs.count
    ended = cluster.stop(timeout, forced=lambda: sigs.count > before)
    bad = {nid: how for nid, how in ended.items() if how != "stopped" and nid not in reported}
    for nid, how in bad.items():
        console.print(f"  {nid} {how}")
    if alive:
        console.print(f"Stopped {_n(alive, 'node')}{' cleanly' if not bad else ''}.")
    return not bad


def restart_delay_for(given: float | None, dead_after_ms: int | None) -> float:
    if given is not None:
        return given
    from photon.config import BY_NAME

    dead_after = dead_after_ms or BY_NAME["dead_after_ms"].default
    return max(5.0, 2 * dead_after / 1000)


def run_up(data_dir: Path, given: dict[str, Any], opts: RunOptions, wait_timeout: float,
           stop_timeout: float = 15.0, restart_delay: float | None = None) -> int:
    """Start, wait for health, show the cluster, then keep it until a signal (see ``_keep``).
    The exit code says whether the cluster ran as asked: 0 only when stopped on request."""
    console, err = make_console(), make_console(stderr=True)
    data_dir = Path(data_dir)
    check_extra(opts.extra)
    plan, resumed = resolve_plan(data_dir, **given)
    taken = taken_ports(plan)
    if taken:
        raise PlanError(f"port{'s' * (len(taken) > 1)} already in use: {', '.join(taken)}"
                        + (" (is this cluster already running?)" if resumed else ""))
    if resumed:
        console.print(f"Resuming the cluster saved in {data_dir / PLAN_FILE}: {plan.summary()}",
                      markup=False)
    else:
        path = save_plan(plan, data_dir)
        console.print(f"New cluster: {plan.summary()}; plan saved in {path}", markup=False)
    cluster = LocalCluster(plan, data_dir, opts)
    with _Signals() as sigs:
        try:
            cluster.start()
            return _run(cluster, console, err, sigs, wait_timeout, stop_timeout, restart_delay)
        except BaseException:  # e.g. output to a terminal that was closed
            count = sigs.count
            cluster.stop(stop_timeout, forced=lambda: sigs.count > count)
            raise


def _run(cluster: LocalCluster, console: Any, err: Any, sigs: _Signals, wait_timeout: float,
         stop_timeout: float, restart_delay: float | None) -> int:
    plan = cluster.plan
    reported: set[str] = set()
    outcome, which = _wait_healthy(cluster, console, sigs, wait_timeout)
    if outcome == "died":
        for nid in which:
            _report_nodes(cluster, err, [nid],
                          _exit_text(cluster.procs[nid].returncode) + " while starting")
    elif outcome == "timeout":
        err.print(f"[bold red]Not healthy after {wait_timeout:g}s:[/] {', '.join(which)}")
        for nid in which:
            detail = health_detail(plan.host, plan.node(nid).http_port)
            _report_nodes(cluster, err, [nid], f"is not healthy: {detail}")
    elif outcome == "ready":
        console.print(nodes_table(cluster))
        console.print(f"[bold green]Cluster ready[/]: {len(plan.nodes)} nodes healthy. "
                      "Connect with:")
        for line in connect_hints(plan, cluster.data_dir):
            console.print(line, markup=False)
        which = _keep(cluster, console, err, sigs, restart_delay, reported)
    reported.update(which)
    if sigs.name and not which:
        console.print(f"Received {sigs.name}.")
        return 0 if _stop(cluster, console, sigs, stop_timeout, reported) else 1
    _stop(cluster, console, sigs, stop_timeout, reported)
    return 1


def _keep(cluster: LocalCluster, console: Any, err: Any, sigs: _Signals,
          restart_delay: float | None, reported: set[str]) -> list[str]:
    """Run until a signal. A node that dies is reported and the others carry on (that is what
    failover is for); it is started again on its data after ``restart_delay`` seconds, long
    enough for its replicas to have taken over, and a node that keeps dying young waits
    longer each time. Without restarts, returns once every node is down (their ids)."""
    seen: set[int] = set()  # pids already reported
    due: dict[str, float] = {}
    young_deaths: dict[str, int] = {}
    while not sigs.name:
        time.sleep(0.2)
        now = time.monotonic()
        for nid, code in cluster.dead():
            pid = cluster.procs[nid].pid
            if pid in seen:
                continue
            seen.add(pid)
            reported.add(nid)
            _report_nodes(cluster, err, [nid], _exit_text(code))
            if restart_delay is None:
                err.print(f"  {nid} stays down (--no-restart); the other nodes carry on")
                continue
            young = now - cluster.started_at[nid] < YOUNG_DEATH
            young_deaths[nid] = young_deaths.get(nid, 0) + 1 if young else 0
            delay = min(MAX_RESTART_DELAY, restart_delay * 2 ** max(0, young_deaths[nid] - 1))
            due[nid] = now + delay
            err.print(f"  the other nodes carry on (a master's replicas take over its shards); "
                      f"restarting {nid} in {delay:g}s")
        for nid, at in list(due.items()):
            if now >= at:
                del due[nid]
                cluster.spawn(nid)
                console.print(f"{nid} restarted on its data (pid {cluster.procs[nid].pid})")
        if restart_delay is None and len(seen) == len(cluster.procs):
            return list(cluster.procs)
    return []


# --- cluster status --------------------------------------------------------------------------


class Unreachable(Exception):
    """The node could not be asked; the text is one line."""


def parse_addr(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise PlanError(f"--addr must be host:port (got '{text}')")
    return host.strip("[]") or "127.0.0.1", int(port)


def resp_call(host: str, port: int, *args: str, timeout: float = 3.0) -> Any:
    """One command over a bare socket (redis-py is a test dependency only); an error reply
    comes back as a hiredis.ReplyError value."""
    import hiredis

    reader = hiredis.Reader(encoding="utf-8", errors="replace")
    request = f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(a.encode())}\r\n{a}\r\n".encode() for a in args)
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(request)
            reply: Any = False
            while reply is False:
                chunk = s.recv(65536)
                if not chunk:
                    raise Unreachable(f"{host}:{port} closed the connection before answering")
                reader.feed(chunk)
                reply = reader.gets()
    except OSError as e:
        raise Unreachable(f"cannot reach {host}:{port}: {e.strerror or e}") from None
    return reply


def resp_info(host: str, port: int, section: str = "server", timeout: float = 3.0,
              ) -> dict[str, str]:
    import hiredis

    reply = resp_call(host, port, "INFO", section, timeout=timeout)
    if isinstance(reply, hiredis.ReplyError):
        raise Unreachable(f"{host}:{port} refused INFO: {reply}")
    if not isinstance(reply, str):
        raise Unreachable(f"{host}:{port} does not speak RESP as a PhotonDB node")
    return dict(line.split(":", 1) for line in reply.splitlines() if ":" in line)


def fetch_cluster(host: str, port: int, timeout: float = 5.0) -> dict[str, Any]:
    info = resp_info(host, port, timeout=timeout)
    http_port = info.get("http_port", "")
    if not http_port.isdigit() or int(http_port) == 0:
        raise Unreachable(f"{host}:{port} reports no HTTP admin port (http_port in INFO server)")
    url = f"http://{host}:{http_port}/_admin/cluster"
    status, doc = _http_get(url, timeout)
    if status == 0:
        raise Unreachable(f"cannot reach {url}")
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
        raise Unreachable(f"{url} answered {status} without a cluster document")
    return doc


def status_code(doc: dict[str, Any]) -> int:
    ok = doc.get("health") == "healthy" and doc.get("cluster_state", "ok") == "ok"
    return 0 if ok else 1


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) or "-"
    return "-" if value is None or value == "" else str(value)


def _range(value: Any) -> str:
    if isinstance(value, dict) and "start" in value and "end" in value:
        return f"{value['start']}-{value['end']}"
    return _cell(value)


def _ago(stamp: Any, now: datetime | None = None) -> str:
    if not isinstance(stamp, str) or not stamp:
        return "-"
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    secs = ((now or datetime.now(UTC)) - when).total_seconds()
    return f"{max(secs, 0):.0f}s ago"


def _sort_key(n: dict[str, Any]) -> tuple[Any, ...]:
    sr = n.get("shard_range")
    start = sr.get("start", 1 << 30) if isinstance(sr, dict) else 1 << 30
    return (start, str(n.get("role", "")).lower() != "master", str(n.get("id", "")))


def status_table(doc: dict[str, Any], now: datetime | None = None) -> Any:
    from rich.table import Table

    table = Table()
    for col in ("id", "role", "address", "zone", "shards", "offset", "lag", "health",
                "last heartbeat"):
        table.add_column(col, justify="right" if col in ("offset", "lag") else "left")
    for n in sorted((n for n in doc.get("nodes", []) if isinstance(n, dict)), key=_sort_key):
        health = n.get("health")
        if health is None and "connected" in n:
            health = "connected" if n["connected"] else "disconnected"
        table.add_row(_cell(n.get("id")), _cell(n.get("role")), _cell(n.get("addr")),
                      _cell(n.get("zone")), _range(n.get("shard_range")), _cell(n.get("offset")),
                      _cell(n.get("lag_bytes")), _cell(health),
                      _ago(n.get("last_heartbeat"), now))
    return table


def health_line(doc: dict[str, Any]) -> str:
    parts = [f"cluster health: {_cell(doc.get('health'))}"]
    if "cluster_state" in doc:
        parts.append(f"state {_cell(doc['cluster_state'])}")
    if doc.get("uncovered_shards"):
        parts.append(f"uncovered shards {_cell(doc['uncovered_shards'])}")
    parts.append(f"{len(doc.get('nodes', []))} nodes, {_cell(doc.get('shards'))} shards, "
                 f"{_cell(doc.get('replica_count'))} replica(s) connected, write quorum "
                 f"{_cell(doc.get('write_quorum'))} of {_cell(doc.get('replication_factor'))}")
    return "; ".join(parts)


def run_status(addr: str, as_json: bool, out: TextIO | None = None) -> int:
    """0 healthy, 1 not healthy, 2 not reachable (the one line says why)."""
    host, port = parse_addr(addr)
    try:
        doc = fetch_cluster(host, port)
    except Unreachable as e:
        print(f"photon: {e}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(doc, indent=2), file=out or sys.stdout)
    else:
        console = make_console()
        console.print(status_table(doc))
        console.print(health_line(doc), markup=False)
    return status_code(doc)


def run_failover(addr: str, node_id: str, force: bool, timeout: float = 60.0,
                 out: TextIO | None = None) -> int:
    """photon cluster failover --node ID: CLUSTER FAILOVER on that replica (found through
    the node at addr); 0 done, 1 refused, 2 unreachable or unknown."""
    import hiredis

    out = out or sys.stdout
    host, port = parse_addr(addr)
    try:
        doc = fetch_cluster(host, port)
    except Unreachable as e:
        print(f"photon: {e}", file=sys.stderr)
        return 2
    node = next((n for n in doc["nodes"] if n.get("id") == node_id), None)
    if node is None:
        print(f"photon: no node {node_id} in the cluster {addr} knows", file=sys.stderr)
        return 2
    nhost, _, nport = node["addr"].rpartition(":")
    started = time.monotonic()
    try:
        reply = resp_call(nhost, int(nport), "CLUSTER", "FAILOVER", *(["FORCE"] if force else []),
                          timeout=timeout)
    except Unreachable as e:
        print(f"photon: {e}", file=sys.stderr)
        return 2
    if isinstance(reply, hiredis.ReplyError):
        print(f"photon: {node_id} refused the failover: {reply}", file=sys.stderr)
        return 1
    try:
        info = resp_info(nhost, int(nport), "cluster")
        pause = info.get("cluster_last_manual_failover_pause_ms", "?")
    except Unreachable:
        pause = "?"
    print(f"{node_id} is now the master of its group ({time.monotonic() - started:.2f}s; "
          f"writes paused {pause} ms)", file=out)
    return 0
