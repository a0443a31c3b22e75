"""`smo-bridge demo`: the sandbox, a temporary configuration, one cycle, a summary."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from bridge.cli.status import transitions_table
from bridge.cli.sync import run_with_progress
from bridge.config import load_config
from bridge.sandbox import Sandbox
from bridge.store import open_store
from bridge.store.status import snapshot

DEMO_CONFIG = """\
# written by `smo-bridge demo`: the sandbox's Jira and ServiceNow, SQLite state
state: sqlite:///{state}
sources:
  - name: jira
    kind: jira
    url: {jira}
    auth: {{kind: basic, username: sandbox, password: sandbox}}
  - name: snow
    kind: servicenow
    url: {snow}
    auth: {{kind: basic, username: sandbox, password: sandbox}}
push:
  gate_status: [jira, snow]
  knowledge: snow
"""

@click.command("demo")
@click.option("--tickets", default=2000, show_default=True, help="sandbox scale")
@click.option("--seed", default=42, show_default=True, help="sandbox seed")
@click.option("--jira-deployment", type=click.Choice(["cloud", "server"]), default="cloud",
              show_default=True)
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="keep the configuration and SQLite state in this folder")
def command(tickets: int, seed: int, jira_deployment: str, keep: Path | None) -> None:
    """Start the sandbox, run one full cycle on SQLite, and summarise it."""
    console = Console()
    workdir = keep or Path(tempfile.mkdtemp(prefix="smo-bridge-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    with Sandbox(seed=seed, tickets=tickets, jira_deployment=jira_deployment) as sandbox:
        console.print(f"[bold]smo-bridge demo[/bold]: sandbox Jira ({jira_deployment}) at "
                      f"{sandbox.jira_url}, ServiceNow at {sandbox.servicenow_url}")
        config_path = workdir / "smo-bridge.yaml"
        config_path.write_text(DEMO_CONFIG.format(state=workdir / "state.db", jira=sandbox.jira_url,
                                                  snow=sandbox.servicenow_url))
        config = load_config(config_path)
        store = open_store(config.state)
        try:
            result = run_with_progress(config, store, Console(stderr=True))
            data = snapshot(store, [(s.name, s.kind) for s in config.sources])
        finally:
            store.close()
        _summary(console, data, result.delivered, result.push_failures)
        kb = sandbox.servicenow_rows("kb_knowledge", "metaLIKE[smo-bridge:")
        console.print(f"\nPushed back to a stock instance: gate status to {len(data['transitions'])} "
                      "transition(s) (Jira: property [italic]smo-bridge.gate[/italic] and a "
                      "comment on the epic; a work note on the ServiceNow pm_project), "
                      f"{len(kb)} knowledge article(s) in ServiceNow kb_knowledge.")
        console.print(f"See them through the sandbox's APIs, e.g. {sandbox.servicenow_url}"
                      "/api/now/table/kb_knowledge?sysparm_query=metaLIKE[smo-bridge:"
                      " (user sandbox, password sandbox).")
    console.print(f"State and configuration: {workdir} — try "
                  f"`smo-bridge --config {config_path} status` (the sandbox has stopped).")


def _summary(console: Console, data: dict[str, Any], delivered: int, failed: int) -> None:
    sources = Table(title="Sources")
    for col in ("source", "kind", "records", "projects", "tickets"):
        sources.add_column(col, justify="left" if col in ("source", "kind") else "right")
    for s in data["sources"]:
        sources.add_row(s["name"], s["kind"], str(s["records"]), str(s["projects"]), str(s["tickets"]))
    console.print(sources)
    console.print(transitions_table(data["transitions"], "Service transitions: the operations gate"))
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for w in data["workloads"]:
        row = totals[w["capability"]]
        row[0] += w["open"]
        row[1] += w["opened"]
        row[2] += w["closed"]
    workloads = Table(title="Capability workloads (open now; opened and closed in the last 30 days)")
    for col in ("capability", "open", "opened", "closed"):
        workloads.add_column(col, justify="left" if col == "capability" else "right")
    for capability in ("strategic", "tactical", "operational"):
        if capability in totals:
            workloads.add_row(capability, *(str(n) for n in totals[capability]))
    console.print(workloads)
    console.print(f"Pushes delivered: {delivered}, failed: {failed}; "
                  f"outbox now {data['outbox']['pending']} pending, {data['outbox']['failed']} failed.")
