"""The Jira source's configuration: a light module (no vendor client, no HTTP library), so
checking a configuration or showing `status` does not import the connector."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from connectors.base import BasicAuth, BearerAuth, SourceConfig
from connectors.jql_build import jql_problem
from connectors.records import key_problem
from connectors.zones import zone_problem

#: Stock fields plus the custom fields of docs/data-contract.md, by name: resolved to ids
#: through the fields stream, so `Go-live date` works whatever id the instance gave it.
DEFAULT_ISSUE_FIELDS = [
    "summary",
    "status",
    "issuetype",
    "priority",
    "project",
    "labels",
    "created",
    "updated",
    "resolutiondate",
    "resolution",
    "assignee",
    "reporter",
    "timespent",
    "duedate",
    "fixVersions",
    "components",
    "parent",
    "description",
    "Go-live date",
    "Service",
    "Team",
    "Story Points",
    "Service manager",
    "Approver",
    "Approved by",
    "Service aliases",
    "Time to resolution",  # Jira Service Management's SLA object
    "Time to resolution breached",  # an admin-made yes/no field, where one exists
]


class JiraConfig(SourceConfig):
    push_capabilities: ClassVar[frozenset[str]] = frozenset({"gate_status"})
    kind: Literal["jira"] = "jira"
    deployment: Literal["auto", "cloud", "server"] = Field(
        "auto", description="auto asks serverInfo"
    )
    projects: list[str] = Field(
        default_factory=list, description="project keys; empty means every project"
    )
    jql: str | None = Field(None, description="extra JQL ANDed to the issue query")
    page_size: int = Field(100, ge=1, le=1000)
    gate_property: str = Field(
        "smo-bridge.gate", description="entity property that receives the gate status"
    )
    issue_fields: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ISSUE_FIELDS),
        description="issue fields to request, by id or by name (names resolved via /field)",
    )
    comments: bool = Field(False, description="read the comments stream")
    worklogs: bool = Field(False, description="read the worklogs stream")
    time_zone: str | None = Field(None, description="the account's zone; default: /myself timeZone")
    api_version: Literal[2, 3] = Field(2, description="REST API version (3: ADF rich text, Cloud)")
    done_transition_labels: list[str] = Field(
        default_factory=lambda: ["gate:", "waiver:"],
        description="label prefixes of the issues (the gate's deliverables) whose changelog is "
        "read once they are done, to record who moved them to done (`doneTransition`); "
        "empty: read no changelog",
    )

    @field_validator("projects")
    @classmethod
    def _project_keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if key_problem(key):
                raise ValueError(f"project key {key!r}: {key_problem(key)}")
        return keys

    @field_validator("jql")
    @classmethod
    def _jql_fragment(cls, text: str | None) -> str | None:
        problem = jql_problem(text) if text is not None else None
        if problem:
            raise ValueError(f"the JQL {problem}: it is ANDed into the bridge's own query")
        return text

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str | None) -> str | None:
        if name is not None:
            zone_problem(name)
        return name

    @model_validator(mode="after")
    def _supported_auth(self) -> JiraConfig:
        if not isinstance(self.auth, BasicAuth | BearerAuth):
            raise ValueError("Jira accepts auth kind basic (email + API token) or bearer (PAT)")
        return self
