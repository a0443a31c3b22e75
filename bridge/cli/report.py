"""`smo-bridge report ...`: figures computed from the state store."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bridge.cli.context import load_cli_config, open_cli_store
from bridge.derive.outcomes import outcomes
from bridge.derive.workloads import DIMENSIONS, compute, load_ticket_columns, unmapped_groups
from bridge.models import ServiceTransition
from bridge.store.schema import transitions as transitions_table

COLUMNS = ("period", "opened", "closed", "open_backlog", "median_age_days", "effort_hours",
           "sla_breaches")


@click.group("report")
def group() -> None:
    """Reports computed from the state store."""


@group.command("workloads")
@click.option("--by", "by", default="capability", show_default=True,
              help="how to group the tickets: capability (or tier), practice, team, or "
                   "several comma-separated for a cross-tab (practice,team)")
@click.option("--period", type=click.Choice(["week", "month"]), default="month",
              show_default=True, help="ISO weeks or calendar months, in reporting.timezone")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--last", type=click.IntRange(min=1), default=None,
              help="only the most recent N periods")
@click.pass_context
def workloads(ctx: click.Context, by: str, period: str, fmt: str, last: int | None) -> None:
    """Capability workloads: opened, closed, backlog, age, effort, SLA breaches per period."""
    # `tier` is what the SMO calls a capability
    dims = [{"tier": "capability"}.get(d.strip(), d.strip()) for d in by.split(",") if d.strip()]
    unknown = [d for d in dims if d not in DIMENSIONS]
    if not dims or unknown or len(set(dims)) != len(dims):
        raise click.BadParameter(f"{by!r}: give one or more of {', '.join(DIMENSIONS)}, "
                                 "comma-separated, each once", param_hint="--by")
    config = load_cli_config(ctx, required=False, secrets=False)
    zone = ZoneInfo(config.reporting.timezone if config else "UTC")
    store = open_cli_store(config, read_only=True)
    try:
        with store.engine.connect() as conn:
            columns = load_ticket_columns(conn)
            unmapped = unmapped_groups(conn) if "team" in dims and fmt == "table" else []
    finally:
        store.close()
    rows = compute(columns, dims, period, zone, datetime.now(UTC))  # type: ignore[arg-type]
    if last:
        recent = sorted({r["period"] for r in rows})[-last:]
        rows = [r for r in rows if r["period"] in recent]
    fields = (*dims, *COLUMNS)
    if fmt == "json":
        click.echo(json.dumps([{k: r[k] for k in ("period_kind", "period_start", *fields)}
                               for r in rows], indent=2))
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table(title=f"Workloads by {by}, per {period} ({zone.key})")
        for name in fields:
            header = name.replace("_", " ")
            if name in dims:
                table.add_column(header, overflow="fold")  # long names wrap, never cut
            elif name == "period":
                table.add_column(header, no_wrap=True, min_width=len("2026-W01"))
            else:
                table.add_column(header, justify="right")
        for r in rows:
            table.add_row(*("" if r[k] is None else str(r[k]) for k in fields))
        console = Console()
        console.print(table)
        if unmapped:
            console.print("Groups no specialist team takes (add them to classification.teams): "
                          + ", ".join(f"{g} ({n})" for g, n in unmapped))


@group.command("board")
@click.option("--output", "output", required=True,
              type=click.Path(file_okay=False, path_type=Path), help="folder to write it into")
@click.pass_context
def board(ctx: click.Context, output: Path) -> None:
    """The board as static files (gates, transitions, workloads, sync): opens with no network."""
    from bridge.cli.serve import board_for
    from bridge.web.export import write_board

    config = load_cli_config(ctx, required=False, secrets=False)
    store = open_cli_store(config, read_only=True)
    try:
        written = write_board(board_for(config, store), output)
    finally:
        store.close()
    click.echo(f"wrote {len(written)} files; open {output / 'index.html'}")


@group.command("transitions")
@click.option("--period", type=click.Choice(["month", "quarter"]), default="month",
              show_default=True, help="go-live periods, in reporting.timezone")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.pass_context
def transitions(ctx: click.Context, period: str, fmt: str) -> None:
    """Per go-live period: transitions that went live, passed (on time), went live unready;
    and the gate items missing most often when a service went live."""
    config = load_cli_config(ctx, required=False, secrets=False)
    zone = ZoneInfo(config.reporting.timezone if config else "UTC")
    store = open_cli_store(config, read_only=True)
    try:
        with store.engine.connect() as conn:
            stored = [ServiceTransition.model_validate(p) for p in
                      conn.execute(select(transitions_table.c.payload)).scalars()]
    finally:
        store.close()
    report = outcomes(stored, datetime.now(zone).date(), period)  # type: ignore[arg-type]
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
        return
    rows = report["periods"]
    fields = ("period", "transitions", "went_live", "passed", "passed_on_time", "live_unready",
              "not_live_yet", "median_days_late")
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
        return
    console = Console()
    table = Table(title=f"Transitions by go-live {period} ({zone.key})")
    headers = {"transitions": "total", "went_live": "live", "passed_on_time": "on time",
               "live_unready": "unready", "not_live_yet": "upcoming",
               "median_days_late": "days late"}
    for name in fields:
        header = headers.get(name, name)
        table.add_column(header, justify="left" if name == "period" else "right",
                         min_width=max(map(len, header.split())))
    for r in rows:
        table.add_row(*("" if r[k] is None else str(r[k]) for k in fields))
    console.print(table)
    items = Table(title="Gate items: missing when a service went live, and late evidence")
    for name in ("item", "missing at go-live", "met late", "median days late"):
        items.add_column(name, justify="left" if name == "item" else "right")
    for i in report["items"]:
        items.add_row(i["item"], str(i["missing_at_go_live"]), str(i["met_late"]),
                      "" if i["median_days_late"] is None else str(i["median_days_late"]))
    console.print(items)
