"""`smo-bridge status`: what the state store holds now.

A quick command: the store is read through its driver (bridge.store.status), and the
tables are plain aligned text, coloured on a terminal, without rich."""

from __future__ import annotations

import json
import os
import sys
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from bridge.cli.context import load_cli_config

if TYPE_CHECKING:  # the demo's rich table; `status` itself needs no rich
    from rich.table import Table

    from bridge.store import Store


@click.command("status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table for people, json for scripts")
@click.pass_context
def command(ctx: click.Context, fmt: str) -> None:
    """Show sources, transitions, workloads and the push outbox from the state store."""
    from bridge.config import DEFAULT_STATE
    from bridge.store.status import read_status

    config = load_cli_config(ctx, required=False, secrets=False)
    configured = [(s.name, s.kind) for s in config.sources] if config else []
    data = read_status(config.state if config else DEFAULT_STATE, configured)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(render_tables(data, colour=use_colour()), nl=False)


def with_pull_states(data: dict[str, Any], store: Store) -> dict[str, Any]:
    """Each source with whether its last pull completed: after one that stored pages and
    stopped, the transitions it touches wait for a complete pull (bridge.pullstate)."""
    from bridge.store.reader import AlchemyReader
    from bridge.store.status import add_pull_states

    with store.engine.connect() as conn:
        add_pull_states(data["sources"], AlchemyReader(conn))
    return data


STATUS_STYLE = {"live_unready": "bold red", "passed": "green", "ready_for_review": "cyan", "in_progress": "blue",
                "not_started": "white", "at_risk": "yellow", "overdue": "red"}
_ANSI = {"bold red": "1;31", "red": "31", "green": "32", "yellow": "33", "blue": "34", "cyan": "36",
         "white": "37"}

#: a cell: its text, and the style it is shown in on a terminal (None: plain)
Cell = tuple[str, str | None]

TRANSITION_COLUMNS = ("service", "project", "go-live", "gate", "items met")
SOURCE_COLUMNS = ("name", "kind", "last success", "pull", "records", "projects", "tickets",
                  "quarantined")
WORKLOAD_COLUMNS = ("capability", "practice", "team", "open", "opened", "closed",
                    "median age (days)")
_NUMBERS = {"records", "projects", "tickets", "quarantined", "open", "opened", "closed",
            "median age (days)", "items met"}


def transition_cells(t: dict[str, Any]) -> list[Cell]:
    """One transition's row: service, project, go-live, gate status, items met."""
    items = t["gate"]["items"]
    met = sum(1 for i in items if i["status"] in ("met", "waived"))
    status = t["gate"]["status"]
    return [(t["service"] or "", None), (f'{t["source"]}:{t["project"]}', None),
            (t["go_live"] or "", None), (status, STATUS_STYLE.get(status, "white")),
            (f"{met}/{len(items)}", None)]


def source_cells(s: dict[str, Any]) -> list[Cell]:
    pull = s.get("pull") or {}
    state: Cell = (("partial: its transitions wait", "yellow") if not pull.get("complete", True)
                   else ("last failed", "red") if pull.get("failed_at") else ("complete", None))
    held: Cell = (str(s["quarantined"]), "yellow") if s["quarantined"] else ("0", None)
    return [(s["name"], None), (s["kind"], None), (s["last_success"] or "never", None), state,
            (str(s["records"]), None), (str(s["projects"]), None), (str(s["tickets"]), None), held]


def workload_cells(w: dict[str, Any]) -> list[Cell]:
    age = w.get("median_age_days")
    return [(w["capability"], None), (w["practice"], None), (w["team"], None),
            (str(w["open"]), None), (str(w["opened"]), None), (str(w["closed"]), None),
            ("" if age is None else f"{age:.2f}", None)]  # aligned decimals


def workloads_title(data: dict[str, Any]) -> str:
    if data["workloads"]:
        return f"Capability workloads (last {data['workloads'][0]['window_days']} days)"
    return "Capability workloads"


def render_tables(data: dict[str, Any], *, colour: bool = False) -> str:
    """The status as three tables and the outbox line, in plain aligned columns."""
    tables = (("Sources", SOURCE_COLUMNS, [source_cells(s) for s in data["sources"]]),
              ("Service transitions", TRANSITION_COLUMNS,
               [transition_cells(t) for t in data["transitions"]]),
              (workloads_title(data), WORKLOAD_COLUMNS, [workload_cells(w) for w in data["workloads"]]))
    lines: list[str] = []
    for title, columns, rows in tables:
        lines.extend(text_table(title, columns, rows, colour=colour))
        lines.append("")
    o = data["outbox"]
    lines.append(f"Outbox: {o['pending']} pending, {o['failed']} failed, {o['delivered']} delivered")
    return "\n".join(lines) + "\n"


def text_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Cell]], *,
               colour: bool = False) -> list[str]:
    """A title, a header, a rule and the rows, each column as wide as its widest cell;
    numbers to the right. Nothing is cut short: a wide table is wider than the screen."""
    cells = [[(_one_line(text), style) for text, style in row] for row in rows]
    widths = [max([_width(name), *(_width(row[i][0]) for row in cells)])
              for i, name in enumerate(columns)]

    def line(row: Sequence[Cell]) -> str:
        parts = []
        for (text, style), width, name in zip(row, widths, columns, strict=True):
            pad = " " * (width - _width(text))
            shown = f"\x1b[{_ANSI[style]}m{text}\x1b[0m" if colour and style else text
            parts.append(pad + shown if name in _NUMBERS else shown + pad)
        return "  ".join(parts).rstrip()

    header: list[Cell] = [(name, None) for name in columns]
    return [title, line(header), "  ".join("-" * w for w in widths),
            *(line(row) for row in cells)]


def use_colour() -> bool:
    """Colour for a person at a terminal; never into a pipe or a file, nor with NO_COLOR."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()


def _one_line(text: str) -> str:
    return " ".join(text.split()) if any(c in text for c in "\n\r\t") else text


def _width(text: str) -> int:
    """Terminal cells: wide East Asian characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1
               for c in text)


def transitions_table(transitions: list[dict[str, Any]], title: str) -> Table:
    """The transitions as a rich table (the demo's summary): the same cells as `status`."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title)
    table.add_column("service")
    # ids and statuses are never cut short; the service name wraps instead
    table.add_column("project", no_wrap=True, min_width=len("snow:PRJ0010001"))
    table.add_column("go-live")
    table.add_column("gate", no_wrap=True, min_width=len("ready_for_review"))
    table.add_column("items met")
    for t in transitions:
        table.add_row(*(f"[{style}]{escape(text)}[/]" if style else escape(text)
                        for text, style in transition_cells(t)))
    return table
