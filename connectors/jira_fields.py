"""Jira field names -> ids: the one rule by which the connector (which fields to request)
and the mappings (`fields["Team"]`) resolve a display name. Kept apart from the client
module so that the mapping layer can use it without loading the `jira` library."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from connectors.base import MappingDialect

#: Schema types whose values the mappings read as they come (text, numbers, dates, options,
#: users, lists, JSM SLA objects). Cloud's stock "Team" (type `team`) is not one of them.
_VALUE_TYPES = frozenset(
    {
        "string",
        "number",
        "date",
        "datetime",
        "option",
        "option-with-child",
        "array",
        "user",
        "group",
        "version",
        "sd-servicelevelagreement",
    }
)


def _id_rank(fid: str) -> tuple[int, int, str]:
    """Stock fields before custom ones, then the lowest number (the older field)."""
    number = fid.removeprefix("customfield_")
    if number == fid:
        return (0, 0, fid)
    return (1, int(number), fid) if number.isdigit() else (1, 1 << 62, fid)


def field_rank(field: Mapping[str, Any]) -> tuple[int, tuple[int, int, str]]:
    schema = field.get("schema")
    kind = schema.get("type") if isinstance(schema, dict) else None
    return (0 if kind in _VALUE_TYPES else 1, _id_rank(str(field["id"])))


def field_catalogue(fields: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """{display name: field id} from /rest/api/N/field entries: one id per exact name.

    This is the one rule by which the connector (which fields to ask for) and the
    mappings (`fields["Team"]`) resolve names. When several fields share a name (Cloud
    has a stock "Team" of type `team` next to an admin's "Team" select list) the winner
    is, in order: a field whose schema type the mappings read as is (`_VALUE_TYPES`),
    a stock field before a custom one, the lowest numeric id. Look names up with
    `resolve_field`, which adds the case-insensitive step.
    """
    best: dict[str, Mapping[str, Any]] = {}
    for field in fields:
        name, fid = field.get("name"), field.get("id")
        if not isinstance(name, str) or not isinstance(fid, str) or not name:
            continue
        held = best.get(name)
        if held is None or field_rank(field) < field_rank(held):
            best[name] = field
    return {name: str(field["id"]) for name, field in sorted(best.items())}


def resolve_field(catalogue: Mapping[str, str], name: str) -> str | None:
    """The id for `name`: the exact name first, else the one name equal ignoring case
    (several case variants: stock before custom, then the lowest numeric id)."""
    found = catalogue.get(name)
    if found is not None:
        return found
    folded = name.casefold()
    variants = [fid for other, fid in catalogue.items() if other.casefold() == folded]
    return min(variants, key=_id_rank) if variants else None


STREAMS = ("projects", "fields", "issues", "comments", "worklogs")
SYSTEM_FIELDS = (
    "summary", "description", "issuetype", "status", "priority", "resolution", "resolutiondate",
    "created", "updated", "duedate", "assignee", "reporter", "creator", "labels", "components",
    "fixVersions", "versions", "project", "parent", "subtasks", "issuelinks", "timespent",
    "timeestimate", "timeoriginalestimate", "aggregatetimespent", "aggregatetimeestimate",
    "aggregatetimeoriginalestimate", "timetracking", "worklog", "comment", "attachment", "votes",
    "watches", "environment", "security", "progress", "aggregateprogress", "workratio",
    "lastViewed", "statuscategorychangedate", "statusCategory", "sprint", "epic", "flagged",
)
#: docs/data-contract.md: the sandbox's ids, used until the instance's catalogue is bound
DEFAULT_CATALOGUE: dict[str, str] = {
    "Go-live date": "customfield_10042",
    "Service": "customfield_10043",
    "Team": "customfield_10044",
    "Story Points": "customfield_10016",
    "Service manager": "customfield_10045",
    "Approver": "customfield_10046",
    "Approved by": "customfield_10047",
    "Service aliases": "customfield_10048",
    "Time to resolution": "customfield_10050",
}

DIALECT = MappingDialect(
    kind="jira",
    label="Jira",
    streams=STREAMS,
    closed_streams=True,
    field_head="fields",
    system_fields=SYSTEM_FIELDS,
    custom_field=r"customfield_\d+",
    named_fields=True,
    default_catalogue=DEFAULT_CATALOGUE,
    catalogue_stream="fields",
    catalogue=field_catalogue,
    resolve=resolve_field,
)
