"""The emulated ServiceNow Table API as a WSGI app."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from bridge.sandbox.encoded_query import QueryError
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
from bridge.sandbox.org import stable_hex
from bridge.sandbox.sn_store import ServiceNowStore
from bridge.sandbox.sn_tables import Table

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

_ROUTES = Map(
    [
        rule
        for prefix in ("/api/now/table", "/api/now/<any(v1,v2):version>/table")
        for rule in (
            Rule(f"{prefix}/<table>", endpoint="collection", methods=["GET", "POST"]),
            Rule(
                f"{prefix}/<table>/<sys_id>",
                endpoint="record",
                methods=["GET", "PUT", "PATCH", "DELETE"],
            ),
        )
    ],
    strict_slashes=False,
)
_NOT_FOUND = ("No Record found", "Record doesn't exist or ACL restricts the record retrieval")
# what the Table API answers for a table the user's roles do not reach
_NOT_AUTHORIZED = ("User Not Authorized", "Failed API level ACL Validation")


def failure(
    message: str, detail: str | None, status: int, headers: dict[str, str] | None = None
) -> Response:
    return json_response(
        {"error": {"message": message, "detail": detail}, "status": "failure"}, status, headers
    )


class ServiceNowFaults(VendorFaults):
    def authenticated(self, environ: WSGIEnvironment) -> bool:
        scheme, user, secret = parse_authorization(environ.get("HTTP_AUTHORIZATION", ""))
        return scheme == "basic" and user == USER and secret == PASSWORD

    def budget_headers(self, limit: RateLimit) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(limit.limit),
            "X-RateLimit-Remaining": str(limit.remaining),
            "X-RateLimit-Reset": str(int(limit.reset_epoch_s)),
            "X-RateLimit-Rule": stable_hex("sandbox-rate-rule"),
        }

    def rate_limited(self, limit: RateLimit) -> Response:
        headers = {"Retry-After": str(limit.retry_after_s), **self.budget_headers(limit)}
        return failure(
            "Rate limit exceeded",
            f"The rate limit of {limit.limit} requests for this user has been exceeded",
            429,
            headers,
        )

    def server_error(self, status: int) -> Response:
        if status == 500:
            return failure("Server error", "An unexpected error occurred", 500)
        reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}[status]
        page = f"<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1></body></html>"
        return Response(page, status, content_type="text/html")


class ServiceNowApp:
    def __init__(self, store: ServiceNowStore) -> None:
        self.store = store

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self.dispatch(Request(environ))(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        scheme, user, secret = credentials(request)
        if not (scheme == "basic" and user == USER and secret == PASSWORD):
            return failure(
                "User Not Authenticated",
                "Required to provide Auth information",
                401,
                {"WWW-Authenticate": 'BASIC realm="Service-now"'},
            )
        adapter = _ROUTES.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except MethodNotAllowed:
            return failure(
                "Method not Supported", f"{request.method} method not supported for API", 405
            )
        except HTTPException:
            return failure("Requested URI does not represent any resource", None, 400)
        table = self.store.table(str(args["table"]))
        if table is None and args["table"] == "task" and endpoint == "record":
            found = self.store.resolve("task", str(args["sys_id"]))  # the tickets' parent table
            table = found[0] if found else None
            if table is None:
                return failure(*_NOT_FOUND, 404)
        if table is None:
            return failure(f"Invalid table {args['table']}", None, 400)
        if not self.store.may_read_table(table):
            return failure(*_NOT_AUTHORIZED, 403)
        if endpoint == "collection":
            return (
                self.on_list(request, table)
                if request.method == "GET"
                else self.on_create(request, table)
            )
        return self.on_record(request, table, str(args["sys_id"]))

    def _options(self, request: Request) -> tuple[list[str] | None, str, bool]:
        fields = [
            f.strip() for f in request.args.get("sysparm_fields", "").split(",") if f.strip()
        ] or None
        mode = request.args.get("sysparm_display_value", "false").lower()
        mode = mode if mode in ("true", "false", "all") else "false"
        exclude = request.args.get("sysparm_exclude_reference_link", "false").lower() == "true"
        return fields, mode, exclude

    def on_list(self, request: Request, table: Table) -> Response:
        base = request.host_url.rstrip("/")
        try:
            query = self.store.parse(table, request.args.get("sysparm_query", ""))
        except QueryError as error:
            return failure(str(error), None, 400)
        limit = int_arg(request.args.get("sysparm_limit"), 10000, 1, 10000)
        offset = int_arg(request.args.get("sysparm_offset"), 0)
        counted = request.args.get("sysparm_no_count", "false").lower() != "true"
        linked = request.args.get("sysparm_suppress_pagination_header", "false").lower() != "true"
        page, total = self.store.select(table, query, offset, limit, count=counted or linked)
        if self.store.trims(table):
            # read ACLs drop rows after the limit: the page comes back short (even empty)
            # while the count and the links still cover every row the query matched
            page = [i for i in page if self.store.readable(table, i)]
        fields, mode, exclude = self._options(request)
        render = self.store.renderer(table, fields, mode, exclude, base)
        response = json_response({"result": [render(i) for i in page]})
        if counted:
            response.headers["X-Total-Count"] = str(total)
        if linked:
            response.headers["Link"] = self._links(request, offset, limit, total or 0)
        return response

    @staticmethod
    def _links(request: Request, offset: int, limit: int, total: int) -> str:
        params = {
            k: v for k, v in request.args.items() if k not in ("sysparm_offset", "sysparm_limit")
        }
        url = request.base_url

        def link(at: int, rel: str) -> str:
            query = urlencode({**params, "sysparm_limit": limit, "sysparm_offset": at})
            return f'<{url}?{query}>;rel="{rel}"'

        links = [link(0, "first")]
        if offset > 0:
            links.append(link(max(0, offset - limit), "prev"))
        if offset + limit < total:
            links.append(link(offset + limit, "next"))
        links.append(link(max(0, (total - 1) // limit * limit), "last"))
        return ",".join(links)

    def _body(self, request: Request) -> dict[str, Any] | Response:
        try:
            body = read_json(request)
        except ValueError:
            return failure("Exception while reading request", "The payload is not valid JSON.", 400)
        if not isinstance(body, dict):
            return failure(
                "Exception while reading request", "The payload is not a JSON object.", 400
            )
        return body

    def on_create(self, request: Request, table: Table) -> Response:
        body = self._body(request)
        if isinstance(body, Response):
            return body
        i = self.store.insert(table, body)
        fields, mode, exclude = self._options(request)
        base = request.host_url.rstrip("/")
        response = json_response(
            {"result": self.store.render(table, i, fields, mode, exclude, base)}, 201
        )
        response.headers["Location"] = f"{base}/api/now/table/{table.name}/{table.sys_id(i)}"
        return response

    def on_record(self, request: Request, table: Table, sys_id: str) -> Response:
        i = table.locate(sys_id)
        if i is None or not self.store.readable(table, i):
            return failure(*_NOT_FOUND, 404)
        if request.method == "DELETE":
            self.store.delete(table, i)
            return Response(status=204)
        if request.method in ("PUT", "PATCH"):
            body = self._body(request)
            if isinstance(body, Response):
                return body
            self.store.update(table, i, body)
        fields, mode, exclude = self._options(request)
        base = request.host_url.rstrip("/")
        return json_response({"result": self.store.render(table, i, fields, mode, exclude, base)})
