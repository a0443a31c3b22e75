"""`smo-bridge config ...`: check the deployment configuration."""

from __future__ import annotations

import click


@click.group("config")
def group() -> None:
    """Check the deployment configuration."""


@group.command("validate")
@click.pass_context
def validate(ctx: click.Context) -> None:
    """Check the configuration and every mapping, policy and template file it names, all
    errors of all files in one run (exit 2 if invalid)."""
    from bridge.cli.mappings import every_issue_at_once

    every_issue_at_once(ctx)
