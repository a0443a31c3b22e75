"""`smo-bridge quarantine`: the records a mapping or a connector rejected, and retrying them."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from bridge import migrate as ops
from bridge.cli.context import load_cli_config, open_cli_store
from bridge.cli.sync import print_summary
from bridge.store import repository as repo
from bridge.store.status import iso_utc


@click.group("quarantine")
def group() -> None:
    """Records a mapping rejected, with the field and the reason; map them again."""


def _row(item: dict[str, Any]) -> dict[str, Any]:
    return {"source": item["source"], "stream": item["stream"], "key": item["key"],
            "display_key": _display_key(item), "field": item["field"], "reason": item["reason"],
            "at": iso_utc(item["at"])}


def _display_key(item: dict[str, Any]) -> str | None:
    """What people call the record (a ServiceNow number, a Jira key), where the payload says."""
    payload = item.get("payload")
    if not isinstance(payload, dict):
        return None
    for name in ("number", "key"):
        value = payload.get(name)
        if isinstance(value, dict):
            value = value.get("display_value") or value.get("value")
        if isinstance(value, str) and value:
            return value
    return None


@group.command("list")
@click.option("--source", default=None, help="only this source")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.pass_context
def list_command(ctx: click.Context, source: str | None, fmt: str) -> None:
    """List quarantined records with the field and the reason."""
    config = load_cli_config(ctx, required=False, secrets=False)
    if config is not None and source is not None:
        config.source(source)
    store = open_cli_store(config, read_only=True)
    try:
        with store.engine.connect() as conn:
            rows = [_row(item) for item in repo.quarantined(conn, source)]
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"Quarantine: {len(rows)} record(s)")
    for col in ("source", "stream", "key", "field", "reason", "since"):
        table.add_column(col, overflow="fold")
    for r in rows:
        key = r["display_key"] if r["display_key"] and r["display_key"] != r["key"] else r["key"]
        table.add_row(r["source"], r["stream"], key, r["field"] or "", r["reason"], r["at"] or "")
    Console().print(table)


@group.command("retry")
@click.option("--source", default=None, help="only this source")
@click.pass_context
def retry(ctx: click.Context, source: str | None) -> None:
    """Map the quarantined records again with the current mapping files, then derive."""
    config = load_cli_config(ctx)
    assert config is not None
    if source is not None:
        config.source(source)
    store = open_cli_store(config)
    try:
        result = ops.retry_quarantined(config, store, source)
        with store.engine.connect() as conn:
            left = len(repo.quarantined(conn, source))
    finally:
        store.close()
    print_summary(result, Console())
    Console().print(f"still quarantined: {left}")
    ctx.exit(result.exit_code)
