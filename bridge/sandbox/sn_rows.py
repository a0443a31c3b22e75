"""Value-mode rows of the generated ServiceNow tables, built from ticket columns on demand."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from bridge.sandbox.clock import sn_datetime, sn_duration
from bridge.sandbox.sn_schema import NUMBER_PREFIX
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


# a closed state some old rows carry instead of `closed`: a choice merged from a German
# instance ("Geschlossen"), the problem table's pre-upgrade "Closed/Resolved"
LEGACY_CLOSED = {"incident": "9", "problem": "4"}


def state_list(table: str) -> tuple[str | None, ...]:
    """The table's states in the order the `state` column indexes them."""
    opens, resolved, closed, canceled = STATES[table]
    return (*opens, resolved, closed, canceled, LEGACY_CLOSED.get(table))


def legacy_closed(i: int) -> bool:
    """Whether closed ticket `i` keeps a legacy state (about 4 %; no RNG draw, so the rest
    of the seeded world stays as it was)."""
    return (i * 2654435761) % 997 < 40


_CLOSED = {
    "incident": ("7", "8", "9"),
    "problem": ("107", "4"),
    "change_request": ("3", "4"),
    "sc_req_item": ("3", "4"),
}


def ticket_rows(data: ServiceNowData, table: str) -> Callable[[int], dict[str, str]]:
    """The row builder of a ticket table: index -> value-mode row.

    Runs for every record served, so everything that depends only on the table or on a
    small enum (names, reference sys_ids, states, texts) is looked up, not formatted."""
    cols = data.columns[table]
    org = data.org
    seed = org.seed
    sys_id = data.tables[table].sys_id
    fields = data.tables[table].fields
    # unset fields left empty as on a live instance; the customised instance keeps the
    # dense rows the existing tests were written against
    sparse = 0 if data.custom_columns else 1
    prefix = NUMBER_PREFIX[table]
    states = [s or "" for s in state_list(table)]
    closed_states = [s in _CLOSED[table] for s in states]
    texts = _TEXT[table]
    services = [s.name for s in org.services] + ["Workplace"]  # [-1]: no service
    summaries = {
        (k, svc): (
            text.format(svc=svc),
            f"{text.format(svc=svc)}. Reported through the service portal.",
        )
        for k, text in enumerate(texts)
        for svc in services
    }
    users = [p.user_name for p in org.people]
    assignees = [*users, "system"]  # [-1]: unassigned
    user_ids = [data.ref("sys_user", k) for k in range(len(org.people))] + [""]
    group_ids = [data.ref("sys_user_group", k) for k in range(len(data.tables["sys_user_group"]))]
    service_ids = [data.ref("cmdb_ci_service", k) for k in range(len(org.services))] + [""]
    numbers = [str(n) for n in range(16)]
    urgencies = [str(min(3, 1 + (p - 1) // 2)) for p in range(16)]
    (
        c_state, c_service, c_priority, c_assigned, c_resolved, c_closed, c_impact, c_group,
        c_caller, c_opened, c_made_sla, c_worked, c_category, c_updated,
    ) = (
        cols[name]
        for name in (
            "state", "service", "priority", "assigned", "resolved", "closed", "impact", "group",
            "caller", "opened", "made_sla", "worked", "category", "updated",
        )
    )  # fmt: skip
    missing: list[str] | None = None

    def build(i: int) -> dict[str, str]:
        nonlocal missing
        state_index = c_state[i]
        state = states[state_index]
        service = c_service[i]
        summary, description = summaries[((i * 7 + seed) % len(texts), services[service])]
        priority, assigned = c_priority[i], c_assigned[i]
        resolved, closed = c_resolved[i], c_closed[i]
        closed_flag = closed_states[state_index]
        opened = sn_datetime(c_opened[i])
        caller_id = user_ids[c_caller[i]]
        row = {
            "sys_id": sys_id(i),
            "number": f"{prefix}{10001 + i:07d}",
            "short_description": summary,
            "description": description,
            "priority": numbers[priority],
            "impact": numbers[c_impact[i]],
            "urgency": urgencies[priority],
            "state": state,
            "active": "false" if closed_flag or (resolved and table != "incident") else "true",
            "assignment_group": group_ids[c_group[i]],
            "assigned_to": user_ids[assigned],
            "opened_by": caller_id,
            "opened_at": opened,
            "closed_at": sn_datetime(closed),
            "closed_by": user_ids[assigned if closed else -1],
            "business_service": service_ids[service],
            "cmdb_ci": "",
            # unset fields are empty strings: SLA not evaluated, no time recorded
            "made_sla": "" if sparse and i % 13 == 7 else "true" if c_made_sla[i] else "false",
            "time_worked": sn_duration(c_worked[i]) if i % 4 or not sparse else "",
            "work_notes": "",
            "comments": "",
            "close_notes": "Resolved, see work notes." if resolved else "",
            "category": CATEGORIES[c_category[i]],
            "sys_class_name": table,
            "sys_domain": "global",
            "reassignment_count": numbers[i % 3],
            "escalation": "0",
            "sys_created_on": opened,
            "sys_created_by": users[c_caller[i]],
            "sys_updated_on": sn_datetime(c_updated[i]),
            "sys_updated_by": assignees[assigned],
            "sys_mod_count": numbers[2 + i % 7 + (3 if resolved else 0)],
        }
        if table == "incident":
            row.update(
                incident_state=state,
                caller_id=caller_id,
                resolved_at=sn_datetime(resolved),
                severity=row["impact"],
                resolved_by=user_ids[assigned if resolved else -1],
                close_code="Solved (Permanently)" if resolved and (i % 6 or not sparse) else "",
            )
        elif table == "problem":
            row.update(
                resolved_at=sn_datetime(resolved),
                known_error="true" if i % 4 == 0 else "false",
                cause_notes="Capacity limit reached" if resolved else "",
            )
        elif table == "change_request":
            kind = ("normal", "standard", "standard", "emergency")[i % 4]
            start = c_opened[i] + 2 * 86400
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
                requested_for=caller_id,
                quantity="1",
                stage="complete" if closed_flag else "fulfillment",
            )
        if missing is None:  # the same fields are missing from every row of the table
            missing = [name for name in fields if name not in row]
        for name in missing:
            row[name] = ""
        return row

    return build


def sla_rows(data: ServiceNowData) -> Callable[[int], dict[str, str]]:
    """The row builder of `task_sla`: index -> the SLA record of incident `index`."""
    cols = data.columns["incident"]
    c_priority, c_opened, c_resolved = cols["priority"], cols["opened"], cols["resolved"]
    c_made_sla, c_updated = cols["made_sla"], cols["updated"]
    sys_id, task_id = data.tables["task_sla"].sys_id, data.tables["incident"].sys_id
    slas = [data.ref("contract_sla", p) for p in range(len(SLA_HOURS))]
    planned_seconds = [int(hours * 3600) for hours in SLA_HOURS]
    seed, end_of_world = data.org.seed, data.anchor_ms // 1000

    def build(i: int) -> dict[str, str]:
        priority = c_priority[i]
        opened, resolved = c_opened[i], c_resolved[i]
        planned = opened + planned_seconds[priority - 1]
        elapsed = max(0, (resolved or end_of_world) - opened)
        percentage = f"{100 * elapsed / max(1, planned - opened):.2f}"
        created = sn_datetime(opened)
        return {
            "sys_id": sys_id(i),
            "task": task_id(i),
            "sla": slas[priority - 1],
            "stage": "completed" if resolved else _open_stage(seed, i),
            "has_breached": "false" if c_made_sla[i] else "true",
            "active": "false" if resolved else "true",
            "start_time": created,
            "end_time": sn_datetime(resolved),
            "planned_end_time": sn_datetime(planned),
            "percentage": percentage,
            "business_percentage": percentage,
            "sys_created_on": created,
            "sys_created_by": "system",
            "sys_updated_on": sn_datetime(c_updated[i]),
            "sys_updated_by": "system",
            "sys_mod_count": "3" if resolved else "1",
        }

    return build


def _open_stage(seed: int, i: int) -> str:
    """The stage of an open incident's SLA. Seeding a generator is slow, so only the SLAs of
    open incidents (a few percent) pay for it."""
    return "paused" if random.Random(f"{seed}:sla:{i}").random() < 0.05 else "in_progress"
