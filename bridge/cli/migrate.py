"""`smo-bridge migrate ...`: one-off bulk work.

Every verb shows progress on stderr (live on a terminal, INFO lines otherwise), prints a
summary (`--format json`: one object on stdout) and exits as `sync` does: 0 ok, 1 failed,
3 finished with records quarantined, pushes failed or the work interrupted."""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from bridge import impact as impacts
from bridge import migrate as ops
from bridge.cli.context import load_cli_config, open_cli_store
from bridge.cli.progress import Reporter, cycle_hooks
from bridge.cli.sync import print_summary
from bridge.config import BridgeConfig
from bridge.engine import CycleResult, Engine
from bridge.errors import EXIT_PARTIAL
from bridge.store import Store
from bridge.store.database import redacted_url

FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                      show_default=True, help="json: one summary object on stdout")
REPORT_FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]),
                             default="table", show_default=True,
                             help="markdown: a report to attach to a change request")


@click.group("migrate")
def group() -> None:
    """One-off bulk work: backfill, remap, republish, reconcile, copy-state."""


def _open(ctx: click.Context, *, dry_run: bool = False) -> tuple[BridgeConfig, Store]:
    config = load_cli_config(ctx)
    assert config is not None
    return config, open_cli_store(config, dry_run=dry_run)


def cycle_json(result: CycleResult) -> dict[str, Any]:
    return {
        "exit_code": result.exit_code, "dry_run": result.dry_run,
        "sources": [{"name": s.name, "status": s.status, **s.counts(), "error": s.error,
                     "warnings": s.warnings, "seconds": round(s.seconds, 3)} for s in result.sources],
        "transitions": result.transitions, "transitions_changed": result.transitions_changed,
        "articles_changed": result.articles_changed, "planned": result.planned, "held": result.held,
        "delivered": result.delivered, "push_failures": result.push_failures,
        "retrying": result.retrying, "pending": result.pending,
    }


