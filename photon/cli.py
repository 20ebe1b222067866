"""The ``photon`` command. Every setting in photon.config is also a ``serve`` flag."""
from __future__ import annotations

import sys
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


if __name__ == "__main__":
    main()
