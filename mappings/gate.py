"""The gate checklist: items, their approvers and due dates, and typed evidence rules.

The derivation engine evaluates these; this module only defines them and compiles their
conditions. Conditions in evidence rules read the *canonical* objects: a `ticket_*`
rule tests `bridge.models.Ticket` fields (`type`, `labels`, `priority`,
`status_category`, `attributes.NAME`...), a `project` rule tests `Project` fields.
Use `rule.matches(obj)` to test one object.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from bridge.yamlfile import did_you_mean
from mappings.conditions import Condition, Predicate, compile_condition
from mappings.paths import compile_object_getter, parse_path

_OFFSET = re.compile(r"^([+-]?)(\d+)([dw])$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              defer_build=True)  # built on first use: quick CLI start


class _Matching(_Strict):
    """A rule with a `when` condition compiled once, over canonical objects."""

    when: Condition = Field(description="condition on the canonical objects (Ticket or Project fields)")
    _test: Predicate = PrivateAttr()

    def model_post_init(self, context: Any) -> None:
        self._test = compile_condition(self.when, compile_object_getter)

    def matches(self, obj: Any) -> bool:
        """True when the Ticket/Project satisfies `when`."""
        return self._test(obj)


class FieldSet(_Strict):
    """Met when the project field at `field` (e.g. `resolver_group`, `attributes.sla`) is set
    (not null, not empty) on a project of the transition."""

    kind: Literal["field_set"] = Field(description="evidence kind: a project field is set")
    field: str = Field(description="project field path (resolver_group, attributes.sla...)")

    @field_validator("field")
    @classmethod
    def _path(cls, value: str) -> str:
        parse_path(value)
        return value

    def value_of(self, project: Any) -> Any:
        """The field's value on a Project (None when absent)."""
        return compile_object_getter(parse_path(self.field))(project)


class ProjectMatches(_Matching):
    """Met when a project of the transition matches `when` (e.g. service_manager_accepted true)."""

    kind: Literal["project"] = Field(description="evidence kind: a project of the transition matches `when`")


class TicketDone(_Matching):
    """Met when a ticket of the transition matches `when` and its status category is `done`.
    With `approved: true` it must also be approved by the item's appointed approver
    (or, without one, by the ticket's own appointed approver: `approver_field`)."""

    kind: Literal["ticket_done"] = Field(description="evidence kind: a matching ticket is done")
    approved: bool = Field(False, description="true: it must also be approved by its appointed approver")
    approved_by_field: str = Field("attributes.approved_by", description="ticket path of who approved")
    approver_field: str = Field("attributes.approver", description="ticket path of the appointed approver")


class TicketsApproved(_Matching):
    """Met when every ticket of the transition matching `when` is done and approved by its
    appointed approver (`approver_field`; the item's approver when the ticket has none),
    and there is at least one such ticket."""

    kind: Literal["tickets_approved"] = Field(description="evidence kind: every matching ticket is done and approved")
    approved_by_field: str = Field("attributes.approved_by", description="ticket path of who approved")
    approver_field: str = Field("attributes.approver", description="ticket path of the appointed approver")


class DeliverableDone(_Strict):
    """Met by the item's own deliverable: a ticket of the transition labelled `label`
    (default `gate:<item key>`; the ServiceNow default labels a project task by its exact
    template name through a table) that is done and, when the item has an approver, approved
    by its appointed approver: the ticket's own (`approver_field`, e.g. Jira's Approver) or
    else the item's. An approval is read from the tool at one of `approved_by_fields` (the
    first that names the appointed approver counts): never inferred from the text."""

    kind: Literal["deliverable"] = Field(description="evidence kind: the item's own deliverable ticket is done (and approved)")
    label: str | None = Field(None, description="the deliverable's label; default gate:<item key>")
    approved_by_fields: list[str] = Field(
        default_factory=lambda: ["attributes.approved_by"], min_length=1,
        description="ticket paths of who approved (a person, or an approving group)")
    approver_field: str | None = Field(
        "attributes.approver", description="ticket path of its own appointed approver; null: "
                                           "the item's approver only")

    def label_for(self, item_key: str) -> str:
        return self.label or f"gate:{item_key}"


class ReceiversSignoff(_Strict):
    """Met when every receiving team signed off: for each receiver (the transition's
    `receivers`, or the roles named here), a done deliverable of the item (label, as for
    `deliverable`) whose `team_field` names that receiver."""

    kind: Literal["receivers_signoff"] = Field(description="evidence kind: every receiving team signed off")
    label: str | None = Field(None, description="the sign-off deliverables' label; default gate:<item key>")
    receivers: list[str] | None = Field(
        None, description="receiver roles (service_desk, resolver_group...); absent: the "
                          "project's receivers")
    team_field: str = Field("attributes.signed_off_by",
                            description="ticket path of the team whose sign-off it records")

    def label_for(self, item_key: str) -> str:
        return self.label or f"gate:{item_key}"


