"""`/rest/api/N/field`: Jira's system fields and the custom fields of docs/data-contract.md."""

from __future__ import annotations

from typing import Any

# id, name, schema type, items type (arrays), navigable
SYSTEM_FIELDS: tuple[tuple[str, str, str, str | None, bool], ...] = (
    ("statuscategorychangedate", "Status Category Changed", "datetime", None, True),
    ("issuetype", "Issue Type", "issuetype", None, True),
    ("parent", "Parent", "issuelink", None, True),
    ("timespent", "Time Spent", "number", None, True),
    ("project", "Project", "project", None, True),
    ("fixVersions", "Fix versions", "array", "version", True),
    ("aggregatetimespent", "Σ Time Spent", "number", None, True),
    ("resolution", "Resolution", "resolution", None, True),
    ("resolutiondate", "Resolved", "datetime", None, True),
    ("workratio", "Work Ratio", "number", None, True),
    ("lastViewed", "Last Viewed", "datetime", None, True),
    ("watches", "Watchers", "watches", None, True),
    ("created", "Created", "datetime", None, True),
    ("priority", "Priority", "priority", None, True),
    ("labels", "Labels", "array", "string", True),
    ("timeestimate", "Remaining Estimate", "number", None, True),
    ("aggregatetimeoriginalestimate", "Σ Original Estimate", "number", None, True),
    ("versions", "Affects versions", "array", "version", True),
    ("issuelinks", "Linked Issues", "array", "issuelinks", True),
    ("assignee", "Assignee", "user", None, True),
    ("updated", "Updated", "datetime", None, True),
    ("status", "Status", "status", None, True),
    ("components", "Components", "array", "component", True),
    ("timeoriginalestimate", "Original estimate", "number", None, True),
    ("description", "Description", "string", None, True),
    ("timetracking", "Time tracking", "timetracking", None, False),
    ("security", "Security Level", "securitylevel", None, True),
    ("attachment", "Attachment", "array", "attachment", False),
    ("aggregatetimeestimate", "Σ Remaining Estimate", "number", None, True),
    ("summary", "Summary", "string", None, True),
    ("creator", "Creator", "user", None, True),
    ("subtasks", "Sub-tasks", "array", "issuelinks", True),
    ("reporter", "Reporter", "user", None, True),
    ("aggregateprogress", "Σ Progress", "progress", None, True),
    ("environment", "Environment", "string", None, True),
    ("duedate", "Due date", "date", None, True),
    ("progress", "Progress", "progress", None, True),
    ("votes", "Votes", "votes", None, True),
    ("comment", "Comment", "comments-page", None, False),
    ("worklog", "Log Work", "array", "worklog", False),
)
NAVIGABLE_EXCLUDED = {f for f, _, _, _, nav in SYSTEM_FIELDS if not nav}

_PLUGIN = "com.atlassian.jira.plugin.system.customfieldtypes:"
# number, name, schema type, items, custom type key, Cloud only. As on real instances: names
# in another case than the mappings write them ("Story points", "Service Manager"), Cloud's
# stock Atlassian "Team" next to the admin's "Team" select list, and Jira Service
# Management's SLA field instead of a yes/no option.
CUSTOM_FIELDS: tuple[tuple[int, str, str, str | None, str, bool], ...] = (
    (10001, "Team", "team", None, "com.atlassian.teams:rm-teams-custom-field-team", True),
    (10016, "Story points", "number", None, _PLUGIN + "float", False),
    (10042, "Go-live date", "date", None, _PLUGIN + "datepicker", False),
    (10043, "Service", "string", None, _PLUGIN + "textfield", False),
    (10044, "Team", "option", None, _PLUGIN + "select", False),
    (10045, "Service Manager", "user", None, _PLUGIN + "userpicker", False),
    (10046, "Approver", "user", None, _PLUGIN + "userpicker", False),
    (10047, "Approved by", "user", None, _PLUGIN + "userpicker", False),
    (10048, "Service aliases", "array", "string", _PLUGIN + "labels", False),
    (
        10050,
        "Time to resolution",
        "sd-servicelevelagreement",
        None,
        "com.atlassian.servicedesk:sd-sla-field",
        False,
    ),
)
CUSTOM_IDS = frozenset(f"customfield_{n}" for n, *_ in CUSTOM_FIELDS)


def field_list(cloud: bool) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    for fid, name, type_, items, navigable in SYSTEM_FIELDS:
        schema: dict[str, Any] = {"type": type_, "system": fid}
        if items:
            schema["items"] = items
        entry: dict[str, Any] = {
            "id": fid,
            "key": fid,
            "name": name,
            "custom": False,
            "orderable": fid not in ("created", "updated", "creator"),
            "navigable": navigable,
            "searchable": True,
            "clauseNames": [fid],
            "schema": schema,
        }
        if not cloud:
            del entry["key"]
        fields.append(entry)
    for number, name, type_, items, custom, cloud_only in CUSTOM_FIELDS:
        if cloud_only and not cloud:
            continue
        schema = {"type": type_, "custom": custom, "customId": number}
        if items:
            schema["items"] = items
        entry = {
            "id": f"customfield_{number}",
            "key": f"customfield_{number}",
            "name": name,
            "untranslatedName": name,
            "custom": True,
            "orderable": True,
            "navigable": True,
            "searchable": True,
            "clauseNames": [f"cf[{number}]", name],
            "schema": schema,
        }
        if not cloud:
            del entry["key"]
            del entry["untranslatedName"]
        fields.append(entry)
    return fields
