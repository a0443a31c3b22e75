"""Wire hygiene: retries, redirects to another host, TLS failures, reads that make no
progress, unverified TLS warnings and secrets a server hands back."""

from __future__ import annotations

import logging
import warnings
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses

from bridge.errors import SourceError
from bridge.logs import JsonFormatter, redact
from connectors import http
from tests.connectors.conftest import jira, snow
from tests.connectors.fakes import FIELDS, jira_issue, snow_ts, sys_id

API = "https://jira.example/rest/api/2"
TABLE = "https://snow.example/api/now/table"
T0 = datetime(2024, 3, 5, 1, 2, 11, tzinfo=UTC)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    counted: list[float] = []
    monkeypatch.setattr(http, "pause", counted.append)
    return counted


# -- retries -------------------------------------------------------------------------------------


def test_a_500_and_a_dropped_connection_are_retried_with_bounded_backoff(
        rsps: responses.RequestsMock, waits: list[float]) -> None:
    rsps.get(f"{API}/field", status=500, json={"errorMessages": ["Internal server error"]})
    rsps.get(f"{API}/field", body=requests.ConnectionError("Connection aborted: RemoteDisconnected"))
    rsps.get(f"{API}/field", json=FIELDS)
    records = list(jira().read("fields"))
    assert len(records) == len(FIELDS) and len(rsps.calls) == 3
    assert len(waits) == 2 and all(0 <= w <= 0.05 for w in waits)  # FAST_RETRY's cap


def test_retries_stop_at_max_attempts_with_a_transient_error(
        rsps: responses.RequestsMock, waits: list[float]) -> None:
    for _ in range(4):
        rsps.get(f"{API}/field", status=500, json={"errorMessages": ["Internal server error"]})
    with pytest.raises(Exception) as caught:
        list(jira().read("fields"))
    assert "server error (500), retries exhausted" in str(caught.value)
    assert len(rsps.calls) == 4 and len(waits) == 3


def test_a_post_is_not_retried_after_a_500(rsps: responses.RequestsMock, waits: list[float]) -> None:
    rsps.post(f"{TABLE}/kb_knowledge", status=500, json={"error": {"message": "boom"}})
    session = snow()._client().session
    assert session.post(f"{TABLE}/kb_knowledge", json={}).status_code == 500
    assert len(rsps.calls) == 1 and not waits


# -- redirects -----------------------------------------------------------------------------------


def test_jira_refuses_a_redirect_to_another_host_naming_both(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API}/field", status=302, headers={"Location": "https://evil.example/rest/api/2/field"})
    with pytest.raises(SourceError) as caught:
        list(jira().read("fields"))
    message = str(caught.value)
    assert "jira.example" in message and "evil.example" in message and "redirected" in message
    assert len(rsps.calls) == 1  # the other host was never asked


def test_servicenow_refuses_a_redirect_to_another_host(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{TABLE}/incident", status=301,
             headers={"Location": "https://other.example/api/now/table/incident"})
    with pytest.raises(SourceError) as caught:
        list(snow(tables=["incident"], deletions=False).read("incident"))
    assert "snow.example" in str(caught.value) and "other.example" in str(caught.value)
    assert len(rsps.calls) == 1


def test_a_redirect_on_the_same_host_is_followed(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API}/field", status=301, headers={"Location": f"{API}/field?moved=1"})
    rsps.get(f"{API}/field?moved=1", json=FIELDS)
    assert len(list(jira().read("fields"))) == len(FIELDS)


# -- TLS -----------------------------------------------------------------------------------------


def test_a_tls_certificate_failure_is_named_and_not_retried(
        rsps: responses.RequestsMock, waits: list[float]) -> None:
    rsps.get(f"{API}/field", body=requests.exceptions.SSLError(
        "HTTPSConnectionPool(host='jira.example', port=443): Max retries exceeded "
        "(Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] "
        "certificate verify failed: self-signed certificate (_ssl.c:1006)')))"))
    with pytest.raises(SourceError) as caught:
        list(jira().read("fields"))
    message = str(caught.value)
    assert "TLS certificate verification failed: self-signed certificate" in message
    assert "connection lost" not in message
    assert len(rsps.calls) == 1 and not waits


