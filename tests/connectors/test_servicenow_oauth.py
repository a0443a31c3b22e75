"""ServiceNow OAuth: the token request goes through the shared HTTP policy, and no secret
(client secret, password, bearer token) ever reaches a log line or an error message."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses

from bridge.errors import SourceError, TransientError
from connectors.servicenow import ServiceNowConfig, ServiceNowConnector
from tests.connectors.conftest import FAST_RETRY
from tests.connectors.fakes import snow_ts, sys_id

TOKEN_URL = "https://snow.example/oauth_token.do"
TABLE = "https://snow.example/api/now/table"
CLIENT_SECRET = "cs-Very-Secret-42"
PASSWORD = "pw-Hunter2-xyz"
ACCESS_TOKEN = "at-Bearer-Token-7f3a"
REFRESH_TOKEN = "rt-Refresh-Token-9c1d"
SECRETS = (CLIENT_SECRET, PASSWORD, ACCESS_TOKEN, REFRESH_TOKEN)
T0 = datetime(2024, 3, 5, 1, 2, 11, tzinfo=UTC)


def oauth_snow(**extra: Any) -> ServiceNowConnector:
    return ServiceNowConnector(
        ServiceNowConfig.model_validate(
            {
                "name": "snow",
                "kind": "servicenow",
                "url": "https://snow.example",
                "auth": {
                    "kind": "oauth2",
                    "client_id": "cid-1",
                    "client_secret": CLIENT_SECRET,
                    "username": "smo.bridge",
                    "password": PASSWORD,
                },
                "retry": FAST_RETRY,
                "tables": ["incident"],
                "deletions": False,
                **extra,
            }
        )
    )


def token(expires_in: int = 1799) -> dict[str, Any]:
    return {
        "access_token": ACCESS_TOKEN,
        "refresh_token": REFRESH_TOKEN,
        "scope": "useraccount",
        "token_type": "Bearer",
        "expires_in": expires_in,
    }


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger at DEBUG, the libraries' (urllib3, pysnow, oauthlib) included."""
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_the_token_request_goes_through_the_retry_policy(
    rsps: responses.RequestsMock, everything_logged: pytest.LogCaptureFixture
) -> None:
    rsps.post(TOKEN_URL, status=503, body="busy")  # a POST is retried on 503 only
    fetch = rsps.post(TOKEN_URL, json=token())
    rows = rsps.get(
        f"{TABLE}/incident",
        json={"result": [{"sys_id": sys_id(1), "sys_updated_on": snow_ts(T0)}]},
    )
    rsps.get(f"{TABLE}/incident", json={"result": []})
    rsps.get(f"{TABLE}/incident", json={"result": []})
    records = list(oauth_snow().read("incident"))
    assert [r.key for r in records] == [sys_id(1)]
    form = parse_qs(fetch.calls[0].request.body)
    assert form["grant_type"] == ["password"] and form["client_id"] == ["cid-1"]
    assert form["client_secret"] == [CLIENT_SECRET] and form["username"] == ["smo.bridge"]
    assert "Authorization" not in fetch.calls[0].request.headers
    assert rows.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert "POST /oauth_token.do -> 503 retry, retry 1" in everything_logged.text
    assert_no_secret(everything_logged.text)


def test_a_refused_token_request_is_one_line_without_secrets(
    rsps: responses.RequestsMock, everything_logged: pytest.LogCaptureFixture
) -> None:
    rsps.post(
        TOKEN_URL,
        status=401,
        json={"error_description": "access_denied", "error": "server_error"},
    )
    with pytest.raises(SourceError) as caught:
        oauth_snow().check()
    message = str(caught.value)
    assert message == (
        "source 'snow': authentication failed: the OAuth token request was refused "
        "(check client id/secret, username and password) (POST /oauth_token.do)"
    )
    assert_no_secret(message, repr(caught.value), everything_logged.text)


def test_a_failing_token_endpoint_is_transient(
    rsps: responses.RequestsMock, everything_logged: pytest.LogCaptureFixture
) -> None:
    rsps.post(TOKEN_URL, status=500, body=f"<html>echo {CLIENT_SECRET}</html>")
    with pytest.raises(TransientError) as caught:
        oauth_snow().check()
    assert str(caught.value).startswith("source 'snow': server error (500)")
    assert "(POST /oauth_token.do)" in str(caught.value)
    assert_no_secret(str(caught.value))


def test_a_malformed_token_response_is_transient(rsps: responses.RequestsMock) -> None:
    rsps.post(TOKEN_URL, json={"token_type": "Bearer"})
    with pytest.raises(TransientError, match="malformed token response"):
        oauth_snow().check()


def test_an_unreachable_token_endpoint_names_the_source(
    everything_logged: pytest.LogCaptureFixture,
) -> None:
    from connectors.testing import closed_loopback_url

    connector = oauth_snow(url=closed_loopback_url())
    with pytest.raises(SourceError) as caught:
        connector.check()
    assert str(caught.value).startswith("source 'snow': cannot reach the host")
    assert "(POST /oauth_token.do)" in str(caught.value)
    assert_no_secret(str(caught.value), everything_logged.text)


def test_the_token_is_reused_until_it_nears_expiry(rsps: responses.RequestsMock) -> None:
    fetch = rsps.post(TOKEN_URL, json=token(expires_in=1799))
    rsps.get(f"{TABLE}/incident", json={"result": []})
    connector = oauth_snow()
    connector.check()
    connector.check()
    assert fetch.call_count == 1


def test_a_token_about_to_expire_is_fetched_again(rsps: responses.RequestsMock) -> None:
    fetch = rsps.post(TOKEN_URL, json=token(expires_in=30))  # inside the 60 s margin
    rsps.get(f"{TABLE}/incident", json={"result": []})
    connector = oauth_snow()
    connector.check()
    connector.check()
    assert fetch.call_count == 2


def test_bad_table_answer_with_a_token_has_no_secret(
    rsps: responses.RequestsMock, everything_logged: pytest.LogCaptureFixture
) -> None:
    rsps.post(TOKEN_URL, json=token())
    rsps.get(
        f"{TABLE}/incident",
        status=401,
        json={"error": {"message": "User Not Authenticated", "detail": None}, "status": "failure"},
    )
    with pytest.raises(SourceError) as caught:
        oauth_snow().check()
    assert "authentication failed" in str(caught.value)
    assert_no_secret(str(caught.value), everything_logged.text)
