"""`smo-bridge mappings ...`: the admin's tools for mapping files (validate, test, preview, schema,
suggest)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from bridge.errors import EXIT_INVALID, ConfigError
from bridge.models import RawRecord
from mappings import (
    BoundMapping,
    CompiledMapping,
    default_mapping,
    default_path,
    load_mapping,
    run_examples,
    validate_files,
)
from mappings.examples import record_key
from mappings.feeds import gate_items_fed
from mappings.loader import known_kinds
from mappings.schema import MappingFile


@dataclass
class Target:
    """One source's mapping files (or one file given on the command line)."""

    label: str
    kind: str | None
    paths: list[Path]


@click.group("mappings")
def group() -> None:
    """Check, test and preview mapping files."""


def _load_config(ctx: click.Context, *, secrets: bool = False) -> Any | None:
    """The configuration, or None when there is no configuration file at all; only a
    command that talks to a source asks for its `secrets`."""
    if not isinstance(ctx.obj, dict):
        from bridge.cli.context import load_cli_config

        return load_cli_config(ctx, required=False, secrets=secrets)
    from bridge.config import find_config_path, load_config

    explicit = ctx.obj.get("config_path") if isinstance(ctx.obj, dict) else None
    path = find_config_path(explicit)
    if explicit is None and not path.exists():
        return None
    return load_config(path, secrets=secrets)


def _targets(ctx: click.Context, files: tuple[Path, ...]) -> list[Target]:
    if files:
        return [Target(str(f), None, [f]) for f in files]
    config = _load_config(ctx)
    if config is None:
        return [Target(f"default {kind}", kind, [default_path(kind)]) for kind in known_kinds()]
    targets = []
    for source in config.sources:
        paths = [Path(p) for p in source.mappings]
        if not paths and source.kind in known_kinds():
            paths = [default_path(source.kind)]
        if paths:
            targets.append(Target(f"source {source.name}", source.kind, paths))
    return targets


def _fail_lines(lines: list[str]) -> None:
    for line in lines:
        click.echo(line, err=True)


def every_issue_at_once(ctx: click.Context) -> None:
    """`config validate`: raise ConfigError with every issue of the configuration and of
    every file it names (mapping and policy files), all found in one run; else say it is
    valid."""
    from bridge.cli.context import cli_state, load_cli_config
    from mappings.validation import validate_configuration

    issues = validate_configuration(cli_state(ctx).config_path)
    if issues:
        files = len({i.file for i in issues})
        raise ConfigError(f"{len(issues)} problem(s) in {files} file(s)", issues)
    from bridge.cli.config_cmd import valid_line

    config = load_cli_config(ctx)
    assert config is not None
    click.echo(valid_line(config))


def _configured(ctx: click.Context) -> bool:
    from bridge.cli.context import cli_state

    state = cli_state(ctx)
    return state.config_explicit or state.config_path.exists()


@group.command("validate")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def validate(ctx: click.Context, files: tuple[Path, ...]) -> None:
    """Check mapping files: every error as FILE:LINE:COL: path: message (exit 2 if any).
    Without FILE: the configuration and every file it names, in one run."""
    configured = not files and _configured(ctx)
    if configured:
        from bridge.cli.context import cli_state
        from mappings.validation import validate_configuration

        issues = validate_configuration(cli_state(ctx).config_path)
        if issues:
            raise ConfigError(f"{len(issues)} problem(s)", issues)
    failed = False
    for target in _targets(ctx, files):
        issues = [] if configured else validate_files(target.paths, target.kind)
        if issues:
            failed = True
            _fail_lines([str(i) for i in issues])
        else:
            click.echo(f"{', '.join(str(p) for p in target.paths)}: valid ({target.label})")
    if failed:
        ctx.exit(EXIT_INVALID)


@group.command("test")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--against-store", is_flag=True,
              help="also map every stored record of each source (the state store is only read) "
                   "and report what would be quarantined")
