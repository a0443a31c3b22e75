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
from bridge.logs import VALUES_ONLY, configure, exception_summary, redact

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
    # the daemon says what it does at default verbosity; other commands print their results
    configure(verbose, log_format, report_work=ctx.invoked_subcommand == "run")
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


def _global_options(args: list[str]) -> tuple[int, str]:
    """-v count and --log-format, read before click parses anything: an error in parsing
    itself is then already reported in the chosen format."""
    verbose, fmt = 0, "text"
    for i, arg in enumerate(args):
        if arg == "--verbose":
            verbose += 1
        elif arg.startswith("-v") and set(arg[1:]) == {"v"}:
            verbose += len(arg) - 1
        elif arg == "--log-format" and i + 1 < len(args):
            fmt = args[i + 1]
        elif arg.startswith("--log-format="):
            fmt = arg.split("=", 1)[1]
    return verbose, "json" if fmt == "json" else "text"


class _ErrorReport:
    """Errors as one line each: `error: ...` on stderr, or an error event in JSON mode."""

    def __init__(self, fmt: str) -> None:
        self.json = fmt == "json"

    def __call__(self, message: str, *, wording_ours: bool = False,
                 exc: BaseException | None = None, **fields: object) -> None:
        if self.json:
            extra: dict[str, object] = {**fields, VALUES_ONLY: wording_ours}
            log.error("%s", message, exc_info=exc, extra=extra)
            return
        if exc is not None:
            log.error("%s", message, exc_info=exc)  # the traceback, shown with -v only
        text = f"error: {message}" if not fields else message
        click.echo(redact.values(text) if wording_ours else redact(text), err=True)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; errors become one line on stderr (a traceback only with -v)."""
    args = sys.argv[1:] if argv is None else argv
    verbose, fmt = _global_options(args)
    configure(verbose, fmt)
    error = _ErrorReport(fmt)
    try:
        result = cli.main(args=args, prog_name="smo-bridge", standalone_mode=False)
    except click.exceptions.Abort:
        error("aborted")
        return 130
    except click.ClickException as exc:
        if error.json:
            error(exc.format_message(), wording_ours=True)
        else:
            exc.show()  # with the usage line, for a person at a terminal
        return EXIT_INVALID if isinstance(exc, click.UsageError) else exc.exit_code
    except ConfigError as exc:
        if not exc.issues:
            error(str(exc), wording_ours=True)
        for issue in exc.issues:
            error(str(issue), wording_ours=True, file=issue.file, line=issue.line,
                  column=issue.column, field=issue.path)
        return exc.exit_code
    except BridgeError as exc:
        error(str(exc), exc=exc if verbose else None)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # the exception's own text may quote a record: its type, and the traceback with -v
        error(f"internal error ({exception_summary(exc)}); run with -v for the traceback "
              "and report it", exc=exc if verbose else None)
        return EXIT_FAILED
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