class NoOpenTickets(_Matching):
    """Met when no ticket of the transition matching `when` has a status category other than
    `done` (e.g. no open critical defects)."""

    kind: Literal["no_open_tickets"] = Field(description="evidence kind: no matching ticket is open")


class ArticlePublished(_Strict):
    """Met when the transition's service-desk knowledge article is published in the target
    knowledge base (workflow_state published)."""

    kind: Literal["article_published"] = Field(description="evidence kind: the service's knowledge article is published")


class MilestonesScheduled(_Strict):
    """Met when the transition has a milestone with a due date for every kind in `kinds`;
    with `after_go_live`, those milestones must fall after the go-live date (support window)."""

    kind: Literal["milestones"] = Field(description="evidence kind: milestones of these kinds are scheduled")
    kinds: list[str] = Field(min_length=1, description="milestone kinds that must have a due date")
    after_go_live: bool = Field(False, description="true: they must fall after the go-live date")


class AllOfEvidence(_Strict):
    """Met when every rule is met."""

    kind: Literal["all"] = Field(description="evidence kind: every rule is met")
    rules: list[Evidence] = Field(min_length=1, description="the evidence rules")


class AnyOfEvidence(_Strict):
    """Met when at least one rule is met."""

    kind: Literal["any"] = Field(description="evidence kind: at least one rule is met")
    rules: list[Evidence] = Field(min_length=1, description="the evidence rules")


EVIDENCE_KINDS = ("field_set", "project", "deliverable", "receivers_signoff", "ticket_done",
                  "tickets_approved", "no_open_tickets", "article_published", "milestones", "all",
                  "any")


def _check_kind(value: Any) -> Any:
    if isinstance(value, dict) and "kind" in value and value["kind"] not in EVIDENCE_KINDS:
        kind = str(value["kind"])
        hint = did_you_mean(kind, EVIDENCE_KINDS)
        raise ValueError(f"unknown evidence kind {kind!r}" + (
            f"; did you mean {hint!r}?" if hint else f" (known: {', '.join(EVIDENCE_KINDS)})"))
    return value


Evidence = Annotated[
    FieldSet | ProjectMatches | DeliverableDone | ReceiversSignoff | TicketDone | TicketsApproved
    | NoOpenTickets | ArticlePublished | MilestonesScheduled | AllOfEvidence | AnyOfEvidence,
    Field(discriminator="kind"),
    BeforeValidator(_check_kind),
]


class Approver(_Strict):
    """The appointed approver: a person by `name`, or a transition `role`
    (service_manager, project_manager, resolver_group, or a contact role)."""

    name: str | None = Field(None, description="a person, by name")
    role: str | None = Field(None, description="a transition role (service_manager, project_manager, resolver_group) or a mapped contact role")

    @model_validator(mode="after")
    def _one(self) -> Approver:
        if (self.name is None) == (self.role is None):
            raise ValueError("an approver needs exactly one of 'name' or 'role'")
        return self


class GateItemDef(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="stable item key (Jira label gate:KEY)")
    title: str = Field(description="what the item asks for, as people read it")
    deliverable: str | None = Field(None, description="the deliverable's name, as people know it")
    responsible: str | None = Field(None, description="responsible role")
    approver: Approver | None = Field(None, description="who must approve the deliverable: a person or a role")
    due: str | None = Field(None, description="offset from the anchor: -14d, -2w, 0d, +30d",
                            json_schema_extra={"pattern": r"^\s*[+-]?\d+[dw]\s*$"})
    anchor: str = Field("go_live", description="go_live, or a milestone kind")
    enabled: bool = Field(True, description="false: defined but not yet part of the gate")
    evidence: Evidence = Field(description="what meets the item, read from the tools")

    @field_validator("due", mode="before")
    @classmethod
    def _number_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("due")
    @classmethod
    def _offset(cls, value: str | None) -> str | None:
        if value is not None and not _OFFSET.match(value.strip()):
            raise ValueError(f"due {value!r} is not an offset like -14d, -2w or +3d")
        return value

    @property
    def due_days(self) -> int | None:
        """The due offset in days relative to the anchor (negative: before)."""
        if self.due is None:
            return None
        match = _OFFSET.match(self.due.strip())
        assert match is not None
        days = int(match.group(2)) * (7 if match.group(3) == "w" else 1)
        return -days if match.group(1) == "-" else days


class GateDef(_Strict):
    """The checklist. Start with the service-desk handover; add items as the gate widens."""

    items: list[GateItemDef] = Field(default_factory=list, description="the checklist items, in order (an extending file merges items by key)")
    acceptance: str | None = Field(
        "service_manager",
        description="the item whose being met is the service manager's acceptance; a gate "
                    "without that item reads acceptance from the project's own flag")

    @property
    def enabled_items(self) -> list[GateItemDef]:
        return [i for i in self.items if i.enabled]


AllOfEvidence.model_rebuild()
AnyOfEvidence.model_rebuild()
