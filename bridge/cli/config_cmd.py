"""`smo-bridge config ...`: check the deployment configuration."""

from __future__ import annotations

import click

from bridge.cli.context import load_cli_config
from bridge.errors import ConfigError


@click.group("config")
def group() -> None:
    """Check the deployment configuration."""


@group.command("validate")
@click.pass_context
def validate(ctx: click.Context) -> None:
    """Check the configuration and every mapping file it names (exit 2 if invalid)."""
    from bridge.cli.mappings import every_issue_at_once  # all files' errors in one run
    return every_issue_at_once(ctx)
    config = load_cli_config(ctx)
    assert config is not None
    issues = []
    for source in config.sources:
        if source.mappings:  # the shipped defaults are checked by their own tests
            from mappings.loader import validate_files  # here: most configurations name none

            issues += validate_files(source.mappings, source.kind)
    if config.policy_files() and not issues:
        from bridge.sourcemaps import compiled_for
        from mappings.policy import load_policy

        roles = {r for s in config.sources for r in compiled_for(s).roles}
        for policy in config.policy_files():
            try:
                load_policy(policy, roles)
            except ConfigError as exc:
                issues += exc.issues or []
    if issues:
        issues.sort(key=lambda i: (i.file, i.line or 0, i.column or 0))
        raise ConfigError(f"{len(issues)} problem(s) in mapping files", issues)
    names = ", ".join(f"{s.name} ({s.kind})" for s in config.sources) or "no sources"
    click.echo(f"{config.path}: valid: {names}")
