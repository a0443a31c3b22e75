"""`mappings test`: run the examples embedded in mapping files and diff expected vs actual."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from bridge.models import RawRecord
from connectors.base import MappingDialect
from mappings.compile import CompiledMapping
from mappings.outcome import MapOutcome
from mappings.parsing import parse_datetime
from mappings.schema import Example

_MISSING = object()


@dataclass
class ExampleResult:
    name: str
    origin: str
    outcome: MapOutcome
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def record_key(payload: Mapping[str, Any], dialect: MappingDialect) -> str:
    """A payload's own key, where its kind keeps it (the dialect's `record_keys`)."""
    for name in dialect.record_keys:
        value = payload.get(name)
        if dialect.unwrap_value and isinstance(value, dict):
            value = value.get("value")
        if value not in (None, ""):
            return str(value)
    return "example"


def run_examples(compiled: CompiledMapping, catalogue: Mapping[str, str] | None = None
                 ) -> list[ExampleResult]:
    """Each example on a freshly bound mapping (its own lookups), in file order."""
    results = []
    for located in compiled.examples:
        example = located.item
        bound = compiled.bind(catalogue)
        for ref in example.references:
            bound.feed(RawRecord(source="example", stream=ref.stream,
                                 key=ref.key or record_key(ref.record, compiled.dialect), payload=ref.record))
        raw = RawRecord(source="example", stream=example.stream,
                        key=example.key or record_key(example.record, compiled.dialect), payload=example.record)
        outcome = bound.explain(raw)
        results.append(ExampleResult(example.name, located.origin, outcome,
                                     compare(example, outcome)))
    return results


def compare(example: Example, outcome: MapOutcome) -> list[str]:
    expect = example.expect
    if expect.skip:
        return [] if outcome.kind == "skip" else [f"outcome: expected skip, got {outcome.summary()}"]
    if expect.quarantine is not None:
        if outcome.kind != "quarantine":
            return [f"outcome: expected quarantine of {expect.quarantine!r}, got {outcome.summary()}"]
        if outcome.field != expect.quarantine:
            return [f"quarantine field: expected {expect.quarantine!r}, got {outcome.field!r} "
                    f"({outcome.reason})"]
        return []
    wanted_kind = "project" if expect.project is not None else "ticket"
    if outcome.kind != wanted_kind:
        return [f"outcome: expected {wanted_kind}, got {outcome.summary()}"]
    assert outcome.entity is not None
    actual = outcome.entity.model_dump(mode="json")
    expected = expect.project if expect.project is not None else expect.ticket
    diffs: list[str] = []
    for name, want in (expected or {}).items():
        got = _dig(actual, name)
        if got is _MISSING:
            diffs.append(f"{name}: expected {_show(want)}, but the {wanted_kind} has no such field")
            continue
        problem = _mismatch(want, got, name)
        if problem:
            diffs.append(problem)
    return diffs


def _dig(data: Any, dotted: str) -> Any:
    current = data
    for part in dotted.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        else:
            return _MISSING
    return current


def _mismatch(want: Any, got: Any, where: str) -> str | None:
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return f"{where}: expected {_show(want)}, got {_show(got)}"
        for key, sub in want.items():
            if key not in got:
                return f"{where}.{key}: expected {_show(sub)}, got nothing"
            problem = _mismatch(sub, got[key], f"{where}.{key}")
            if problem:
                return problem
        return None
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return f"{where}: expected {_show(want)}, got {_show(got)}"
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            problem = _mismatch(w, g, f"{where}[{i}]")
            if problem:
                return problem
        return None
    if _equal(want, got):
        return None
    return f"{where}: expected {_show(want)}, got {_show(got)}"


def _equal(want: Any, got: Any) -> bool:
    if isinstance(want, datetime):
        try:
            zone = want if want.tzinfo else want.replace(tzinfo=UTC)
            return got is not None and parse_datetime(got) == zone.astimezone(UTC)
        except ValueError:
            return False
    if isinstance(want, date):
        return got == want.isoformat()
    if isinstance(want, float) or (isinstance(got, float) and isinstance(want, int)
                                   and not isinstance(want, bool)):
        return isinstance(got, int | float) and math.isclose(float(want), float(got), rel_tol=1e-9)
    return bool(want == got)


def _show(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return repr(value)
