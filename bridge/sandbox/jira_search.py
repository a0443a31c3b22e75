"""Jira search endpoints: Cloud's `search/jql` (nextPageToken) and Server's `search` (startAt)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from bridge.sandbox.http import int_arg, json_response, read_json
from bridge.sandbox.jira_fields import field_list
from bridge.sandbox.jira_getters import wanted_fields
from bridge.sandbox.jira_render import Renderer
from bridge.sandbox.jira_store import JiraStore
from bridge.sandbox.jql import JqlError, parse

_REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql "
    "API. A full migration guideline is available at "
    "https://developer.atlassian.com/changelog/#CHANGE-2046"
)
_UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)


def errors(
    messages: list[str], status: int, field_errors: dict[str, str] | None = None
) -> Response:
    return json_response({"errorMessages": messages, "errors": field_errors or {}}, status)


class SearchEndpoints:
    """The search handlers of `JiraApp`."""

    store: JiraStore
    cloud: bool

    # -- search -------------------------------------------------------------------------
    def on_search(self, request: Request, r: Renderer) -> Response:
        if self.cloud:
            return errors([_REMOVED], 410)
        params = self._search_params(request)
        try:
            query = parse(str(params.get("jql") or ""))
            now = datetime.now(UTC)
            plan = self.store.plan(query, now)
        except JqlError as error:
            return errors([str(error)], 400)
        start = int_arg(str(params.get("startAt", "")), 0)
        size = int_arg(str(params.get("maxResults", "")), 50, 0, 1000)
        page = self.store.search(plan, now, start, size, None, want_total=True)
        wanted = wanted_fields(_as_list(params.get("fields")), "*navigable", self.cloud)
        expand = set(_as_list(params.get("expand")))
        body: dict[str, Any] = {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": size,
            "total": page.total,
            "issues": [r.issue(h, wanted, expand) for h in page.handles],
        }
        if "names" in expand:
            body["names"] = {f["id"]: f["name"] for f in field_list(self.cloud)}
        return json_response(body)

    def on_search_jql(self, request: Request, r: Renderer) -> Response:
        if not self.cloud:
            return json_response(
                {"message": f"null for uri: {request.url}", "status-code": 404}, 404
            )
        params = self._search_params(request)
        jql = str(params.get("jql") or "")
        try:
            query = parse(jql)
            if query.where is None:
                return errors([_UNBOUNDED], 400)
            now = datetime.now(UTC)
            plan = self.store.plan(query, now)
        except JqlError as error:
            return errors([str(error)], 400)
        cursor = None
        token = params.get("nextPageToken")
        if token:
            cursor = _read_token(str(token), jql)
            if cursor is None:
                return errors(["The provided next page token is invalid or expired."], 400)
        asked = _as_list(params.get("fields"))
        wanted = wanted_fields(asked, "id", self.cloud)
        cap = 5000 if wanted is not None and not wanted else 100
        size = int_arg(str(params.get("maxResults", "")), 50, 1, cap)
        page = self.store.search(plan, now, 0, size, cursor, want_total=False)
        expand = set(_as_list(params.get("expand")))
        issues: list[dict[str, Any]]
        if set(asked) <= {"id"} and not expand:
            # the default (`id`): issue ids only, as the API reference says
            issues = [{"id": r.issue_id(h)} for h in page.handles]
        else:
            issues = [r.issue(h, wanted, expand) for h in page.handles]
        body: dict[str, Any] = {"issues": issues}
        if page.next_cursor is not None:
            body["nextPageToken"] = _make_token(page.next_cursor, jql)
        body["isLast"] = page.next_cursor is None
        if "names" in expand:
            body["names"] = {f["id"]: f["name"] for f in field_list(self.cloud)}
        return json_response(body)

    @staticmethod
    def _search_params(request: Request) -> dict[str, Any]:
        if request.method == "POST":
            try:
                body = read_json(request)
            except ValueError:
                return {"jql": "\x00invalid"}
            return body if isinstance(body, dict) else {}
        params: dict[str, Any] = {k: request.args.get(k) for k in request.args}
        params["fields"] = request.args.getlist("fields")
        params["expand"] = request.args.getlist("expand")
        return params


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


def _make_token(cursor: int, jql: str) -> str:
    digest = hashlib.sha1(jql.encode()).hexdigest()[:8]
    raw = json.dumps([cursor, digest]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: str, jql: str) -> int | None:
    try:
        cursor, digest = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError):
        return None
    if digest != hashlib.sha1(jql.encode()).hexdigest()[:8] or not isinstance(cursor, int):
        return None
    return cursor
