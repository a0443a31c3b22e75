"""Recorded Jira payloads (shared/realapi/jira, next to the repository) replayed through the
real `jira` client into the connector, then through the shipped Jira mapping.

These files are reference material kept outside the project; a missing file is a failure,
not a skip, so the check cannot silently stop running.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses

from bridge.models import RawRecord, Ticket
from connectors.base import Quarantined
from connectors.jira import JiraConfig, JiraConnector
from connectors.jira_fields import field_catalogue
from mappings import BoundMapping, default_mapping

REALAPI = Path(__file__).resolve().parents[2].parent / "shared" / "realapi" / "jira"
URL = "https://jira.example"


def recorded(name: str) -> Any:
    path = REALAPI / name
    assert path.is_file(), f"recorded payload missing: {path}"
    return json.loads(path.read_text(encoding="utf-8"))


def stock_fields() -> list[dict[str, Any]]:
    """Atlassian's own example of GET /field."""
    extract = recorded("openapi/openapi_200_examples_extract.json")
    fields = extract["GET /rest/api/3/field"]["example_200"]
    assert isinstance(fields, list) and fields
    return fields


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def connector(deployment: str, api: int = 2, **extra: Any) -> JiraConnector:
    return JiraConnector(
        JiraConfig.model_validate(
            {
                "name": "jira",
                "kind": "jira",
                "url": URL,
                "auth": {"kind": "basic", "username": "bot@example.com", "password": "t"},
                "deployment": deployment,
                "api_version": api,
                "page_size": 100,
                "time_zone": "UTC",
                "retry": {"max_attempts": 1},
                **extra,
            }
        )
    )


def read(conn: JiraConnector, stream: str) -> list[RawRecord]:
    rejected: list[Quarantined] = []
    records = list(conn.read(stream, None, rejected.append))
    assert rejected == []
    return records


def bound() -> BoundMapping:
    return default_mapping("jira").bind(field_catalogue(stock_fields()))


def tickets(records: list[RawRecord]) -> dict[str, Ticket]:
    mapping = bound()
    out: dict[str, Ticket] = {}
    for record in records:
        outcome = mapping.map(record)
        assert outcome.kind == "ticket", (record.key, outcome.field, outcome.reason)
        assert outcome.ticket is not None
        out[record.key] = outcome.ticket
    return out


def serve_issues(rsps: responses.RequestsMock, deployment: str, body: Any, api: int = 2) -> None:
    rsps.get(f"{URL}/rest/api/{api}/field", json=stock_fields())
    path = "search" if deployment == "server" else "search/jql"
    rsps.get(f"{URL}/rest/api/{api}/{path}", json=body)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_server_5_search_sampleproject(rsps: responses.RequestsMock) -> None:
    body = recorded("server_v2_search_SAMPLEPROJECT.json")
    serve_issues(rsps, "server", body)
    records = read(connector("server"), "issues")
    assert [r.key for r in records] == [i["key"] for i in body["issues"]]
    assert len(records) == 11
    first = records[0]
    assert first.key == "SAMPLEPROJECT-13"
    assert first.updated == utc("2011-12-15T02:35:06+00:00")
    mapped = tickets(records)
    for ticket in mapped.values():
        # Server 5.x statuses carry no statusCategory: the stock name decides
        assert (ticket.type, ticket.status, ticket.status_category) == ("Task", "Open", "todo")
        assert ticket.priority == "medium"  # Major, Server's default priority
        assert ticket.project_key == "SAMPLEPROJECT"
        # a plain Server task: the default's delivery work, not continual improvement
        assert ticket.practice == "software_development_and_management"
    assert mapped["SAMPLEPROJECT-13"].opened == utc("2011-12-15T02:35:06+00:00")
    assert mapped["SAMPLEPROJECT-1"].opened == utc("2011-12-13T21:26:06+00:00")
    assert mapped["SAMPLEPROJECT-1"].resolved is None


