"""The ServiceNow source's configuration: a light module (no vendor client, no HTTP
library), so checking a configuration or showing `status` does not import the connector."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from connectors.base import SourceConfig
from connectors.servicenow_query import NAME

# reference tables first: mappings look groups, people and services up while mapping tickets
DEFAULT_TABLES = [
    "sys_user_group",
    "sys_user",
    "sysapproval_approver",
    "sysapproval_group",
    "cmdb_ci_service",
    "kb_knowledge_base",
    "pm_project",
    "pm_project_task",  # after pm_project: a task's transition is its project's number
    "task_sla",
    "incident",
    "problem",
    "change_request",
    "sc_req_item",
    "kb_knowledge",
]
_NAME_PATTERN = NAME.pattern
_FIELD_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"  # a column, or dot-walked


class ServiceNowConfig(SourceConfig):
    push_capabilities: ClassVar[frozenset[str]] = frozenset({"gate_status", "knowledge"})
    kind: Literal["servicenow"] = "servicenow"
    tables: list[Annotated[str, Field(pattern=_NAME_PATTERN)]] = Field(
        default_factory=lambda: list(DEFAULT_TABLES)
    )
    page_size: int = Field(1000, ge=1, le=10000)
    gate_field: str = Field(
        "u_smo_gate_status",
        pattern=_NAME_PATTERN,
        description="pm_project column that also receives the gate status (JSON), when the "
        "instance has it; the work note is written either way",
    )
    knowledge_base: str | None = Field(
        None,
        description="kb_knowledge_base title or sys_id for articles; overrides the mapping's "
        "knowledge.knowledge_base. Neither set: the instance's default knowledge base",
    )
    display_value: Literal["all", "false"] = Field(
        "all", description="all: every field as {value, display_value[, link]}; false: values only"
    )
    fields: dict[
        Annotated[str, Field(pattern=_NAME_PATTERN)],
        list[Annotated[str, Field(pattern=_FIELD_PATTERN)]],
    ] = Field(
        default_factory=dict,
        description="sysparm_fields per table; a table not named gets every field",
    )
    deletions: bool = Field(True, description="read sys_audit_delete to report deleted records")
    article_valid_days: int = Field(
        365, ge=1, le=36500,
        description="a new article's valid_to, this many days on (an article without one "
                    "does not show in the desk's search); the knowledge team extends it",
    )
    correlation_field: str = Field(
        "u_smo_correlation",
        pattern=_NAME_PATTERN,
        description="kb_knowledge column holding the article's correlation key, when the "
        "instance has it; the key is also tagged in the article's meta keywords",
    )
