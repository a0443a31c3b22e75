"""The `smo-bridge` entry point: global options, error lines, exit codes."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from bridge import __version__
from bridge.cli import (
    check,
    config_cmd,
    db,
    demo,
    explain,
    mappings,
    migrate,
    quarantine,
    report,
    run,
    sandbox,
    schema_cmd,
    status,
    sync,
)
from bridge.cli.context import CliState
from bridge.config import find_config_path
from bridge.errors import EXIT_FAILED, EXIT_INVALID, BridgeError, ConfigError
from bridge.logs import configure, redact

log = logging.getLogger("bridge.cli")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="smo-bridge")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="configuration file (default: $SMO_BRIDGE_CONFIG, else ./smo-bridge.yaml)")
@click.option("-v", "--verbose", count=True, help="more log output; -vv for debug; shows tracebacks")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one structured event per line")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int, log_format: str) -> None:
    """smo-bridge: Jira and ServiceNow into service transitions and capability workloads."""
    configure(verbose, log_format)
    ctx.obj = CliState(find_config_path(config_path), config_path is not None, verbose, log_format)


cli.add_command(config_cmd.group)
cli.add_command(check.command)
cli.add_command(status.command)
cli.add_command(demo.command)
cli.add_command(report.group)
cli.add_command(sync.command)
cli.add_command(sync.outbox_group)
cli.add_command(run.command)
cli.add_command(sandbox.command)
cli.add_command(mappings.group)
cli.add_command(explain.command)
cli.add_command(migrate.group)
cli.add_command(quarantine.group)
cli.add_command(db.group)
cli.add_command(schema_cmd.command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; errors become one line on stderr (a traceback only with -v)."""
    args = sys.argv[1:] if argv is None else argv
    verbose = any(a in ("-v", "--verbose") or (a.startswith("-v") and set(a[1:]) == {"v"})
                  for a in args)
    try:
        result = cli.main(args=args, prog_name="smo-bridge", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return EXIT_INVALID if isinstance(exc, click.UsageError) else exc.exit_code
    except ConfigError as exc:
        for line in exc.lines():
            click.echo(redact.values(f"error: {line}" if not exc.issues else line), err=True)
        return exc.exit_code
    except BridgeError as exc:
        if verbose:
            log.exception("failed")
        click.echo(redact(f"error: {exc}"), err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if verbose:
            log.exception("unexpected error")
        click.echo(redact(f"error: internal error ({type(exc).__name__}: {exc}); "
                          "run with -v for the traceback and report it"), err=True)
        return EXIT_FAILED
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
