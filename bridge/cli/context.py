"""What every command shares: the configuration path, loading it, opening the store."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bridge.config import DEFAULT_STATE, BridgeConfig, load_config
from bridge.logs import redact

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported by the commands that open one
    from bridge.store import Store

log = logging.getLogger(__name__)


@dataclass
class CliState:
    config_path: Path
    config_explicit: bool
    verbose: int
    log_format: str


def cli_state(ctx: click.Context) -> CliState:
    state = ctx.find_object(CliState)
    if state is None:  # a command invoked on its own, e.g. from a test
        state = CliState(Path("smo-bridge.yaml"), False, 0, "text")
    return state


def load_cli_config(ctx: click.Context, *, required: bool = True,
                    secrets: bool = True) -> BridgeConfig | None:
    """The configuration; without a file, None when not required (defaults apply). A
    command that never talks to a source passes `secrets=False`: it needs no credentials."""
    state = cli_state(ctx)
    if not required and not state.config_explicit and not state.config_path.exists():
        return None
    config = load_config(state.config_path, secrets=secrets)
    redact.add(config.secrets())
    return config


def open_cli_store(config: BridgeConfig | None, *, read_only: bool = False,
                   dry_run: bool = False) -> Store:
    """The state store for a command. Reading commands open an existing, current store and
    change nothing; writing ones create a new store but never upgrade an existing one (that
    is `smo-bridge db upgrade`); a dry run with no store yet runs against an empty one in
    memory, so it writes nothing anywhere."""
    from bridge.store.database import open_existing_store, open_store, redacted_url, store_exists

    url = config.state if config else DEFAULT_STATE
    if read_only:
        return open_existing_store(url)
    if dry_run and not store_exists(url):
        log.warning("no state store at %s yet: the dry run starts from an empty one in memory",
                    redacted_url(url))
        return open_store("sqlite://")
    return open_store(url, upgrade=not dry_run, create_only=True)
