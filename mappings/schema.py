"""The mapping file's models: what an admin may write, and so its JSON Schema.

Sections: `meta`, `tables`, `lookups`, `projects`, `tickets`, `classification`,
`gate` (see `mappings.gate`), `knowledge`, `examples`. Every model forbids unknown
keys, so a typo is reported with a did-you-mean instead of being ignored.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from bridge.models import Capability
from mappings.conditions import Condition
from mappings.gate import GateDef
from mappings.paths import parse_path
from mappings.transforms import Transform

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              defer_build=True)  # built on first use: quick CLI start


class Meta(_Strict):
    """Which connector kind the file applies to, and the format version."""

    kind: str = Field(description="connector kind: jira or servicenow")
    version: Literal[1] = Field(1, description="format version of the mapping file (1)")
    description: str | None = Field(None, description="free text: what this file is for")
    custom_fields: dict[str, str | None] = Field(
        default_factory=dict,
        description="fields read by display name -> default field id (e.g. Jira's customfield_N) "
                    "(null: only from the instance's field catalogue)",
    )

    @field_validator("custom_fields")
    @classmethod
    def _ids(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        for name, fid in value.items():
            if fid is not None and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]*", fid):
                raise ValueError(f"{name!r}: {fid!r} is not a field id")
        return value


class FieldSpec(_Strict):
    """Where a canonical field's value comes from: exactly one of `path`, `field`, `value`,
    `first_of`, `concat`; then `transforms` in order; then `default` when still empty."""

    path: str | None = Field(None, description="field path into the raw record")
    field: str | None = Field(None, description="a field by display name (Jira: fields[\"NAME\"])")
    value: Any = Field(None, description="a constant")
    first_of: list[FieldValue] | None = Field(None, description="the first source that gives a value")
    concat: list[FieldValue] | None = Field(None, description="all sources' values as one list")
    transforms: list[Transform] = Field(default_factory=list, description="transforms applied in order to the value read")
    default: Any = Field(None, description="used when the value is missing or empty")
    required: bool = Field(False, description="missing: the record is quarantined "
                                              "(in a list item: the item is dropped)")

    @field_validator("path")
    @classmethod
    def _path_parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse_path(value)
        return value

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        given = [k for k in ("path", "field", "value", "first_of", "concat") if k in self.model_fields_set]
        if len(given) != 1:
            raise ValueError("a field needs exactly one of path, field, value, first_of, concat"
                             + (f" (found: {', '.join(given)})" if given else ""))
        return self


def _value_tag(value: Any) -> str:
    return "<path>" if isinstance(value, str) else "<spec>"


FieldValue = Annotated[
    Annotated[str, Tag("<path>")] | Annotated[FieldSpec, Tag("<spec>")],
    Discriminator(_value_tag),
]
"""A bare string is a path; a mapping is a FieldSpec."""


class _Fields(_Strict):
    pass


class MilestoneFields(_Fields):
    kind: FieldValue | None = Field(None, description="startup, follow_up, review, go_live, hypercare_end...")
    name: FieldValue | None = Field(None, description="the milestone's name")
    due: FieldValue | None = Field(None, description="its due date")
    done: FieldValue | None = Field(None, description="true once the milestone is reached")


class ContactFields(_Fields):
    role: FieldValue | None = Field(None, description="the contact's role (a gate item may name it as responsible or approver)")
    name: FieldValue | None = Field(None, description="the person's name")
    email: FieldValue | None = Field(None, description="the person's e-mail address")
    phone: FieldValue | None = Field(None, description="the person's phone number")


class ApprovalFields(_Fields):
    subject: FieldValue | None = Field(None, description="what was approved")
    approver: FieldValue | None = Field(None, description="who approved it")
    at: FieldValue | None = Field(None, description="when it was approved (a timestamp)")


class _ItemList(_Strict):
    each: str | None = Field(None, description="a `[*]` path: one item per element, "
                                               "item paths relative to the element")
    when: Condition | None = Field(None, description="keep only items (elements) matching this")

    @field_validator("each")
    @classmethod
    def _fans_out(cls, value: str | None) -> str | None:
        if value is not None and not parse_path(value).fans_out:
            raise ValueError("'each' must be a path with [*], e.g. versions[*]")
        return value


class MilestoneList(_ItemList):
    fields: MilestoneFields = Field(description="each milestone's fields (paths relative to the `each` element)")


class ContactList(_ItemList):
    fields: ContactFields = Field(description="each contact's fields (paths relative to the `each` element)")


class ApprovalList(_ItemList):
    fields: ApprovalFields = Field(description="each approval's fields (paths relative to the `each` element)")


class ProjectFields(_Fields):
    """How a project record's fields map onto the canonical Project."""

    key: FieldValue = Field(description="the project's key (required)")
    name: FieldValue = Field(description="the project's name (required)")
    service: FieldValue | None = Field(None, description="the service the transition brings into operation")
    service_aliases: FieldValue | None = Field(None, description="other names of the service (a list)")
    link_keys: FieldValue | None = Field(None, description="keys shared across sources to link projects")
    go_live: FieldValue | None = Field(None, description="the planned go-live date")
    live: FieldValue | None = Field(None, description="true when the tool records the service "
                                                      "as live (a project closed complete)")
    live_since: FieldValue | None = Field(None, description="the day it went live, when the tool "
                                                            "records one")
    service_manager: FieldValue | None = Field(None, description="the service manager's name")
    service_manager_accepted: FieldValue | None = Field(None, description="true once the service manager accepted the service")
    project_manager: FieldValue | None = Field(None, description="the project manager's name")
    phase: FieldValue | None = Field(None, description="the project's phase (cancelled: the transition is retired)")
    receivers: FieldValue | None = Field(None, description="receiving teams (a list), for receivers_signoff")
    resolver_group: FieldValue | None = Field(None, description="the group that will resolve the service's incidents")
    milestones: list[MilestoneList] = Field(default_factory=list, description="milestones of the transition schedule")
    contacts: list[ContactList] = Field(default_factory=list, description="people with a role in the transition")
    approvals: list[ApprovalList] = Field(default_factory=list, description="approvals recorded on the project")
    attributes: dict[str, FieldValue] = Field(default_factory=dict, description="any other value by name (business_impact, sla...), for templates and gate items")
    updated: FieldValue | None = Field(None, description="when the record last changed (default: the record's own timestamp)")
    url: FieldValue | None = Field(None, description="a link to the project in its tool")


