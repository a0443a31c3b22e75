"""Fault switches: rate limits, 5xx, truncated bodies, dropped connections, latency."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests

from bridge.sandbox import Sandbox
from connectors.timefmt import parse_jira_timestamp
from tests.sandbox.conftest import AUTH


def statuses(url: str, count: int) -> list[int | str]:
    out: list[int | str] = []
    for _ in range(count):
        try:
            response = requests.get(url, auth=AUTH, timeout=5)
        except requests.ConnectionError:
            out.append("dropped")
            continue
        try:
            response.json()
            out.append(response.status_code)
        except ValueError:
            out.append("malformed" if response.status_code == 200 else response.status_code)
    return out


def test_jira_rate_limit_has_retry_after_and_budget(sandbox: Sandbox) -> None:
    sandbox.faults("jira").configure(rate_limit=3, rate_window_s=30)
    url = f"{sandbox.jira_url}/rest/api/3/myself"
    ok = [requests.get(url, auth=AUTH, timeout=5) for _ in range(3)]
    assert [r.status_code for r in ok] == [200, 200, 200]
    assert ok[-1].headers["X-RateLimit-Remaining"] == "0"
    limited = requests.get(url, auth=AUTH, timeout=5)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 30
    assert limited.headers["X-RateLimit-Limit"] == "3"
    assert limited.headers["X-RateLimit-Reset"].endswith("Z")


def test_servicenow_rate_limit_window_resets(sandbox: Sandbox) -> None:
    sandbox.faults("servicenow").configure(rate_limit=2, rate_window_s=0.3)
    url = f"{sandbox.servicenow_url}/api/now/table/sys_user_group"
    assert statuses(url, 3) == [200, 200, 429]
    limited = requests.get(url, auth=AUTH, timeout=5)
    assert limited.json()["status"] == "failure"
    assert float(limited.headers["X-RateLimit-Reset"]) > time.time() - 1
    time.sleep(0.35)
    assert statuses(url, 1) == [200]


@pytest.mark.parametrize("service", ["jira", "servicenow"])
def test_faults_are_deterministic_for_a_seed(sandbox: Sandbox, service: str) -> None:
    url = (
        f"{sandbox.jira_url}/rest/api/2/serverInfo"
        if service == "jira"
        else f"{sandbox.servicenow_url}/api/now/table/sys_user_group?sysparm_limit=2"
    )
    runs = []
    for _ in range(2):
        sandbox.faults(service).configure(
            error_rate=0.3, malformed_rate=0.2, drop_rate=0.1, seed=11
        )  # type: ignore[arg-type]
        runs.append(statuses(url, 30))
    assert runs[0] == runs[1]
    kinds = set(runs[0])
    assert {"dropped", "malformed", 200} <= kinds and kinds & {500, 502, 503, 504}
    sandbox.faults(service).reset()  # type: ignore[arg-type]
    assert set(statuses(url, 5)) == {200}


def test_latency_is_added(sandbox: Sandbox) -> None:
    sandbox.faults("servicenow").configure(latency_ms=120)
    started = time.perf_counter()
    statuses(f"{sandbox.servicenow_url}/api/now/table/sys_user_group", 2)
    assert time.perf_counter() - started >= 0.24


def test_invalid_settings_are_refused(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="error_rate"):
        sandbox.faults("jira").configure(error_rate=1.5)
    with pytest.raises(ValueError, match="service"):
        sandbox.faults("github")  # type: ignore[arg-type]


def test_unauthenticated_requests_get_401_and_spend_no_budget(sandbox: Sandbox) -> None:
    """Rate limits are per user, as at the vendors: a 401 is never a 429 and costs nothing."""
    sandbox.faults("servicenow").configure(rate_limit=2, rate_window_s=30, error_rate=1.0)
    url = f"{sandbox.servicenow_url}/api/now/table/sys_user_group"
    anonymous = [requests.get(url, timeout=5).status_code for _ in range(4)]
    assert anonymous == [401, 401, 401, 401]
    sandbox.faults("servicenow").configure(rate_limit=2, rate_window_s=30)
    for _ in range(3):
        assert requests.get(url, auth=("sandbox", "wrong"), timeout=5).status_code == 401
    assert statuses(url, 3) == [200, 200, 429]


def test_jira_edit_rate_moves_an_issue_to_the_end_of_the_updated_order(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    sb = sandbox_factory(seed=3, tickets=200, jira_deployment="server")
    url = f"{sb.jira_url}/rest/api/2/search"
    query = {"jql": "ORDER BY updated DESC, key DESC", "maxResults": "1", "fields": "updated"}
    latest_before = requests.get(url, params=query, auth=AUTH, timeout=5).json()["issues"][0]
    sb.faults("jira").configure(edit_rate=1.0, seed=5)
    latest_after = requests.get(url, params=query, auth=AUTH, timeout=5).json()["issues"][0]
    assert sb.faults("jira").injected["edit"] == 1
    assert latest_after["key"] != latest_before["key"]
    after, before = (
        parse_jira_timestamp(i["fields"]["updated"]) for i in (latest_after, latest_before)
    )
    assert after > before
    with pytest.raises(ValueError, match="edit_rate"):
        sb.faults("jira").configure(edit_rate=2.0)
    # ServiceNow has nothing to edit yet: the switch is accepted and changes nothing
    sb.faults("servicenow").configure(edit_rate=1.0)
    assert statuses(f"{sb.servicenow_url}/api/now/table/sys_user_group", 1) == [200]
    assert sb.faults("servicenow").injected["edit"] == 0
