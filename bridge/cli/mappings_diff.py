"""`smo-bridge mappings diff OLD NEW`: what changing a source's mapping files would do."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bridge.errors import ConfigError

if TYPE_CHECKING:
    from bridge.config import BridgeConfig


def _source_for(config: BridgeConfig, old: str | None, new: str, given: str | None) -> str:
    """The source the files are for: --source, else the one whose mapping list names OLD,
    else the only source of the kind NEW declares (`meta.kind`)."""
    if given is not None:
        config.source(given)
        return given
    if old is not None:
        named = [s.name for s in config.sources
                 if any(Path(m).resolve() == Path(old).resolve() for m in s.mappings)]
        if len(named) == 1:
            return named[0]
    from bridge.yamlfile import load_yaml

    data = load_yaml(new).data
    meta = data.get("meta") if isinstance(data, dict) else None
    kind = meta.get("kind") if isinstance(meta, dict) else None
    of_kind = [s.name for s in config.sources if kind is None or s.kind == kind]
    if len(of_kind) == 1:
        return of_kind[0]
    raise ConfigError("mappings diff: name the source the files are for with --source "
                      f"({', '.join(s.name for s in config.sources)})")


@click.command("diff")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--source", default=None, help="the source whose mapping changes")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table",
              show_default=True, help="markdown: a report to attach to a change request")
@click.pass_context
def command(ctx: click.Context, files: tuple[str, ...], source: str | None, fmt: str) -> None:
    """Compare mapping files OLD NEW (or the configured ones with NEW) on the stored records:
    tickets changing practice, tier or team, records quarantined or released, gates and
    articles that would change. Nothing is written, nothing is fetched."""
    # imported here: `mappings validate` and `config validate` load this module too
    from rich.console import Console

    from bridge import impact as impacts
    from bridge.cli.context import load_cli_config, open_cli_store
    from bridge.cli.progress import Reporter

    if len(files) > 2:
        raise click.UsageError("give NEW, or OLD and NEW")
    old, new = (files[0], files[1]) if len(files) == 2 else (None, files[0])
    config = load_cli_config(ctx, secrets=False)
    assert config is not None
    name = _source_for(config, old, new, source)
    from bridge import migrate as ops  # the engine's imports: only when the command runs

    store = open_cli_store(config, dry_run=True)
    try:
        with Reporter(Console(stderr=True)) as report:
            def derived(stage: str, done: int, total: int) -> None:
                report(f"deriving ({stage} mapping)", done, total, unit="transitions")

            change = ops.diff_mappings(config, store, name, [old] if old else None, [new],
                                       progress=report, derive_progress=derived)
    finally:
        store.close()
    title = f"Mapping change for {name}: {old or 'configured'} → {new}"
    if fmt == "json":
        click.echo(impacts.render_json(change, command="mappings diff", source=name, old=old, new=new))
    elif fmt == "markdown":
        click.echo(impacts.render_markdown(change, title))
    else:
        impacts.print_table(change, title, Console())
