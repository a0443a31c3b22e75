"""Jira on the wire: JQL in the account's zone, both paging styles, errors, pushes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from responses import matchers

from bridge.errors import SourceError, TransientError
from connectors.base import Quarantined
from tests.connectors.conftest import jira
from tests.connectors.fakes import FIELDS, FakeJira, jira_issue

API = "https://jira.example/rest/api/2"
T0 = datetime(2024, 3, 5, 1, 2, 11, tzinfo=UTC)


def me(zone: str) -> dict[str, Any]:
    return {"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Bot", "timeZone": zone}


def jql_of(call: Any) -> str:
    return str(call.request.params["jql"])


@pytest.mark.parametrize(
    ("zone", "since", "overlap", "expected"),
    [
        # 01:02:30Z is 14:02:30 in Auckland (+13:00): minus 5 minutes, rounded down to the minute
        ("Pacific/Auckland", datetime(2024, 3, 5, 1, 2, 30, tzinfo=UTC), 300, "2024-03-05 13:57"),
        # the same instant west of UTC falls on the previous day
        ("America/Los_Angeles", datetime(2024, 3, 5, 1, 2, 30, tzinfo=UTC), 0, "2024-03-04 17:02"),
        # the night US daylight saving starts: 09:30Z is 01:30 PST
        ("America/Los_Angeles", datetime(2024, 3, 10, 9, 30, tzinfo=UTC), 0, "2024-03-10 01:30"),
        ("UTC", datetime(2024, 3, 5, 1, 2, 30, tzinfo=UTC), 60, "2024-03-05 01:01"),
    ],
)
def test_the_signpost_is_converted_into_the_account_zone(
    rsps: responses.RequestsMock,
    zone: str,
    since: datetime,
    overlap: int,
    expected: str,
) -> None:
    rsps.get(f"{API}/myself", json=me(zone))
    rsps.get(f"{API}/field", json=FIELDS)
    search = rsps.get(f"{API}/search/jql", json={"issues": [], "isLast": True})
    connector = jira(deployment="cloud", overlap_seconds=overlap, projects=["PAY"])
    assert list(connector.read("issues", since)) == []
    assert jql_of(search.calls[0]) == (
        f'project in ("PAY") AND updated >= "{expected}" ORDER BY updated ASC, key ASC'
    )


def test_cloud_pages_with_next_page_token(rsps: responses.RequestsMock) -> None:
    # three issues updated in the same second straddle the first page boundary
    same = T0 + timedelta(hours=1)
    issues = [
        jira_issue("PAY-1", T0),
        jira_issue("PAY-2", same),
        jira_issue("PAY-3", same),
        jira_issue("PAY-4", same),
        jira_issue("PAY-5", T0 + timedelta(hours=2)),
    ]
    rsps.get(f"{API}/field", json=FIELDS)
    first = rsps.get(
        f"{API}/search/jql",
        json={"issues": issues[:2], "nextPageToken": "tok-1", "isLast": False},
        match=[matchers.query_param_matcher({"maxResults": "2"}, strict_match=False)],
    )
    rsps.get(
        f"{API}/search/jql",
        json={"issues": issues[2:4], "nextPageToken": "tok-2", "isLast": False},
        match=[matchers.query_param_matcher({"nextPageToken": "tok-1"}, strict_match=False)],
    )
    rsps.get(
        f"{API}/search/jql",
        json={"issues": issues[4:], "isLast": True},
        match=[matchers.query_param_matcher({"nextPageToken": "tok-2"}, strict_match=False)],
    )
    connector = jira(deployment="cloud", page_size=2)
    records = list(connector.read("issues"))
    assert [r.key for r in records] == ["PAY-1", "PAY-2", "PAY-3", "PAY-4", "PAY-5"]
    assert jql_of(first.calls[0]) == 'updated >= "1970-01-01 00:00" ORDER BY updated ASC, key ASC'
    fields = first.calls[0].request.params["fields"]
    assert "customfield_10042" in fields and "*all" not in fields  # "Go-live date" resolved by name


def test_cloud_stops_on_is_last_even_with_a_token(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API}/field", json=FIELDS)
    rsps.get(
        f"{API}/search/jql",
        json={"issues": [jira_issue("PAY-1", T0)], "nextPageToken": "x", "isLast": True},
    )
    assert len(list(jira(deployment="cloud").read("issues"))) == 1


def server_page(total: int, *issues: dict[str, Any], start: int = 0) -> dict[str, Any]:
    return {"startAt": start, "maxResults": 2, "total": total, "issues": list(issues)}


def server_calls(rsps: responses.RequestsMock) -> list[tuple[str, str]]:
    """(lower bound of `updated`, startAt) of each search request."""
    out = []
    for call in rsps.calls:
        if not str(call.request.url).startswith(f"{API}/search?"):
            continue
        bound = jql_of(call).split('updated >= "')[1].split('"')[0]
        out.append((bound, str(call.request.params["startAt"])))
    return out


def test_server_pages_by_the_minute_of_the_last_issue(rsps: responses.RequestsMock) -> None:
    issues = [jira_issue(f"OPS-{n}", T0 + timedelta(minutes=n)) for n in range(1, 6)]
    rsps.get(f"{API}/serverInfo", json={"deploymentType": "Server", "versionNumbers": [9, 12, 0]})
    rsps.get(f"{API}/field", json=FIELDS)
    rsps.get(f"{API}/search", json=server_page(5, *issues[0:2]))
    for n in (1, 2, 3):  # each query starts at the minute of the last issue seen
        rsps.get(f"{API}/search", json=server_page(5 - n, *issues[n : n + 2]))
    records = list(jira(deployment="auto", page_size=2, time_zone="UTC").read("issues"))
    assert [r.key for r in records] == [f"OPS-{n}" for n in range(1, 6)]
    assert server_calls(rsps) == [
        ("1970-01-01 00:00", "0"),
        ("2024-03-05 01:04", "0"),
        ("2024-03-05 01:05", "0"),
        ("2024-03-05 01:06", "0"),
    ]


def test_server_an_edit_between_pages_skips_no_issue(rsps: responses.RequestsMock) -> None:
    a, b, c, d = (jira_issue(f"OPS-{n}", T0 + timedelta(minutes=n)) for n in range(1, 5))
    b_edited = jira_issue("OPS-2", T0 + timedelta(hours=1))
    rsps.get(f"{API}/field", json=FIELDS)
    # OPS-2 is edited after the first page: it moves to the end and OPS-3 takes its place,
    # so `startAt=2` would have returned OPS-4 and OPS-2, and OPS-3 would be lost
    rsps.get(f"{API}/search", json=server_page(4, a, b))
    rsps.get(f"{API}/search", json=server_page(3, c, d))
    rsps.get(f"{API}/search", json=server_page(2, d, b_edited))
    records = list(jira(deployment="server", page_size=2, time_zone="UTC").read("issues"))
    assert [r.key for r in records] == ["OPS-1", "OPS-2", "OPS-3", "OPS-4", "OPS-2"]
    assert records[-1].updated == T0 + timedelta(hours=1)
    assert server_calls(rsps)[1:] == [("2024-03-05 01:04", "0"), ("2024-03-05 01:06", "0")]


def test_server_pages_inside_one_minute_by_offset_with_an_overlap(
    rsps: responses.RequestsMock,
) -> None:
    issues = [jira_issue(f"OPS-{n}", T0) for n in range(1, 5)]
    rsps.get(f"{API}/field", json=FIELDS)
    rsps.get(f"{API}/search", json=server_page(4, *issues[0:2]))
    rsps.get(f"{API}/search", json=server_page(4, *issues[0:2]))
    rsps.get(f"{API}/search", json=server_page(4, *issues[1:3], start=1))
    rsps.get(f"{API}/search", json=server_page(4, *issues[2:4], start=2))
    records = list(jira(deployment="server", page_size=2, time_zone="UTC").read("issues"))
    assert [r.key for r in records] == ["OPS-1", "OPS-2", "OPS-3", "OPS-4"]
    assert server_calls(rsps) == [
        ("1970-01-01 00:00", "0"),
        ("2024-03-05 01:02", "0"),
        ("2024-03-05 01:02", "1"),  # one issue of the last page read again
        ("2024-03-05 01:02", "2"),
    ]


def test_server_inside_one_minute_a_shift_past_the_overlap_rereads_the_minute(
    rsps: responses.RequestsMock,
) -> None:
    one, two, three, four = (jira_issue(f"OPS-{n}", T0) for n in range(1, 5))
    rsps.get(f"{API}/field", json=FIELDS)
    rsps.get(f"{API}/search", json=server_page(4, one, two))
    rsps.get(f"{API}/search", json=server_page(4, one, two))
    # OPS-1 and OPS-2 were edited (moved to a later minute): position 1 now holds OPS-4
    rsps.get(f"{API}/search", json=server_page(2, four, start=1))
    rsps.get(f"{API}/search", json=server_page(2, three, four))
    records = list(jira(deployment="server", page_size=2, time_zone="UTC").read("issues"))
    assert [r.key for r in records] == ["OPS-1", "OPS-2", "OPS-3", "OPS-4"]
    assert [start for _, start in server_calls(rsps)] == ["0", "0", "1", "0"]


def test_server_stops_on_an_empty_page(rsps: responses.RequestsMock) -> None:
    # total said 3 but the last issue became invisible meanwhile
    rsps.get(f"{API}/field", json=FIELDS)
    rsps.get(f"{API}/search", json=server_page(3, jira_issue("OPS-1", T0), jira_issue("OPS-2", T0)))
    rsps.get(f"{API}/search", json=server_page(3))
    connector = jira(deployment="server", page_size=2, time_zone="UTC")
    assert len(list(connector.read("issues"))) == 2


def test_real_shapes_parse(rsps: responses.RequestsMock) -> None:
    adf = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Firewall rule"}]}],
    }
    nz = jira_issue("SAMPLE-1", T0)
    nz["fields"]["updated"] = "2011-12-14T10:26:06.030+1300"
    cet = jira_issue("SEC-108", T0, description=adf, timespent=None, resolution=None)
    cet["fields"]["updated"] = "2026-01-26T01:39:15.510+0200"
    no_key = jira_issue("X-1", T0)
    del no_key["key"]
    rsps.get(f"{API}/field", json=FIELDS)
    rsps.get(f"{API}/search/jql", json={"issues": [nz, cet, no_key], "isLast": True})
    quarantined: list[Quarantined] = []
    records = list(jira(deployment="cloud").read("issues", None, quarantined.append))
    assert [r.updated for r in records] == [
        datetime(2011, 12, 13, 21, 26, 6, 30000, tzinfo=UTC),
        datetime(2026, 1, 25, 23, 39, 15, 510000, tzinfo=UTC),
    ]
    assert records[1].payload["fields"]["description"] == adf
    assert records[1].payload["fields"]["timespent"] is None
    assert [q.reason for q in quarantined] == ["key: the record has no key"]


def test_server_projects_carry_category_lead_and_versions(rsps: responses.RequestsMock) -> None:
    # Server/DC has no /project/search: the unpaged list, filtered here
    rsps.get(
        f"{API}/project",
        json=[
            {
                "id": "10000",
                "key": "PAY",
                "name": "Payments",
                "projectCategory": {"name": "Service Transition"},
                "lead": {"displayName": "Ana"},
            },
            {"id": "10001", "key": "OPS", "name": "Operations"},
        ],
        match=[matchers.query_param_matcher({"expand": "description,lead,url"})],
    )
    rsps.get(
        f"{API}/project/PAY/versions",
        json=[{"id": "1", "name": "Go-live", "releaseDate": "2026-12-01", "released": False}],
    )
    records = list(jira(projects=["PAY"], deployment="server").read("projects"))
    assert [r.key for r in records] == ["PAY"]
    assert records[0].payload["versions"][0]["releaseDate"] == "2026-12-01"
    assert records[0].payload["projectCategory"]["name"] == "Service Transition"


def test_wrong_password(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API}/serverInfo", json={"deploymentType": "Cloud"})
    rsps.get(
        f"{API}/myself",
        status=401,
        body="Client must be authenticated to access this resource.",
        headers={"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"},
    )
    with pytest.raises(SourceError) as caught:
        jira(password="wrong-token").check()
    assert str(caught.value) == (
        "source 'jira': authentication failed: check the username and "
        "password/token (GET /rest/api/2/myself)"
    )


def test_a_bad_query_names_jiras_reason(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API}/field", json=FIELDS)
    rsps.get(
        f"{API}/search/jql",
        status=400,
        json={
            "errorMessages": [
                "Field 'sprnt' does not exist or you do not have permission to view it."
            ],
            "errors": {},
        },
    )
    with pytest.raises(SourceError) as caught:
        list(jira(deployment="cloud", jql="sprnt = 1").read("issues"))
    assert "Field 'sprnt' does not exist" in str(caught.value)
    assert "(GET /rest/api/2/search/jql)" in str(caught.value)


def test_429_then_success_through_the_connector(rsps: responses.RequestsMock) -> None:
    rsps.get(
        f"{API}/field",
        status=429,
        headers={"Retry-After": "0"},
        json={"errorMessages": ["Rate limit exceeded."]},
    )
    rsps.get(f"{API}/field", json=FIELDS)
    assert len(list(jira().read("fields"))) == len(FIELDS)


def test_5xx_exhausted_is_transient(rsps: responses.RequestsMock) -> None:
    for _ in range(4):
        rsps.get(
            f"{API}/field",
            status=503,
            body="<html>Service Unavailable</html>",
            content_type="text/html",
        )
    with pytest.raises(TransientError) as caught:
        list(jira().read("fields"))
    assert "server error (503), retries exhausted" in str(caught.value)


def test_malformed_body_exhausted_is_transient(rsps: responses.RequestsMock) -> None:
    for _ in range(4):
        rsps.get(f"{API}/field", body='[{"id": ', content_type="application/json")
    with pytest.raises(TransientError, match="malformed response body"):
        list(jira().read("fields"))


# -- pushes ---------------------------------------------------------------------------------

STATUS = {"status": "in_progress", "items": [{"key": "runbook", "status": "met"}]}
PROP = f"{API}/issue/PAY-1/properties/smo-bridge.gate"  # on the epic: no project admin needed


def test_push_looks_up_the_comment_before_adding_it(rsps: responses.RequestsMock) -> None:
    rsps.get(
        PROP,
        status=404,
        json={"errorMessages": ["The property with key 'smo-bridge.gate' does not exist."]},
    )
    rsps.get(
        f"{API}/issue/PAY-1/comment",
        json={"startAt": 0, "maxResults": 100, "total": 0, "comments": []},
    )
    post = rsps.post(f"{API}/issue/PAY-1/comment", status=201, json={"id": "1"})
    put = rsps.put(PROP, status=201)
    rsps.get(PROP, json={"key": "smo-bridge.gate", "value": STATUS})  # read back
    result = jira().push_gate_status(
        "PAY", STATUS, "tr-1:v3", "Gate is in progress", issue_key="PAY-1"
    )
    assert (result.remote_id, result.outcome, result.note) == ("PAY-1", "created", "added")
    assert (
        json.loads(post.calls[0].request.body)["body"]
        == "Gate is in progress\n\n[smo-bridge:tr-1:v3]"
    )
    assert json.loads(put.calls[0].request.body) == STATUS


def test_push_retry_after_the_comment_landed_adds_no_second_comment(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(PROP, json={"key": "smo-bridge.gate", "value": {"status": "not_started"}})
    rsps.get(
        f"{API}/issue/PAY-1/comment",
        json={
            "startAt": 0,
            "maxResults": 100,
            "total": 1,
            "comments": [{"id": "7", "body": "Gate is in progress\n\n[smo-bridge:tr-1:v3]"}],
        },
    )
    rsps.put(PROP, status=200)
    rsps.get(PROP, json={"key": "smo-bridge.gate", "value": STATUS})
    result = jira().push_gate_status(
        "PAY", STATUS, "tr-1:v3", "Gate is in progress", issue_key="PAY-1"
    )
    assert (result.outcome, result.note) == ("updated", "exists")


def test_a_gate_status_that_does_not_read_back_is_not_delivered(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(PROP, status=404, json={"errorMessages": ["no such property"]})
    rsps.put(PROP, status=200)
    rsps.get(PROP, status=404, json={"errorMessages": ["no such property"]})
    with pytest.raises(SourceError, match="did not read back"):
        jira().push_gate_status("PAY", STATUS, "tr-1:v3", None, issue_key="PAY-1")


def test_a_project_without_an_epic_is_a_clear_error(loose: responses.RequestsMock) -> None:
    fake = FakeJira()
    fake.issues = [jira_issue("PAY-3", T0, issuetype={"name": "Task"})]
    fake.register(loose)
    with pytest.raises(SourceError, match="project PAY has no Epic to hold the gate status"):
        jira(deployment="cloud").push_gate_status("PAY", STATUS, "tr-1:v3", "Gate")


def test_push_of_the_same_status_writes_nothing(rsps: responses.RequestsMock) -> None:
    rsps.get(PROP, json={"key": "smo-bridge.gate", "value": STATUS})
    result = jira().push_gate_status("PAY", STATUS, "tr-1:v3", "Gate is in progress",
                                     issue_key="PAY-1")
    assert result.outcome == "unchanged" and len(rsps.calls) == 1


def test_push_comments_on_the_first_epic_by_default(loose: responses.RequestsMock) -> None:
    fake = FakeJira()
    fake.issues = [
        jira_issue("PAY-3", T0, issuetype={"name": "Task"}),
        jira_issue("PAY-1", T0, issuetype={"name": "Epic"}),
    ]
    fake.register(loose)
    connector = jira(deployment="cloud")
    first = connector.push_gate_status("PAY", STATUS, "tr-1:v3", "Gate is in progress")
    same = connector.push_gate_status(
        "PAY", dict(STATUS, reason="as of today"), "tr-1:v4", "Gate is in progress"
    )
    items = connector.push_gate_status(
        "PAY", dict(STATUS, items=[]), "tr-1:v5", "Gate is in progress; runbook met"
    )
    # status and items as before: the property only; an item changed: a comment a person reads
    assert (first.note, same.note, items.note) == ("added", None, "added")
    assert len(fake.comments["PAY-1"]) == 2
    assert fake.properties[("PAY-1", "smo-bridge.gate")] == dict(STATUS, items=[])
    assert ("PAY", "smo-bridge.gate") not in fake.properties  # no project property


def test_adf_comments_on_api_v3(loose: responses.RequestsMock) -> None:
    loose.get(
        "https://jira.example/rest/api/3/issue/PAY-1/comment",
        json={
            "startAt": 0,
            "maxResults": 100,
            "total": 1,
            "comments": [
                {
                    "id": "1",
                    "body": {
                        "type": "doc",
                        "version": 1,
                        "content": [
                            {
                                "type": "paragraph",
                                "content": [{"type": "text", "text": "[smo-bridge:tr-9]"}],
                            }
                        ],
                    },
                }
            ],
        },
    )
    assert jira(api_version=3).comment_once("PAY-1", "hello", "tr-9") == "exists"


def _held(**held: bool) -> dict[str, object]:
    return {"permissions": {k: {"key": k, "havePermission": v} for k, v in held.items()}}


def test_the_gate_push_probe_asks_for_the_permissions_it_needs(
    rsps: responses.RequestsMock,
) -> None:
    asked = rsps.get(f"{API}/mypermissions", json=_held(EDIT_ISSUES=True, ADD_COMMENTS=False))
    probe = jira().probe_push("gate_status")
    assert probe.level == "error" and "lacks ADD_COMMENTS" in probe.detail
    assert asked.calls[0].request.params == {"permissions": "EDIT_ISSUES,ADD_COMMENTS"}
    rsps.get(f"{API}/mypermissions", json=_held(EDIT_ISSUES=True, ADD_COMMENTS=True))
    assert jira().probe_push("gate_status").level == "ok"
