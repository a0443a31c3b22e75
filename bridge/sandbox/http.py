"""Small helpers shared by the two emulated APIs."""

from __future__ import annotations

import base64
import json
from typing import Any

import orjson
from werkzeug.wrappers import Request, Response

USER = "sandbox"
PASSWORD = "sandbox"


def json_response(
    body: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json;charset=UTF-8",
) -> Response:
    try:
        payload = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # what orjson refuses (huge integers, lone surrogates) json may take
        payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    response = Response(payload, status=status, headers=headers or {})
    response.headers["Content-Type"] = content_type
    return response


def credentials(request: Request) -> tuple[str, str | None, str | None]:
    """(scheme, user, secret) from the Authorization header; scheme is '' when absent."""
    return parse_authorization(request.headers.get("Authorization", ""))


def parse_authorization(header: str) -> tuple[str, str | None, str | None]:
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            user, _, secret = base64.b64decode(value.strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return "basic", None, None
        return "basic", user, secret
    if scheme == "bearer":
        return "bearer", None, value.strip()
    return "", None, None


def read_json(request: Request) -> Any:
    """The request body as JSON; raises ValueError when it is not JSON."""
    raw = request.get_data(cache=True)
    if not raw:
        return None
    return json.loads(raw)


def int_arg(value: str | None, default: int, low: int = 0, high: int | None = None) -> int:
    try:
        number = int(value) if value not in (None, "") else default
    except ValueError:
        number = default
    number = max(low, number)
    return min(number, high) if high is not None else number
