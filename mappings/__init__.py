"""The mapping layer: admin-edited YAML that turns raw records into the canonical domain.

Engine-facing API (everything else in this package is internal)::

    load_mapping(paths: Sequence[str | Path], kind: str | None = None) -> CompiledMapping
        Load, check and compile one source's mapping files (merged in order). `kind` is the
        source's connector kind; each file's meta.kind must match. Raises
        bridge.errors.ConfigError whose `.issues` hold every problem of every file
        (FILE:LINE:COL: dotted.path: message).
    default_mapping(kind: str) -> CompiledMapping
        The shipped default of `jira` or `servicenow` (mappings/defaults/KIND.yaml).
    mapping_for_source(kind: str, paths: Sequence[str | Path]) -> CompiledMapping
        The files when given, else the kind's shipped default.
    validate_files(paths: Sequence[str | Path], kind: str | None = None) -> list[Issue]

    CompiledMapping
        .kind: str; .files: list[str]
        .streams -> set[str]             streams that give projects or tickets
        .lookup_streams -> set[str]      reference streams feeding lookups
        .practices: dict[str, Capability]  the practice catalogue
        .gate: mappings.gate.GateDef     the checklist (typed evidence rules, see gate.py)
        .knowledge: CompiledKnowledge    .render(transition=..., projects=..., generated_at=...)
                                         -> str; .knowledge_base, .category, .workflow_state
        .bind(catalogue: Mapping[str, str] | None = None) -> BoundMapping
            catalogue = {display name: field id} (see .catalogue_from), merged
            over the dialect's defaults and meta.custom_fields.
        .catalogue_from(records) -> dict[str, str]   from the records of the dialect's
            catalogue stream (Jira: `fields`), by the connector's name rule

    BoundMapping
        .feed(raw: RawRecord) -> bool          add/remove a reference record in lookups
        .lookup_streams -> set[str]            feed these streams' records before mapping
        .dependent_streams(stream: str) -> set[str]   re-map these when `stream` changes
        .map(raw: RawRecord) -> MapOutcome     the hot path; never raises for bad data
        .explain(raw: RawRecord) -> MapOutcome the same, with .explanation filled

    MapOutcome
        .kind: "project" | "ticket" | "skip" | "quarantine"
        .entity: Project | Ticket | None  (.project / .ticket typed accessors)
        .field: str | None    the canonical field at fault (quarantine)
        .reason: str | None   why skipped / quarantined
        .explanation: Explanation | None  (rule, not_selected, classification, values,
                                           missing, dropped; .lines())

    run_examples(compiled, catalogue=None) -> list[ExampleResult]   (`mappings test`)

Engine order per source: bind once per cycle (after reading the `fields` stream for Jira),
`feed` every stored record of `bound.lookup_streams`, then `map` the records to (re)map.
A BoundMapping holds lookup state: use one per source, not shared across threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mappings.compile import (
    BoundMapping,
    CompiledKnowledge,
    CompiledMapping,
)
from mappings.examples import ExampleResult, run_examples
from mappings.loader import default_mapping, default_path, load_mapping, validate_files
from mappings.outcome import Explanation, MapOutcome
from mappings.practices import CATALOGUE, STANDARD_PRACTICES, Practice


def mapping_for_source(kind: str, paths: Sequence[str | Path]) -> CompiledMapping:
    """A source's mapping: its files when it names any, else its kind's shipped default."""
    return load_mapping(paths, kind) if paths else default_mapping(kind)


__all__ = [
    "CATALOGUE",
    "STANDARD_PRACTICES",
    "BoundMapping",
    "CompiledKnowledge",
    "CompiledMapping",
    "ExampleResult",
    "Explanation",
    "MapOutcome",
    "Practice",
    "default_mapping",
    "default_path",
    "load_mapping",
    "mapping_for_source",
    "run_examples",
    "validate_files",
]
