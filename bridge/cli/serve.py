"""`smo-bridge serve`: the read-only board over HTTP, for a state store alone."""

from __future__ import annotations

import logging
import os
from zoneinfo import ZoneInfo

import click

from bridge.cli.context import load_cli_config, open_cli_store
from bridge.config import BridgeConfig
from bridge.errors import ConfigError
from bridge.logs import redact
from bridge.store import Store
from bridge.web.app import BasicAuth, board_app, make_board_server
from bridge.web.board import Board

log = logging.getLogger(__name__)
USER_ENV = "SMO_BRIDGE_WEB_USER"
PASSWORD_ENV = "SMO_BRIDGE_WEB_PASSWORD"


def board_for(config: BridgeConfig | None, store: Store) -> Board:
    """The board over `store`, linking evidence to the configured sources' own pages."""
    sources = {s.name: (s.kind, s.url) for s in config.sources} if config else {}
    zone = ZoneInfo(config.reporting.timezone if config else "UTC")
    return Board(store, sources, zone)


def auth_from_env() -> BasicAuth | None:
    """Basic auth when both variables are set; one without the other is an error."""
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    if not user and not password:
        return None
    if not user or not password:
        raise ConfigError(f"basic auth needs both {USER_ENV} and {PASSWORD_ENV} set")
    redact.add([password])
    return BasicAuth(user, password)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on (loopback unless you choose otherwise)")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="port (0: any free port)")
@click.pass_context
def command(ctx: click.Context, host: str, port: int) -> None:
    """Serve the board (gates, transitions, workloads, sync) read-only from the state store.
    Basic auth when SMO_BRIDGE_WEB_USER and SMO_BRIDGE_WEB_PASSWORD are set."""
    config = load_cli_config(ctx, required=False, secrets=False)
    auth = auth_from_env()
    store = open_cli_store(config, read_only=True)
    try:
        server = make_board_server(board_app(board_for(config, store), auth), host, port)
        click.echo(f"board on http://{host}:{server.port}/"
                   + (" (basic auth)" if auth else ""), err=True)
        if auth is None and host not in ("127.0.0.1", "localhost", "::1"):
            log.warning("the board is served beyond loopback without authentication: set %s and "
                        "%s, or put an authenticating reverse proxy in front (docs/board.md)",
                        USER_ENV, PASSWORD_ENV)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    finally:
        store.close()
