"""The canonical domain: what the mapping layer produces and the derivation consumes.

Timestamps are timezone-aware and normalised to UTC; a naive datetime is refused,
because a wall-clock time without its zone is exactly the bug this product avoids.
Calendar dates (go-live, due dates) stay `date`: they are days, not instants.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp has no time zone")
    return value.astimezone(UTC)


UTCDateTime = Annotated[datetime, AfterValidator(_to_utc)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Capability(enum.StrEnum):
    STRATEGIC = "strategic"
    TACTICAL = "tactical"
    OPERATIONAL = "operational"


class GateStatus(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    READY_FOR_REVIEW = "ready_for_review"
    PASSED = "passed"
    LIVE_UNREADY = "live_unready"  # the service went live without a passed gate


class ItemStatus(enum.StrEnum):
    MET = "met"
    UNMET = "unmet"
    WAIVED = "waived"


StatusCategory = Literal["todo", "in_progress", "done"]


class SourceRef(_Model):
    """Where a canonical entity came from."""

    source: str
    stream: str
    key: str


class RawRecord(_Model):
    """A record as a connector read it, before any mapping."""

    source: str
    stream: str
    key: str
    updated: UTCDateTime | None = None
    payload: dict[str, Any]
    deleted: bool = False


class Milestone(_Model):
    """A dated point of the transition schedule (start-up, follow-up, review, go-live, hypercare end)."""

    kind: str
    name: str
    due: date | None = None
    done: bool = False


class Contact(_Model):
    role: str
    name: str
    email: str | None = None
    phone: str | None = None


class Approval(_Model):
    """An approval as recorded in a tool: who gave it, for what, when."""

    subject: str
    approver: str
    at: UTCDateTime | None = None
    ref: SourceRef | None = None


class Project(_Model):
    """A project in a project tool or ITSM suite that may introduce or change a service."""

    ref: SourceRef
    key: str
    name: str
    service: str | None = None
    service_aliases: list[str] = Field(default_factory=list)
    link_keys: list[str] = Field(default_factory=list)
    go_live: date | None = None
    live: bool = Field(False, description="the tool records the service as live "
                                          "(e.g. a project closed complete)")
    live_since: date | None = Field(None, description="the day the tool records it live, when known")
    service_manager: str | None = None
    service_manager_accepted: bool = False
    project_manager: str | None = None
    phase: str | None = None
    receivers: list[str] = Field(default_factory=list)
    resolver_group: str | None = None
    milestones: list[Milestone] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)
    approvals: list[Approval] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)
    updated: UTCDateTime | None = None
    url: str | None = None


class Ticket(_Model):
    """A unit of work (incident, problem, change, request, story) classified for workloads."""

    ref: SourceRef
    key: str = Field(description="the source's stable id (ServiceNow sys_id, Jira key)")
    display_key: str | None = Field(None, description="what people call it (a ServiceNow number)")
    type: str | None = None
    summary: str | None = None
    status: str | None = None
    status_category: StatusCategory = "todo"
    priority: str | None = None
    team: str | None = None
    practice: str | None = None
    capability: Capability | None = None
    project_key: str | None = None
    transition_key: str | None = None
    opened: UTCDateTime
    resolved: UTCDateTime | None = None
    effort_hours: float | None = None
    sla_breached: bool = False
    labels: list[str] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)
    updated: UTCDateTime | None = None

    @property
    def label(self) -> str:
        return self.display_key or self.key


class Evidence(_Model):
    """What was found in a tool that satisfies (or bears on) a gate item."""

    kind: Literal["ticket", "field", "article", "approval", "milestone", "project"]
    ref: str
    detail: str
    at: UTCDateTime | None = None


class Waiver(_Model):
    """An item waived for a transition: who asked, why, until when, who approved it."""

    by: str
    reason: str
    at: UTCDateTime | None = None
    until: date | None = Field(None, description="the last day it counts; none: open-ended")
    approved_by: str | None = None
    ref: str | None = Field(None, description="the record it was read from (a ticket)")


class GateItem(_Model):
    key: str
    title: str
    deliverable: str | None = None
    responsible_role: str | None = None
    approver: str | None = None
    due: date | None = None
    status: ItemStatus = ItemStatus.UNMET
    evidence: list[Evidence] = Field(default_factory=list)
    missing: str | None = None
    waiver: Waiver | None = None
    approved_by: str | None = None
    approved_at: UTCDateTime | None = None
    late_days: int | None = Field(None, description="met: days its evidence came after the due day")
    after_go_live: bool = Field(False, description="met only after the service went live")


class Gate(_Model):
    status: GateStatus = GateStatus.NOT_STARTED
    items: list[GateItem] = Field(default_factory=list)
    reason: str | None = None
    accepted_by: str | None = None
    accepted_at: UTCDateTime | None = None
    policy: str | None = Field(None, description="what defined this gate: the policy file or "
                                                 "the source mapping that judged it")


class ServiceTransition(_Model):
    """A project (or several, linked across sources) passing the operations gate."""

    id: str
    service: str
    service_aliases: list[str] = Field(default_factory=list)
    projects: list[SourceRef] = Field(default_factory=list)
    go_live: date | None = None
    live: bool = Field(False, description="a project's tool records the service as live")
    live_since: date | None = Field(None, description="the earliest day a project's tool "
                                                      "records the service live")
    service_manager: str | None = None
    receivers: list[str] = Field(default_factory=list)
    resolver_group: str | None = None
    milestones: list[Milestone] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)
    hypercare_end: date | None = None
    gate: Gate = Field(default_factory=Gate)
    gate_version: int = Field(0, description="bumped on every gate status change; keys its pushes")
    attributes: dict[str, Any] = Field(default_factory=dict)


class KnowledgeArticle(_Model):
    """The service-desk article for a transition, rendered from the admin's template."""

    transition_id: str
    service: str
    short_description: str
    html: str
    keywords: list[str] = Field(default_factory=list)
    knowledge_base: str | None = None
    category: str | None = None
    workflow_state: Literal["draft", "review", "published"] = "draft"
    content_hash: str
    service_id: str | None = Field(None, description="the service's CMDB id in the knowledge tool")
    author: str | None = Field(None, description="the person named as author (the service manager)")
    written: str | None = Field(None, description="digest of what the bridge last wrote: an "
                                                  "article that differs was edited by a person")
    retire: bool = Field(False, description="retire what the bridge wrote: the transition ended")


class WorkloadCell(_Model):
    """Counts for one (capability, practice, team) over one period."""

    capability: Capability
    practice: str
    team: str
    period_kind: Literal["week", "month"]
    period: str
    period_start: date
    opened: int = 0
    closed: int = 0
    open_backlog: int = 0
    median_age_days: float | None = None
    effort_hours: float = 0.0
    sla_breaches: int = 0
