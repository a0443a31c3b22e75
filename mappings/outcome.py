"""What mapping one raw record gives: a Project, a Ticket, a skip, or a quarantine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bridge.models import Project, Ticket

OutcomeKind = Literal["project", "ticket", "skip", "quarantine"]


@dataclass(slots=True)
class Explanation:
    """Why a record mapped the way it did (filled only by `BoundMapping.explain`)."""

    rule: str | None = None
    """The mapping rule that selected the record, e.g. `tickets[0] (jira.yaml:120)`."""
    not_selected: list[str] = field(default_factory=list)
    """Rules of the stream whose `when` did not match, before the one that did."""
    classification: str | None = None
    """The classification rule that set the practice, or `default`."""
    unclassified: list[str] = field(default_factory=list)
    """Classification rules tried before it, each with the test that failed and its value."""
    team: str | None = None
    """How `classification.teams` turned the tool's group into a specialist team."""
    values: dict[str, Any] = field(default_factory=dict)
    """Each mapped field's value (after transforms and coercion)."""
    missing: list[str] = field(default_factory=list)
    """Fields that came out empty, with where they were read from."""
    dropped: list[str] = field(default_factory=list)
    """List items (milestones, contacts, approvals) dropped for a missing required field."""

    def lines(self) -> list[str]:
        out: list[str] = []
        out.extend(f"not selected by {r}" for r in self.not_selected)  # tried in this order
        if self.rule:
            out.append(f"selected by {self.rule}")
        out.extend(f"not classified by {r}" for r in self.unclassified)
        if self.classification:
            out.append(f"classified by {self.classification}")
        if self.team:
            out.append(self.team)
        out.extend(f"missing {m}" for m in self.missing)
        out.extend(f"dropped {d}" for d in self.dropped)
        return out


@dataclass(slots=True)
class MapOutcome:
    """The result of `BoundMapping.map`.

    kind `project`/`ticket`: `entity` holds the canonical object. `skip`: the record is
    not mapped (stream not mapped, reference stream, not selected, deleted), `reason`
    says why. `quarantine`: the record is bad for this mapping; `field` names the
    canonical field and `reason` the problem; the other records go on.
    """

    kind: OutcomeKind
    entity: Project | Ticket | None = None
    field: str | None = None
    reason: str | None = None
    explanation: Explanation | None = None

    @property
    def project(self) -> Project | None:
        return self.entity if isinstance(self.entity, Project) else None

    @property
    def ticket(self) -> Ticket | None:
        return self.entity if isinstance(self.entity, Ticket) else None

    def summary(self) -> str:
        if self.kind in ("project", "ticket"):
            assert self.entity is not None
            shown = getattr(self.entity, "display_key", None)
            return f"{self.kind} {self.entity.key}" + (f" ({shown})" if shown else "")
        if self.kind == "quarantine":
            return f"quarantine: {self.field}: {self.reason}"
        return f"skip: {self.reason}"
