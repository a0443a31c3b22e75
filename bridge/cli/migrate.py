"""`smo-bridge migrate ...`: one-off bulk work."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from rich.console import Console

from bridge import migrate as ops
from bridge.cli.context import load_cli_config, open_cli_store
from bridge.cli.progress import Reporter, cycle_hooks
from bridge.cli.sync import print_summary
from bridge.config import BridgeConfig
from bridge.engine import CycleResult, Engine
from bridge.store import Store
from bridge.store.database import redacted_url


@click.group("migrate")
def group() -> None:
    """One-off bulk work: backfill, remap, republish, reconcile, copy-state."""


def _open(ctx: click.Context) -> tuple[BridgeConfig, Store]:
    config = load_cli_config(ctx)
    assert config is not None
    return config, open_cli_store(config)


def _finish(ctx: click.Context, result: CycleResult) -> None:
    print_summary(result, Console())
    ctx.exit(result.exit_code)


@group.command("backfill")
@click.option("--source", required=True, help="the source to pull again")
@click.option("--since", type=click.DateTime(), default=None,
              help="pull changes since this UTC time (default: everything)")
@click.pass_context
def backfill(ctx: click.Context, source: str, since: datetime | None) -> None:
    """Pull a source again; unchanged records are recognised and skipped."""
    config, store = _open(ctx)
    try:
        with Reporter(Console(stderr=True)) as report:
            result = ops.backfill(config, store, source, since.replace(tzinfo=UTC) if since else None,
                                  engine=Engine(config, store, **cycle_hooks(report)))
    finally:
        store.close()
    _finish(ctx, result)


@group.command("remap")
@click.option("--source", default=None, help="only this source")
@click.pass_context
def remap(ctx: click.Context, source: str | None) -> None:
    """Map every stored record again with the current mapping files, then derive."""
    config, store = _open(ctx)
    try:
        with Reporter(Console(stderr=True)) as report:
            result = ops.remap(config, store, source, progress=report,
                               engine=Engine(config, store, **cycle_hooks(report)))
    finally:
        store.close()
    _finish(ctx, result)


@group.command("republish")
@click.option("--transition", default=None, help="only this transition id")
@click.pass_context
def republish(ctx: click.Context, transition: str | None) -> None:
    """Push every knowledge article and gate status again (only differences are written)."""
    config, store = _open(ctx)
    try:
        with Reporter(Console(stderr=True)) as report:
            result = ops.republish(config, store, transition,
                                   engine=Engine(config, store, **cycle_hooks(report)))
    finally:
        store.close()
    _finish(ctx, result)


@group.command("reconcile")
@click.option("--source", required=True)
@click.pass_context
def reconcile(ctx: click.Context, source: str) -> None:
    """Mark records deleted at the source, from a complete census of its keys."""
    config, store = _open(ctx)
    try:
        with Reporter(Console(stderr=True)) as report:
            results = ops.reconcile(config, store, source, progress=report)
    finally:
        store.close()
    for r in results:
        click.echo(f"{source}/{r.stream}: {r.present} present, {r.deleted} marked deleted")


@group.command("copy-state")
@click.option("--to", "target", required=True, help="SQLAlchemy URL of an empty target database")
@click.pass_context
def copy_state(ctx: click.Context, target: str) -> None:
    """Copy the whole state store to another database (e.g. SQLite to PostgreSQL)."""
    config = load_cli_config(ctx, required=False, secrets=False)
    store = open_cli_store(config, read_only=True)
    try:
        with Reporter(Console(stderr=True)) as report:
            copied = ops.copy_state(store, target, progress=report)
    finally:
        store.close()
    total = sum(copied.values())
    click.echo(f"copied {total} row(s) to {redacted_url(target)}: "
               + ", ".join(f"{k} {v}" for k, v in copied.items() if v))


