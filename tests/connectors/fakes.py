"""Small in-process fakes of Jira and ServiceNow for `responses`, shaped like the real APIs.

They understand exactly what the connectors send (a few JQL clauses, plain encoded
queries) and nothing more: the sandbox is the place for realistic behaviour, these keep
the shared suite fast and deterministic. Payload shapes follow recorded responses:
`+1300` offsets, nulls, display_value=all with `link` on references.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import requests
import responses

Reply = tuple[int, dict[str, str], str]
JSON = {"Content-Type": "application/json;charset=UTF-8"}


def _authorized(request: requests.PreparedRequest, user: str, password: str) -> bool:
    header = request.headers.get("Authorization", "")
    expected = base64.b64encode(f"{user}:{password}".encode()).decode()
    return header == f"Basic {expected}"


def _params(request: requests.PreparedRequest) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(request.url or "").query, True).items()}


def jira_ts(when: datetime, zone: str = "Pacific/Auckland") -> str:
    """Jira's format: `2024-03-05T14:02:11.000+1300`."""
    local = when.astimezone(ZoneInfo(zone))
    return (
        local.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{local.microsecond // 1000:03d}"
        + local.strftime("%z")
    )


def jira_issue(
    key: str, updated: datetime, *, issue_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    """An issue as search returns it; `id` is derived from the key unless given (a moved
    issue keeps its id under a new key)."""
    project = key.split("-")[0]
    base: dict[str, Any] = {
        "summary": f"Issue {key}",
        "status": {"name": "To Do", "statusCategory": {"key": "new"}},
        "issuetype": {"name": "Task", "subtask": False},
        "project": {"key": project, "name": project},
        "labels": [],
        "created": jira_ts(updated - timedelta(days=3)),
        "updated": jira_ts(updated),
        "resolutiondate": None,
        "timespent": None,
        "description": None,
        "customfield_10042": "2026-12-01",
    }
    base.update(fields)
    return {
        "expand": "operations,editmeta",
        "id": issue_id or str(10000 + zlib.crc32(key.encode()) % 9_000_000),
        "self": f"https://jira.example/rest/api/2/issue/{key}",
        "key": key,
        "fields": base,
    }


def adf_doc(*paragraphs: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}]}
            for text in paragraphs
        ],
    }


def jira_comment(
    cid: str, updated: datetime, body: Any = "Looks good", created: datetime | None = None
) -> dict[str, Any]:
    """A comment of /issue/{key}/comment: `body` a string (Server, v2) or ADF (Cloud v3)."""
    author = {"accountId": "5b10a2844c20165700ede21g", "displayName": "Ana", "active": True}
    return {
        "self": f"https://jira.example/rest/api/2/issue/10010/comment/{cid}",
        "id": cid,
        "author": author,
        "body": body,
        "updateAuthor": author,
        "created": jira_ts(created or updated),
        "updated": jira_ts(updated),
    }


def jira_worklog(wid: str, updated: datetime, seconds: int = 3600) -> dict[str, Any]:
    return {
        "self": f"https://jira.example/rest/api/2/issue/10010/worklog/{wid}",
        "author": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Ana"},
        "comment": "Investigation and fix",
        "created": jira_ts(updated),
        "updated": jira_ts(updated),
        "started": jira_ts(updated - timedelta(seconds=seconds)),
        "timeSpent": "1h",
        "timeSpentSeconds": seconds,
        "id": wid,
        "issueId": "10010",
    }


FIELDS = [
    {"id": "summary", "name": "Summary", "custom": False, "clauseNames": ["summary"]},
    {
        "id": "updated",
        "name": "Updated",
        "custom": False,
        "clauseNames": ["updated", "updatedDate"],
    },
    {"id": "created", "name": "Created", "custom": False, "clauseNames": ["created"]},
    {"id": "status", "name": "Status", "custom": False, "clauseNames": ["status"]},
    {
        "id": "customfield_10042",
        "name": "Go-live date",
        "custom": True,
        "clauseNames": ["cf[10042]", "Go-live date"],
        "schema": {
            "type": "date",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:datepicker",
            "customId": 10042,
        },
    },
    {
        "id": "customfield_10044",
        "name": "Team",
        "custom": True,
        "clauseNames": ["cf[10044]", "Team"],
        "schema": {
            "type": "option",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select",
        },
    },
]