def _emit(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@contextlib.contextmanager
def _stop_on_interrupt() -> Iterator[list[bool]]:
    """The first Ctrl-C asks the work to stop after the page it is on (committed, resumable);
    a second one stops at once."""
    asked: list[bool] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if asked:
            raise KeyboardInterrupt
        asked.append(True)
        click.echo("stopping after the current page (Ctrl-C again to stop at once)", err=True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield asked
    finally:
        signal.signal(signal.SIGINT, previous)


@group.command("backfill")
@click.option("--source", required=True, help="the source to pull again")
@click.option("--since", type=click.DateTime(), default=None,
              help="pull changes since this UTC time (default: everything)")
@click.option("--until", type=click.DateTime(), default=None,
              help="stop at changes after this UTC time (default: up to now)")
@click.option("--no-push", is_flag=True, help="plan pushes but do not deliver them now")
@FORMAT
@click.pass_context
def backfill(ctx: click.Context, source: str, since: datetime | None, until: datetime | None,
             no_push: bool, fmt: str) -> None:
    """Pull a source again; unchanged records are recognised and skipped. Interrupted (Ctrl-C,
    a crash), the same command continues where it stopped."""
    config, store = _open(ctx)
    try:
        with Reporter(Console(stderr=True)) as report, _stop_on_interrupt() as asked:
            done = ops.backfill(config, store, source, _utc(since), _utc(until), push=not no_push,
                                engine_options={**cycle_hooks(report), "should_stop": lambda: bool(asked)},
                                notice=lambda line: click.echo(line, err=True))
    finally:
        store.close()
    if fmt == "json":
        outcome = done.outcome
        _emit({"command": "backfill", "source": source, "resumed": done.resumed,
               "started_at": done.started_at, "finished": done.finished,
               "status": outcome.status if outcome else None,
               "window": {"since": done.since, "until": done.until},
               "streams": [asdict(s) for s in done.streams], "quarantined": done.quarantined,
               "seconds": round(done.seconds, 3), "records_per_second": round(done.rate, 1),
               **cycle_json(done.result), "exit_code": done.exit_code})
    else:
        console = Console()
        if done.resumed:
            console.print(f"resumed the backfill of {source} started {done.started_at}")
        table = Table(title=f"Backfill {source}")
        for col in ("stream", "status", "from", "pulled", "new", "changed", "unchanged", "quarantined"):
            table.add_column(col, justify="right" if col not in ("stream", "status", "from") else "left")
        for s in done.streams:
            c = s.counts
            table.add_row(s.name, s.status if s.status != "skipped" else "done earlier", s.resumed_from or "",
                          *(str(c.get(k, "")) for k in ("pulled", "inserted", "updated", "unchanged",
                                                         "quarantined")))
        console.print(table)
        for q in done.quarantined:
            console.print(f"  quarantined {q['records']} in {q['stream']}: {q['reason']}")
        print_summary(done.result, console)
        outcome = done.outcome
        if outcome is not None:
            state = ("finished" if done.finished else
                     "interrupted: run the same command again to continue" if outcome.status == "interrupted"
                     else outcome.status)
            console.print(f"backfill {state}: {outcome.pulled} record(s) in {done.seconds:.1f} s "
                          f"({done.rate:.0f}/s)")
    ctx.exit(done.exit_code)


@group.command("remap")
@click.option("--source", default=None, help="only this source")
@click.option("--dry-run", is_flag=True, help="report what would change, write nothing")
@click.option("--no-push", is_flag=True, help="plan pushes but do not deliver them now")
@REPORT_FORMAT
@click.pass_context
def remap(ctx: click.Context, source: str | None, dry_run: bool, no_push: bool, fmt: str) -> None:
    """Map every stored record again with the current mapping files, then derive: in one
    transaction. --dry-run reports, from the stored records, what it would change."""
    config, store = _open(ctx, dry_run=dry_run)
    try:
        with Reporter(Console(stderr=True)) as report:
            result, change = ops.remap(config, store, source, progress=report, dry_run=dry_run,
                                       push=not no_push, engine=Engine(config, store, **cycle_hooks(report)))
    finally:
        store.close()
    title = f"Remap{' (dry run: nothing written)' if dry_run else ''}: {source or 'all sources'}"
    if fmt == "json":
        click.echo(impacts.render_json(change, command="remap", **cycle_json(result)))
    elif fmt == "markdown":
        click.echo(impacts.render_markdown(change, title))
    else:
        console = Console()
        impacts.print_table(change, title, console)
        print_summary(result, console)
    ctx.exit(result.exit_code)


@group.command("republish")
@click.option("--transition", default=None, help="only this transition id")
@click.option("--dry-run", is_flag=True, help="list what would be pushed, write nothing")
@FORMAT
@click.pass_context
def republish(ctx: click.Context, transition: str | None, dry_run: bool, fmt: str) -> None:
    """Push every knowledge article and gate status again, repairing the targets: what is
    missing is re-created, what the bridge wrote is restored, a person's edit is kept."""
    config, store = _open(ctx, dry_run=dry_run)
    try:
        with Reporter(Console(stderr=True)) as report:
            result = ops.republish(config, store, transition, dry_run=dry_run,
                                   engine=Engine(config, store, **cycle_hooks(report)))
    finally:
        store.close()
    if fmt == "json":
        _emit({"command": "republish", **cycle_json(result), "actions": result.actions})
    else:
        console = Console()
        print_summary(result, console)
        for a in result.actions:
            console.print(f"  {a['operation']} → {a['target']}: {a['outcome']} {a['remote_id'] or ''} "
                          f"({a['push']})")
    ctx.exit(result.exit_code)


@group.command("reconcile")
@click.option("--source", required=True)
@click.option("--dry-run", is_flag=True, help="list what would be marked deleted, write nothing")
@click.option("--max-share", type=click.FloatRange(0, 100), default=ops.MAX_SHARE * 100, show_default=True,
              help="refuse when a stream would lose more than this percentage of its records")
@click.option("--force", is_flag=True, help="mark them deleted even above --max-share")
@click.option("--no-push", is_flag=True, help="plan pushes but do not deliver them now")
@FORMAT
@click.pass_context
def reconcile(ctx: click.Context, source: str, dry_run: bool, max_share: float, force: bool,
              no_push: bool, fmt: str) -> None:
    """Mark records deleted at the source, from a complete census of its keys, then derive."""
    config, store = _open(ctx, dry_run=dry_run)
    try:
        with Reporter(Console(stderr=True)) as report:
            done = ops.reconcile(config, store, source, progress=report, dry_run=dry_run,
                                 max_share=max_share / 100, force=force, push=not no_push,
                                 engine=Engine(config, store, **cycle_hooks(report)))
    finally:
        store.close()
    verb = "would be marked deleted" if dry_run else "marked deleted"
    if fmt == "json":
        _emit({"command": "reconcile", "source": source, "dry_run": dry_run, "cause": done.cause,
               "streams": [{**asdict(r), "share": round(r.share, 4)} for r in done.streams],
               "deleted": done.deleted, "exit_code": done.exit_code,
               **({"derived": cycle_json(done.derived)} if done.derived else {})})
    else:
        for r in done.streams:
            examples = f" (e.g. {', '.join(r.examples[:5])})" if r.deleted else ""
            click.echo(f"{source}/{r.stream}: {r.present} present, {r.deleted} of {r.stored} {verb} "
                       f"({r.share:.1%}){examples}")
        if done.cause:
            click.echo(f"warning: {done.cause}", err=True)
        if done.derived is not None:
            print_summary(done.derived, Console())
    ctx.exit(done.exit_code)


@group.command("copy-state")
@click.option("--to", "target", required=True, help="SQLAlchemy URL of the target database")
@click.option("--overwrite", is_flag=True, help="replace what a non-empty target holds")
@FORMAT
@click.pass_context
def copy_state(ctx: click.Context, target: str, overwrite: bool, fmt: str) -> None:
    """Copy the whole state store to another database (e.g. SQLite to PostgreSQL), then
    compare row counts and content hashes of every table."""
    config = load_cli_config(ctx, required=False, secrets=False)
    store = open_cli_store(config, read_only=True)
    try:
        with Reporter(Console(stderr=True)) as report:
            copied = ops.copy_state(store, target, progress=report, overwrite=overwrite)
    finally:
        store.close()
    if fmt == "json":
        _emit({"command": "copy-state", **asdict(copied), "total": copied.total, "verified": True,
               "exit_code": 0})
        return
    click.echo(f"copied {copied.total} row(s) to {redacted_url(target)}"
               f"{' (its earlier content replaced)' if copied.overwritten else ''} in {copied.seconds:.1f} s: "
               + ", ".join(f"{k} {v}" for k, v in copied.rows.items() if v))
    click.echo(f"verified: {len(copied.hashes)} table(s), row counts and content hashes equal")


__all__ = ["EXIT_PARTIAL", "group"]
