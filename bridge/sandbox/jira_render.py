"""Jira JSON: issues, users, projects, versions, comments and fields, Cloud or Server flavour.

Shapes follow recorded Jira responses: ids as strings, `self` links, nulls where Jira sends
nulls, timestamps with the offset of the user's zone, descriptions and comment bodies in
Atlassian Document Format on v3 and as plain text on v2.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from bridge.sandbox.clock import jira_timestamp
from bridge.sandbox.jira_data import (
    CATEGORIES,
    ISSUE_TYPES,
    TYPE_NAMES,
    Project,
    Version,
)
from bridge.sandbox.jira_fields import field_list
from bridge.sandbox.jira_getters import GETTERS, duration_text
from bridge.sandbox.jira_store import BOT, Comment, JiraStore
from bridge.sandbox.org import stable_hex

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
            # only the project resources carry the category, never an issue's `project`
            "projectCategory": self.category(project),
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
    @staticmethod
    def issue_id(handle: int) -> str:
        return str(10000 + handle)

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
                "timeSpent": duration_text(seconds),
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
            history = self._history(handle, 2, at, "In Progress", "3", status_name, status_id)
            # a deliverable is moved to done by whoever signed it off, where someone did
            extra = self.store.data.extra.get(handle)
            approver = extra.custom.get("approved_by") if extra else None
            if isinstance(approver, int):
                history["author"] = self.user(approver)
            histories.append(history)
        if self.cloud:  # Cloud lists the newest history first, Server the oldest
            histories.reverse()
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
