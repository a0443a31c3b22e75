"""`smo-bridge status`: what the state store holds now."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from bridge.cli.context import load_cli_config, open_cli_store

if TYPE_CHECKING:  # imported where used: `status --help` and `--format json` need no rich
    from rich.console import Console
    from rich.table import Table

    from bridge.store import Store


@click.command("status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table for people, json for scripts")
@click.pass_context
def command(ctx: click.Context, fmt: str) -> None:
    """Show sources, transitions, workloads and the push outbox from the state store."""
    from bridge.store.status import snapshot

    config = load_cli_config(ctx, required=False, secrets=False)
    store = open_cli_store(config, read_only=True)
    try:
        configured = [(s.name, s.kind) for s in config.sources] if config else []
        data = with_pull_states(snapshot(store, configured), store)
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console

    render_tables(data, Console())


def with_pull_states(data: dict[str, Any], store: Store) -> dict[str, Any]:
    """Each source with whether its last pull completed: after one that stored pages and
    stopped, the transitions it touches wait for a complete pull (bridge.pullstate)."""
    from bridge import pullstate

    with store.engine.connect() as conn:
        pulls = pullstate.all_states(conn)
    for source in data["sources"]:
        state = pulls.get(source["name"])
        source["pull"] = {"complete": state.complete if state else True,
                          "completed_at": state.completed_at if state else None,
                          "failed_at": state.failed_at if state else None}
    return data


STATUS_STYLE = {"live_unready": "bold red", "passed": "green", "ready_for_review": "cyan", "in_progress": "blue",
                "not_started": "white", "at_risk": "yellow", "overdue": "red"}


def transitions_table(transitions: list[dict[str, Any]], title: str) -> Table:
    """The contract's transitions as a table: service, project, go-live, gate, items met."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("service")
    # ids and statuses are never cut short; the service name wraps instead
    table.add_column("project", no_wrap=True, min_width=len("snow:PRJ0010001"))
    table.add_column("go-live")
    table.add_column("gate", no_wrap=True, min_width=len("ready_for_review"))
    table.add_column("items met")
    for t in transitions:
        items = t["gate"]["items"]
        met = sum(1 for i in items if i["status"] in ("met", "waived"))
        status = t["gate"]["status"]
        table.add_row(t["service"] or "", f'{t["source"]}:{t["project"]}', t["go_live"] or "",
                      f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]", f"{met}/{len(items)}")
    return table


def render_tables(data: dict[str, Any], console: Console) -> None:
    from rich.table import Table

    sources = Table(title="Sources")
    for col in ("name", "kind", "last success", "pull", "records", "projects", "tickets",
                "quarantined"):
        sources.add_column(col)
    for s in data["sources"]:
        held = f"[yellow]{s['quarantined']}[/]" if s["quarantined"] else "0"
        pull = s.get("pull") or {}
        state = ("[yellow]partial: its transitions wait[/]" if not pull.get("complete", True)
                 else "[red]last failed[/]" if pull.get("failed_at") else "complete")
        sources.add_row(s["name"], s["kind"], s["last_success"] or "never", state,
                        str(s["records"]), str(s["projects"]), str(s["tickets"]), held)
    console.print(sources)
    console.print(transitions_table(data["transitions"], "Service transitions"))
    workloads = Table(title=f"Capability workloads (last {data['workloads'][0]['window_days']} days)"
                      if data["workloads"] else "Capability workloads")
    for col in ("capability", "practice", "team", "open", "opened", "closed", "median age (days)"):
        workloads.add_column(col)
    for w in data["workloads"]:
        age = w.get("median_age_days")
        workloads.add_row(w["capability"], w["practice"], w["team"], str(w["open"]),
                          str(w["opened"]), str(w["closed"]), "" if age is None else str(age))
    console.print(workloads)
    o = data["outbox"]
    console.print(f"Outbox: {o['pending']} pending, {o['failed']} failed, {o['delivered']} delivered")
