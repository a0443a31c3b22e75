"""The seeded world: deterministic, realistic in shape, small or large."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import requests

from bridge.sandbox import Sandbox
from tests.sandbox.conftest import AUTH

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def snapshot(sb: Sandbox) -> dict[str, Any]:
    issues = requests.post(
        f"{sb.jira_url}/rest/api/3/search/jql",
        auth=AUTH,
        timeout=10,
        json={"jql": "project = OPS ORDER BY key ASC", "fields": ["*all"], "maxResults": 30},
    ).json()
    incidents = requests.get(
        f"{sb.servicenow_url}/api/now/table/incident",
        auth=AUTH,
        params={"sysparm_limit": 30},
        timeout=10,
    ).json()
    projects = requests.get(
        f"{sb.servicenow_url}/api/now/table/pm_project", auth=AUTH, timeout=10
    ).json()
    text = json.dumps({"issues": issues, "incidents": incidents, "projects": projects})
    # links name the port, which differs between two sandboxes
    text = text.replace(sb.jira_url, "JIRA").replace(sb.servicenow_url, "SNOW")
    return dict(json.loads(text))


def test_same_seed_same_data(sandbox_factory: Any) -> None:
    first = snapshot(sandbox_factory(seed=7, tickets=300, now=NOW))
    second = snapshot(sandbox_factory(seed=7, tickets=300, now=NOW))
    other = snapshot(sandbox_factory(seed=8, tickets=300, now=NOW))
    assert first == second
    assert first != other


def test_a_handful_of_tickets_still_makes_an_org(sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=1, tickets=5, now=NOW)
    assert sb.servicenow_count("incident") + sb.servicenow_count("sc_req_item") <= 5
    assert sb.servicenow_count("cmdb_ci_service") >= 8
    body = requests.get(f"{sb.jira_url}/rest/api/3/project", auth=AUTH, timeout=5).json()
    assert sum(p["projectCategory"]["name"] == "Service Transition" for p in body) >= 5


def test_transitions_land_in_different_states(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(seed=42, tickets=600, custom_columns=True)  # u_jira_project
    today = sandbox.org.anchor.date()
    go_lives = [t.go_live for t in sandbox.org.transitions]
    assert any(d < today for d in go_lives) and any(d > today for d in go_lives)
    deliverables = [d for t in sandbox.org.transitions for d in t.deliverables]
    assert any(d.done for d in deliverables) and any(not d.done for d in deliverables)
    approvals = Counter(
        "appointed"
        if d.approved_by == d.approver
        else "other"
        if d.approved_by is not None
        else "none"
        for d in deliverables
        if d.done
    )
    assert approvals["appointed"] and approvals["other"]
    rows = sandbox.servicenow_rows("pm_project")
    linked = [r for r in rows if r["u_jira_project"]]
    assert linked and len(linked) < len(rows)


def test_tickets_look_like_operations(sandbox: Sandbox) -> None:
    rows = sandbox.servicenow_rows("incident")
    priorities = Counter(r["priority"] for r in rows)
    assert priorities["3"] > priorities["1"] > 0
    assert {"true", "false", ""} == {r["made_sla"] for r in rows}  # "": never evaluated
    updated = Counter(r["sys_updated_on"] for r in rows)
    assert max(updated.values()) >= 2  # bulk edits share a second
    assert any(r["resolved_at"] and r["sys_updated_on"] > r["resolved_at"] for r in rows)
    breached = sandbox.servicenow_rows("task_sla", "has_breached=true")
    assert breached
    assert sandbox.servicenow_rows("sys_audit_delete")
