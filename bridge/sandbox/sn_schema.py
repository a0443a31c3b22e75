"""The ServiceNow tables the sandbox serves: field types, choice lists, display fields.

Types: `s` string, `r:<table>` reference, `dt` datetime, `d` date, `b` boolean, `i` integer,
`c:<choices>` choice, `j` journal (write-only from the Table API's point of view), `dur` duration.

`TABLES` is the customised instance; `schema(custom=False)` drops the `CUSTOM` columns, which
a stock instance does not have.
"""

from __future__ import annotations

CHOICES: dict[str, dict[str, str]] = {
    "priority": {
        "1": "1 - Critical",
        "2": "2 - High",
        "3": "3 - Moderate",
        "4": "4 - Low",
        "5": "5 - Planning",
    },
    "impact": {"1": "1 - High", "2": "2 - Medium", "3": "3 - Low"},
    "incident_state": {
        "1": "New",
        "2": "In Progress",
        "3": "On Hold",
        "6": "Resolved",
        "7": "Closed",
        "8": "Canceled",
        # a choice merged from a German instance: closed tickets some rows still carry
        "9": "Geschlossen",
    },
    "problem_state": {
        "101": "New",
        "102": "Assess",
        "103": "Root Cause Analysis",
        "104": "Fix in Progress",
        "106": "Resolved",
        "107": "Closed",
        # the old problem state model, still on problems closed before the upgrade
        "4": "Closed/Resolved",
    },
    "change_state": {
        "-5": "New",
        "-4": "Assess",
        "-3": "Authorize",
        "-2": "Scheduled",
        "-1": "Implement",
        "0": "Review",
        "3": "Closed",
        "4": "Canceled",
    },
    "ritm_state": {
        "-5": "Pending",
        "1": "Open",
        "2": "Work in Progress",
        "3": "Closed Complete",
        "4": "Closed Incomplete",
        "7": "Closed Skipped",
    },
    "project_state": {
        "-5": "Pending",
        "1": "Open",
        "2": "Work in Progress",
        "3": "Closed Complete",
        "4": "Closed Incomplete",
    },
    "phase": {
        "initiating": "Initiating",
        "planning": "Planning",
        "executing": "Executing",
        "delivering": "Delivering",
        "closing": "Closing",
    },
    "change_type": {"normal": "Normal", "standard": "Standard", "emergency": "Emergency"},
    "sla_stage": {
        "in_progress": "In progress",
        "completed": "Completed",
        "paused": "Paused",
        "cancelled": "Cancelled",
    },
    "workflow_state": {
        "draft": "Draft",
        "review": "Review",
        "published": "Published",
        "pending_retirement": "Pending retirement",
        "retired": "Retired",
        "outdated": "Outdated",
    },
    "approval": {
        "not requested": "Not Yet Requested",
        "requested": "Requested",
        "approved": "Approved",
        "rejected": "Rejected",
        "cancelled": "Cancelled",
        "not_required": "No Longer Required",
    },
    "operational_status": {
        "1": "Operational",
        "2": "Non-Operational",
        "3": "Repair in Progress",
        "5": "Ready",
        "6": "Retired",
    },
}

_SYS = {
    "sys_id": "s",
    "sys_created_on": "dt",
    "sys_created_by": "s",
    "sys_updated_on": "dt",
    "sys_updated_by": "s",
    "sys_mod_count": "i",
}
_TASK = {
    **_SYS,
    "number": "s",
    "short_description": "s",
    "description": "s",
    "priority": "c:priority",
    "impact": "c:impact",
    "urgency": "c:impact",
    "active": "b",
    "assignment_group": "r:sys_user_group",
    "assigned_to": "r:sys_user",
    "opened_by": "r:sys_user",
    "opened_at": "dt",
    "closed_at": "dt",
    "closed_by": "r:sys_user",
    "business_service": "r:cmdb_ci_service",
    "cmdb_ci": "s",
    "made_sla": "b",
    "time_worked": "dur",
    "work_notes": "j",
    "comments": "j",
    "close_notes": "s",
    "category": "s",
    "sys_class_name": "s",
    "sys_domain": "r:sys_user_group",
    "reassignment_count": "i",
    "escalation": "i",
}