def test_server_5_single_issue_with_components(rsps: responses.RequestsMock) -> None:
    issue = recorded("server_v2_issue_SAMPLEPROJECT-1.json")
    serve_issues(rsps, "server", {"startAt": 0, "maxResults": 50, "total": 1, "issues": [issue]})
    ticket = tickets(read(connector("server"), "issues"))["SAMPLEPROJECT-1"]
    # the first component (no Team field on this instance), which no specialist team takes
    assert (ticket.team, ticket.attributes["group"]) == ("unmapped", "Jamflam")
    assert ticket.status_category == "todo"
    assert ticket.opened == utc("2011-12-13T21:26:06.030+00:00")


def test_data_center_issue_mat_1(rsps: responses.RequestsMock) -> None:
    issue = recorded("server_dc_v2_issue_MAT-1.json")
    serve_issues(rsps, "server", {"startAt": 0, "maxResults": 50, "total": 1, "issues": [issue]})
    records = read(connector("server"), "issues")
    assert records[0].payload["id"] == issue["id"]
    ticket = tickets(records)["MAT-1"]
    assert (ticket.type, ticket.status, ticket.status_category) == ("Story", "To Do", "todo")
    assert ticket.priority == "medium"
    assert ticket.opened == utc("2025-04-10T17:14:56+00:00")
    assert ticket.sla_breached is False


def test_cloud_search_with_changelog(rsps: responses.RequestsMock) -> None:
    body = recorded("cloud_v2_search_expand_changelog.json")
    serve_issues(rsps, "cloud", body)
    records = read(connector("cloud"), "issues")
    assert [r.key for r in records] == ["SP-11", "SP-8", "SP-7", "SP-5", "SP-2", "SP-1"]
    mapped = tickets(records)
    assert {t.type for t in mapped.values()} == {"Story"}
    assert mapped["SP-11"].status == "Selected for Development"
    assert mapped["SP-11"].status_category == "in_progress"  # its statusCategory says so
    assert mapped["SP-5"].status_category == "done"
    assert mapped["SP-5"].resolved == utc("2021-10-11T12:49:07.227+00:00")
    assert mapped["SP-1"].opened == utc("2021-06-18T18:41:29.398+00:00")
    assert all(t.team is None and t.sla_breached is False for t in mapped.values())


@pytest.mark.parametrize(
    ("name", "key", "status_category", "resolved"),
    [
        ("cloud_v2_issue_SP-5_changelog.json", "SP-5", "done", "2021-10-11T12:49:07.227+00:00"),
        (
            "cloud_v2_issue_SP-13_sprint_field.json",
            "SP-13",
            "done",
            "2022-04-19T01:53:42.180+00:00",
        ),
    ],
)
def test_cloud_single_issues(
    rsps: responses.RequestsMock, name: str, key: str, status_category: str, resolved: str
) -> None:
    issue = recorded(name)
    serve_issues(rsps, "cloud", {"issues": [issue], "isLast": True})
    ticket = tickets(read(connector("cloud"), "issues"))[key]
    assert (ticket.key, ticket.type, ticket.status_category) == (key, "Story", status_category)
    assert ticket.resolved == utc(resolved)


def test_cloud_v3_issue_with_adf_and_a_local_offset(rsps: responses.RequestsMock) -> None:
    issue = recorded("cloud_v3_issue_SEC-108_adf.json")
    serve_issues(rsps, "cloud", {"issues": [issue], "isLast": True}, api=3)
    records = read(connector("cloud", api=3), "issues")
    assert records[0].updated == utc("2026-01-25T23:39:16.439+00:00")  # +0200 on the wire
    ticket = tickets(records)["SEC-108"]
    assert (ticket.type, ticket.status, ticket.status_category) == ("Task", "To Do", "todo")
    assert ticket.opened == utc("2026-01-25T23:39:15.250+00:00")
    assert ticket.labels == ["security"]


