"""What every command shares: the configuration path, loading it, opening the store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from bridge.config import DEFAULT_STATE, BridgeConfig, load_config
from bridge.logs import redact
from bridge.store import Store, open_store


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


def load_cli_config(ctx: click.Context, *, required: bool = True) -> BridgeConfig | None:
    """The configuration; without a file, None when not required (defaults apply)."""
    state = cli_state(ctx)
    if not required and not state.config_explicit and not state.config_path.exists():
        return None
    config = load_config(state.config_path)
    redact.add(config.secrets())
    return config


def open_cli_store(config: BridgeConfig | None) -> Store:
    return open_store(config.state if config else DEFAULT_STATE)
