"""What the ServiceNow connector puts into encoded queries, and reads back out of rows.

ServiceNow documents no escape for `^` in an encoded-query value (doubling it is not
one), so a value carrying `^` could add conditions of its own (`PRJ1^ORsys_idISNOTEMPTY`).
Values are refused instead of escaped; newlines too, since a value is one line, and a
value starting `javascript:`, which the instance would run as a script to compute it.
"""

from __future__ import annotations

import re
from typing import Any

from bridge.errors import SourceError
from connectors.base import MappingDialect

SYS_ID = re.compile(r"^[0-9a-f]{32}$")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # table and column names
#: how the connector tags what it writes: work notes and article keywords (`meta`)
_MARKER = re.compile(r"\[smo-bridge:([^\]\r\n]+)\]")
_UNSAFE = ("^", "\n", "\r")
#: the parents of the stock tables the bridge reads: a column may be defined on a parent
TABLE_PARENTS: dict[str, list[str]] = {
    "incident": ["task"],
    "problem": ["task"],
    "change_request": ["task"],
    "sc_req_item": ["task"],
    "sc_request": ["task"],
    "pm_project": ["planned_task", "task"],
    "pm_project_task": ["planned_task", "task"],
    "sysapproval_group": ["task"],
    "cmdb_ci_service": ["cmdb_ci", "cmdb"],
}


def lineage(table: str) -> list[str]:
    """The table and the tables it extends (stock ones known here)."""
    return [table, *TABLE_PARENTS.get(table, [])]


def query_value(source: str, value: object, what: str) -> str:
    """`value` as one encoded-query operand, or a SourceError when it could add conditions."""
    text = str(value)
    if any(c in text for c in _UNSAFE):
        raise SourceError(
            source,
            f"refused to query by {what} {text[:120]!r}: it contains '^' or a line break, "
            "which ServiceNow would read as further query conditions",
        )
    if text.strip().lower().startswith("javascript:"):
        raise SourceError(
            source,
            f"refused to query by {what} {text[:120]!r}: ServiceNow would run a value "
            "starting with 'javascript:' as a script",
        )
    return text


def sys_id_value(source: str, value: object, what: str) -> str:
    """A sys_id, checked to be one (32 lower-case hex digits)."""
    text = str(value)
    if not SYS_ID.match(text):
        raise SourceError(source, f"{what} {text!r} is not a sys_id")
    return text


def marker(correlation: str) -> str:
    """The tag the bridge writes next to what it owns: `[smo-bridge:<correlation>]`."""
    return f"[smo-bridge:{correlation}]"


def markers_in(text: object) -> list[str]:
    """The correlation keys tagged in a text field (value or display value form)."""
    return _MARKER.findall(str(field_value({"v": text}, "v") or ""))


def check_correlation(source: str, correlation: str) -> str:
    """A correlation key that fits in a query and in a marker."""
    query_value(source, correlation, "correlation key")
    if "]" in correlation or not correlation.strip():
        raise SourceError(source, f"correlation key {correlation!r} cannot be used as a marker")
    return correlation


def field_value(record: dict[str, Any], name: str) -> Any:
    """A field's stored value, whether the record came with display values or not."""
    value = record.get(name)
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def display_text(record: dict[str, Any], name: str) -> str:
    """A field's display value when the row has one, else its value; "" when absent."""
    value = record.get(name)
    if isinstance(value, dict):
        value = value.get("display_value") or value.get("value")
    return "" if value is None else str(value)


#: stock tables a mapping may name (a custom table starts with u_ or x_)
KNOWN_TABLES = (
    "pm_project", "incident", "problem", "change_request", "sc_req_item", "sc_request", "task",
    "task_sla", "sys_user_group", "sys_user", "cmdb_ci_service", "kb_knowledge_base",
    "kb_knowledge", "sysapproval_approver", "sysapproval_group", "pm_project_task", "cmn_location",
    "core_company", "sys_audit_delete",
)

DIALECT = MappingDialect(
    kind="servicenow",
    label="ServiceNow",
    stream_noun="table",
    streams=KNOWN_TABLES,
    stream_pattern=r"[a-z0-9_]+",
    custom_stream_prefixes=("u_", "x_"),
    custom_field=r"[ux]_[a-z0-9_]+",  # an admin's own columns
    unwrap_value=True,
    record_keys=("sys_id", "number"),
)
