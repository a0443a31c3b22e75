"""`smo-bridge sync --once`: one full cycle, and `smo-bridge outbox`: the push queue."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from bridge.cli.context import load_cli_config, open_cli_store
from bridge.cli.progress import Reporter, cycle_hooks
from bridge.config import BridgeConfig
from bridge.engine import CycleResult, Engine
from bridge.store import Store
from bridge.store import repository as repo


@click.command("sync")
@click.option("--once", is_flag=True, help="run one cycle and exit (the daemon is `smo-bridge run`)")
@click.option("--source", "source", default=None, help="only this source")
@click.option("--dry-run", is_flag=True, help="write nothing anywhere; print what would be done")
@click.option("--no-push", is_flag=True, help="plan pushes but do not deliver them now")
@click.pass_context
def command(ctx: click.Context, once: bool, source: str | None, dry_run: bool, no_push: bool) -> None:
    """Pull, map, derive, store and push: one full cycle."""
    if not once:
        raise click.UsageError("sync runs one cycle: add --once (the daemon is `smo-bridge run`)")
    config = load_cli_config(ctx)
    assert config is not None
    if source is not None:
        config.source(source)  # an unknown name is a one-line error before any work
    store = open_cli_store(config, dry_run=dry_run)
    console = Console(stderr=True)
    try:
        result = run_with_progress(config, store, console, only=source, dry_run=dry_run,
                                   push=not no_push)
    finally:
        store.close()
    print_summary(result, Console())
    ctx.exit(result.exit_code)


def run_with_progress(config: BridgeConfig, store: Store, console: Console,
                      *, only: str | None = None, dry_run: bool = False, push: bool = True) -> CycleResult:
    """A cycle with each source's count and rate: live on a terminal, logged otherwise."""
    with Reporter(console) as report:
        engine = Engine(config, store, dry_run=dry_run, **cycle_hooks(report))
        return engine.run_cycle(only, push=push)


def print_summary(result: CycleResult, console: Console) -> None:
    table = Table(title="Dry run: nothing was written" if result.dry_run else "Sync")
    for col in ("source", "status", "pulled", "new", "changed", "unchanged", "deleted", "mapped",
                "quarantined"):
        table.add_column(col, justify="left" if col in ("source", "status") else "right")
    for s in result.sources:
        table.add_row(s.name, s.status, str(s.pulled), str(s.inserted), str(s.updated),
                      str(s.unchanged), str(s.deleted), str(s.mapped), str(s.quarantined))
    console.print(table)
    for s in result.sources:
        if s.error:
            console.print(f"[red]{s.name}[/red]: {s.error}")
        for warning in s.warnings:
            console.print(f"[yellow]{s.name}[/yellow]: {warning}")
    console.print(f"transitions: {result.transitions} ({result.transitions_changed} changed), "
                  f"articles changed: {result.articles_changed}, workload cells: {result.workload_cells}")
    if result.held:
        console.print(f"[yellow]{len(result.held)} transition(s) kept as last derived, nothing "
                      f"pushed for them[/yellow]: {_held_reasons(result.held)}")
    verb = "would push" if result.dry_run else "planned"
    for p in result.planned:
        console.print(f"  {verb} {p['operation']} → {p['target']}: {p['summary']}")
    if not result.dry_run:
        # pending counts every push still queued after this cycle, the retrying ones included
        console.print(f"pushes delivered: {result.delivered}, failed: {result.push_failures}, "
                      f"retrying: {result.retrying}, pending: {result.pending}")


def _held_reasons(held: dict[str, str]) -> str:
    reasons = sorted(set(held.values()))
    return "; ".join(reasons)


@click.group("outbox")
def outbox_group() -> None:
    """The push queue: what is pending, delivered or parked as failed."""


@outbox_group.command("list")
@click.option("--status", type=click.Choice(["pending", "failed", "delivered"]), default=None)
@click.option("--limit", default=50, show_default=True)
@click.pass_context
def outbox_list(ctx: click.Context, status: str | None, limit: int) -> None:
    """List pushes, newest first."""
    config = load_cli_config(ctx, required=False, secrets=False)
    store = open_cli_store(config, read_only=True)
    try:
        with store.engine.connect() as conn:
            rows = repo.list_outbox(conn, status, limit)
    finally:
        store.close()
    table = Table(title="Outbox")
    for col in ("id", "status", "target", "operation", "attempts", "key", "last error"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["id"]), r["status"], r["target"], r["operation"], str(r["attempts"]),
                      r["idempotency_key"], (r["last_error"] or "")[:80])
    Console().print(table)


@outbox_group.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.pass_context
def outbox_retry(ctx: click.Context, ids: tuple[int, ...]) -> None:
    """Put failed pushes (all, or the IDS given) back in the queue."""
    config = load_cli_config(ctx, required=False, secrets=False)
    store = open_cli_store(config)
    try:
        with store.engine.begin() as conn:
            count = repo.retry_failed(conn, ids or None)
    finally:
        store.close()
    click.echo(f"{count} push(es) queued again", file=sys.stdout)
