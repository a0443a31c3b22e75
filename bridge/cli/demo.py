"""`smo-bridge demo`: the sandbox, a temporary configuration, one cycle, a summary."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
from rich.console import Console

from bridge.cli.status import render_tables
from bridge.config import load_config
from bridge.store import open_store
from bridge.store.status import snapshot


@click.command("demo")
@click.option("--tickets", default=2000, show_default=True, help="sandbox scale")
@click.option("--seed", default=42, show_default=True, help="sandbox seed")
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="keep the configuration and SQLite state in this folder")
def command(tickets: int, seed: int, keep: Path | None) -> None:
    """Run one cycle against the emulated Jira and ServiceNow, on SQLite, and summarise it."""
    console = Console()
    workdir = keep or Path(tempfile.mkdtemp(prefix="smo-bridge-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "smo-bridge.yaml"
    config_path.write_text(f"state: sqlite:///{workdir / 'state.db'}\nsources: []\n")
    config = load_config(config_path)
    console.print(f"[bold]smo-bridge demo[/bold]: configuration {config_path} "
                  f"(seed {seed}, {tickets} tickets requested)")
    console.print("The sandbox and the sync engine are not part of this build yet: "
                  "running against an empty configuration.")
    store = open_store(config.state)
    try:
        render_tables(snapshot(store), console)
    finally:
        store.close()
