"""The emulated Jira REST API (Cloud or Server/Data Center flavour) as a WSGI app."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from bridge.sandbox.clock import jira_timestamp, now_ms
from bridge.sandbox.faults import RateLimit, VendorFaults
from bridge.sandbox.http import (
    PASSWORD,
    USER,
    credentials,
    int_arg,
    json_response,
    parse_authorization,
    read_json,
)
from bridge.sandbox.jira_data import Project
from bridge.sandbox.jira_fields import field_list
from bridge.sandbox.jira_getters import wanted_fields
from bridge.sandbox.jira_render import BOT, Renderer
from bridge.sandbox.jira_search import SearchEndpoints, errors
from bridge.sandbox.jira_store import JiraStore

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

_NO_ISSUE = "Issue does not exist or you do not have permission to see it."
_V = "/rest/api/<any('2','3','latest'):v>"
_ROUTES = Map(
    [
        Rule(f"{_V}/serverInfo", endpoint="server_info", methods=["GET"]),
        Rule(f"{_V}/myself", endpoint="myself", methods=["GET"]),
        Rule(f"{_V}/mypermissions", endpoint="my_permissions", methods=["GET"]),
        Rule(f"{_V}/field", endpoint="fields", methods=["GET"]),
        Rule(f"{_V}/project", endpoint="projects", methods=["GET"]),
        Rule(f"{_V}/project/search", endpoint="project_search", methods=["GET"]),
        Rule(f"{_V}/project/<key>", endpoint="project", methods=["GET"]),
        Rule(f"{_V}/project/<key>/versions", endpoint="versions", methods=["GET"]),
        Rule(f"{_V}/project/<key>/properties", endpoint="project_props", methods=["GET"]),
        Rule(
            f"{_V}/project/<key>/properties/<prop>",
            endpoint="project_prop",
            methods=["GET", "PUT", "DELETE"],
        ),
        Rule(f"{_V}/search", endpoint="search", methods=["GET", "POST"]),
        Rule(f"{_V}/search/jql", endpoint="search_jql", methods=["GET", "POST"]),
        Rule(f"{_V}/issue/<key>", endpoint="issue", methods=["GET"]),
        Rule(f"{_V}/issue/<key>/comment", endpoint="comments", methods=["GET", "POST"]),
        Rule(f"{_V}/issue/<key>/comment/<cid>", endpoint="comment", methods=["GET"]),
        Rule(f"{_V}/issue/<key>/worklog", endpoint="worklogs", methods=["GET"]),
        Rule(f"{_V}/issue/<key>/properties", endpoint="issue_props", methods=["GET"]),
        Rule(
            f"{_V}/issue/<key>/properties/<prop>",
            endpoint="issue_prop",
            methods=["GET", "PUT", "DELETE"],
        ),
    ],
    strict_slashes=False,
)


class JiraFaults(VendorFaults):
    def __init__(self, cloud: bool, store: JiraStore | None = None) -> None:
        self.cloud = cloud
        self.store = store

    def edit(self, pick: int) -> bool:
        """Someone edits an issue: its `updated` becomes now (it moves to the end)."""
        if self.store is None or not len(self.store.data.cols):
            return False
        self.store.touch(pick % len(self.store.data.cols))
        return True

    def authenticated(self, environ: WSGIEnvironment) -> bool:
        scheme, user, secret = parse_authorization(environ.get("HTTP_AUTHORIZATION", ""))
        return (scheme == "basic" and user == USER and secret == PASSWORD) or (
            scheme == "bearer" and secret == PASSWORD
        )

    def budget_headers(self, limit: RateLimit) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(limit.limit),
            "X-RateLimit-Remaining": str(limit.remaining),
        }

    def rate_limited(self, limit: RateLimit) -> Response:
        headers = {"Retry-After": str(limit.retry_after_s), **self.budget_headers(limit)}
        if self.cloud:
            reset = datetime.fromtimestamp(limit.reset_epoch_s, UTC)
            headers["X-RateLimit-Reset"] = reset.strftime("%Y-%m-%dT%H:%MZ")
            headers["RateLimit-Reason"] = "jira-burst-based"
        else:
            headers["X-RateLimit-Interval-Seconds"] = str(limit.retry_after_s)
            headers["X-RateLimit-FillRate"] = str(limit.limit)
        response = errors(["Rate limit exceeded."], 429)
        response.headers.update(headers)
        return response

    def server_error(self, status: int) -> Response:
        if status == 500:
            return errors(["Internal server error"], 500)
        reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}[status]
        page = f"<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1></body></html>"
        headers = {"Retry-After": "1"} if status == 503 else {}
        return Response(page, status, headers, content_type="text/html;charset=UTF-8")


class JiraApp(SearchEndpoints):
    """WSGI callable; one instance serves one deployment flavour over one store."""

    def __init__(self, store: JiraStore, cloud: bool) -> None:
        self.store = store
        self.cloud = cloud

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        adapter = _ROUTES.bind_to_environ(request.environ)
        try:
            endpoint, matched = adapter.match()
        except MethodNotAllowed:
            return json_response({"message": "Method Not Allowed", "status-code": 405}, 405)
        except (NotFound, HTTPException):
            return json_response(
                {"message": f"null for uri: {request.url}", "status-code": 404}, 404
            )
        args = dict(matched)
        version = str(args.pop("v"))
        version = "2" if version == "latest" else version
        if version == "3" and not self.cloud:  # Server/Data Center has no v3
            return json_response(
                {"message": f"null for uri: {request.url}", "status-code": 404}, 404
            )
        refusal = self.authenticate(request, endpoint)
        if refusal is not None:
            return refusal
        renderer = Renderer(self.store, request.host_url.rstrip("/"), version, self.cloud)
        handler: Callable[..., Response] = getattr(self, f"on_{endpoint}")
        response = handler(request, renderer, **args)
        response.headers["X-AREQUESTID"] = hashlib.md5(request.url.encode()).hexdigest()[:12]
        if not self.cloud:
            response.headers["X-AUSERNAME"] = USER
        return response

    def authenticate(self, request: Request, endpoint: str) -> Response | None:
        scheme, user, secret = credentials(request)
        if (scheme == "basic" and user == USER and secret == PASSWORD) or (
            scheme == "bearer" and secret == PASSWORD
        ):
            return None
        if scheme == "" and endpoint == "server_info":
            return None  # Jira answers serverInfo anonymously
        if scheme == "":
            return errors(
                ["You are not authenticated. Authentication required to perform this operation."],
                401,
            )
        headers = {
            "X-Seraph-LoginReason": "AUTHENTICATED_FAILED",
            "WWW-Authenticate": f'OAuth realm="{request.host_url.rstrip("/")}"',
        }
        if self.cloud:
            return Response(
                "Client must be authenticated to access this resource.",
                401,
                headers,
                content_type="text/plain;charset=UTF-8",
            )
        page = (
            "<html><head><title>Unauthorized (401)</title></head><body><h1>Unauthorized (401)"
            "</h1><p>Encountered a &quot;401 - Unauthorized&quot; error while loading this "
            "page.</p><p>Basic Authentication Failure - Reason : AUTHENTICATED_FAILED</p>"
            "</body></html>"
        )
        headers["X-AUSERNAME"] = "anonymous"
        return Response(page, 401, headers, content_type="text/html;charset=UTF-8")

    # -- instance -----------------------------------------------------------------------
    def on_server_info(self, request: Request, r: Renderer) -> Response:
        body: dict[str, Any] = {"baseUrl": r.base, "serverTitle": "Sandbox Jira"}
        if self.cloud:
            body.update(
                version="1001.0.0-SNAPSHOT",
                versionNumbers=[1001, 0, 0],
                deploymentType="Cloud",
                buildNumber=100296,
                buildDate="2026-01-05T00:00:00.000+0000",
                scmInfo="sandbox",
            )
        else:
            body.update(
                version="9.12.15",
                versionNumbers=[9, 12, 15],
                deploymentType="Server",
                buildNumber=9120015,
                buildDate="2024-10-01T00:00:00.000+0000",
                databaseBuildNumber=9120015,
                scmInfo="sandbox",
            )
        body["serverTime"] = jira_timestamp(now_ms(), self.store.zone)
        if not self.cloud:  # Cloud's published schema has neither
            body["defaultLocale"] = {"locale": "en_US"}
            body["serverTimeZone"] = "Etc/UTC"
        return json_response(body)

    def on_myself(self, request: Request, r: Renderer) -> Response:
        body = r.user(BOT) or {}
        body.update(
            locale="en_US",
            groups={"size": 1, "items": []},
            applicationRoles={"size": 1, "items": []},
            expand="groups,applicationRoles",
        )
        return json_response(body)

    def on_fields(self, request: Request, r: Renderer) -> Response:
        return json_response(field_list(self.cloud))

    # -- projects -----------------------------------------------------------------------
    def on_projects(self, request: Request, r: Renderer) -> Response:
        """The unpaged list (all Jira Server has; deprecated on Cloud), `expand` honoured."""
        projects = self.store.data.projects
        return json_response(_listed(r, projects, request.args.get("expand", "")))

    def on_project_search(self, request: Request, r: Renderer) -> Response:
        if not self.cloud:
            return json_response(
                {"message": f"null for uri: {request.url}", "status-code": 404}, 404
            )
        projects = self.store.data.projects
        query = request.args.get("query", "").lower()
        keys = {k.upper() for k in request.args.getlist("keys")}
        category = request.args.get("categoryId")
        chosen = [
            p
            for p in projects
            if (not query or query in p.key.lower() or query in p.name.lower())
            and (not keys or p.key in keys)
            and (not category or r.category(p)["id"] == category)
        ]
        start = int_arg(request.args.get("startAt"), 0)
        size = int_arg(request.args.get("maxResults"), 50, 1, 100)
        page = chosen[start : start + size]
        values = _listed(r, page, request.args.get("expand", ""))
        last = start + size >= len(chosen)
        body: dict[str, Any] = {
            "self": f"{r.api}/project/search?startAt={start}&maxResults={size}",
            "maxResults": size,
            "startAt": start,
            "total": len(chosen),
            "isLast": last,
            "values": values,
        }
        if not last:
            body["nextPage"] = f"{r.api}/project/search?startAt={start + size}&maxResults={size}"
        return json_response(body)

    def on_project(self, request: Request, r: Renderer, key: str) -> Response:
        project = self.store.data.find_project(key)
        if project is None:
            return errors([f"No project could be found with key '{key}'."], 404)
        return json_response(r.project(project, full=True))

    def on_versions(self, request: Request, r: Renderer, key: str) -> Response:
        project = self.store.data.find_project(key)
        if project is None:
            return errors([f"No project could be found with key '{key}'."], 404)
        return json_response([r.version_body(v, project) for v in project.versions])

    def on_project_props(self, request: Request, r: Renderer, key: str) -> Response:
        project = self.store.data.find_project(key)
        if project is None:
            return errors([f"No project could be found with key '{key}'."], 404)
        props = self.store.project_properties.get(project.index, {})
        base = f"{r.api}/project/{project.key}/properties"
        return json_response({"keys": [{"self": f"{base}/{k}", "key": k} for k in props]})

    def on_project_prop(self, request: Request, r: Renderer, key: str, prop: str) -> Response:
        project = self.store.data.find_project(key)
        if project is None:
            return errors([f"No project could be found with key '{key}'."], 404)
        if request.method in ("PUT", "DELETE") and not self.store.project_admin:
            # Jira: setting a project property needs Administer Projects
            return errors(["You do not have permission to edit the properties of this project."],
                          403)
        return self._property(request, self.store.project_properties, project.index, prop)

    def on_my_permissions(self, request: Request, r: Renderer) -> Response:
        """GET mypermissions: what the integration user holds (Cloud requires `permissions`)."""
        asked = [p for p in request.args.get("permissions", "").split(",") if p]
        if not asked and self.cloud:
            return errors(["The permissions query parameter is required."], 400)
        held = {"BROWSE_PROJECTS", "EDIT_ISSUES", "ADD_COMMENTS", "CREATE_ISSUES"}
        if self.store.project_admin:
            held.add("ADMINISTER_PROJECTS")
        names = asked or sorted({*held, "ADMINISTER_PROJECTS", "ADMINISTER"})
        return json_response({"permissions": {
            name: {"id": str(i + 1), "key": name, "name": name.replace("_", " ").title(),
                   "type": "PROJECT", "description": "", "havePermission": name in held}
            for i, name in enumerate(names)}})

    # -- issues -------------------------------------------------------------------------
    def on_issue(self, request: Request, r: Renderer, key: str) -> Response:
        handle = self.store.data.handle_of(key)
        if handle is None:
            return errors([_NO_ISSUE], 404)
        wanted = wanted_fields(request.args.getlist("fields"), "*all", self.cloud)
        expand = set(request.args.get("expand", "").split(","))
        return json_response(r.issue(handle, wanted, expand))

    def on_comments(self, request: Request, r: Renderer, key: str) -> Response:
        handle = self.store.data.handle_of(key)
        if handle is None:
            return errors([_NO_ISSUE], 404)
        if request.method == "POST":
            return self._add_comment(request, r, handle)
        comments = self.store.comments(handle)
        if request.args.get("orderBy", "").startswith("-"):
            comments.reverse()
        start = int_arg(request.args.get("startAt"), 0)
        size = int_arg(request.args.get("maxResults"), 5000, 0, 5000)
        page = comments[start : start + size]
        return json_response(
            {
                "startAt": start,
                "maxResults": size,
                "total": len(comments),
                "comments": [r.comment(c) for c in page],
            }
        )

    def _add_comment(self, request: Request, r: Renderer, handle: int) -> Response:
        try:
            payload = read_json(request)
        except ValueError:
            return errors(["Unexpected character in the request body."], 400)
        body = payload.get("body") if isinstance(payload, dict) else None
        valid = (
            isinstance(body, str) and body.strip()
            if r.version == "2"
            else (isinstance(body, dict) and body.get("type") == "doc")
        )
        if not valid:
            message = "Comment body can not be empty!" if not body else "Comment body is not valid!"
            return errors([], 400, {"comment": message})
        comment = self.store.add_comment(handle, body)
        return json_response(r.comment(comment), 201)

    def on_comment(self, request: Request, r: Renderer, key: str, cid: str) -> Response:
        handle = self.store.data.handle_of(key)
        if handle is None:
            return errors([_NO_ISSUE], 404)
        for comment in self.store.comments(handle):
            if comment.id == cid:
                return json_response(r.comment(comment))
        return errors([f"Can not find a comment for the id: {cid}."], 404)

    def on_worklogs(self, request: Request, r: Renderer, key: str) -> Response:
        handle = self.store.data.handle_of(key)
        if handle is None:
            return errors([_NO_ISSUE], 404)
        logs = r.worklogs(handle)
        return json_response(
            {"startAt": 0, "maxResults": 5000, "total": len(logs), "worklogs": logs}
        )

    def on_issue_props(self, request: Request, r: Renderer, key: str) -> Response:
        handle = self.store.data.handle_of(key)
        if handle is None:
            return errors([_NO_ISSUE], 404)
        props = self.store.issue_properties.get(handle, {})
        base = f"{r.api}/issue/{10000 + handle}/properties"
        return json_response({"keys": [{"self": f"{base}/{k}", "key": k} for k in props]})

    def on_issue_prop(self, request: Request, r: Renderer, key: str, prop: str) -> Response:
        handle = self.store.data.handle_of(key)
        if handle is None:
            return errors([_NO_ISSUE], 404)
        return self._property(request, self.store.issue_properties, handle, prop)

    def _property(
        self, request: Request, table: dict[int, dict[str, Any]], owner: int, prop: str
    ) -> Response:
        with self.store.lock:
            props = table.setdefault(owner, {})
            if request.method == "GET":
                if prop not in props:
                    return errors([f"The property with key '{prop}' does not exist."], 404)
                return json_response({"key": prop, "value": props[prop]})
            if request.method == "DELETE":
                if props.pop(prop, None) is None:
                    return errors([f"The property with key '{prop}' does not exist."], 404)
                return Response(status=204)
            try:
                value = read_json(request)
            except ValueError:
                return errors(["The property value has to be a valid json."], 400)
            if len(prop) > 255:
                return errors(["The property key can not be longer than 255 characters."], 400)
            created = prop not in props
            props[prop] = value
            return Response(status=201 if created else 200)


def _listed(r: Renderer, projects: Iterable[Project], expand: str) -> list[dict[str, Any]]:
    """Projects as lists show them: `lead` and `description` only when expanded (both
    /project/search and Server's /project take `expand=description,lead,...`)."""
    wanted = {part.strip() for part in expand.split(",")}
    values = []
    for project in projects:
        value = r.project(project, full=False)
        if "lead" in wanted:
            value["lead"] = r.user(project.lead)
        if "description" in wanted:
            value["description"] = project.description
        values.append(value)
    return values
