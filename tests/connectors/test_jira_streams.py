"""Jira streams on the wire: Cloud's paged /project/search, comments and worklogs, moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from responses import matchers

from connectors.base import Quarantined
from tests.connectors.conftest import jira
from tests.connectors.fakes import (
    FIELDS,
    FakeJira,
    adf_doc,
    jira_comment,
    jira_issue,
    jira_worklog,
)

API = "https://jira.example/rest/api/2"
API3 = "https://jira.example/rest/api/3"
T0 = datetime(2024, 3, 5, 1, 2, 11, tzinfo=UTC)
EXPAND = "description,lead,url,projectKeys"


def project(key: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(10000 + sum(map(ord, key))),
        "key": key,
        "name": key.title(),
        "projectCategory": {"id": "10000", "name": "Service Transition"},
        **extra,
    }


def page_of(
    values: list[dict[str, Any]], start: int, size: int, total: int, **extra: Any
) -> dict[str, Any]:
    return {
        "startAt": start,
        "maxResults": size,
        "total": total,
        "isLast": start + size >= total,
        "values": values,
        **extra,
    }


def at(start: int) -> list[Any]:
    return [matchers.query_param_matcher({"startAt": str(start)}, strict_match=False)]


def versions(rsps: responses.RequestsMock, *keys: str, api: str = API) -> None:
    for key in keys:
        rsps.get(f"{api}/project/{key}/versions", json=[{"id": "1", "name": "Go-live"}])


# -- projects ---------------------------------------------------------------------------------


def test_cloud_projects_page_through_project_search(rsps: responses.RequestsMock) -> None:
    keys = ["AAA", "BBB", "CCC", "DDD", "EEE"]
    all_projects = [project(k, lead={"displayName": "Ana"}) for k in keys]
    first = rsps.get(
        f"{API}/project/search",
        json=page_of(all_projects[:2], 0, 2, 5),
        match=[
            matchers.query_param_matcher(
                {"startAt": "0", "maxResults": "2", "expand": EXPAND, "orderBy": "key"}
            )
        ],
    )
    rsps.get(f"{API}/project/search", json=page_of(all_projects[2:4], 2, 2, 5), match=at(2))
    rsps.get(f"{API}/project/search", json=page_of(all_projects[4:], 4, 2, 5), match=at(4))
    versions(rsps, *keys)
    records = list(jira(deployment="cloud", page_size=2).read("projects"))
    assert [r.key for r in records] == keys
    assert records[0].payload["projectCategory"]["name"] == "Service Transition"
    assert records[0].payload["lead"]["displayName"] == "Ana"
    assert records[0].payload["versions"][0]["name"] == "Go-live"
    assert "keys" not in first.calls[0].request.params  # every project: no filter


def test_a_project_whose_versions_nest_too_deep_is_quarantined_alone(
    rsps: responses.RequestsMock,
) -> None:
    """The versions are read after the project's own check: the record as stored is checked
    again, so a depth bomb in a version is held back instead of failing the whole read."""
    from tests.hostile.malformed import nested

    rsps.get(f"{API}/project/search", json=page_of([project("AAA"), project("BBB")], 0, 2, 2))
    rsps.get(f"{API}/project/AAA/versions",
             json=[{"id": "1", "name": "Go-live", "description": nested(300)}])
    versions(rsps, "BBB")
    quarantined: list[Quarantined] = []
    records = list(jira(deployment="cloud", page_size=2).read("projects", None, quarantined.append))
    assert [r.key for r in records] == ["BBB"]
    assert [(q.key, q.field) for q in quarantined] == [("AAA", "versions")]
    assert "nested deeper than" in quarantined[0].reason


def test_cloud_projects_an_exact_page_boundary_needs_no_extra_request(
    rsps: responses.RequestsMock,
) -> None:
    projects = [project(k) for k in ("AAA", "BBB", "CCC", "DDD")]
    rsps.get(f"{API}/project/search", json=page_of(projects[:2], 0, 2, 4), match=at(0))
    rsps.get(f"{API}/project/search", json=page_of(projects[2:], 2, 2, 4), match=at(2))
    versions(rsps, "AAA", "BBB", "CCC", "DDD")
    assert len(list(jira(deployment="cloud", page_size=2).read("projects"))) == 4
    assert len([c for c in rsps.calls if "project/search" in c.request.url]) == 2


def test_cloud_projects_stop_on_is_last_not_on_a_short_page(rsps: responses.RequestsMock) -> None:
    # a short page that is not the last (permissions filtered it) does not end the list
    rsps.get(
        f"{API}/project/search",
        json=dict(page_of([project("AAA")], 0, 3, 4), isLast=False),
        match=at(0),
    )
    rsps.get(
        f"{API}/project/search",
        json=page_of([project("BBB"), project("CCC")], 1, 3, 4),
        match=at(1),
    )
    versions(rsps, "AAA", "BBB", "CCC")
    records = list(jira(deployment="cloud", page_size=3).read("projects"))
    assert [r.key for r in records] == ["AAA", "BBB", "CCC"]


def test_cloud_projects_empty(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API}/project/search", json=page_of([], 0, 100, 0))
    assert list(jira(deployment="cloud").read("projects")) == []


def test_cloud_projects_without_is_last_fall_back_on_total(rsps: responses.RequestsMock) -> None:
    body = page_of([project("AAA"), project("BBB")], 0, 2, 2)
    del body["isLast"]
    rsps.get(f"{API}/project/search", json=body)
    versions(rsps, "AAA", "BBB")
    assert len(list(jira(deployment="cloud", page_size=2).read("projects"))) == 2


def test_cloud_projects_filter_by_the_configured_keys(rsps: responses.RequestsMock) -> None:
    search = rsps.get(
        f"{API3}/project/search",
        json=page_of([project("OPS"), project("PAY"), project("XTRA")], 0, 100, 3),
    )
    versions(rsps, "OPS", "PAY", api=API3)
    connector = jira(deployment="cloud", api_version=3, projects=["PAY", "OPS"])
    assert [r.key for r in connector.read("projects")] == ["OPS", "PAY"]
    query = search.calls[0].request.url.split("?", 1)[1]
    assert "keys=OPS&keys=PAY" in query and "maxResults=100" in query


def test_cloud_projects_page_size_is_capped_at_100(rsps: responses.RequestsMock) -> None:
    rsps.get(
        f"{API}/project/search",
        json=page_of([], 0, 100, 0),
        match=[matchers.query_param_matcher({"maxResults": "100"}, strict_match=False)],
    )
    assert list(jira(deployment="cloud", page_size=500).read("projects")) == []


def test_auto_deployment_picks_the_endpoint(loose: responses.RequestsMock) -> None:
    for deployment in ("Cloud", "Server"):
        fake = FakeJira(deployment=deployment)
        fake.projects = [project("PAY", lead={"displayName": "Ana"})]
        fake.register(loose)
        [record] = jira().read("projects")
        assert record.payload["lead"] == {"displayName": "Ana"}
        loose.reset()
    # FakeJira answers /project/search on Cloud only, as the sandbox and real Jira do


# -- comments and worklogs --------------------------------------------------------------------


def test_cloud_v3_comments_are_adf_with_their_text(rsps: responses.RequestsMock) -> None:
    issue = jira_issue("PAY-1", T0, issue_id="10010")
    rsps.get(f"{API3}/field", json=FIELDS)  # the library resolves `fields` names through it
    rsps.get(f"{API3}/search/jql", json={"issues": [issue], "isLast": True})
    body = adf_doc("Firewall rule added.", "Runbook: see wiki")
    rsps.get(
        f"{API3}/issue/PAY-1/comment",
        json={
            "startAt": 0,
            "maxResults": 100,
            "total": 1,
            "comments": [jira_comment("10000", T0 - timedelta(minutes=5), body)],
        },
    )
    [record] = jira(deployment="cloud", api_version=3, comments=True).read("comments")
    assert record.key == "10000"
    assert record.updated == T0 - timedelta(minutes=5)
    assert record.payload["body"] == body  # as the vendor sent it
    assert record.payload["bodyText"] == "Firewall rule added.\nRunbook: see wiki"
    assert (record.payload["issueKey"], record.payload["issueId"]) == ("PAY-1", "10010")


def test_server_comments_are_text_and_page_with_start_at(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API}/field", json=FIELDS)
    rsps.get(f"{API}/search", json={"startAt": 0, "total": 1, "issues": [jira_issue("OPS-1", T0)]})
    comments = [jira_comment(str(n), T0 + timedelta(minutes=n), f"note {n}") for n in range(3)]
    for start in (0, 2):
        rsps.get(
            f"{API}/issue/OPS-1/comment",
            json={
                "startAt": start,
                "maxResults": 2,
                "total": 3,
                "comments": comments[start : start + 2],
            },
            match=[
                matchers.query_param_matcher(
                    {"startAt": str(start), "maxResults": "2"}, strict_match=False
                )
            ],
        )
    records = list(jira(deployment="server", page_size=2, comments=True).read("comments"))
    assert [r.key for r in records] == ["0", "1", "2"]
    assert [r.payload["bodyText"] for r in records] == ["note 0", "note 1", "note 2"]


def test_worklogs(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API3}/field", json=FIELDS)
    rsps.get(
        f"{API3}/search/jql",
        json={"issues": [jira_issue("PAY-1", T0), jira_issue("PAY-2", T0)], "isLast": True},
    )
    log = jira_worklog("30001", T0, seconds=5400)
    log["comment"] = adf_doc("Investigation and fix")
    rsps.get(
        f"{API3}/issue/PAY-1/worklog",
        json={"startAt": 0, "maxResults": 5000, "total": 1, "worklogs": [log]},
    )
    rsps.get(
        f"{API3}/issue/PAY-2/worklog",
        json={"startAt": 0, "maxResults": 5000, "total": 0, "worklogs": []},
    )
    connector = jira(deployment="cloud", api_version=3, worklogs=True)
    assert [s.name for s in connector.streams()][-1] == "worklogs"
    [record] = connector.read("worklogs")
    assert (record.key, record.updated) == ("30001", T0)
    assert record.payload["timeSpentSeconds"] == 5400
    assert record.payload["commentText"] == "Investigation and fix"
    assert record.payload["issueKey"] == "PAY-1"


def test_only_issues_updated_since_the_signpost_are_read_again(
    loose: responses.RequestsMock,
) -> None:
    fake = FakeJira(zone="UTC")
    fake.issues = [jira_issue("PAY-1", T0), jira_issue("PAY-2", T0 + timedelta(days=1))]
    fake.comments = {
        "PAY-1": [jira_comment("1", T0)],
        "PAY-2": [jira_comment("2", T0), jira_comment("3", T0 + timedelta(days=1))],
    }
    fake.register(loose)
    connector = jira(comments=True, overlap_seconds=0)
    assert {r.key for r in connector.read("comments")} == {"1", "2", "3"}
    before = len(loose.calls)
    since = T0 + timedelta(hours=12)
    # the updated issue's comments come back, the untouched issue is not asked
    assert {r.key for r in connector.read("comments", since)} == {"2", "3"}
    asked = [c.request.url for c in loose.calls[before:] if "/comment" in c.request.url]
    assert len(asked) == 1 and "/issue/PAY-2/comment" in asked[0]
    assert 'updated >= "2024-03-05 13:02"' in fake.searches[-1]


def test_a_malformed_comment_is_quarantined_and_the_rest_arrive(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(f"{API}/field", json=FIELDS)
    rsps.get(f"{API}/search/jql", json={"issues": [jira_issue("PAY-1", T0)], "isLast": True})
    no_id = jira_comment("x", T0)
    del no_id["id"]
    bad_created = jira_comment("11", T0)
    bad_created["created"] = "last Tuesday"
    rsps.get(
        f"{API}/issue/PAY-1/comment",
        json={
            "startAt": 0,
            "maxResults": 100,
            "total": 3,
            "comments": [no_id, bad_created, jira_comment("12", T0)],
        },
    )
    quarantined: list[Quarantined] = []
    records = list(
        jira(deployment="cloud", comments=True).read("comments", None, quarantined.append)
    )
    assert [r.key for r in records] == ["12"]
    # a comment without an id is held under a key from its content, never a shared "?"
    assert [q.stream for q in quarantined] == ["comments", "comments"]
    assert quarantined[0].key and quarantined[0].key.startswith("~sha256:")
    assert (quarantined[0].field, quarantined[1].key, quarantined[1].field) == ("id", "11", "created")
    assert quarantined[0].reason == "id: the record has no key"
    assert quarantined[1].reason.startswith("created: unreadable timestamp 'last Tuesday'")
    assert quarantined[1].payload["issueKey"] == "PAY-1"


# -- moves ------------------------------------------------------------------------------------


def test_the_issues_stream_declares_the_stable_id() -> None:
    spec = jira().stream("issues")
    assert (spec.primary_key, spec.identity_field) == ("key", "id")


def test_an_issue_moved_during_the_read_comes_under_both_keys_with_its_id(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API}/field", json=FIELDS)
    moved_at = T0 + timedelta(hours=1)
    rsps.get(
        f"{API}/search/jql",
        json={
            "issues": [jira_issue("OPS-7", T0, issue_id="4242"), jira_issue("OPS-8", T0)],
            "nextPageToken": "t1",
            "isLast": False,
        },
        match=[matchers.query_param_matcher({"maxResults": "2"}, strict_match=False)],
    )
    rsps.get(
        f"{API}/search/jql",
        json={"issues": [jira_issue("PAY-31", moved_at, issue_id="4242")], "isLast": True},
        match=[matchers.query_param_matcher({"nextPageToken": "t1"}, strict_match=False)],
    )
    records = list(jira(deployment="cloud", page_size=2).read("issues"))
    # the engine retires OPS-7 by the id both carry (tests/unit/test_store.py)
    assert [(r.key, r.deleted) for r in records] == [
        ("OPS-7", False),
        ("OPS-8", False),
        ("PAY-31", False),
    ]
    assert records[0].payload["id"] == records[2].payload["id"] == "4242"
    assert records[2].updated == moved_at  # the stream stays sorted


def test_the_same_issue_twice_under_one_key_is_no_move(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API}/field", json=FIELDS)
    issue = jira_issue("OPS-7", T0, issue_id="4242")
    later = jira_issue("OPS-7", T0 + timedelta(minutes=1), issue_id="4242")
    rsps.get(f"{API}/search/jql", json={"issues": [issue, later], "isLast": True})
    records = list(jira(deployment="cloud").read("issues"))
    assert [(r.key, r.deleted) for r in records] == [("OPS-7", False), ("OPS-7", False)]


@pytest.mark.parametrize("deployment", ["cloud", "server"])
def test_a_move_between_reads_arrives_under_the_new_key_with_the_same_id(
    loose: responses.RequestsMock, deployment: str
) -> None:
    """Across reads the connector has no memory: it hands over the new key with the id,
    and the stream's identity_field tells the engine to retire the old key."""
    fake = FakeJira(deployment=deployment.title(), zone="UTC")
    fake.issues = [jira_issue("OPS-7", T0, issue_id="4242")]
    fake.register(loose)
    connector = jira(deployment=deployment, overlap_seconds=0)
    [before] = connector.read("issues")
    fake.issues = [jira_issue("PAY-31", T0 + timedelta(days=1), issue_id="4242")]
    [after] = connector.read("issues", T0 + timedelta(hours=1))
    assert (before.key, after.key) == ("OPS-7", "PAY-31")
    spec = connector.stream("issues")
    assert spec.identity_field is not None
    assert before.payload[spec.identity_field] == after.payload[spec.identity_field] == "4242"
