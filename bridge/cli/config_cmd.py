"""`smo-bridge config ...`: check the deployment configuration."""

from __future__ import annotations

import click

from bridge.cli.context import load_cli_config


@click.group("config")
def group() -> None:
    """Check the deployment configuration."""


@group.command("validate")
@click.pass_context
def validate(ctx: click.Context) -> None:
    """Check the configuration and every mapping file it names (exit 2 if invalid)."""
    config = load_cli_config(ctx)
    assert config is not None
    names = ", ".join(f"{s.name} ({s.kind})" for s in config.sources) or "no sources"
    click.echo(f"{config.path}: valid: {names}")
