"""Who moved a deliverable to done, from Jira's changelog as recorded (shared/realapi/jira),
through the real connector and the shipped mapping: the approval when no field records one."""

from __future__ import annotations

import copy
from typing import Any

import responses
from responses import matchers

from connectors.jira import done_transition
from tests.realapi.test_jira_realapi import (
    URL,
    connector,
    read,
    recorded,
    rsps,  # noqa: F401  (fixture)
    serve_issues,
    tickets,
    utc,
)


def labelled(issue: dict[str, Any], label: str) -> dict[str, Any]:
    issue = copy.deepcopy(issue)
    issue["fields"]["labels"] = [*issue["fields"].get("labels", []), label]
    return issue


def test_search_changelog_names_who_moved_the_deliverable_to_done(
    rsps: responses.RequestsMock,  # noqa: F811
) -> None:
    """SP-5 went to Done twice (reopened in between): the latest move is the one that counts.
    The changelog came with the search, so nothing more is asked."""
    body = recorded("cloud_v2_search_expand_changelog.json")
    body = {**body, "issues": [labelled(i, "gate:runbook") if i["key"] == "SP-5" else i
                               for i in body["issues"]]}
    serve_issues(rsps, "cloud", body)
    records = {r.key: r for r in read(connector("cloud"), "issues")}
    moved = records["SP-5"].payload["doneTransition"]
    assert moved["created"] == "2021-10-11T12:49:07.261+0000"
    assert moved["author"]["displayName"] == "Mike Bowler"
    assert "doneTransition" not in records["SP-11"].payload  # neither done nor a deliverable
    ticket = tickets(list(records.values()))["SP-5"]
    assert ticket.attributes["approved_by"] == "Mike Bowler"


def test_changelog_is_read_only_for_done_deliverables(
    rsps: responses.RequestsMock,  # noqa: F811
) -> None:
    """Without the changelog in the search, one issue read fetches it, for done issues with a
    gate label only: SP-1 carries a label but is in Review, the rest carry none."""
    body = recorded("cloud_v2_search_expand_changelog.json")
    issues = []
    for issue in body["issues"]:
        issue = {k: v for k, v in issue.items() if k != "changelog"}
        issues.append(labelled(issue, "gate:sla") if issue["key"] in ("SP-5", "SP-1") else issue)
    serve_issues(rsps, "cloud", {**body, "issues": issues})
    rsps.get(f"{URL}/rest/api/2/issue/SP-5", json=recorded("cloud_v2_issue_SP-5_changelog.json"),
             match=[matchers.query_param_matcher({"fields": "status", "expand": "changelog"})])
    records = {r.key: r for r in read(connector("cloud"), "issues")}
    assert records["SP-5"].payload["doneTransition"]["author"]["displayName"] == "Mike Bowler"
    assert "doneTransition" not in records["SP-1"].payload
    ticket = tickets(list(records.values()))["SP-5"]
    assert ticket.attributes["approved_by"] == "Mike Bowler"
    assert ticket.resolved == utc("2021-10-11T12:49:07.227+00:00")


def test_order_of_histories_does_not_matter() -> None:
    """Cloud lists histories newest first, Server oldest first."""
    issue = recorded("cloud_v2_issue_SP-5_changelog.json")
    newest_first = done_transition(issue, issue["changelog"])
    oldest_first = done_transition(issue, {"histories": issue["changelog"]["histories"][::-1]})
    assert newest_first == oldest_first
    assert newest_first is not None and newest_first["created"] == "2021-10-11T12:49:07.261+0000"


def test_no_changelog_is_asked_when_disabled(rsps: responses.RequestsMock) -> None:  # noqa: F811
    body = recorded("cloud_v2_search_expand_changelog.json")
    issues = [labelled({k: v for k, v in i.items() if k != "changelog"}, "gate:sla")
              for i in body["issues"]]
    serve_issues(rsps, "cloud", {**body, "issues": issues})
    records = read(connector("cloud", done_transition_labels=[]), "issues")
    assert all("doneTransition" not in r.payload for r in records)
