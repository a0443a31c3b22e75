"""A trial run of a mapping over what the state store holds (`mappings test --against-store`):
every stored record of a source mapped as a sync would map it, to see what would be
quarantined before the mapping is deployed. Reads only; the store is never written."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from bridge.sourcemaps import bind_stored
from bridge.store import repository as repo
from mappings import CompiledMapping

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


@dataclass
class QuarantineGroup:
    """Records quarantined for one field and one kind of reason."""

    field: str
    reason: str  # the reason with the values it quotes left out, so alike ones group
    count: int = 0
    examples: list[dict[str, str]] = dataclasses.field(default_factory=list)


@dataclass
class TrialResult:
    source: str
    records: int = 0
    outcomes: Counter[str] = dataclasses.field(default_factory=Counter)
    groups: dict[tuple[str, str], QuarantineGroup] = dataclasses.field(default_factory=dict)

    @property
    def quarantined(self) -> int:
        return self.outcomes["quarantine"]

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "records": self.records,
                "outcomes": {k: self.outcomes[k] for k in ("project", "ticket", "skip", "quarantine")},
                "quarantined": [
                    {"field": g.field, "reason": g.reason, "count": g.count, "examples": g.examples}
                    for g in sorted(self.groups.values(), key=lambda g: (-g.count, g.field, g.reason))]}


def trial_run(conn: Connection, source: str, compiled: CompiledMapping,
              examples: int = 3) -> TrialResult:
    """Map every live stored record of `source`; count outcomes, group quarantines by field
    and reason with up to `examples` records each."""
    bound = bind_stored(conn, source, compiled, save=False)
    result = TrialResult(source)
    for raw in repo.iter_raw(conn, source):
        result.records += 1
        outcome = bound.map(raw)
        result.outcomes[outcome.kind] += 1
        if outcome.kind != "quarantine":
            continue
        name, reason = outcome.field or "", outcome.reason or ""
        shape = _QUOTED.sub("'…'", reason)
        group = result.groups.setdefault((name, shape), QuarantineGroup(name, shape))
        group.count += 1
        if len(group.examples) < examples:
            group.examples.append({"stream": raw.stream, "key": raw.key, "reason": reason})
    return result
