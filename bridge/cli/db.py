"""`smo-bridge db`: the state store's schema, upgraded only when an operator says so."""

from __future__ import annotations

import json

import click

from bridge.cli.context import load_cli_config
from bridge.config import DEFAULT_STATE
from bridge.store import open_store
from bridge.store.database import (
    Store,
    create_store_engine,
    head_revision,
    redacted_url,
    store_exists,
)


@click.group("db")
def group() -> None:
    """The state store's schema: status and upgrade."""


@group.command("status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.pass_context
def status(ctx: click.Context, fmt: str) -> None:
    """The store's schema revision and the one this version needs (exit 3 when they differ)."""
    config = load_cli_config(ctx, required=False, secrets=False)
    url = config.state if config else DEFAULT_STATE
    current = None
    if store_exists(url):  # nothing is created to answer
        store = Store(create_store_engine(url))
        try:
            current = store.current_revision()
        finally:
            store.close()
    head = head_revision()
    if fmt == "json":
        click.echo(json.dumps({"store": redacted_url(url), "revision": current, "head": head,
                               "current": current == head}))
    else:
        state = "current" if current == head else ("empty" if current is None else "behind")
        click.echo(f"{redacted_url(url)}: schema {current or 'none'} ({state}; this version "
                   f"needs {head})")
    ctx.exit(0 if current == head else 3)


@group.command("upgrade")
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Create the store, or bring its schema to this version's (back it up first)."""
    config = load_cli_config(ctx, required=False, secrets=False)
    url = config.state if config else DEFAULT_STATE
    store = open_store(url)
    try:
        current = store.current_revision()
    finally:
        store.close()
    click.echo(f"{redacted_url(url)}: schema {current}")
