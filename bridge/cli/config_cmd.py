"""`smo-bridge config ...`: check the deployment configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bridge.errors import ConfigError

if TYPE_CHECKING:
    from bridge.config import BridgeConfig


@click.group("config")
def group() -> None:
    """Check the deployment configuration."""


@group.command("validate")
@click.pass_context
def validate(ctx: click.Context) -> None:
    """Check the configuration and every mapping, policy and template file it names, all
    errors of all files in one run (exit 2 if invalid)."""
    from bridge.cli.context import load_cli_config

    try:
        config = load_cli_config(ctx)
    except ConfigError as exc:
        if not exc.issues:
            raise  # not found, unreadable: one error
        config = None  # every issue, and those of the files it names, below
    if config is not None and not config.policy_files() and not any(
            s.mappings for s in config.sources):
        # a valid configuration naming no mapping or policy file: nothing more to check,
        # and the mapping layer (a tenth of a second to import) is not needed
        click.echo(valid_line(config))
        return
    from bridge.cli.mappings import every_issue_at_once

    every_issue_at_once(ctx)


def valid_line(config: BridgeConfig) -> str:
    """What `config validate` says of a valid configuration."""
    names = ", ".join(f"{s.name} ({s.kind})" for s in config.sources) or "no sources"
    return f"{config.path}: valid: {names}"
