"""The board over HTTP: a WSGI app, read-only, with optional basic auth."""

from __future__ import annotations

import base64
import hmac
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from bridge.web.board import CSP, STATIC, Board, static_bytes

log = logging.getLogger(__name__)

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class BasicAuth:
    """One user and password (from the environment or the configuration, never logged)."""

    username: str
    password: str

    def admits(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            given = base64.b64decode(header[6:], validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        user, sep, password = given.partition(":")
        # both compared every time: the answer's timing says nothing about which was wrong
        user_ok = hmac.compare_digest(user.encode(), self.username.encode())
        password_ok = hmac.compare_digest(password.encode(), self.password.encode())
        return bool(sep) and user_ok and password_ok


def board_app(board: Board, auth: BasicAuth | None = None) -> Any:
    """A WSGI app serving the board's pages and its bundled files under `static/`; GET and
    HEAD only. Pages link relatively: a proxy may mount it under any path."""

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = _answer(board, auth, request)
        response.headers.update(HEADERS)
        return response(environ, start_response)

    return app


def _answer(board: Board, auth: BasicAuth | None, request: Request) -> Response:
    if auth is not None and not auth.admits(request.headers.get("Authorization")):
        return Response("authentication required\n", status=401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Basic realm="SMO board", charset="UTF-8"'})
    if request.method not in ("GET", "HEAD"):
        return Response("read-only\n", status=405, mimetype="text/plain", headers={"Allow": "GET, HEAD"})
    name = request.path.lstrip("/")
    if name.startswith("static/"):
        file = name.removeprefix("static/")
        if file not in STATIC:
            return Response("not found\n", status=404, mimetype="text/plain")
        return Response(static_bytes(file), mimetype=STATIC[file])
    query = {k: v for k, v in request.args.items() if k in ("status", "window", "team")}
    html = board.page(name, query)
    if html is None:
        return Response(board.not_found(f"There is no page {name!r} on this board."),
                        status=404, mimetype="text/html")
    return Response(html, mimetype="text/html")


class _Handler(WSGIRequestHandler):
    """One log line per request at DEBUG: the request line only, never its headers."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s %s", self.command, self.path.split("?", 1)[0], code)

    def log(self, type: str, message: str, *args: Any) -> None:
        log.debug(message, *args)


def make_board_server(app: Any, host: str, port: int) -> BaseWSGIServer:
    """A threaded HTTP server for `app` (port 0: any free port; see `server.port`)."""
    return make_server(host, port, app, threaded=True, request_handler=_Handler)
