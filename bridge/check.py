"""First contact (`smo-bridge check`): try each source as configured, without storing anything.

The connector says what it can of its vendor (`Connector.probe`: reachable, authenticated,
streams readable, push targets writable). This module adds what only the mapping knows: on
a sample of each stream, the fields the mapping reads that the records do not carry, and
how many records the mapping would skip or quarantine, and why.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.config import BridgeConfig
from bridge.errors import BridgeError
from bridge.models import RawRecord
from bridge.sourcemaps import compiled_for
from connectors.base import Connector, Probe, ProbeLevel, SourceConfig, connector_for
from mappings.paths import parse_path
from mappings.reads import Reads, needed_paths, raw_paths

SAMPLE = 100  # records per stream: one page, enough to see the shapes


@dataclass
class SourceReport:
    name: str
    kind: str
    probes: list[Probe] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not any(p.subject == "connection" and p.level == "error" for p in self.probes)

    @property
    def clean(self) -> bool:
        return all(p.level == "ok" for p in self.probes)


def pushes_for(config: BridgeConfig, source: str) -> frozenset[str]:
    push = config.push
    if push is None:
        return frozenset()
    wanted = {"gate_status"} if source in push.gate_status else set()
    if push.knowledge == source:
        wanted.add("knowledge")
    return frozenset(wanted)


def check_source(config: BridgeConfig, source: SourceConfig) -> SourceReport:
    report = SourceReport(source.name, source.kind)
    connector = connector_for(source)
    try:
        report.probes.extend(connector.probe(pushes_for(config, source.name)))
        if report.usable:
            unreadable = {p.subject.removeprefix("stream ") for p in report.probes
                          if p.subject.startswith("stream ") and p.level != "ok"}
            report.probes.extend(_sample(connector, source, unreadable))
    finally:
        connector.close()
    return report


def _sample(connector: Connector, source: SourceConfig, unreadable: set[str]) -> Iterator[Probe]:
    """Map a sample of every stream as a sync would, reference streams first."""
    compiled = compiled_for(source)
    reads, needed = raw_paths(compiled), needed_paths(compiled)
    samples: dict[str, list[RawRecord]] = {}
    for spec in connector.streams():
        if spec.name in unreadable:
            continue
        try:
            samples[spec.name] = list(itertools.islice(connector.read(spec.name, None, lambda q: None),
                                                       SAMPLE))
        except BridgeError as exc:
            yield Probe(f"stream {spec.name}", "error", str(exc))
    stream = compiled.dialect.catalogue_stream
    bound = compiled.bind(compiled.catalogue_from(samples.get(stream, []) if stream else []))
    for records in samples.values():
        for record in records:
            bound.feed(record)
    for stream, records in samples.items():
        wanted = reads.get(stream)
        if wanted and records:
            payloads = [r.payload for r in records]
            missing = _missing_fields(wanted, payloads, bound.catalogue)
            vital = _missing_fields(needed.get(stream, set()), payloads, bound.catalogue)
            if vital:
                yield Probe(f"fields {stream}", "warning",
                            f"the mapping needs {', '.join(sorted(vital))} to select or key "
                            "records, but no sampled record carries it")
            if missing - vital:
                yield Probe(f"optional fields {stream}", "ok",
                            f"read by the mapping, absent here (left empty): "
                            f"{', '.join(sorted(missing - vital))}")
        if stream in compiled.streams and records:
            yield _mapping_probe(stream, [bound.map(r) for r in records])


def _mapping_probe(stream: str, outcomes: list[Any]) -> Probe:
    kinds = Counter(o.kind for o in outcomes)
    mapped = kinds["project"] + kinds["ticket"]
    reasons = Counter((o.kind, o.field, o.reason) for o in outcomes if o.kind in ("skip", "quarantine"))
    parts = [f"{len(outcomes)} sampled: {mapped} mapped"]
    for (kind, field_name, reason), n in reasons.most_common(3):
        verb = "skipped" if kind == "skip" else "would be quarantined"
        parts.append(f"{n} {verb} ({field_name + ': ' if field_name else ''}{reason})")
    level: ProbeLevel = "warning" if kinds["quarantine"] or not mapped else "ok"
    return Probe(f"mapping {stream}", level, "; ".join(parts), count=mapped)


def _missing_fields(reads: set[Reads], payloads: list[Any], catalogue: Mapping[str, str]) -> set[str]:
    """Reads none of whose paths any payload carries (named by their first path). A key
    present with null or "" counts as present: the field exists, it is only unset there."""
    missing: set[str] = set()
    for group in reads:
        if not any(_carried(text, payloads, catalogue) for text in group):
            missing.add(group[0])
    return missing


def _carried(text: str, payloads: list[Any], catalogue: Mapping[str, str]) -> bool:
    keys: list[str] = []
    for step in parse_path(text).steps:
        if step.kind == "key":
            keys.append(step.name)
        elif step.kind == "named":
            keys.append(catalogue.get(step.name, step.name))
        else:
            break
    return not keys or any(_carries(p, keys) for p in payloads)


def _carries(payload: Any, keys: list[str]) -> bool:
    value = payload
    for key in keys:
        if not isinstance(value, dict):
            return True  # a scalar or list: deeper keys are the value's own parts
        if key not in value:
            return False
        value = value[key]
    return True
