"""Jira JSON: issues, users, projects, versions, comments and fields, Cloud or Server flavour.

Shapes follow recorded Jira responses: ids as strings, `self` links, nulls where Jira sends
nulls, timestamps with the offset of the user's zone, descriptions and comment bodies in
Atlassian Document Format on v3 and as plain text on v2.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from bridge.sandbox.clock import jira_date, jira_timestamp
from bridge.sandbox.jira_data import (
    CATEGORIES,
    ISSUE_TYPES,
    PRIORITIES,
    RESOLUTIONS,
    STATUS_CATEGORIES,
    TYPE_NAMES,
    Project,
    Version,
)
from bridge.sandbox.jira_fields import NAVIGABLE_EXCLUDED, SYSTEM_FIELDS, field_list
from bridge.sandbox.jira_store import BOT, Comment, JiraStore
from bridge.sandbox.org import GROUPS, stable_hex

_SUMMARIES = {
    "Bug": (
        "{svc}: error when saving a form",
        "{svc}: page times out under load",
        "{svc}: wrong totals in the export",
        "{svc}: login loop on mobile",
    ),
    "Story": (
        "As a customer I can update my details in {svc}",
        "As an agent I can see the {svc} history",
        "{svc}: add audit trail",
    ),
    "Task": (
        "{svc}: renew certificate",
        "{svc}: patch the application servers",
        "{svc}: update the dependency list",
        "{svc}: clean up old jobs",
    ),
    "Incident": (
        "{svc} unavailable for some users",
        "{svc}: slow response times",
        "{svc}: failed overnight batch",
        "{svc}: error rate above threshold",
    ),
    "Service Request": (
        "Access to {svc} for a new starter",
        "{svc}: new distribution list",
        "{svc}: increase quota",
    ),
    "Problem": ("Recurring outages of {svc}", "{svc}: memory leak after deploys"),
    "Change": (
        "{svc}: upgrade to the next major version",
        "{svc}: firewall rule change",
        "{svc}: move to the new cluster",
    ),
}


def adf(text: str) -> dict[str, Any]:
    """Plain text as an Atlassian Document Format document, one paragraph per line."""
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
            for line in text.split("\n")
        ],
    }


def adf_text(document: Any) -> str:
    """The text inside an ADF document (or the string itself)."""
    if isinstance(document, str):
        return document
    if isinstance(document, dict):
        if document.get("type") == "text":
            return str(document.get("text", ""))
        parts = [adf_text(c) for c in document.get("content", [])]
        return ("\n" if document.get("type") == "doc" else "").join(parts)
    return ""


@dataclass
class Renderer:
    store: JiraStore
    base: str
    version: str  # "2" or "3"
    cloud: bool
    _users: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return f"{self.base}/rest/api/{self.version}"

    # -- people -------------------------------------------------------------------------
    def user(self, index: int | None) -> dict[str, Any] | None:
        if index is None or index < -1:
            return None
        cached = self._users.get(index)
        if cached is None:
            cached = self._users[index] = self._user(index)
        return dict(cached)

    def _user(self, index: int) -> dict[str, Any]:
        org = self.store.data.org
        if index == BOT:
            display, user_name, email = "Sandbox Integration", "sandbox", "sandbox@example.com"
        else:
            person = org.people[index]
            display, user_name, email = person.display_name, person.user_name, person.email
        avatar = f"https://avatars.example.com/{user_name}.png"
        body: dict[str, Any] = {}
        if self.cloud:
            account = self.account_id(index)
            body["self"] = f"{self.api}/user?accountId={quote(account)}"
            body["accountId"] = account
        else:
            body["self"] = f"{self.api}/user?username={quote(user_name)}"
            body["name"] = user_name
            body["key"] = "sandbox" if index == BOT else f"JIRAUSER{10100 + index}"
        body.update(
            {
                "emailAddress": email,
                "avatarUrls": {
                    size: f"{avatar}?s={size[:2]}" for size in ("48x48", "24x24", "16x16", "32x32")
                },
                "displayName": display,
                "active": True,
                "timeZone": self.store.zone.key,
            }
        )
        if self.cloud:
            body["accountType"] = "atlassian"
        return body

    def account_id(self, index: int) -> str:
        if index == BOT:
            return f"557058:{stable_hex('sandbox-bot', length=24)}"
        return f"712020:{stable_hex(self.store.data.org.seed, 'account', index, length=24)}"

    # -- projects -----------------------------------------------------------------------
    def project_ref(self, project: Project) -> dict[str, Any]:
        body: dict[str, Any] = {
            "self": f"{self.api}/project/{project.id}",
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "projectTypeKey": project.type_key,
            "simplified": False,
            "avatarUrls": {
                s: f"{self.base}/secure/projectavatar?size={n}&pid={project.id}"
                for s, n in (
                    ("48x48", "large"),
                    ("24x24", "small"),
                    ("16x16", "xsmall"),
                    ("32x32", "medium"),
                )
            },
        }
        body["projectCategory"] = self.category(project)
        return body

    def category(self, project: Project) -> dict[str, Any]:
        cid = CATEGORIES[project.category]
        return {
            "self": f"{self.api}/projectCategory/{cid}",
            "id": cid,
            "name": project.category,
            "description": f"{project.category} projects",
        }

    def project(self, project: Project, full: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
            **self.project_ref(project),
        }
        if self.cloud:
            body["style"] = "classic"
            body["isPrivate"] = False
            body["properties"] = {}
        if full:
            body["description"] = project.description
            body["lead"] = self.user(project.lead)
            body["components"] = []
            body["issueTypes"] = [self.issue_type(t) for t in project.issue_types]
            body["assigneeType"] = "UNASSIGNED"
            body["versions"] = [self.version_body(v, project) for v in project.versions]
            body["roles"] = {
                r: f"{self.api}/project/{project.id}/role/{10002 + i}"
                for i, r in enumerate(("Administrators", "Developers", "Users"))
            }
        return body

    def version_body(self, version: Version, project: Project) -> dict[str, Any]:
        body: dict[str, Any] = {
            "self": f"{self.api}/version/{version.id}",
            "id": version.id,
            "description": f"{version.name} of {project.name}",
            "name": version.name,
            "archived": False,
            "released": version.released,
        }
        if version.release_date:
            body["releaseDate"] = version.release_date.isoformat()
            if not version.released and version.release_date < self.store.data.org.anchor.date():
                body["overdue"] = True
            elif not version.released:
                body["overdue"] = False
            body["userReleaseDate"] = f"{version.release_date:%d/%b/%y}"
        body["projectId"] = int(project.id)
        return body

    def issue_type(self, name: str) -> dict[str, Any]:
        tid, description, subtask, level = ISSUE_TYPES[name]
        body: dict[str, Any] = {
            "self": f"{self.api}/issuetype/{tid}",
            "id": tid,
            "description": description,
            "iconUrl": f"{self.base}/images/icons/issuetypes/{name.lower().replace(' ', '')}.svg",
            "name": name,
            "subtask": subtask,
        }
        if self.cloud:
            body["avatarId"] = 10300 + int(tid) % 100
            body["hierarchyLevel"] = level
        return body

    # -- issues -------------------------------------------------------------------------
    def issue(self, handle: int, wanted: set[str] | None, expand: set[str]) -> dict[str, Any]:
        """One issue; `wanted` is the set of field ids to include (None: all)."""
        data = self.store.data
        fields: dict[str, Any] = {}
        for name, getter in GETTERS.items():
            if wanted is None or name in wanted:
                fields[name] = getter(self, handle)
        body: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,"
            "versionedRepresentations",
            "id": str(10000 + handle),
            "self": f"{self.api}/issue/{10000 + handle}",
            "key": data.key_of(handle),
        }
        if wanted is None or wanted:
            body["fields"] = fields
        if "changelog" in expand:
            body["changelog"] = self.changelog(handle)
        if "names" in expand:
            body["names"] = {
                f["id"]: f["name"]
                for f in field_list(self.cloud)
                if wanted is None or f["id"] in wanted
            }
        return body

    def comment(self, c: Comment) -> dict[str, Any]:
        body = c.body
        if self.version == "3" and isinstance(body, str):
            body = adf(body)
        elif self.version == "2" and not isinstance(body, str):
            body = adf_text(body)
        return (
            {
                "self": f"{self.api}/issue/{10000 + c.handle}/comment/{c.id}",
                "id": c.id,
                "author": self.user(c.author),
                "body": body,
                "updateAuthor": self.user(c.author),
                "created": jira_timestamp(c.created_ms, self.store.zone),
                "updated": jira_timestamp(c.updated_ms, self.store.zone),
                "jsdPublic": True,
            }
            if self.cloud
            else {
                "self": f"{self.api}/issue/{10000 + c.handle}/comment/{c.id}",
                "id": c.id,
                "author": self.user(c.author),
                "body": body,
                "updateAuthor": self.user(c.author),
                "created": jira_timestamp(c.created_ms, self.store.zone),
                "updated": jira_timestamp(c.updated_ms, self.store.zone),
            }
        )

    def worklogs(self, handle: int) -> list[dict[str, Any]]:
        cols = self.store.data.cols
        spent = cols["spent"][handle]
        if spent <= 0:
            return []
        parts = [spent] if spent < 7200 else [spent // 2 // 60 * 60, spent - spent // 2 // 60 * 60]
        created = cols["created"][handle]
        author = (
            cols["assignee"][handle] if cols["assignee"][handle] >= 0 else cols["reporter"][handle]
        )
        out = []
        for j, seconds in enumerate(parts):
            at = created + (j + 1) * 3_600_000
            wid = str(200_000 + handle * 2 + j)
            entry: dict[str, Any] = {
                "self": f"{self.api}/issue/{10000 + handle}/worklog/{wid}",
                "author": self.user(author),
                "updateAuthor": self.user(author),
                "comment": "Investigation and fix"
                if self.version == "2"
                else adf("Investigation and fix"),
                "created": jira_timestamp(at, self.store.zone),
                "updated": jira_timestamp(at, self.store.zone),
                "started": jira_timestamp(at - seconds * 1000, self.store.zone),
                "timeSpent": _duration_text(seconds),
                "timeSpentSeconds": seconds,
                "id": wid,
                "issueId": str(10000 + handle),
            }
            out.append(entry)
        return out

    def changelog(self, handle: int) -> dict[str, Any]:
        cols = self.store.data.cols
        _, status_name, category = self.store.data.status(handle)
        histories = []
        if category != "new":
            at = cols["created"][handle] + max(
                60_000, (cols["updated"][handle] - cols["created"][handle]) // 5
            )
            histories.append(self._history(handle, 1, at, "To Do", "10000", "In Progress", "3"))
        if category == "done":
            at = cols["resolved"][handle] or cols["updated"][handle]
            status_id = self.store.data.status(handle)[0]
            histories.append(
                self._history(handle, 2, at, "In Progress", "3", status_name, status_id)
            )
        return {
            "startAt": 0,
            "maxResults": len(histories),
            "total": len(histories),
            "histories": histories,
        }

    def _history(
        self, handle: int, n: int, at: int, old: str, old_id: str, new: str, new_id: str
    ) -> dict[str, Any]:
        author = self.store.data.cols["assignee"][handle]
        return {
            "id": str(300_000 + handle * 3 + n),
            "author": self.user(author if author >= 0 else BOT),
            "created": jira_timestamp(at, self.store.zone),
            "items": [
                {
                    "field": "status",
                    "fieldtype": "jira",
                    "fieldId": "status",
                    "from": old_id,
                    "fromString": old,
                    "to": new_id,
                    "toString": new,
                }
            ],
        }

    def summary(self, handle: int) -> str:
        data = self.store.data
        extra = data.extra.get(handle)
        if extra:
            return extra.summary
        type_name = TYPE_NAMES[data.cols["type"][handle]]
        service = data.cols["service"][handle]
        svc = data.org.services[service].name if service >= 0 else "Workplace"
        options = _SUMMARIES.get(type_name, _SUMMARIES["Task"])
        return options[(handle * 7 + data.org.seed) % len(options)].format(svc=svc)

    def description(self, handle: int) -> Any:
        extra = self.store.data.extra.get(handle)
        text = extra.description if extra and extra.description else None
        if text is None:
            rng = random.Random(f"{self.store.data.org.seed}:desc:{handle}")
            if rng.random() < 0.2:
                return None
            text = (
                f"{self.summary(handle)}.\nReported by a user; impact: "
                f"{rng.choice(('one team', 'one site', 'all users', 'a few users'))}."
            )
        return adf(text) if self.version == "3" else text


def _duration_text(seconds: int) -> str:
    hours, minutes = seconds // 3600, seconds % 3600 // 60
    return (
        " ".join(p for p in (f"{hours}h" if hours else "", f"{minutes}m" if minutes else "") if p)
        or "0m"
    )


def _status(r: Renderer, h: int) -> dict[str, Any]:
    sid, name, category = r.store.data.status(h)
    cid, cname, colour = STATUS_CATEGORIES[category]
    return {
        "self": f"{r.api}/status/{sid}",
        "description": "",
        "iconUrl": f"{r.base}/images/icons/statuses/generic.png",
        "name": name,
        "id": sid,
        "statusCategory": {
            "self": f"{r.api}/statuscategory/{cid}",
            "id": cid,
            "key": category,
            "colorName": colour,
            "name": cname,
        },
    }


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


def _breached(r: Renderer, h: int) -> dict[str, Any] | None:
    value = r.store.data.cols["breached"][h]
    if value < 0:
        return None
    oid = "10201" if value == 0 else "10200"
    return {
        "self": f"{r.api}/customFieldOption/{oid}",
        "value": "Yes" if value else "No",
        "id": oid,
    }


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
            "timeSpent": _duration_text(r.store.data.cols["spent"][h]),
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
    "customfield_10049": _breached,
}
assert set(GETTERS) <= {f for f, *_ in SYSTEM_FIELDS} | {
    f"customfield_{n}" for n in (10016, 10042, 10043, 10044, 10045, 10046, 10047, 10048, 10049)
}


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