@dataclass
class FakeJira:
    url: str = "https://jira.example"
    deployment: str = "Cloud"
    zone: str = "Pacific/Auckland"
    user: str = "bot@example.com"
    password: str = "secret-token"
    issues: list[dict[str, Any]] = field(default_factory=list)
    projects: list[dict[str, Any]] = field(default_factory=list)
    properties: dict[tuple[str, str], Any] = field(default_factory=dict)
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    worklogs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    searches: list[str] = field(default_factory=list)

    def register(self, rsps: responses.RequestsMock) -> None:
        api = re.escape(self.url) + r"/rest/api/2/"
        routes: list[tuple[str, str, Any]] = [
            ("GET", r"serverInfo(\?|$)", self._server_info),
            ("GET", r"myself(\?|$)", self._myself),
            ("GET", r"field(\?|$)", lambda r, m: self._ok(FIELDS)),
            ("GET", r"project(\?|$)", lambda r, m: self._ok(self.projects)),
            ("GET", r"project/search(\?|$)", self._project_search),
            ("GET", r"project/([^/]+)/versions(\?|$)", self._versions),
            ("GET", r"search/jql(\?|$)", self._search),
            ("GET", r"search(\?|$)", self._search),
            ("GET", r"project/([^/]+)/properties/([^/?]+)", self._get_property),
            ("PUT", r"project/([^/]+)/properties/([^/?]+)", self._put_property),
            ("GET", r"issue/([^/]+)/properties/([^/?]+)", self._get_property),
            ("PUT", r"issue/([^/]+)/properties/([^/?]+)", self._put_property),
            ("GET", r"issue/([^/]+)/comment", self._get_comments),
            ("POST", r"issue/([^/]+)/comment", self._add_comment),
            ("GET", r"issue/([^/]+)/worklog", self._get_worklogs),
        ]
        for method, pattern, handler in routes:
            regex = re.compile(api + pattern)
            rsps.add_callback(method, regex, callback=self._guard(regex, handler))

    def _guard(self, regex: re.Pattern[str], handler: Any) -> Any:
        def callback(request: requests.PreparedRequest) -> Reply:
            if not _authorized(request, self.user, self.password):
                return (
                    401,
                    JSON,
                    json.dumps({"errorMessages": ["You are not authenticated."], "errors": {}}),
                )
            match = regex.match(request.url or "")
            assert match is not None
            return handler(request, match)  # type: ignore[no-any-return]

        return callback

    @staticmethod
    def _ok(body: Any, status: int = 200) -> Reply:
        return status, JSON, json.dumps(body)

    def _server_info(self, request: requests.PreparedRequest, m: re.Match[str]) -> Reply:
        return self._ok(
            {
                "baseUrl": self.url,
                "version": "1001.0.0",
                "versionNumbers": [1001, 0, 0],
                "deploymentType": self.deployment,
            }
        )

    def _myself(self, request: requests.PreparedRequest, m: re.Match[str]) -> Reply:
        return self._ok(
            {
                "accountId": "5b10a2844c20165700ede21g",
                "emailAddress": self.user,
                "displayName": "Bot",
                "active": True,
                "timeZone": self.zone,
            }
        )

    def _project_search(self, request: requests.PreparedRequest, m: re.Match[str]) -> Reply:
        """Cloud's paged project list: `projectCategory` always, `lead` only when expanded."""
        if self.deployment != "Cloud":
            return 404, JSON, json.dumps({"message": "null for uri", "status-code": 404})
        params = _params(request)
        keys = set(parse_qs(urlsplit(request.url or "").query).get("keys", []))
        chosen = [p for p in self.projects if not keys or p["key"] in keys]
        start, size = int(params.get("startAt", 0)), min(int(params.get("maxResults", 50)), 100)
        expand = params.get("expand", "").split(",")
        values = [
            {k: v for k, v in p.items() if k != "lead" or "lead" in expand}
            for p in chosen[start : start + size]
        ]
        return self._ok(
            {
                "startAt": start,
                "maxResults": size,
                "total": len(chosen),
                "isLast": start + size >= len(chosen),
                "values": values,
            }
        )

    def _versions(self, request: requests.PreparedRequest, m: re.Match[str]) -> Reply:
        return self._ok(
            [
                {
                    "id": "10000",
                    "name": "Go-live",
                    "releaseDate": "2026-12-01",
                    "released": False,
                    "archived": False,
                }
            ]
        )

    def matching(self, jql: str) -> list[dict[str, Any]]:
        """The issues the connector's JQL selects, in its ORDER BY updated, key order."""
        self.searches.append(jql)
        found = list(self.issues)
        since = re.search(r'updated >= "([^"]+)"', jql)
        if since:
            floor = datetime.strptime(since.group(1), "%Y-%m-%d %H:%M").replace(
                tzinfo=ZoneInfo(self.zone)
            )
            found = [i for i in found if _updated(i) is None or _updated(i) >= floor]  # type: ignore[operator]
        projects = re.search(r"project in \(([^)]*)\)", jql)
        if projects:
            keys = {p.strip().strip('"') for p in projects.group(1).split(",")}
            found = [i for i in found if i["key"].split("-")[0] in keys]
        single = re.search(r'project = "([^"]+)" AND issuetype = "?Epic"?', jql)
        if single:
            found = [
                i
                for i in found
                if i["key"].startswith(single.group(1) + "-")
                and i["fields"].get("issuetype", {}).get("name") == "Epic"
            ]
        far = datetime(1970, 1, 1, tzinfo=UTC)
        return sorted(found, key=lambda i: (_updated(i) or far, i.get("key") or ""))

    def _search(self, request: requests.PreparedRequest, m: re.Match[str]) -> Reply:
        params = _params(request)
        found = self.matching(params["jql"])
        size = int(params.get("maxResults", 50))
        if "search/jql" in (request.url or ""):
            start = int(params.get("nextPageToken") or 0)
            page = found[start : start + size]
            body: dict[str, Any] = {"issues": page, "isLast": start + size >= len(found)}
            if not body["isLast"]:
                body["nextPageToken"] = str(start + size)
            return self._ok(body)
        start = int(params.get("startAt", 0))
        return self._ok(
            {
                "expand": "schema,names",
                "startAt": start,
                "maxResults": size,
                "total": len(found),
                "issues": found[start : start + size],
            }
        )

    def _get_property(self, request: requests.PreparedRequest, m: re.Match[str]) -> Reply:
        key = (m.group(1), m.group(2))
        if key not in self.properties:
            return (
                404,
                JSON,
                json.dumps({"errorMessages": ["The property was not found."], "errors": {}}),
            )
        return self._ok({"key": key[1], "value": self.properties[key]})

    def _put_property(self, request: requests.PreparedRequest, m: re.Match[str]) -> Reply:
        key = (m.group(1), m.group(2))
        created = key not in self.properties
        self.properties[key] = json.loads(request.body or "null")
        return 201 if created else 200, JSON, ""

    def _get_comments(self, request: requests.PreparedRequest, m: re.Match[str]) -> Reply:
        items = self.comments.get(m.group(1), [])
        params = _params(request)
        start, size = int(params.get("startAt", 0)), int(params.get("maxResults", 50))
        return self._ok(
            {
                "startAt": start,
                "maxResults": size,
                "total": len(items),
                "comments": items[start : start + size],
            }
        )

    def _get_worklogs(self, request: requests.PreparedRequest, m: re.Match[str]) -> Reply:
        items = self.worklogs.get(m.group(1), [])
        return self._ok({"startAt": 0, "maxResults": 5000, "total": len(items), "worklogs": items})

    def _add_comment(self, request: requests.PreparedRequest, m: re.Match[str]) -> Reply:
        items = self.comments.setdefault(m.group(1), [])
        body = json.loads(request.body or "{}")["body"]
        stamp = jira_ts(datetime.now(UTC))
        comment = {"id": str(10000 + len(items)), "body": body, "created": stamp, "updated": stamp}
        items.append(comment)
        return self._ok(comment, 201)


