"""Jira issue fields: one getter per field id, and the `fields` parameter that selects them.

A getter takes the request's `Renderer` and an issue handle and returns the field's JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bridge.sandbox.clock import jira_date, jira_timestamp
from bridge.sandbox.jira_data import PRIORITIES, RESOLUTIONS, STATUS_CATEGORIES, TYPE_NAMES
from bridge.sandbox.jira_fields import CUSTOM_IDS, NAVIGABLE_EXCLUDED, SYSTEM_FIELDS, field_list
from bridge.sandbox.org import GROUPS, stable_hex
from bridge.sandbox.tickets import SLA_HOURS

if TYPE_CHECKING:
    from bridge.sandbox.jira_render import Renderer


def duration_text(seconds: int) -> str:
    hours, minutes = seconds // 3600, seconds % 3600 // 60
    return (
        " ".join(p for p in (f"{hours}h" if hours else "", f"{minutes}m" if minutes else "") if p)
        or "0m"
    )


def _status(r: Renderer, h: int) -> dict[str, Any]:
    sid, name, category = r.store.data.status(h)
    body: dict[str, Any] = {
        "self": f"{r.api}/status/{sid}",
        "description": "",
        "iconUrl": f"{r.base}/images/icons/statuses/generic.png",
        "name": name,
        "id": sid,
    }
    if r.store.status_categories:
        cid, cname, colour = STATUS_CATEGORIES[category]
        body["statusCategory"] = {
            "self": f"{r.api}/statuscategory/{cid}",
            "id": cid,
            "key": category,
            "colorName": colour,
            "name": cname,
        }
    return body


def _priority(r: Renderer, h: int) -> dict[str, Any]:
    index = r.store.data.cols["priority"][h]
    return {
        "self": f"{r.api}/priority/{index + 1}",
        "iconUrl": f"{r.base}/images/icons/priorities/{PRIORITIES[index].lower()}.svg",
        "name": PRIORITIES[index],
        "id": str(index + 1),
    }


def _resolution(r: Renderer, h: int) -> dict[str, Any] | None:
    index = r.store.data.cols["resolution"][h]
    if index < 0:
        return None
    rid, name = RESOLUTIONS[index]
    return {"self": f"{r.api}/resolution/{rid}", "id": rid, "description": "", "name": name}


def _ms_field(column: str) -> Callable[[Renderer, int], str | None]:
    def get(r: Renderer, h: int) -> str | None:
        value = r.store.data.cols[column][h]
        return jira_timestamp(value, r.store.zone) if value else None

    return get


def _person_field(column: str) -> Callable[[Renderer, int], dict[str, Any] | None]:
    def get(r: Renderer, h: int) -> dict[str, Any] | None:
        value = r.store.data.cols[column][h]
        return r.user(value) if value >= 0 else None

    return get


def _custom(name: str) -> Callable[[Renderer, int], Any]:
    def get(r: Renderer, h: int) -> Any:
        extra = r.store.data.extra.get(h)
        value = extra.custom.get(name) if extra else None
        if value is None and name == "service":
            index = r.store.data.cols["service"][h]
            return r.store.data.org.services[index].name if index >= 0 else None
        if isinstance(value, date):
            return jira_date(value)
        if name in ("service_manager", "approver", "approved_by"):
            return r.user(value) if value is not None else None
        return value

    return get


def _team(r: Renderer, h: int) -> dict[str, Any] | None:
    team = r.store.data.cols["team"][h]
    if team < 0:
        return None
    return {
        "self": f"{r.api}/customFieldOption/{10100 + team}",
        "value": GROUPS[team],
        "id": str(10100 + team),
    }


def _atlassian_team(r: Renderer, h: int) -> dict[str, Any] | None:
    """Cloud's stock Team field, set on a third of the issues to a squad of the team."""
    team = r.store.data.cols["team"][h]
    if team < 0 or h % 3:
        return None
    name = f"{GROUPS[team]} squad"
    return {
        "id": stable_hex("atlassian-team", team, length=32),
        "name": name,
        "avatarUrl": "",
        "isVisible": True,
        "title": name,
        "isShared": True,
    }