TABLES: dict[str, dict[str, str]] = {
    "incident": {
        **_TASK,
        "state": "c:incident_state",
        "incident_state": "c:incident_state",
        "caller_id": "r:sys_user",
        "resolved_at": "dt",
        "resolved_by": "r:sys_user",
        "close_code": "s",
        "severity": "c:impact",
    },
    "problem": {
        **_TASK,
        "state": "c:problem_state",
        "resolved_at": "dt",
        "known_error": "b",
        "cause_notes": "s",
    },
    "change_request": {
        **_TASK,
        "state": "c:change_state",
        "type": "c:change_type",
        "risk": "s",
        "start_date": "dt",
        "end_date": "dt",
        "phase": "s",
        "approval": "s",
    },
    "sc_req_item": {
        **_TASK,
        "state": "c:ritm_state",
        "requested_for": "r:sys_user",
        "stage": "s",
        "quantity": "i",
    },
    "task_sla": {
        **_SYS,
        "task": "r:task",
        "sla": "r:contract_sla",
        "stage": "c:sla_stage",
        "has_breached": "b",
        "active": "b",
        "start_time": "dt",
        "end_time": "dt",
        "planned_end_time": "dt",
        "percentage": "s",
        "business_percentage": "s",
    },
    "contract_sla": {
        **_SYS,
        "name": "s",
        "duration": "dur",
        "target": "s",
        "collection": "s",
        "active": "b",
    },
    "sys_user": {
        **_SYS,
        "user_name": "s",
        "first_name": "s",
        "last_name": "s",
        "name": "s",
        "email": "s",
        "active": "b",
        "title": "s",
        "time_zone": "s",
    },
    "sys_user_group": {
        **_SYS,
        "name": "s",
        "description": "s",
        "manager": "r:sys_user",
        "email": "s",
        "active": "b",
        "type": "s",
    },
    "cmdb_ci_service": {
        **_SYS,
        "name": "s",
        "u_aliases": "s",
        "support_group": "r:sys_user_group",
        "managed_by": "r:sys_user",
        "owned_by": "r:sys_user",
        "busines_criticality": "s",
        "u_support_hours": "s",
        "u_sla": "s",
        "operational_status": "c:operational_status",
        "service_classification": "s",
        "sys_class_name": "s",
    },
    "pm_project": {
        **_SYS,
        "number": "s",
        "short_description": "s",
        "description": "s",
        "u_service": "r:cmdb_ci_service",
        "business_service": "r:cmdb_ci_service",
        "u_jira_project": "s",
        "u_go_live": "d",
        "u_service_manager": "r:sys_user",
        "project_manager": "r:sys_user",
        "phase": "c:phase",
        "state": "c:project_state",
        "percent_complete": "s",
        "start_date": "dt",
        "end_date": "dt",
        "u_smo_gate_status": "s",
        "approval": "c:approval",
        "active": "b",
        "work_notes": "j",
        "sys_class_name": "s",
    },
    "kb_knowledge_base": {
        **_SYS,
        "title": "s",
        "description": "s",
        "owner": "r:sys_user",
        "active": "b",
    },
    "kb_category": {
        **_SYS,
        "label": "s",
        "kb_knowledge_base": "r:kb_knowledge_base",
        "active": "b",
    },
    "kb_knowledge": {
        **_SYS,
        "number": "s",
        "short_description": "s",
        "text": "s",
        "meta": "s",
        "kb_knowledge_base": "r:kb_knowledge_base",
        "kb_category": "r:kb_category",
        "workflow_state": "c:workflow_state",
        "u_smo_correlation": "s",
        "author": "r:sys_user",
        "cmdb_ci": "r:cmdb_ci_service",
        "valid_to": "d",
        "active": "b",
        "sys_view_count": "i",
    },
    "sysapproval_approver": {
        **_SYS,
        "sysapproval": "r:task",
        "document_id": "s",
        "source_table": "s",
        "approver": "r:sys_user",
        "state": "c:approval",
        "comments": "j",
        "due_date": "dt",
    },
    # -- the transition's deliverables: project tasks and their (group) approvals ----------
    # pm_project_task extends planned_task: `parent` is the project (or a parent task),
    # `top_task` the project; planned_task's states.
    "pm_project_task": {
        **_SYS,
        "number": "s",
        "short_description": "s",
        "description": "s",
        "parent": "r:pm_project",
        "top_task": "r:pm_project",
        "state": "c:project_state",
        "assignment_group": "r:sys_user_group",
        "assigned_to": "r:sys_user",
        "approval": "c:approval",
        "active": "b",
        "closed_at": "dt",
        "work_notes": "j",
        "sys_class_name": "s",
    },
    # a group's approval of a task (it extends task): `parent` the task approved,
    # `assignment_group` the approving group, `approval` its state
    "sysapproval_group": {
        **_SYS,
        "parent": "r:task",
        "assignment_group": "r:sys_user_group",
        "approval": "c:approval",
        "short_description": "s",
        "sys_class_name": "s",
    },
    # internal_type refers to sys_glide_object by name (`string`, `reference`, ...)
    "sys_dictionary": {
        **_SYS,
        "name": "s",
        "element": "s",
        "internal_type": "r:sys_glide_object",
        "column_label": "s",
        "reference": "s",
        "max_length": "i",
        "active": "b",
    },
    "sys_journal_field": {**_SYS, "element": "s", "element_id": "s", "name": "s", "value": "s"},
    "sys_audit_delete": {
        **_SYS,
        "tablename": "s",
        "documentkey": "s",
        "display_value": "s",
        "payload": "s",
    },
}