class TicketFields(_Fields):
    """How a ticket record's fields map onto the canonical Ticket (practice and capability
    come from `classification`)."""

    key: FieldValue = Field(description="the ticket's stable key (required)")
    opened: FieldValue = Field(description="when the ticket was opened (required)")
    display_key: FieldValue | None = Field(None, description="what people call the ticket, when the "
                                                             "key is an internal id")
    type: FieldValue | None = Field(None, description="the ticket type (Incident, Problem, Task...)")
    summary: FieldValue | None = Field(None, description="one-line summary")
    status: FieldValue | None = Field(None, description="the tool's own status name")
    status_category: FieldValue | None = Field(None, description="todo, in_progress or done")
    priority: FieldValue | None = Field(None, description="the priority")
    team: FieldValue | None = Field(None, description="the group or component working on it (mapped to a specialist team by classification.teams)")
    project_key: FieldValue | None = Field(None, description="key of the project it belongs to")
    transition_key: FieldValue | None = Field(None, description="key of the transition project")
    resolved: FieldValue | None = Field(None, description="when it was resolved")
    effort_hours: FieldValue | None = Field(None, description="effort spent, in hours")
    sla_breached: FieldValue | None = Field(None, description="true when its SLA was breached")
    labels: FieldValue | None = Field(None, description="labels (a list); gate:ITEM marks a gate item's deliverable")
    attributes: dict[str, FieldValue] = Field(default_factory=dict, description="any other value by name (approver, approved_by...), for conditions and gate items")
    updated: FieldValue | None = Field(None, description="when the record last changed (default: the record's own timestamp)")


class _Rule(_Strict):
    stream: str | list[str] = Field(description="stream(s) the rule reads (Jira: projects, issues; "
                                                "ServiceNow: table names)")
    when: Condition | None = Field(None, description="select records; without it every record")
    name: str | None = Field(None, description="the rule's name (an extending file replaces a rule of the same name)")

    @property
    def streams(self) -> list[str]:
        return [self.stream] if isinstance(self.stream, str) else list(self.stream)


class ProjectRule(_Rule):
    fields: ProjectFields = Field(description="how the record's fields map onto the canonical project")


class TicketRule(_Rule):
    fields: TicketFields = Field(description="how the record's fields map onto the canonical ticket")


class TableDef(_Strict):
    """A named value map used by `{table: NAME}` transforms and `classification.teams`."""

    values: dict[str, Any] = Field(description="value -> mapped value")
    default: Any = Field(None, description="for values not in the table; unset: keep the value")
    ignore_case: bool = Field(False, description="match values ignoring letter case")


class LookupDef(_Strict):
    """A table built from a reference stream's records: key -> the record."""

    stream: str = Field(description="the reference stream whose records the lookup holds")
    key: str = Field(description="path of the key in the reference record")
    when: Condition | None = Field(None, description="only records matching this")
    many: bool = Field(False, description="keep every matching record of a key, not the last "
                                          "one fed: a lookup read gives a list (e.g. every "
                                          "approval of a task)")

    @field_validator("key")
    @classmethod
    def _path_parses(cls, value: str) -> str:
        parse_path(value)
        return value