@click.option("--source", "source_name", help="only this source (with FILE: the source whose "
              "stored records the files map)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_context
def test(ctx: click.Context, files: tuple[Path, ...], against_store: bool,
         source_name: str | None, fmt: str) -> None:
    """Run the examples embedded in mapping files; a failing one shows expected vs actual.
    With --against-store, every stored record too: exit 2 when any would be quarantined."""
    report: dict[str, Any] = {"examples": [], "sources": []}
    failed = passed = 0
    targets = _targets(ctx, files)
    if source_name is not None and not files:
        targets = [t for t in targets if t.label == f"source {source_name}"] or targets[:0]
    compiled_by_label: dict[str, CompiledMapping] = {}
    for target in targets:
        try:
            compiled = load_mapping(target.paths, target.kind)
        except ConfigError as exc:
            _fail_lines(exc.lines())
            failed += 1
            continue
        compiled_by_label[target.label] = compiled
        for result in run_examples(compiled):
            passed, failed = passed + result.ok, failed + (not result.ok)
            report["examples"].append({"name": result.name, "origin": result.origin,
                                       "ok": result.ok, "differences": result.differences})
            if fmt == "json":
                continue
            if result.ok:
                click.echo(f"ok    {result.name} ({result.origin})")
                continue
            click.echo(f"FAIL  {result.name} ({result.origin})", err=True)
            for line in result.differences:
                click.echo(f"      {line}", err=True)
            if result.outcome.explanation is not None:
                for line in result.outcome.explanation.lines():
                    click.echo(f"      why: {line}", err=True)
    quarantined = 0
    if against_store:
        for trial in _against_store(ctx, files, source_name, compiled_by_label):
            quarantined += trial.quarantined
            report["sources"].append(trial.to_json())
            if fmt == "text":
                _print_trial(trial)
    if fmt == "json":
        report["passed"], report["failed"] = passed, failed
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        click.echo(f"{passed} passed, {failed} failed"
                   + (f"; {quarantined} stored record(s) would be quarantined"
                      if against_store else ""))
    if failed or quarantined:
        ctx.exit(EXIT_INVALID)


def _against_store(ctx: click.Context, files: tuple[Path, ...], source_name: str | None,
                   compiled_by_label: dict[str, CompiledMapping]) -> list[Any]:
    """Each source's trial run over its stored records (the store opened for reading)."""
    from bridge.cli.context import open_cli_store
    from bridge.trial import trial_run

    config = _load_config(ctx)
    if config is None:
        raise click.UsageError("--against-store reads the state store: it needs a configuration")
    if files:
        if source_name is None:
            if len(config.sources) != 1:
                raise click.UsageError("with FILE, name the source whose records to map: --source NAME")
            source_name = config.sources[0].name
        source = config.source(source_name)
        pairs: list[tuple[str, CompiledMapping | None]] = [
            (source.name, load_mapping(list(files), source.kind))]
    else:
        chosen = [config.source(source_name)] if source_name else list(config.sources)
        pairs = [(s.name, compiled_by_label.get(f"source {s.name}")) for s in chosen]
    store = open_cli_store(config, read_only=True)
    try:
        with store.engine.connect() as conn:
            return [trial_run(conn, name, compiled) for name, compiled in pairs
                    if compiled is not None]
    finally:
        store.close()


def _print_trial(trial: Any) -> None:
    counts = ", ".join(f"{trial.outcomes[k]} {k}" for k in ("project", "ticket", "skip", "quarantine"))
    click.echo(f"source {trial.source}: {trial.records} stored record(s): {counts}")
    for group in trial.to_json()["quarantined"]:
        click.echo(f"  would quarantine {group['count']} at {group['field']}: {group['reason']}")
        for example in group["examples"]:
            click.echo(f"    {example['stream']}/{example['key']}: {example['reason']}")


@group.command("schema")
def schema() -> None:
    """Print the JSON Schema of the mapping file format."""
    click.echo(json.dumps(MappingFile.model_json_schema(), indent=2))


@group.command("preview")
@click.option("--source", "source_name", help="source in the configuration (its mapping files)")
@click.option("--kind", type=click.Choice(known_kinds()), help="without a configuration: "
              "the kind whose mapping to use")
@click.option("--mapping", "mapping_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="mapping file(s) to use instead of the source's")
@click.option("--stream", help="stream of the record (needed for a bare payload; narrows --key)")
@click.option("--key", help="read the raw record with this key from the state store")
@click.option("--file", "raw_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="a JSON file: a vendor payload, or a raw record {source, stream, key, payload}")
@click.option("--ref", "refs", multiple=True, metavar="STREAM=FILE",
              help="a reference record fed to the lookups first (repeatable)")
@click.pass_context
def preview(ctx: click.Context, source_name: str | None, kind: str | None,
            mapping_files: tuple[Path, ...], stream: str | None, key: str | None,
            raw_file: Path | None, refs: tuple[str, ...]) -> None:
    """Show a raw record, what it maps to, and why (rule, classification, missing fields)."""
    if (key is None) == (raw_file is None):
        raise click.UsageError("give exactly one of --key or --file")
    if source_name is None and kind is None:
        raise click.UsageError("give --source NAME (or --kind jira|servicenow)")
    compiled, source = _preview_mapping(ctx, source_name, kind, list(mapping_files))
    if raw_file is not None:
        bound = compiled.bind()
        raw = _raw_from_file(raw_file, source, stream, compiled)
    else:
        assert key is not None
        if source_name is None:
            raise click.UsageError("--key reads the state store: give --source NAME")
        raw, bound = _from_store(ctx, source_name, compiled, stream, key)
    for ref in refs:
        ref_stream, _, ref_path = ref.partition("=")
        if not ref_path:
            raise click.UsageError(f"--ref {ref!r}: expected STREAM=FILE")
        bound.feed(_raw_from_file(Path(ref_path), source, ref_stream, compiled))
    outcome = bound.explain(raw)
    click.echo(f"raw record ({raw.source}/{raw.stream}/{raw.key}):")
    click.echo(_indent(json.dumps(raw.payload, indent=2, default=str)))
    click.echo(f"outcome: {outcome.summary()}")
    if outcome.entity is not None:
        click.echo("mapped:")
        click.echo(_indent(json.dumps(outcome.entity.model_dump(mode="json"), indent=2)))
    explanation = outcome.explanation
    click.echo("why:")
    for line in explanation.lines() if explanation else []:
        click.echo(f"  {line}")
    if outcome.kind in ("skip", "quarantine"):
        click.echo(f"  {outcome.summary()}")
    fed = gate_items_fed(compiled.gate, outcome.entity)
    click.echo("gate items it feeds:" + ("" if fed else " none"))
    for line in fed:
        click.echo(f"  {line}")


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _preview_mapping(ctx: click.Context, source_name: str | None, kind: str | None,
                     files: list[Path]) -> tuple[CompiledMapping, str]:
    if source_name is not None:
        config = _load_config(ctx)
        if config is None:
            raise ConfigError(f"no configuration file: cannot find source {source_name!r} "
                              "(use --kind without a configuration)")
        source = config.source(source_name)
        paths = files or [Path(p) for p in source.mappings]
        return (load_mapping(paths, source.kind) if paths else default_mapping(source.kind)), source.name
    assert kind is not None
    return (load_mapping(files, kind) if files else default_mapping(kind)), kind


def _raw_from_file(path: Path, source: str, stream: str | None,
                   compiled: CompiledMapping) -> RawRecord:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read a JSON record: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a record must be a JSON object")
    if isinstance(data.get("payload"), dict) and "stream" in data:
        return RawRecord(source=str(data.get("source") or source), stream=stream or str(data["stream"]),
                         key=str(data.get("key") or record_key(data["payload"], compiled.dialect)), payload=data["payload"])
    if stream is None:
        raise click.UsageError(f"{path} holds a bare payload: give --stream")
    return RawRecord(source=source, stream=stream, key=record_key(data, compiled.dialect),
                     payload=data)


def _from_store(ctx: click.Context, source_name: str, compiled: CompiledMapping, stream: str | None,
                key: str) -> tuple[RawRecord, BoundMapping]:
    """The stored raw record, and the mapping bound as the engine binds it: the stored Jira
    field catalogue and the saved lookups."""
    from bridge.cli.context import open_cli_store
    from bridge.sourcemaps import bind_stored
    from bridge.store import repository

    config = _load_config(ctx)
    if config is None:
        raise ConfigError(f"no configuration file: cannot find source {source_name!r}")
    store = open_cli_store(config, read_only=True)
    try:
        with store.engine.connect() as conn:
            found = repository.get_raw(conn, source_name, key, stream)
            if found is None:  # the key people use (an INC number) rather than the stable one
                stable = repository.key_for_display_key(conn, source_name, key)
                found = repository.get_raw(conn, source_name, stable, stream) if stable else None
            if found is None:
                where = f"{source_name}/{stream}/{key}" if stream else f"{source_name}/{key}"
                raise ConfigError(f"no raw record {where} in the state store "
                                  "(run a sync first, or save it as JSON and use --file)")
            bound = bind_stored(conn, config.source(source_name).name, compiled, save=False)
    finally:
        store.close()
    return found, bound


@group.command("suggest")
@click.option("--source", "source_name", required=True, help="the configured source to ask")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the draft here (default: print it)")
@click.pass_context
def suggest(ctx: click.Context, source_name: str, output: Path | None) -> None:
    """Draft a mapping for this source's instance from its own field catalogue: the shipped
    default with each custom field pointed at the instance's field of that name and type."""
    from bridge.suggest import suggest_mapping

    config = _load_config(ctx, secrets=True)
    if config is None:
        raise click.UsageError("suggest needs a configuration naming the source")
    drafted = suggest_mapping(config.source(source_name))
    for note in drafted.notes:
        click.echo(f"# {note}", err=True)
    if output is None:
        click.echo(drafted.text, nl=False)
        return
    if output.exists():
        raise click.UsageError(f"{output} exists; choose another path (nothing was overwritten)")
    output.write_text(drafted.text, encoding="utf-8")
    click.echo(f"wrote {output}; check it with `smo-bridge mappings test {output}`", err=True)


@group.command("show")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--merged", is_flag=True, help="with everything it extends merged in")
def show(file: Path, merged: bool) -> None:
    """Print a mapping file; with --merged, as the bridge reads it after `extends:`."""
    import yaml

    from bridge.yamlfile import load_yaml
    from mappings.extends import resolve_extends
    from mappings.loader import default_path

    doc = load_yaml(file)
    if merged:
        doc = resolve_extends(doc, default_path)
    click.echo(yaml.safe_dump(doc.data, sort_keys=False, allow_unicode=True), nl=False)


STARTER = """\
# Mapping for source {name!r}: only what differs from the shipped {kind} default.
# See docs/mappings.md ("extends"); check with `smo-bridge mappings validate`, see the
# result with `smo-bridge mappings show --merged {file}`.
extends: default
meta: {{kind: {kind}, version: 1}}
# classification:
#   practices: {{vendor_management: tactical}}        # added to the standard catalogue
#   rules:                                            # tried before the default's rules
#     - {{name: vendor work, when: {{path: labels, contains: vendor}}, practice: vendor_management}}
#   teams:
#     values: {{Vendors: Supplier Desk}}              # resolver group -> specialist team
# gate:
#   items:
#     - {{key: hypercare, enabled: false}}            # switch a default item off
"""


@group.command("init")
@click.option("--source", "source_name", required=True, help="the configured source")
@click.pass_context
def init(ctx: click.Context, source_name: str) -> None:
    """Write a starting mapping file for SOURCE next to the configuration (extending the
    shipped default); it is not used until the source lists it under `mappings:`."""
    config = _load_config(ctx)
    if config is None or config.path is None:
        raise click.UsageError("init needs a configuration naming the source")
    source = config.source(source_name)
    path = Path(config.path).parent / f"{source.name}.mapping.yaml"
    if path.exists():
        raise click.UsageError(f"{path} exists; nothing was overwritten")
    path.write_text(STARTER.format(name=source.name, kind=source.kind, file=path.name),
                    encoding="utf-8")
    click.echo(f"wrote {path}; add it to the source: `mappings: [{path.name}]`")


group.add_command(__import__("bridge.cli.mappings_diff", fromlist=["command"]).command)  # mappings diff
