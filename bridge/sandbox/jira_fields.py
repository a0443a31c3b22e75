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
# number, name, schema type, items, custom type key
CUSTOM_FIELDS: tuple[tuple[int, str, str, str | None, str], ...] = (
    (10016, "Story Points", "number", None, _PLUGIN + "float"),
    (10042, "Go-live date", "date", None, _PLUGIN + "datepicker"),
    (10043, "Service", "string", None, _PLUGIN + "textfield"),
    (10044, "Team", "option", None, _PLUGIN + "select"),
    (10045, "Service manager", "user", None, _PLUGIN + "userpicker"),
    (10046, "Approver", "user", None, _PLUGIN + "userpicker"),
    (10047, "Approved by", "user", None, _PLUGIN + "userpicker"),
    (10048, "Service aliases", "array", "string", _PLUGIN + "labels"),
    (10049, "Time to resolution breached", "option", None, _PLUGIN + "select"),
)


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
    for number, name, type_, items, custom in CUSTOM_FIELDS:
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
