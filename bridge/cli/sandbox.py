"""`smo-bridge sandbox`: emulated Jira and ServiceNow on loopback until SIGINT/SIGTERM."""

from __future__ import annotations

import gc
import json
import signal
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from bridge.sandbox import ACL_HIDDEN, Sandbox
from bridge.sandbox.server import SandboxTLS

_FAULT_KEYS = {
    "rate_limit": int,
    "rate_window_s": float,
    "error_rate": float,
    "latency_ms": int,
    "malformed_rate": float,
    "drop_rate": float,
    "seed": int,
    "edit_rate": float,
}


def _overrides(values: tuple[str, ...], option: str) -> dict[str, Any]:
    """`KEY=VALUE` pairs of a per-service fault option, typed."""
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in _FAULT_KEYS:
            raise click.BadParameter(
                f"expected KEY=VALUE with KEY one of "
                f"{', '.join(sorted(_FAULT_KEYS))}, got {item!r}",
                param_hint=option,
            )
        try:
            out[key] = _FAULT_KEYS[key](raw)
        except ValueError as error:
            raise click.BadParameter(f"{key}: {error}", param_hint=option) from error
    return out


class _Tagged:
    """One request log shared by both services: each line starts with the service's name."""

    _lock = threading.Lock()  # the two servers' threads write to one file

    def __init__(self, sink: Any, service: str) -> None:
        self._sink = sink
        self._service = service

    def write(self, line: str) -> int:
        tagged = json.dumps({"service": self._service, **json.loads(line)}) + "\n"
        with self._lock:
            self._sink.write(tagged)
            self._sink.flush()
        return len(line)

    def flush(self) -> None:
        pass


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to bind")
@click.option(
    "--jira-port",
    type=click.IntRange(0, 65535),
    default=8081,
    show_default=True,
    help="0 picks a free port",
)
@click.option(
    "--servicenow-port",
    type=click.IntRange(0, 65535),
    default=8082,
    show_default=True,
    help="0 picks a free port",
)
@click.option("--seed", type=int, default=42, show_default=True, help="same seed, same data")
@click.option(
    "--tickets",
    type=click.IntRange(0),
    default=2000,
    show_default=True,
    help="tickets across both tools (40 % Jira, 60 % ServiceNow)",
)
@click.option(
    "--jira-deployment", type=click.Choice(["cloud", "server"]), default="cloud", show_default=True
)
@click.option(
    "--jira-time-zone",
    default="America/New_York",
    show_default=True,
    help="the Jira user's zone: timestamps and JQL dates use it",
)
@click.option(
    "--custom-columns",
    is_flag=True,
    help="ServiceNow as the customised instance: u_ columns, admin user, unknown query "
    "fields refused (default: a stock instance and a non-admin user)",
)
@click.option(
    "--admin/--no-admin",
    default=None,
    help="the ServiceNow user is admin: sys_audit_delete readable, no rows hidden by ACLs "
    "[default: only with --custom-columns]",
)
@click.option(
    "--acl-hidden",
    type=click.FloatRange(0, 1),
    default=None,
    help=f"share of ServiceNow ticket rows a read ACL hides from the user, 0 for none "
    f"[default: {ACL_HIDDEN}, 0 with --custom-columns]",
)
@click.option(
    "--invalid-query",
    type=click.Choice(["ignore", "no_rows", "error"]),
    default=None,
    help="a ServiceNow query on a missing field: condition dropped, no rows "
    "(glide.invalid_query.returns_no_rows=true), or 400 "
    "[default: ignore, error with --custom-columns]",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(0),
    default=None,
    help="requests allowed per window (both services)",
)
@click.option(
    "--rate-window",
    type=click.FloatRange(0.01),
    default=60.0,
    show_default=True,
    help="rate-limit window in seconds",
)
@click.option(
    "--error-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="share of requests answered 500/502/503/504",
)
@click.option("--latency-ms", type=click.IntRange(0), default=0, help="added to every request")
@click.option(
    "--malformed-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="share of responses sent as truncated JSON with 200",
)
@click.option(
    "--drop-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="share of connections closed without a response",
)
@click.option(
    "--tls",
    is_flag=True,
    help="serve HTTPS with a throwaway certificate authority; its certificate (PEM) is "
    "written to --ca-bundle and printed: tell clients to trust it (REQUESTS_CA_BUNDLE)",
)
@click.option(
    "--ca-bundle",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="where --tls writes the CA certificate [default: a new temporary folder]",
)
@click.option(
    "--request-log",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="append one JSON line per request (service, method, path, query, body) to this "
    "file: what a client asked for, to count or replay",
)
@click.option("--fault-seed", type=int, default=0, help="faults are deterministic for a seed")
@click.option(
    "--jira-fault",
    "jira_faults",
    multiple=True,
    metavar="KEY=VALUE",
    help="override one fault setting for Jira only, e.g. error_rate=0.2",
)
@click.option(
    "--servicenow-fault",
    "servicenow_faults",
    multiple=True,
    metavar="KEY=VALUE",
    help="override one fault setting for ServiceNow only",
)
def command(
    host: str,
    jira_port: int,
    servicenow_port: int,
    seed: int,
    tickets: int,
    jira_deployment: str,
    jira_time_zone: str,
    custom_columns: bool,
    admin: bool | None,
    acl_hidden: float | None,
    invalid_query: str | None,
    rate_limit: int | None,
    rate_window: float,
    error_rate: float,
    latency_ms: int,
    malformed_rate: float,
    drop_rate: float,
    tls: bool,
    ca_bundle: Path | None,
    request_log: Path | None,
    fault_seed: int,
    jira_faults: tuple[str, ...],
    servicenow_faults: tuple[str, ...],
) -> None:
    """Serve an emulated Jira REST API and ServiceNow Table API, seeded with an organisation.

    Credentials: basic auth sandbox / sandbox. Prints one line per service once ready.
    """
    common: dict[str, Any] = {
        "rate_limit": rate_limit,
        "rate_window_s": rate_window,
        "error_rate": error_rate,
        "latency_ms": latency_ms,
        "malformed_rate": malformed_rate,
        "drop_rate": drop_rate,
        "seed": fault_seed,
    }
    per_service = {
        "jira": _overrides(jira_faults, "--jira-fault"),
        "servicenow": _overrides(servicenow_faults, "--servicenow-fault"),
    }
    if ca_bundle is not None and not tls:
        raise click.BadParameter("only with --tls", param_hint="--ca-bundle")
    authority = None
    if tls:
        folder = ca_bundle.parent if ca_bundle else Path(tempfile.mkdtemp(prefix="sandbox-ca-"))
        try:
            authority = SandboxTLS(folder, host)
        except (RuntimeError, OSError) as error:
            raise click.ClickException(f"sandbox --tls: {error}") from error
        if ca_bundle is not None and ca_bundle != authority.ca_bundle:
            authority.ca_bundle.replace(ca_bundle)
            authority.ca_bundle = ca_bundle
    sandbox = Sandbox(
        seed=seed,
        tickets=tickets,
        jira_deployment=jira_deployment,
        host=host,
        jira_port=jira_port,
        servicenow_port=servicenow_port,
        jira_time_zone=jira_time_zone,
        custom_columns=custom_columns,
        admin=admin,
        acl_hidden=acl_hidden,
        invalid_query=invalid_query,
        tls=authority,
    )
    log_file = None
    if request_log is not None:
        try:
            log_file = request_log.open("a", encoding="utf-8")
        except OSError as error:
            raise click.ClickException(f"--request-log {request_log}: {error}") from error
    for service in ("jira", "servicenow"):
        sandbox.faults(service).configure(**{**common, **per_service[service]})
        if log_file is not None:
            sandbox.log_requests(service, _Tagged(log_file, service))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            sandbox.start()
        except OSError as error:
            raise click.ClickException(f"sandbox: cannot listen on {host}: {error}") from error
        # the seeded world lives as long as the server: keep the collector from sweeping it
        # on every full pass (those passes made the slowest pages)
        gc.freeze()
        click.echo(f"jira {sandbox.jira_url} ({jira_deployment}, seed {seed}, {tickets} tickets)")
        click.echo(f"servicenow {sandbox.servicenow_url}")
        if authority is not None:
            click.echo(f"ca-bundle {authority.ca_bundle}")
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
        if log_file is not None:
            log_file.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
