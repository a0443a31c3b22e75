"""The `smo-bridge` entry point: global options, error lines, exit codes."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

import click

from bridge import __version__
from bridge.errors import EXIT_FAILED, EXIT_INVALID, BridgeError, ConfigError
from bridge.logs import VALUES_ONLY, configure, exception_summary, redact

#: command -> (module in bridge.cli, attribute, one-line help): a command's module (and the
#: vendor clients, the store, numpy it needs) is imported only when that command runs
COMMANDS: dict[str, tuple[str, str, str]] = {
    "check": ("check", "command", "Try each source as configured: reachable, authenticated, "
                                  "readable, writable."),
    "config": ("config_cmd", "group", "Check the deployment configuration."),
    "db": ("db", "group", "The state store's schema: status and upgrade."),
    "demo": ("demo", "command", "Start the sandbox, run one full cycle on SQLite, and "
                                "summarise."),
    "explain": ("explain", "command", "Explain a transition's gate, item by item."),
    "mappings": ("mappings", "group", "Check, test and preview mapping files."),
    "migrate": ("migrate", "group", "One-off bulk work: backfill, remap, republish, reconcile, "
                                    "copy-state."),
    "outbox": ("sync", "outbox_group", "The push queue: pending, delivered or parked pushes."),
    "quarantine": ("quarantine", "group", "Records a mapping rejected, with the field and the "
                                          "reason."),
    "report": ("report", "group", "Reports computed from the state store."),
    "run": ("run", "command", "Run scheduled cycles until SIGTERM or SIGINT (the daemon)."),
    "sandbox": ("sandbox", "command", "Serve emulated Jira and ServiceNow APIs on loopback."),
    "serve": ("serve", "command", "Serve the read-only board (gates, workloads, sync) from the "
                                  "state store."),
    "schema": ("schema_cmd", "command", "Write JSON Schemas of the configuration and mapping "
                                        "files."),
    "status": ("status", "command", "Show sources, transitions, workloads and the outbox."),
    "sync": ("sync", "command", "Pull, map, derive, store and push: one full cycle."),
}


class LazyGroup(click.Group):
    """Lists commands from COMMANDS and imports one only when it is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands or name not in COMMANDS:
            return self.commands.get(name)
        module, attr, _ = COMMANDS[name]
        command: click.Command = getattr(importlib.import_module(f"bridge.cli.{module}"), attr)
        self.commands[name] = command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


log = logging.getLogger("bridge.cli")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    from bridge.cli.context import CliState  # here: `--help` and `--version` need neither
    from bridge.config import find_config_path

    ctx.obj = CliState(find_config_path(config_path), config_path is not None, verbose, log_format)


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