# The field a reference to the table shows as its display value.
DISPLAY_FIELD = {
    "sys_user": "name",
    "sys_user_group": "name",
    "cmdb_ci_service": "name",
    "contract_sla": "name",
    "kb_knowledge_base": "title",
    "kb_category": "label",
    "task": "number",
    "incident": "number",
    "problem": "number",
    "change_request": "number",
    "sc_req_item": "number",
    "pm_project": "number",
    "pm_project_task": "number",
    "sysapproval_group": "sys_id",
    "kb_knowledge": "number",
    "sys_journal_field": "element",
    "sys_audit_delete": "documentkey",
    "task_sla": "sys_id",
    "sysapproval_approver": "sys_id",
    "sys_dictionary": "element",
}
NUMBER_PREFIX = {
    "incident": "INC",
    "problem": "PRB",
    "change_request": "CHG",
    "sc_req_item": "RITM",
    "pm_project": "PRJ",
    "pm_project_task": "PRJTASK",
    "kb_knowledge": "KB",
}
TICKET_TABLES = ("incident", "problem", "change_request", "sc_req_item")

# Columns the customer added (`u_`): on the customised instance only.
CUSTOM: dict[str, tuple[str, ...]] = {
    "pm_project": (
        "u_service",
        "u_jira_project",
        "u_go_live",
        "u_service_manager",
        "u_smo_gate_status",
    ),
    "cmdb_ci_service": ("u_aliases", "u_support_hours", "u_sla"),
    "kb_knowledge": ("u_smo_correlation",),
}


def schema(custom: bool) -> dict[str, dict[str, str]]:
    """Table -> field -> type, with the customer's columns or without them (stock)."""
    if custom:
        return TABLES
    return {
        name: {f: kind for f, kind in fields.items() if f not in CUSTOM.get(name, ())}
        for name, fields in TABLES.items()
    }


TASK_FIELDS = frozenset(_TASK)
# choice fields whose values are numbers
NUMERIC_CHOICES = frozenset(
    ("priority", "impact", "urgency", "severity", "state", "incident_state")
)
# sys_dictionary's internal_type of each sandbox type
INTERNAL_TYPES = {
    "s": "string",
    "dt": "glide_date_time",
    "d": "glide_date",
    "b": "boolean",
    "i": "integer",
    "j": "journal_input",
    "dur": "glide_duration",
}
LABELS = {
    "sys_id": "Sys ID",
    "busines_criticality": "Business criticality",
    "u_service": "Service",
    "u_jira_project": "Jira project",
    "u_go_live": "Go-live",
    "u_service_manager": "Service manager",
    "u_smo_gate_status": "SMO gate status",
    "u_aliases": "Aliases",
    "u_support_hours": "Support hours",
    "u_sla": "SLA",
    "u_smo_correlation": "SMO correlation",
    "sysapproval": "Approval for",
    "cmdb_ci": "Configuration item",
    "kb_knowledge_base": "Knowledge base",
    "kb_category": "Category",
}
TABLE_LABELS = {
    "pm_project": "Project",
    "cmdb_ci_service": "Business Service",
    "kb_knowledge": "Knowledge",
    "sc_req_item": "Requested Item",
    "change_request": "Change Request",
    "sysapproval_approver": "Approval",
    "pm_project_task": "Project Task",
    "sysapproval_group": "Group approval",
    "sys_dictionary": "Dictionary Entry",
}


def label(element: str) -> str:
    """A column's label as the dictionary shows it."""
    found = LABELS.get(element)
    if found:
        return found
    words = element.removeprefix("sys_").replace("_", " ")
    return words[:1].upper() + words[1:]
