"""`smo-bridge schema --write DIR`: JSON Schemas of the configuration and mapping files."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("schema")
@click.option("--write", "folder", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="folder to write the schemas to (created when missing)")
def command(folder: Path) -> None:
    """Write JSON Schemas (2020-12) of the configuration file and of mapping files, for
    editors: add `# yaml-language-server: $schema=PATH` as a file's first line."""
    from bridge.schemas import write_schemas

    for path in write_schemas(folder):
        click.echo(str(path))
