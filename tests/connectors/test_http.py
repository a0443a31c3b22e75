"""The one HTTP policy: the table, Retry-After, the retry loop, redaction."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import responses

from bridge.errors import SourceError, TransientError
from connectors.base import SourceConfig
from connectors.http import (
    Action,
    FailureKind,
    HttpPolicy,
    failure_from_exception,
    failure_from_response,
    mount_policy,
    redact_url,
    retry_after_seconds,
    verdict_for_status,
)

URL = "https://api.example/rest/thing"


def session(max_attempts: int = 4, max_delay: float = 0.05) -> requests.Session:
    config = SourceConfig.model_validate(
        {
            "name": "src",
            "kind": "test",
            "url": "https://api.example",
            "auth": {"kind": "basic", "username": "u", "password": "p"},
            "retry": {"max_attempts": max_attempts, "base_delay": 0.001, "max_delay": max_delay},
        }
    )
    return mount_policy(requests.Session(), HttpPolicy(config, "test"))


@pytest.mark.parametrize(
    ("status", "action", "kind"),
    [
        (200, Action.OK, FailureKind.NONE),
        (400, Action.FAIL, FailureKind.CONFIGURATION),
        (401, Action.FAIL, FailureKind.CONFIGURATION),
        (403, Action.FAIL, FailureKind.CONFIGURATION),
        (404, Action.FAIL, FailureKind.CONFIGURATION),
        (409, Action.FAIL, FailureKind.BUG),
        (429, Action.RATE_LIMITED, FailureKind.TRANSIENT),
        (500, Action.RETRY, FailureKind.TRANSIENT),
        (502, Action.RETRY, FailureKind.TRANSIENT),
        (503, Action.RETRY, FailureKind.TRANSIENT),
        (504, Action.RETRY, FailureKind.TRANSIENT),
    ],
)
def test_the_table(status: int, action: Action, kind: FailureKind) -> None:
    verdict = verdict_for_status(status)
    assert (verdict.action, verdict.kind) == (action, kind)


NOW = datetime(2024, 3, 5, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": format_datetime(NOW + timedelta(seconds=30), usegmt=True)}, 30.0),
        ({"Retry-After": format_datetime(NOW - timedelta(seconds=30), usegmt=True)}, 0.0),
        ({"X-RateLimit-Reset": str(int((NOW + timedelta(seconds=12)).timestamp()))}, 12.0),
        ({"X-RateLimit-Reset": str(int((NOW + timedelta(seconds=12)).timestamp() * 1000))}, 12.0),
        ({"X-RateLimit-Reset": "2024-03-05T12:01Z"}, 60.0),  # Jira Cloud's ISO instant
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(headers, NOW) == expected


def test_429_with_retry_after_seconds_then_success(rsps: responses.RequestsMock) -> None:
    rsps.get(
        URL,
        status=429,
        headers={"Retry-After": "0"},
        json={"errorMessages": ["Rate limit exceeded."]},
    )
    rsps.get(URL, json={"ok": True})
    assert session().get(URL).json() == {"ok": True}


def test_429_with_retry_after_http_date_then_success(rsps: responses.RequestsMock) -> None:
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=5), usegmt=True)
    rsps.get(URL, status=429, headers={"Retry-After": past})
    rsps.get(URL, json={"ok": True})
    assert session().get(URL).status_code == 200


def test_retry_after_beyond_the_cap_is_not_waited_for(rsps: responses.RequestsMock) -> None:
    rsps.get(URL, status=429, headers={"Retry-After": "3600"})
    response = session().get(URL)
    assert response.status_code == 429
    error = failure_from_response("src", response)
    assert isinstance(error, TransientError) and error.retry_after == 3600.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_then_success(rsps: responses.RequestsMock, status: int) -> None:
    rsps.get(URL, status=status, body="<html>bad gateway</html>", content_type="text/html")
    rsps.get(URL, json={"ok": True})
    assert session().get(URL).json() == {"ok": True}


def test_retries_are_capped(rsps: responses.RequestsMock) -> None:
    for _ in range(3):
        rsps.get(URL, status=503)
    response = session(max_attempts=3).get(URL)
    assert response.status_code == 503 and len(rsps.calls) == 3
    error = failure_from_response("src", response)
    assert isinstance(error, TransientError) and "GET /rest/thing" in str(error)


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_no_retry_on(rsps: responses.RequestsMock, status: int) -> None:
    rsps.get(URL, status=status, json={"errorMessages": ["no"]})
    assert session().get(URL).status_code == status
    assert len(rsps.calls) == 1


def test_malformed_json_body_is_retried(rsps: responses.RequestsMock) -> None:
    rsps.get(URL, body='{"issues": [{"key": "PAY-', content_type="application/json")
    rsps.get(URL, json={"issues": []})
    assert session().get(URL).json() == {"issues": []}


def test_json_only_a_stricter_parser_refuses_is_no_malformed_body(rsps: responses.RequestsMock) -> None:
    """Half a surrogate pair escaped, or a number past a double, is valid JSON: the page is
    read, not fetched again and again (the records are repaired when they are checked)."""
    rsps.get(URL, body='{"summary": "a\\ud800b", "n": 1' + "0" * 400 + "}",
             content_type="application/json")
    response = session(max_attempts=3).get(URL)
    assert len(rsps.calls) == 1
    assert response.json() == {"summary": "a\ud800b", "n": 10 ** 400}


def test_a_json_body_is_parsed_once(rsps: responses.RequestsMock,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    rsps.get(URL, json={"issues": [{"key": "PAY-1", "n": 1.5}]})
    response = session().get(URL)
    calls: list[object] = []
    real = requests.models.complexjson.loads

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(requests.models.complexjson, "loads", counted)
    first = response.json()
    assert first == {"issues": [{"key": "PAY-1", "n": 1.5}]}
    assert calls == []  # the value the policy parsed while checking the body
    first["issues"].clear()  # the caller owns it: a second call parses afresh
    assert response.json() == {"issues": [{"key": "PAY-1", "n": 1.5}]}
    assert len(calls) == 1


def test_a_body_in_another_charset_is_left_to_requests(rsps: responses.RequestsMock) -> None:
    # valid UTF-8 that the server says is Latin-1: requests decodes it as the server says
    body = '{"name": "Ren\u00e9e"}'.encode()
    rsps.get(URL, body=body, content_type="application/json; charset=iso-8859-1")
    response = session().get(URL)
    assert type(response) is requests.Response
    assert response.json() == {"name": "Ren\u00c3\u00a9e"}


def test_connection_error_then_success(rsps: responses.RequestsMock) -> None:
    rsps.get(URL, body=requests.ConnectionError("Connection aborted: RemoteDisconnected"))
    rsps.get(URL, json={"ok": True})
    assert session().get(URL).json() == {"ok": True}


def test_a_post_is_not_retried_after_a_gateway_error(rsps: responses.RequestsMock) -> None:
    rsps.post(URL, status=502)  # it may have been applied: the caller looks up before retrying
    assert session().post(URL, json={}).status_code == 502
    assert len(rsps.calls) == 1


def test_a_post_is_retried_on_429(rsps: responses.RequestsMock) -> None:
    rsps.post(URL, status=429, headers={"Retry-After": "0"})
    rsps.post(URL, status=201, json={"id": "1"})
    assert session().post(URL, json={}).status_code == 201


def test_unreachable_host_is_a_source_error() -> None:
    with responses.RequestsMock() as rsps:
        rsps.get(
            URL,
            body=requests.ConnectionError(
                "Failed to establish a new connection: [Errno 111] Connection refused"
            ),
        )
        rsps.get(URL, body=requests.ConnectionError("Connection refused"))
        with pytest.raises(requests.ConnectionError) as caught:
            session(max_attempts=2).get(URL)
    error = failure_from_exception("src", caught.value, "GET /rest/thing")
    assert isinstance(error, SourceError)
    assert str(error) == (
        "source 'src': cannot reach the host: check the URL and the network (GET /rest/thing)"
    )


def test_401_message(rsps: responses.RequestsMock) -> None:
    rsps.get(
        URL + "?token=abc", status=401, body="Client must be authenticated to access this resource."
    )
    error = failure_from_response("src", session().get(URL, params={"token": "abc"}))
    assert str(error) == (
        "source 'src': authentication failed: check the username and "
        "password/token (GET /rest/thing)"
    )


def test_logs_never_show_credentials(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    rsps.get(URL, status=503)
    rsps.get(URL, json={})
    with caplog.at_level(logging.DEBUG, logger="connectors.test"):
        s = session()
        s.auth = ("bot", "hunter2")
        s.get(URL, params={"access_token": "tok-123", "q": "x"})
    text = caplog.text
    assert "hunter2" not in text and "tok-123" not in text and "Authorization" not in text
    assert "access_token=%2A%2A%2A" in text and "retry 1" in text


def test_redact_url() -> None:
    assert redact_url("https://h/a?password=x&jql=a") == "/a?password=%2A%2A%2A&jql=a"
