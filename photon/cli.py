"""The ``photon`` command. Every setting in photon.config is also a ``serve`` flag."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from photon import REDIS_VERSION, __version__
from photon import config as cfg
from photon.errors import ConfigError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="photon",
                      message=f"%(prog)s %(version)s (Redis {REDIS_VERSION} compatible)")
def main() -> None:
    """PhotonDB: a Redis-compatible, sharded, replicated key-value server."""


def _settings_options(fn: Any) -> Any:
    for s in reversed(cfg.SETTINGS):
        if not s.flag:
            continue
        fn = click.option("--" + s.name.replace("_", "-"), s.name, default=None,
                          metavar="VALUE",
                          help=f"{s.help} [env {s.env_name}; default {s.default!s}]")(fn)
    return fn


@main.command()
@_settings_options
def serve(**flags: Any) -> None:
    """Run a node (defaults: one node, all shards, data under ./data)."""
    from photon.server import run_forever

    try:
        settings = cfg.load(flags)
        run_forever(settings)
    except ConfigError as e:
        click.echo(f"photon: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        pass
    except OSError as e:
        click.echo(f"photon: cannot start: {e.strerror or e}", err=True)
        sys.exit(1)


@main.group()
def cluster() -> None:
    """Run a whole cluster on this machine, or look at a running one."""


@cluster.command()
@click.option("--masters", type=click.IntRange(1), default=None,
              help="shard groups, each a master [default: 3]")
@click.option("--replicas", type=click.IntRange(0), default=None,
              help="replicas per master [default: 2]")
@click.option("--base-port", type=click.IntRange(1, 65535), default=None,
              help="first RESP port; HTTP ports are RESP + 10000 [default: 7000]")
@click.option("--data-dir", type=click.Path(file_okay=False), default="./cluster",
              show_default=True, help="holds cluster.json, one directory and log per node")
@click.option("--bind", default=None, help="address every node listens on [default: 127.0.0.1]")
@click.option("--shards", type=int, default=None, help="shard count [default: 16]")
@click.option("--heartbeat-interval-ms", type=click.IntRange(10), default=None,
              help="passed to every node [node default: 10000]")
@click.option("--dead-after-ms", type=click.IntRange(20), default=None,
              help="passed to every node [node default: 30000]")
@click.option("--cluster-redirect", is_flag=True, help="nodes answer other groups' keys "
              "with -MOVED (for redis-cli -c and cluster clients)")
@click.option("--cluster-secret", default=None, metavar="S",
              help="secret of internal links (passed to nodes in their environment)")
@click.option("--wait-timeout", type=click.FloatRange(0), default=60.0, show_default=True,
              help="seconds to wait for every node to be healthy")
@click.option("--restart-delay", type=click.FloatRange(0), default=None, metavar="SECONDS",
              help="a node that dies is started again after this [default: twice "
              "--dead-after-ms, at least 5s: its replicas take over first]")
@click.option("--no-restart", is_flag=True, help="leave a node that dies down")
@click.option("--coordinator", default=None, metavar="URL",
              help="etcd://host:port[,...]: masters and leases in that etcd [default: builtin]")
@click.option("--coordinator-prefix", default=None, metavar="PREFIX",
              help="the cluster's etcd key prefix [default: /photon/default]")
@click.argument("extra", nargs=-1, type=click.UNPROCESSED)
def up(masters: int | None, replicas: int | None, base_port: int | None, data_dir: str,
       bind: str | None, shards: int | None, heartbeat_interval_ms: int | None,
       dead_after_ms: int | None, cluster_redirect: bool, cluster_secret: str | None,
       wait_timeout: float, restart_delay: float | None, no_restart: bool,
       coordinator: str | None, coordinator_prefix: str | None, extra: tuple[str, ...]) -> None:
    """Start a cluster of masters and replicas here and keep it until Ctrl-C; a node that dies
    is reported and started again on its data while the others carry on.

    Running it again on the same --data-dir resumes the cluster saved there. Flags after
    `--` go to every node's `photon serve`.
    """
    from photon.cluster.local import PlanError, RunOptions, restart_delay_for, run_up

    opts = RunOptions(heartbeat_interval_ms, dead_after_ms, cluster_redirect, cluster_secret,
                      tuple(extra), coordinator, coordinator_prefix)
    given = {"masters": masters, "replicas": replicas, "base_port": base_port, "bind": bind,
             "shards": shards}
    try:
        sys.exit(run_up(Path(data_dir), given, opts, wait_timeout,
                        restart_delay=None if no_restart else restart_delay_for(
                            restart_delay, dead_after_ms)))
    except PlanError as e:
        click.echo(f"photon: {e}", err=True)
        sys.exit(1)


@cluster.command()
@click.option("--addr", default="127.0.0.1:6379", show_default=True,
              help="RESP address of any node")
@click.option("--json", "as_json", is_flag=True, help="print the /_admin/cluster document")
def status(addr: str, as_json: bool) -> None:
    """Show the cluster as a node sees it: exit 0 healthy, 1 not, 2 unreachable."""
    from photon.cluster.local import PlanError, run_status

    try:
        sys.exit(run_status(addr, as_json))
    except PlanError as e:
        click.echo(f"photon: {e}", err=True)
        sys.exit(2)


@cluster.command()
@click.option("--node", "node_id", required=True, help="id of the replica to promote")
@click.option("--addr", default="127.0.0.1:6379", show_default=True,
              help="RESP address of any node")
@click.option("--force", is_flag=True, help="without the master (it is down)")
def failover(node_id: str, addr: str, force: bool) -> None:
    """Promote a replica: its master pauses writes, the replica catches up on every shard
    and takes over, no write is lost (CLUSTER FAILOVER on that replica)."""
    from photon.cluster.local import PlanError, run_failover

    try:
        sys.exit(run_failover(addr, node_id, force))
    except PlanError as e:
        click.echo(f"photon: {e}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