def _updated(issue: dict[str, Any]) -> datetime | None:
    from connectors.timefmt import parse_jira_timestamp

    try:
        return parse_jira_timestamp(issue.get("fields", {}).get("updated"))
    except ValueError:
        return None


# -- ServiceNow -----------------------------------------------------------------------------

_CLAUSE = re.compile(r"^([a-z_0-9.]+)(>=|<=|!=|>|<|=)(.*)$")


def snow_ts(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def sys_id(n: int) -> str:
    return f"{n:032x}"


@dataclass
class FakeServiceNow:
    url: str = "https://snow.example"
    user: str = "smo.bridge"
    password: str = "snow-pass"
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    queries: list[tuple[str, str]] = field(default_factory=list)
    writes: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def register(self, rsps: responses.RequestsMock) -> None:
        base = re.escape(self.url) + r"/api/now/table/([a-z_0-9]+)"
        one = re.compile(base + r"/([0-9a-f]{32})")
        many = re.compile(base + r"(\?|$)")
        rsps.add_callback("GET", many, callback=self._guard(many, self._list))
        rsps.add_callback("POST", many, callback=self._guard(many, self._create))
        rsps.add_callback("PATCH", one, callback=self._guard(one, self._patch))

    def _guard(self, regex: re.Pattern[str], handler: Any) -> Any:
        def callback(request: requests.PreparedRequest) -> Reply:
            if not _authorized(request, self.user, self.password):
                return (
                    401,
                    JSON,
                    json.dumps(
                        {
                            "error": {
                                "message": "User Not Authenticated",
                                "detail": "Required to provide Auth information",
                            },
                            "status": "failure",
                        }
                    ),
                )
            match = regex.match(request.url or "")
            assert match is not None
            return handler(request, match)  # type: ignore[no-any-return]

        return callback

    def select(self, table: str, query: str) -> list[dict[str, Any]]:
        self.queries.append((table, query))
        rows = list(self.tables.get(table, []))
        order: list[str] = []
        for part in filter(None, query.split("^")):
            if part.startswith("ORDERBY"):
                order.append(part[len("ORDERBY") :])
                continue
            match = _CLAUSE.match(part)
            assert match, f"fake ServiceNow cannot read {part!r}"
            name, op, value = match.groups()
            rows = [r for r in rows if _compare(str(r.get(name, "")), op, value)]
        return sorted(rows, key=lambda r: tuple(str(r.get(f, "")) for f in order))

    def _list(self, request: requests.PreparedRequest, m: re.Match[str]) -> Reply:
        params = _params(request)
        rows = self.select(m.group(1), params.get("sysparm_query", ""))
        offset = int(params.get("sysparm_offset") or 0)
        rows = rows[offset : offset + int(params.get("sysparm_limit", 10000))]
        fields = [f for f in params.get("sysparm_fields", "").split(",") if f]
        display = params.get("sysparm_display_value", "false").lower()
        return 200, JSON, json.dumps({"result": [self._render(r, fields, display) for r in rows]})

    def _render(self, row: dict[str, Any], fields: list[str], display: str) -> dict[str, Any]:
        picked = {k: v for k, v in row.items() if not fields or k in fields}
        if display != "all":
            return {k: (v["value"] if isinstance(v, dict) else v) for k, v in picked.items()}
        out: dict[str, Any] = {}
        for name, value in picked.items():
            if isinstance(
                value, dict
            ):  # a reference: {"value": id, "link": url, "display_value": label}
                out[name] = value
            else:
                out[name] = {"display_value": value, "value": value}
        return out

    def _create(self, request: requests.PreparedRequest, m: re.Match[str]) -> Reply:
        table = m.group(1)
        payload = json.loads(request.body or "{}")
        rows = self.tables.setdefault(table, [])
        row = dict(
            payload, sys_id=sys_id(9000 + len(rows)), sys_updated_on=snow_ts(datetime.now(UTC))
        )
        rows.append(row)
        self.writes.append(("POST", table, payload))
        return 201, JSON, json.dumps({"result": row})

    def _patch(self, request: requests.PreparedRequest, m: re.Match[str]) -> Reply:
        table, key = m.group(1), m.group(2)
        payload = json.loads(request.body or "{}")
        self.writes.append(("PATCH", table, payload))
        for row in self.tables.get(table, []):
            if row.get("sys_id") == key:
                row.update({k: v for k, v in payload.items() if k != "work_notes"})
                if "work_notes" in payload:
                    row.setdefault("_work_notes", []).append(payload["work_notes"])
                return 200, JSON, json.dumps({"result": row})
        return 404, JSON, json.dumps({"error": {"message": "No Record found"}, "status": "failure"})


def _compare(actual: str, op: str, value: str) -> bool:
    return {
        "=": actual == value,
        "!=": actual != value,
        ">": actual > value,
        ">=": actual >= value,
        "<": actual < value,
        "<=": actual <= value,
    }[op]
