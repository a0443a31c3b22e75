"""`smo-bridge explain TRANSITION`: why the gate has its status, item by item."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection

from bridge.cli.context import load_cli_config, open_cli_store
from bridge.errors import ConfigError
from bridge.models import GateItem, ServiceTransition
from bridge.store import repository as repo
from bridge.yamlfile import did_you_mean


@click.command("explain")
@click.argument("transition")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def command(ctx: click.Context, transition: str, fmt: str) -> None:
    """Explain a transition's gate: TRANSITION is its id (jira:PAY), project key or service."""
    config = load_cli_config(ctx, required=False, secrets=False)
    store = open_cli_store(config, read_only=True)
    try:
        with store.engine.connect() as conn:
            found = find_transition(list(all_transitions(conn)), transition)
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps(found.model_dump(mode="json"), indent=2))
        return
    render(found, Console())


def all_transitions(conn: Connection) -> list[ServiceTransition]:
    stored = repo.stored_transitions(conn)
    return [ServiceTransition.model_validate(payload) for _, payload in stored.values()]


def find_transition(transitions: list[ServiceTransition], wanted: str) -> ServiceTransition:
    folded = wanted.casefold()
    matches = []
    for t in transitions:
        names = {t.id, t.id.partition(":")[2], t.service, *t.service_aliases}
        if folded in {n.casefold() for n in names if n}:
            matches.append(t)
    exact = [t for t in matches if t.id == wanted]
    if len(matches) == 1 or exact:
        return (exact or matches)[0]
    if matches:
        listed = "; ".join(f"{t.id} ({t.service})" for t in matches)
        raise ConfigError(f"{wanted!r} names {len(matches)} transitions: {listed}; "
                          "give one of these ids")
    choices = [t.id for t in transitions] + [t.service for t in transitions]
    hint = did_you_mean(wanted, choices)
    raise ConfigError(f"no transition {wanted!r} in the state store"
                      + (f"; did you mean {hint!r}?" if hint else " (run `smo-bridge status` to list them)"))


def render(t: ServiceTransition, console: Console) -> None:
    gate = t.gate
    console.print(f"[bold]{t.service}[/bold] ({t.id}), go-live {t.go_live or 'not scheduled'}, "
                  f"service manager {t.service_manager or 'not named'}")
    console.print(f"Gate: [bold]{gate.status.value}[/bold]: {gate.reason}")
    if gate.policy:
        console.print(f"Judged by {gate.policy}")
    if gate.accepted_by:
        console.print(f"Accepted by {gate.accepted_by}")
    table = Table(show_lines=True)
    for col in ("item", "status", "due", "approver", "evidence", "still missing"):
        table.add_column(col)
    for item in gate.items:
        table.add_row(f"{item.title}\n[dim]{item.key}[/dim]", item.status.value, str(item.due or ""),
                      item.approver or "", "\n".join(evidence_lines(item)), item.missing or "")
    console.print(table)


def evidence_lines(item: GateItem) -> list[str]:
    """What bears on an item, one line each: its waiver, its evidence (dated), how late."""
    lines = [f"waived by {item.waiver.by}: {item.waiver.reason}"] if item.waiver else []
    lines += [f"{e.detail}" + (f" ({e.at:%Y-%m-%d})" if e.at else "") for e in item.evidence]
    if item.late_days:
        lines.append(f"late by {item.late_days} day(s)" + (", after go-live" if item.after_go_live else ""))
    return lines
