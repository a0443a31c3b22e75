"""`smo-bridge check`: first contact with each configured source; nothing is stored or written."""

from __future__ import annotations

import json
from dataclasses import asdict

import click
from rich.console import Console
from rich.table import Table

from bridge.check import SourceReport, check_source
from bridge.cli.context import load_cli_config
from bridge.errors import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL

LEVEL_STYLE = {"ok": "green", "warning": "yellow", "error": "red"}


@click.command("check")
@click.option("--source", default=None, help="only this source")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.pass_context
def command(ctx: click.Context, source: str | None, fmt: str) -> None:
    """Try each source as configured: reachable, authenticated, streams readable, push
    targets writable, fields the mapping reads that the instance lacks, and what the
    mapping would skip or quarantine.

    Exit 0 when everything configured can work, 3 with warnings, 1 when a source is unusable."""
    config = load_cli_config(ctx)
    assert config is not None
    sources = [config.source(source)] if source else list(config.sources)
    reports = [check_source(config, s) for s in sources]
    if fmt == "json":
        click.echo(json.dumps([{"name": r.name, "kind": r.kind, "usable": r.usable,
                                "findings": [asdict(p) for p in r.probes]} for r in reports],
                              indent=2))
    else:
        console = Console()
        for report in reports:
            console.print(_table(report))
    if not all(r.usable for r in reports):
        ctx.exit(EXIT_FAILED)
    ctx.exit(EXIT_OK if all(r.clean for r in reports) else EXIT_PARTIAL)


def _table(report: SourceReport) -> Table:
    verdict = "usable" if report.usable else "[red]unusable[/]"
    table = Table(title=f"{report.name} ({report.kind}): {verdict}")
    table.add_column("what")
    table.add_column("", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for p in report.probes:
        table.add_row(p.subject, f"[{LEVEL_STYLE[p.level]}]{p.level}[/]", p.detail)
    return table
