"""Value-mode rows of the generated ServiceNow tables, built from ticket columns on demand."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from bridge.sandbox.clock import sn_datetime, sn_duration
from bridge.sandbox.sn_schema import NUMBER_PREFIX, TABLES
from bridge.sandbox.tickets import SLA_HOURS

if TYPE_CHECKING:
    from bridge.sandbox.sn_seed import ServiceNowData

CATEGORIES = ("inquiry", "software", "hardware", "network", "database", "security")
_TEXT = {
    "incident": (
        "{svc} is unavailable for some users",
        "{svc}: users report slow responses",
        "{svc}: error when submitting a form",
        "{svc}: overnight job failed",
    ),
    "problem": ("Recurring failures of {svc}", "{svc}: root cause of repeated timeouts"),
    "change_request": (
        "{svc}: apply the quarterly patches",
        "{svc}: upgrade the database",
        "{svc}: rotate certificates",
    ),
    "sc_req_item": (
        "Access to {svc}",
        "{svc}: new account for a contractor",
        "{svc}: licence for a new starter",
    ),
}
# per table: (open states, resolved state or None, closed, canceled)
STATES: dict[str, tuple[tuple[str, ...], str | None, str, str]] = {
    "incident": (("1", "2", "2", "3"), "6", "7", "8"),
    "problem": (("101", "102", "103", "104"), "106", "107", "107"),
    "change_request": (("-5", "-4", "-3", "-2", "-1", "0"), None, "3", "4"),
    "sc_req_item": (("-5", "1", "2", "2"), None, "3", "4"),
}


def state_list(table: str) -> tuple[str | None, ...]:
    """The table's states in the order the `state` column indexes them."""
    opens, resolved, closed, canceled = STATES[table]
    return (*opens, resolved, closed, canceled)


_CLOSED = {
    "incident": ("7", "8"),
    "problem": ("107",),
    "change_request": ("3", "4"),
    "sc_req_item": ("3", "4"),
}


def ticket_row(data: ServiceNowData, table: str, i: int) -> dict[str, str]:
    cols = data.columns[table]
    org = data.org
    state = state_list(table)[cols["state"][i]] or ""
    service = cols["service"][i]
    svc = org.services[service].name if service >= 0 else "Workplace"
    texts = _TEXT[table]
    summary = texts[(i * 7 + org.seed) % len(texts)].format(svc=svc)
    priority, assigned = cols["priority"][i], cols["assigned"][i]
    resolved, closed = cols["resolved"][i], cols["closed"][i]
    closed_flag = state in _CLOSED[table]
    user = org.people[assigned].user_name if assigned >= 0 else "system"
    row = {
        "sys_id": data.tables[table].sys_id(i),
        "number": f"{NUMBER_PREFIX[table]}{10001 + i:07d}",
        "short_description": summary,
        "description": f"{summary}. Reported through the service portal.",
        "priority": str(priority),
        "impact": str(cols["impact"][i]),
        "urgency": str(min(3, 1 + (priority - 1) // 2)),
        "state": state,
        "active": "false" if closed_flag or (resolved and table != "incident") else "true",
        "assignment_group": data.ref("sys_user_group", cols["group"][i]),
        "assigned_to": data.ref("sys_user", assigned),
        "opened_by": data.ref("sys_user", cols["caller"][i]),
        "opened_at": sn_datetime(cols["opened"][i]),
        "closed_at": sn_datetime(closed),
        "closed_by": data.ref("sys_user", assigned if closed else -1),
        "business_service": data.ref("cmdb_ci_service", service),
        "cmdb_ci": "",
        "made_sla": "true" if cols["made_sla"][i] else "false",
        "time_worked": sn_duration(cols["worked"][i]),
        "work_notes": "",
        "comments": "",
        "close_notes": "Resolved, see work notes." if resolved else "",
        "category": CATEGORIES[cols["category"][i]],
        "sys_class_name": table,
        "sys_domain": "global",
        "reassignment_count": str(i % 3),
        "escalation": "0",
        "sys_created_on": sn_datetime(cols["opened"][i]),
        "sys_created_by": org.people[cols["caller"][i]].user_name,
        "sys_updated_on": sn_datetime(cols["updated"][i]),
        "sys_updated_by": user,
        "sys_mod_count": str(2 + i % 7 + (3 if resolved else 0)),
    }
    if table == "incident":
        row.update(
            incident_state=state,
            caller_id=row["opened_by"],
            resolved_at=sn_datetime(resolved),
            severity=str(cols["impact"][i]),
            resolved_by=data.ref("sys_user", assigned if resolved else -1),
            close_code="Solved (Permanently)" if resolved else "",
        )
    elif table == "problem":
        row.update(
            resolved_at=sn_datetime(resolved),
            known_error="true" if i % 4 == 0 else "false",
            cause_notes="Capacity limit reached" if resolved else "",
        )
    elif table == "change_request":
        kind = ("normal", "standard", "standard", "emergency")[i % 4]
        start = cols["opened"][i] + 2 * 86400
        row.update(
            type=kind,
            risk=("Low", "Moderate", "High")[i % 3],
            start_date=sn_datetime(start),
            end_date=sn_datetime(start + 4 * 3600),
            phase="requested"
            if state == "-5"
            else "completed"
            if closed_flag
            else "implementation",
            approval="approved" if state not in ("-5", "-4") else "requested",
        )
    else:
        row.update(
            requested_for=row["opened_by"],
            quantity="1",
            stage="complete" if closed_flag else "fulfillment",
        )
    return _complete(table, row)


def sla_row(data: ServiceNowData, i: int) -> dict[str, str]:
    cols = data.columns["incident"]
    priority = cols["priority"][i]
    opened, resolved = cols["opened"][i], cols["resolved"][i]
    planned = opened + int(SLA_HOURS[priority - 1] * 3600)
    breached = cols["made_sla"][i] == 0
    end = resolved or (data.anchor_ms // 1000)
    elapsed = max(0, end - opened)
    percentage = f"{100 * elapsed / max(1, planned - opened):.2f}"
    rng = random.Random(f"{data.org.seed}:sla:{i}")
    row = {
        "sys_id": data.tables["task_sla"].sys_id(i),
        "task": data.tables["incident"].sys_id(i),
        "sla": data.ref("contract_sla", priority - 1),
        "stage": "completed" if resolved else ("paused" if rng.random() < 0.05 else "in_progress"),
        "has_breached": "true" if breached else "false",
        "active": "false" if resolved else "true",
        "start_time": sn_datetime(opened),
        "end_time": sn_datetime(resolved),
        "planned_end_time": sn_datetime(planned),
        "percentage": percentage,
        "business_percentage": percentage,
        "sys_created_on": sn_datetime(opened),
        "sys_created_by": "system",
        "sys_updated_on": sn_datetime(cols["updated"][i]),
        "sys_updated_by": "system",
        "sys_mod_count": "3" if resolved else "1",
    }
    return _complete("task_sla", row)


def _complete(table: str, row: dict[str, str]) -> dict[str, str]:
    """Every field of the table present, empty where the ticket has no value."""
    for name in TABLES[table]:
        row.setdefault(name, "")
    return row
