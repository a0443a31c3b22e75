"""`smo-bridge run`: the daemon."""

from __future__ import annotations

import click

from bridge.cli.context import load_cli_config
from bridge.daemon import Daemon


@click.command("run")
@click.option("--health-port", type=click.IntRange(1, 65535), default=None,
              help="serve /healthz and /metrics on 127.0.0.1:PORT (overrides daemon.health_port)")
@click.pass_context
def command(ctx: click.Context, health_port: int | None) -> None:
    """Run scheduled cycles until SIGTERM or SIGINT, then stop cleanly."""
    config = load_cli_config(ctx)
    assert config is not None
    ctx.exit(Daemon(config, health_port).run())