class ClassificationRule(_Strict):
    """First matching rule wins: the ticket goes to `practice` (and `team`, when given)."""

    when: Condition = Field(description="on ticket fields (type, labels, team...) or raw.PATH")
    practice: str = Field(description="the practice a matching ticket belongs to (from the catalogue)")
    team: str | None = Field(None, description="overrides the mapped team")
    name: str | None = Field(None, description="the rule's name (an extending file replaces a rule of the same name)")


class Classification(_Strict):
    practices: dict[str, Capability] | None = Field(
        None, description="practice catalogue: snake_case name -> strategic|tactical|operational "
                          "(absent: the standard catalogue)")
    rules: list[ClassificationRule] = Field(default_factory=list, description="ordered rules: the first whose `when` matches classifies the ticket")
    default: str | None = Field(None, description="practice when no rule matches")
    teams: TableDef | None = Field(None, description="mapped team (group, component) -> specialist team")

    @field_validator("practices")
    @classmethod
    def _snake(cls, value: dict[str, Capability] | None) -> dict[str, Capability] | None:
        for name in value or {}:
            if not SNAKE.match(name):
                raise ValueError(f"practice name {name!r} is not snake_case")
        return value


class KnowledgeDef(_Strict):
    """The service-desk article: template (relative to this file, or `default`) and where it goes."""

    template: str = Field("default", description="Jinja2 template file, or `default` for the shipped one")
    knowledge_base: str | None = Field(None, description="the knowledge base articles go to; unset: the instance's default")
    category: str | None = Field(None, description="the article category")
    workflow_state: Literal["draft", "review", "published"] = Field(
        "draft", description="the state a new article is created in; draft: a person reviews "
                             "and publishes it; review: submitted to the knowledge base's review "
                             "(approval) step; published: the bridge publishes it, and it is no "
                             "gate evidence until a person approves it")
    articles: dict[str, str] = Field(
        default_factory=dict,
        description="service name -> the existing article (number, e.g. KB0010042) that is the "
                    "service's: adopted, never written; without one, a live article whose CI is "
                    "the service is adopted")
    author: Literal["service_manager", "none"] = Field(
        "service_manager", description="who an article names as author: the transition's "
                                       "service manager when the instance knows the person; "
                                       "none: the instance's default (the integration user)")


class Expect(_Strict):
    """Expected outcome: a partial project or ticket (dotted keys allowed), skip, or quarantine."""

    project: dict[str, Any] | None = Field(None, description="expected project fields (partial; dotted keys reach into attributes)")
    ticket: dict[str, Any] | None = Field(None, description="expected ticket fields (partial; dotted keys reach into attributes)")
    skip: bool | None = Field(None, description="true: the record is expected to be skipped")
    quarantine: str | None = Field(None, description="the field expected to quarantine the record")

    @model_validator(mode="after")
    def _one(self) -> Expect:
        given = [k for k in ("project", "ticket", "skip", "quarantine") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("expect needs exactly one of project, ticket, skip, quarantine")
        return self


class ReferenceRecord(_Strict):
    stream: str = Field(description="the reference record's stream")
    key: str | None = Field(None, description="its key (default: the record's own)")
    record: dict[str, Any] = Field(description="the reference payload, as the vendor sends it")


class Example(_Strict):
    """A regression example run by `mappings test`."""

    name: str = Field(description="what the example shows")
    stream: str = Field(description="the stream of the record")
    key: str | None = Field(None, description="raw record key (default: the record's key/sys_id/id)")
    record: dict[str, Any] = Field(description="the raw payload, as the vendor sends it")
    references: list[ReferenceRecord] = Field(default_factory=list,
                                              description="records fed to lookups first")
    expect: Expect = Field(description="the expected outcome")


class MappingFile(_Strict):
    """One mapping file. A source may use several: lists are concatenated in file order,
    named entries (tables, lookups, practices) must not repeat, single settings appear once."""

    extends: str | None = Field(None, description="`default` (the shipped mapping of this kind) "
                                                  "or a mapping file beside this one: state only "
                                                  "what differs (docs/mappings.md)")
    meta: Meta = Field(description="which connector kind the file is for, and its format version")
    tables: dict[str, TableDef] = Field(default_factory=dict, description="named value maps, for {table: NAME} transforms")
    lookups: dict[str, LookupDef] = Field(default_factory=dict, description="tables built from reference streams, for {lookup: NAME} transforms")
    projects: list[ProjectRule] = Field(default_factory=list, description="rules: which records become projects (candidate transitions), and their fields")
    tickets: list[TicketRule] = Field(default_factory=list, description="rules: which records become tickets, and their fields")
    classification: Classification | None = Field(None, description="practice catalogue, ordered classification rules, default practice, specialist teams")
    gate: GateDef | None = Field(None, description="the transition gate's checklist")
    knowledge: KnowledgeDef | None = Field(None, description="the service-desk knowledge article: template and target")
    examples: list[Example] = Field(default_factory=list, description="regression examples run by `smo-bridge mappings test`")


FieldSpec.model_rebuild()