def _moment(ms: int, r: Renderer) -> dict[str, Any]:
    """A JSM SLA time: ISO, Jira, friendly and epoch forms."""
    text = jira_timestamp(ms, r.store.zone)
    local = datetime.fromtimestamp(ms / 1000, r.store.zone)
    return {
        "iso8601": text[:19] + text[23:],
        "jira": text,
        "friendly": f"{local:%d/%b/%y %I:%M %p}",
        "epochMillis": ms,
    }


def _duration(ms: int) -> dict[str, Any]:
    return {"millis": ms, "friendly": duration_text(abs(ms) // 1000)}


def _sla(r: Renderer, h: int) -> dict[str, Any] | None:
    """Jira Service Management's "Time to resolution": one cycle from creation, completed
    at resolution, else ongoing at the end of the seeded world."""
    cols = r.store.data.cols
    breached = cols["breached"][h]
    if breached < 0:
        return None
    created, resolved = cols["created"][h], cols["resolved"][h]
    goal = int(SLA_HOURS[cols["priority"][h]] * 3_600_000)
    end = resolved or r.store.data.anchor_ms
    cycle: dict[str, Any] = {
        "startTime": _moment(created, r),
        "breachTime": _moment(created + goal, r),
        "breached": bool(breached),
        "goalDuration": _duration(goal),
        "elapsedTime": _duration(end - created),
        "remainingTime": _duration(goal - (end - created)),
    }
    body: dict[str, Any] = {
        "id": "2",
        "name": "Time to resolution",
        "_links": {"self": f"{r.base}/rest/servicedeskapi/request/{10000 + h}/sla/2"},
        "completedCycles": [],
    }
    if resolved:
        body["completedCycles"].append({**cycle, "stopTime": _moment(resolved, r)})
    else:
        body["ongoingCycle"] = {**cycle, "paused": False, "withinCalendarHours": False}
    return body


def _comment_field(r: Renderer, h: int) -> dict[str, Any]:
    comments = [r.comment(c) for c in r.store.comments(h)]
    body: dict[str, Any] = {
        "comments": comments,
        "maxResults": len(comments),
        "total": len(comments),
        "startAt": 0,
    }
    if r.cloud:
        body["self"] = f"{r.api}/issue/{10000 + h}/comment"
    return body


def _worklog_field(r: Renderer, h: int) -> dict[str, Any]:
    logs = r.worklogs(h)
    return {"startAt": 0, "maxResults": 20, "total": len(logs), "worklogs": logs}


def _spent(r: Renderer, h: int) -> int | None:
    return r.store.data.cols["spent"][h] or None


def _due(r: Renderer, h: int) -> str | None:
    days = r.store.data.cols["due"][h]
    return (date(1970, 1, 1) + timedelta(days=days)).isoformat() if days >= 0 else None


def _fix_versions(r: Renderer, h: int) -> list[dict[str, Any]]:
    extra = r.store.data.extra.get(h)
    project = r.store.data.project_of(h)
    if not extra or not extra.fix_version:
        return []
    return [r.version_body(v, project) for v in project.versions if v.id == extra.fix_version]


def _parent(r: Renderer, h: int) -> dict[str, Any] | None:
    extra = r.store.data.extra.get(h)
    if not extra or extra.parent is None:
        return None
    p = extra.parent
    return {
        "id": str(10000 + p),
        "key": r.store.data.key_of(p),
        "self": f"{r.api}/issue/{10000 + p}",
        "fields": {
            "summary": r.summary(p),
            "status": _status(r, p),
            "priority": _priority(r, p),
            "issuetype": r.issue_type(TYPE_NAMES[r.store.data.cols["type"][p]]),
        },
    }


def _points(r: Renderer, h: int) -> float | None:
    value = r.store.data.cols["points"][h]
    return float(value) if value >= 0 else None


GETTERS: dict[str, Callable[[Renderer, int], Any]] = {
    "statuscategorychangedate": _ms_field("updated"),
    "issuetype": lambda r, h: r.issue_type(TYPE_NAMES[r.store.data.cols["type"][h]]),
    "parent": _parent,
    "timespent": _spent,
    "project": lambda r, h: r.project_ref(r.store.data.project_of(h)),
    "fixVersions": _fix_versions,
    "aggregatetimespent": _spent,
    "resolution": _resolution,
    "resolutiondate": _ms_field("resolved"),
    "workratio": lambda r, h: -1,
    "lastViewed": lambda r, h: None,
    "watches": lambda r, h: {
        "self": f"{r.api}/issue/{r.store.data.key_of(h)}/watchers",
        "watchCount": 1,
        "isWatching": False,
    },
    "created": _ms_field("created"),
    "priority": _priority,
    "labels": lambda r, h: list(r.store.data.extra[h].labels) if h in r.store.data.extra else [],
    "timeestimate": lambda r, h: None,
    "aggregatetimeoriginalestimate": lambda r, h: None,
    "versions": lambda r, h: [],
    "issuelinks": lambda r, h: [],
    "assignee": _person_field("assignee"),
    "updated": _ms_field("updated"),
    "status": _status,
    "components": lambda r, h: [],
    "timeoriginalestimate": lambda r, h: None,
    "description": lambda r, h: r.description(h),
    "timetracking": lambda r, h: (
        {
            "timeSpent": duration_text(r.store.data.cols["spent"][h]),
            "timeSpentSeconds": r.store.data.cols["spent"][h],
        }
        if r.store.data.cols["spent"][h] > 0
        else {}
    ),
    "security": lambda r, h: None,
    "attachment": lambda r, h: [],
    "aggregatetimeestimate": lambda r, h: None,
    "summary": lambda r, h: r.summary(h),
    "creator": _person_field("reporter"),
    "subtasks": lambda r, h: [],
    "reporter": _person_field("reporter"),
    "aggregateprogress": lambda r, h: {
        "progress": r.store.data.cols["spent"][h] or 0,
        "total": r.store.data.cols["spent"][h] or 0,
    },
    "environment": lambda r, h: None,
    "duedate": _due,
    "progress": lambda r, h: {
        "progress": r.store.data.cols["spent"][h] or 0,
        "total": r.store.data.cols["spent"][h] or 0,
    },
    "votes": lambda r, h: {
        "self": f"{r.api}/issue/{r.store.data.key_of(h)}/votes",
        "votes": 0,
        "hasVoted": False,
    },
    "comment": _comment_field,
    "worklog": _worklog_field,
    "customfield_10016": _points,
    "customfield_10042": _custom("go_live"),
    "customfield_10043": _custom("service"),
    "customfield_10044": _team,
    "customfield_10045": _custom("service_manager"),
    "customfield_10046": _custom("approver"),
    "customfield_10047": _custom("approved_by"),
    "customfield_10048": _custom("aliases"),
    "customfield_10050": _sla,
    "customfield_10001": _atlassian_team,
}
assert set(GETTERS) <= {f for f, *_ in SYSTEM_FIELDS} | CUSTOM_IDS


def wanted_fields(tokens: list[str], default: str, cloud: bool) -> set[str] | None:
    """Jira's `fields` parameter: `*all`, `*navigable`, ids, and `-id` exclusions."""
    names = [t.strip() for token in tokens for t in token.split(",") if t.strip()] or [default]
    every = {f["id"] for f in field_list(cloud)} & set(GETTERS)
    chosen: set[str] = set()
    for name in names:
        if name == "*all":
            chosen |= every
        elif name == "*navigable":
            chosen |= every - NAVIGABLE_EXCLUDED
        elif not name.startswith("-"):
            chosen.add(name)
    for name in names:
        if name.startswith("-"):
            chosen.discard(name[1:])
    chosen.discard("id")
    chosen.discard("key")
    return None if chosen == every else chosen