def test_unverified_tls_warns_once_through_the_logger(
        rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture) -> None:
    rsps.get(f"{API}/field", json=FIELDS)
    rsps.get(f"{API}/field", json=FIELDS)
    http._warned_unverified.discard("jira")
    with caplog.at_level(logging.WARNING), warnings.catch_warnings(record=True) as raw:
        warnings.simplefilter("default")
        for _ in range(2):
            connector = jira(verify_tls=False)
            list(connector.read("fields"))
            connector.close()
        http._unverified_tls("jira", logging.getLogger("connectors.jira"))
    lines = [r for r in caplog.records if "not verified" in r.getMessage()]
    assert len(lines) == 1 and "verify_tls: false" in lines[0].getMessage()
    assert not [w for w in raw if "Unverified HTTPS" in str(w.message)]


# -- reads that make no progress -----------------------------------------------------------------


def test_jira_cloud_stops_when_the_page_token_comes_back(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API}/field", json=FIELDS)
    page = {"issues": [jira_issue("PAY-1", T0)], "nextPageToken": "same", "isLast": False}
    rsps.get(f"{API}/search/jql", json=page)
    rsps.get(f"{API}/search/jql", json={**page, "issues": [jira_issue("PAY-2", T0)]})
    with pytest.raises(SourceError) as caught:
        list(jira(deployment="cloud").read("issues"))
    assert "page token it had sent before" in str(caught.value)
    assert "GET /rest/api/2/search" in str(caught.value)
    assert len(rsps.calls) == 3  # the field catalogue and two pages, not thousands


def test_jira_server_stops_when_start_at_is_ignored(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API}/field", json=FIELDS)
    same = {"startAt": 0, "maxResults": 2, "total": 10,
            "issues": [jira_issue("OPS-1", T0), jira_issue("OPS-2", T0)]}
    for _ in range(3):  # first query, the minute's query, then the offset the server ignores
        rsps.get(f"{API}/search", json=same)
    with pytest.raises(SourceError) as caught:
        list(jira(deployment="server", page_size=2, time_zone="UTC").read("issues"))
    assert "the same page again" in str(caught.value)


def test_servicenow_stops_when_the_query_filter_is_ignored(rsps: responses.RequestsMock) -> None:
    rows = [{"sys_id": sys_id(n), "sys_updated_on": snow_ts(T0)} for n in (1, 2)]
    for _ in range(2):  # every query answered with the table's first page
        rsps.get(f"{TABLE}/incident", json={"result": rows})
    with pytest.raises(SourceError) as caught:
        list(snow(tables=["incident"], page_size=2, deletions=False).read("incident"))
    assert "the same page again" in str(caught.value) and "/api/now/table/incident" in str(caught.value)
    assert len(rsps.calls) == 2


def test_servicenow_census_stops_when_the_query_filter_is_ignored(
        rsps: responses.RequestsMock) -> None:
    rows = [{"sys_id": sys_id(n)} for n in (1, 2)]
    for _ in range(2):  # `sys_id>` ignored: the first page again
        rsps.get(f"{TABLE}/incident", json={"result": rows})
    with pytest.raises(SourceError) as caught:
        list(snow(tables=["incident"], page_size=2, deletions=False).census("incident"))
    assert "made no progress" in str(caught.value) and "/api/now/table/incident" in str(caught.value)
    assert len(rsps.calls) == 2


# -- secrets -------------------------------------------------------------------------------------


def oauth_snow(**extra: Any) -> Any:
    return snow(auth={"kind": "oauth2", "client_id": "cid", "client_secret": "csecret",
                      "username": "smo.bridge", "password": "snow-pass"}, tables=["incident"],
                deletions=False, **extra)


def test_an_oauth_token_echoed_by_the_server_is_redacted_in_errors_and_logs(
        rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture) -> None:
    token = "eyJhbGciOi.s3rver-issued-t0ken.9xQ"
    rsps.post("https://snow.example/oauth_token.do",
              json={"access_token": token, "refresh_token": "r3fresh-t0ken-abc", "expires_in": 1800})
    rsps.get(f"{TABLE}/incident", status=400,
             json={"error": {"message": "Invalid query", "detail": f"token {token} not allowed"}})
    with pytest.raises(SourceError) as caught:
        list(oauth_snow().read("incident"))
    shown = redact(str(caught.value))
    assert token not in shown and "***" in shown
    log = logging.getLogger("connectors.servicenow")
    record = log.makeRecord(log.name, logging.ERROR, __file__, 1, "failed: %s", (str(caught.value),), None)
    assert token not in JsonFormatter().format(record)
    assert "r3fresh-t0ken-abc" not in redact("refresh r3fresh-t0ken-abc")


def test_a_bearer_value_is_redacted_even_when_unknown() -> None:
    assert redact("header was Bearer abcdefghijklmnop") == "header was Bearer ***"