def with_category(project: dict[str, Any]) -> dict[str, Any]:
    """The project as an admin would file it: category Service Transition (shape of the
    projectCategory object in Atlassian's project examples)."""
    changed = copy.deepcopy(project)
    changed["projectCategory"] = {
        "self": f"{URL}/rest/api/2/projectCategory/10000",
        "id": "10000",
        "name": "Service Transition",
        "description": "Services being introduced or changed",
    }
    return changed


def test_cloud_project_search_value(rsps: responses.RequestsMock) -> None:
    project = recorded("cloud_v3_project_search_value_AI.json")
    rsps.get(
        f"{URL}/rest/api/3/project/search",
        json={"startAt": 0, "maxResults": 100, "total": 1, "isLast": True, "values": [project]},
    )
    rsps.get(f"{URL}/rest/api/3/project/AI/versions", json=[])
    records = read(connector("cloud", api=3), "projects")
    assert [r.key for r in records] == ["AI"]
    mapping = bound()
    skipped = mapping.map(records[0])
    assert skipped.kind == "skip"  # no category: a delivery project, not a transition
    filed = RawRecord(
        source="jira", stream="projects", key="AI", payload=with_category(records[0].payload)
    )
    mapped = mapping.map(filed).project
    assert mapped is not None
    assert (mapped.key, mapped.name, mapped.link_keys) == ("AI", "AI Agentic Demo", ["AI"])
    assert mapped.url == project["self"]
    assert mapped.milestones == []


def test_server_project(rsps: responses.RequestsMock) -> None:
    project = recorded("server_v2_project_SAMPLEPROJECT.json")
    rsps.get(f"{URL}/rest/api/2/project", json=[project])
    rsps.get(f"{URL}/rest/api/2/project/SAMPLEPROJECT/versions", json=project["versions"])
    records = read(connector("server"), "projects")
    assert [r.key for r in records] == ["SAMPLEPROJECT"]
    mapping = bound()
    assert mapping.map(records[0]).kind == "skip"
    filed = RawRecord(
        source="jira",
        stream="projects",
        key="SAMPLEPROJECT",
        payload=with_category(records[0].payload),
    )
    mapped = mapping.map(filed).project
    assert mapped is not None
    assert mapped.name == "Sample Project for Developing RoR RESTful API"
    assert mapped.project_manager == "admin"  # lead.displayName
    assert [(c.role, c.name) for c in mapped.contacts] == [
        ("project_manager", "admin"), ("service_desk", "Service Desk")]


def comments_connector(deployment: str, api: int) -> JiraConnector:
    return connector(deployment, api, comments=True)


def test_server_comments_are_plain_text(rsps: responses.RequestsMock) -> None:
    issue = recorded("server_v2_issue_SAMPLEPROJECT-1.json")
    serve_issues(rsps, "server", {"startAt": 0, "total": 1, "issues": [issue]})
    rsps.get(
        f"{URL}/rest/api/2/issue/SAMPLEPROJECT-1/comment",
        json=recorded("server_v2_issue_comments.json"),
    )
    records = read(comments_connector("server", 2), "comments")
    assert [r.key for r in records] == ["10000", "10001"]
    assert records[0].payload["bodyText"] == "This is a comment. Creative."
    assert records[0].payload["issueKey"] == "SAMPLEPROJECT-1"
    assert records[0].updated == utc("2012-01-12T02:15:13.074+00:00")


def test_cloud_v3_comments_are_adf(rsps: responses.RequestsMock) -> None:
    issue = recorded("cloud_v3_issue_SEC-108_adf.json")
    serve_issues(rsps, "cloud", {"issues": [issue], "isLast": True}, api=3)
    rsps.get(
        f"{URL}/rest/api/3/issue/SEC-108/comment",
        json=recorded("cloud_v3_issue_comments_adf.json"),
    )
    records = read(comments_connector("cloud", 3), "comments")
    assert [r.key for r in records] == ["10755", "10521"]
    assert records[0].payload["bodyText"] == "Closed"
    assert records[1].payload["bodyText"].startswith("Lorem ipsum dolor sit amet")
    assert records[0].updated == utc("2022-05-17T11:06:55.076+00:00")
