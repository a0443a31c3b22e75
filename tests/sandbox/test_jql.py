"""JQL as the sandbox reads it: the user's time zone, formats, operators, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from bridge.sandbox import Sandbox
from bridge.sandbox.jql import JqlError, date_value_ms, parse
from tests.sandbox.conftest import AUTH

ZONE = ZoneInfo("America/New_York")  # the sandbox account's default zone


def keys(sb: Sandbox, jql: str) -> list[str]:
    out: list[str] = []
    token = None
    while True:
        body = {"jql": jql, "fields": ["updated"], "maxResults": 100}
        if token:
            body["nextPageToken"] = token
        page = requests.post(
            f"{sb.jira_url}/rest/api/3/search/jql", json=body, auth=AUTH, timeout=10
        ).json()
        out += [i["key"] for i in page["issues"]]
        token = page.get("nextPageToken")
        if page["isLast"]:
            return out


def test_wall_clock_dates_are_read_in_the_users_zone(sandbox: Sandbox) -> None:
    data = sandbox.jira_store.data
    project = data.by_key["OPS"]
    handles = sorted(
        range(project.first, project.first + project.count), key=lambda h: data.cols["updated"][h]
    )
    stamps = [data.cols["updated"][h] for h in handles]
    # a boundary more than a minute after the issue before it
    at = next(i for i in range(1, len(stamps)) if 60_000 < stamps[i] - stamps[i - 1] < 36_000_000)
    updated = stamps[at] // 60_000 * 60_000  # JQL has minute precision
    local = datetime.fromtimestamp(updated / 1000, ZONE).strftime("%Y/%m/%d %H:%M")
    expected = {data.key_of(h) for h in handles if data.cols["updated"][h] >= updated}
    got = keys(sandbox, f'project = OPS AND updated >= "{local}" ORDER BY updated ASC, key ASC')
    assert set(got) == expected
    assert data.key_of(handles[at - 1]) not in got
    # the UTC wall clock, read in New York, is 4-5 hours later: the boundary issue drops out
    as_utc = datetime.fromtimestamp(updated / 1000, UTC).strftime("%Y/%m/%d %H:%M")
    assert data.key_of(handles[at]) not in keys(sandbox, f'project = OPS AND updated >= "{as_utc}"')
    assert set(keys(sandbox, f"project = OPS AND updated >= {updated}")) == expected


def test_order_and_bounds(sandbox: Sandbox) -> None:
    got = keys(
        sandbox,
        'project in (OPS, DEV) AND updated > "2000-01-01 00:00" AND updated <= '
        '"2100/01/01" ORDER BY updated DESC, key DESC',
    )
    data = sandbox.jira_store.data
    stamps = [data.cols["updated"][data.handle_of(k) or 0] for k in got]
    assert stamps == sorted(stamps, reverse=True)
    assert len(got) == data.by_key["OPS"].count + data.by_key["DEV"].count


def test_parser_covers_the_connector_subset() -> None:
    query = parse('Project IN ("A", B) and updated >= "2026/11/20 14:05" order by UPDATED asc, id')
    assert query.order == [("UPDATED", False), ("id", False)]
    now = datetime(2026, 11, 22, tzinfo=UTC)
    assert date_value_ms("2026-11-20", "updated", ZONE, now) == int(
        datetime(2026, 11, 20, tzinfo=ZONE).timestamp() * 1000
    )
    assert date_value_ms("-1d", "updated", ZONE, now) == int(now.timestamp() * 1000) - 86_400_000
    with pytest.raises(JqlError, match="Date value 'soon'"):
        date_value_ms("soon", "updated", ZONE, now)
    for bad in ("project = ", "project = A AND", "(project = A", 'summary ~ "open', "= A"):
        with pytest.raises(JqlError, match="JQL"):
            parse(bad)
