"""A stock ServiceNow instance by default; the customer's columns only with custom_columns."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pysnow
import pytest
import requests

from bridge.sandbox import Sandbox
from tests.sandbox.conftest import AUTH

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
CUSTOM = {
    "pm_project": {"u_service", "u_jira_project", "u_go_live", "u_service_manager",
                   "u_smo_gate_status"},
    "cmdb_ci_service": {"u_aliases", "u_support_hours", "u_sla"},
    "kb_knowledge": {"u_smo_correlation"},
}  # fmt: skip


def rows(sb: Sandbox, table: str, **params: Any) -> list[dict[str, Any]]:
    response = requests.get(
        f"{sb.servicenow_url}/api/now/table/{table}", params=params, auth=AUTH, timeout=10
    )
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["result"]
    return result


def snow(sb: Sandbox) -> pysnow.Client:
    host = sb.servicenow_url.removeprefix("http://")
    return pysnow.Client(host=host, user="sandbox", password="sandbox", use_ssl=False)


@pytest.fixture(scope="module")
def pair() -> Any:
    """The same world as a stock instance and as the customised one."""
    with (
        Sandbox(seed=5, tickets=300, now=NOW) as stock,
        Sandbox(seed=5, tickets=300, now=NOW, custom_columns=True) as custom,
    ):
        yield stock, custom


def test_stock_tables_have_no_custom_columns_and_custom_mode_keeps_them(pair: Any) -> None:
    stock, custom = pair
    for table, columns in CUSTOM.items():
        plain = rows(stock, table, sysparm_limit=3)
        assert plain and all(columns.isdisjoint(r) for r in plain), table
        customised = rows(custom, table, sysparm_limit=3)
        assert all(columns <= set(r) for r in customised), table
    linked = rows(custom, "pm_project", sysparm_query="u_jira_projectISNOTEMPTY")
    assert linked and all(r["u_go_live"] for r in linked)
    assert {r["title"] for r in rows(stock, "kb_knowledge_base")} == {"IT", "Knowledge"}
    assert "IT Service Desk" in {r["title"] for r in rows(custom, "kb_knowledge_base")}


def test_sys_dictionary_lists_the_columns_of_each_mode(pair: Any) -> None:
    stock, custom = pair
    for sb, has_custom in ((stock, False), (custom, True)):
        entries = rows(
            sb,
            "sys_dictionary",
            sysparm_query="nameINpm_project,cmdb_ci_service,kb_knowledge,task",
            sysparm_fields="name,element,internal_type,column_label",
        )
        found = {(e["name"], e["element"]) for e in entries}
        wanted = {(t, c) for t, columns in CUSTOM.items() for c in columns}
        assert (wanted <= found) == has_custom and (not wanted & found) != has_custom
        by_element = {(e["name"], e["element"]): e for e in entries}
        # inherited columns are entries of task, as on a real instance
        assert ("task", "short_description") in found
        assert ("pm_project", "short_description") not in found
        owner = by_element[("cmdb_ci_service", "owned_by")]
        assert owner["internal_type"]["value"] == "reference"
        assert owner["column_label"] == "Owned by"
        collection = by_element[("pm_project", "")]  # the table's own entry has no element
        assert collection["internal_type"]["value"] == "collection"
    assert by_element[("pm_project", "u_go_live")]["internal_type"]["value"] == "glide_date"


@pytest.mark.parametrize("custom", [False, True])
def test_projects_and_services_fill_the_stock_fields(pair: Any, custom: bool) -> None:
    sb = pair[custom]
    projects = rows(sb, "pm_project", sysparm_display_value="all")
    services = {r["sys_id"]: r for r in rows(sb, "cmdb_ci_service")}
    users = {r["sys_id"]: r["name"] for r in rows(sb, "sys_user")}
    transitions = {t.name: t for t in sb.org.transitions}
    with_service = [p for p in projects if p["business_service"]["value"]]
    assert len(with_service) == sum(t.in_servicenow for t in sb.org.transitions)
    for project in with_service:
        t = transitions[project["short_description"]["value"]]
        service = services[project["business_service"]["value"]]
        assert service["name"] == sb.org.services[t.service].name
        # the service's owner is the transition's service manager
        assert users[service["owned_by"]["value"]] == sb.org.people[t.service_manager].display_name
        assert project["end_date"]["value"].startswith(t.go_live.isoformat())
        assert project["start_date"]["value"] and project["project_manager"]["value"]
        assert project["approval"]["value"] in ("approved", "requested", "not requested")
        assert project["state"]["display_value"] and project["active"]["value"] in ("true", "false")
    assert any(not p["end_date"]["value"] for p in projects)  # nobody planned an end
    for service in services.values():
        assert service["managed_by"]["value"] and service["support_group"]["value"]
        assert service["busines_criticality"] and service["operational_status"] == "1"
    notes = rows(sb, "sys_journal_field", sysparm_query="name=pm_project^element=work_notes")
    assert {n["element_id"] for n in notes} >= {p["sys_id"]["value"] for p in with_service}


def test_project_approvals_follow_the_seeded_gates(pair: Any) -> None:
    stock, custom = pair
    for sb in (stock, custom):
        projects = {
            r["sys_id"]: r for r in rows(sb, "pm_project", sysparm_fields="sys_id,number,approval,"
                                         "short_description,business_service")
        }  # fmt: skip
        approvals = rows(sb, "sysapproval_approver",
                         sysparm_query="source_table=pm_project^ORDERBYsys_created_on")
        assert {a["state"] for a in approvals} >= {"approved", "requested", "rejected"}
        latest: dict[str, dict[str, Any]] = {}
        for a in approvals:
            project = projects[a["sysapproval"]["value"]]
            assert a["sysapproval"]["link"].endswith("/api/now/table/task/" + project["sys_id"])
            latest[project["short_description"]] = a
            assert project["business_service"], "internal projects need no service approval"
        by_name = {t.jira_key: t.name for t in sb.org.transitions if t.jira_key}
        # PAYX passed its gate: its service owner approved; PORTAL awaits the review
        assert latest[by_name["PAYX"]]["state"] == "approved"
        assert latest[by_name["PORTAL"]]["state"] == "requested"
        for name, approval in latest.items():
            project = next(p for p in projects.values() if p["short_description"] == name)
            assert project["approval"] == approval["state"]
        rejected = next(a for a in approvals if a["state"] == "rejected")
        comment = rows(sb, "sys_journal_field", sysparm_query=f"element_id={rejected['sys_id']}")
        assert comment and comment[0]["element"] == "comments"
        task = requests.get(rejected["sysapproval"]["link"], auth=AUTH, timeout=5)
        assert task.json()["result"]["sys_class_name"] == "pm_project"


def test_knowledge_articles_have_stock_fields_and_workflow_states(pair: Any) -> None:
    stock, _ = pair
    articles = rows(stock, "kb_knowledge", sysparm_display_value="all")
    states = Counter(a["workflow_state"]["value"] for a in articles)
    assert states["published"] > 1 and {"draft", "review", "retired", "outdated"} <= set(states)
    bases = {r["sys_id"]: r["title"] for r in rows(stock, "kb_knowledge_base")}
    for article in articles:
        assert article["number"]["value"].startswith("KB")
        assert bases[article["kb_knowledge_base"]["value"]] == "IT"
        assert article["kb_category"]["display_value"] in ("Services", "Known errors")
        assert article["author"]["value"]
        assert {"text", "meta", "valid_to", "cmdb_ci", "short_description"} <= set(article)
    retired = [a for a in articles if a["workflow_state"]["value"] in ("retired", "outdated")]
    assert all(a["active"]["value"] == "false" for a in retired)
    published = [a for a in articles if a["workflow_state"]["value"] == "published"]
    assert all(a["cmdb_ci"]["display_value"] for a in published)


def test_writes_of_missing_fields_are_dropped_silently(pair: Any) -> None:
    stock, custom = pair
    for sb, kept in ((stock, False), (custom, True)):
        kb = snow(sb).resource(api_path="/table/kb_knowledge")
        created = kb.create(
            {"short_description": "Payments", "u_smo_correlation": "smo:1", "text": "<p>x</p>"}
        ).one()
        assert created["short_description"] == "Payments"
        assert ("u_smo_correlation" in created) == kept
        project = rows(sb, "pm_project", sysparm_limit=1)[0]
        patched = requests.patch(
            f"{sb.servicenow_url}/api/now/table/pm_project/{project['sys_id']}",
            json={"u_smo_gate_status": "at_risk", "short_description": "Renamed"},
            auth=AUTH,
            timeout=5,
        )
        assert patched.status_code == 200
        body = patched.json()["result"]
        assert body["short_description"] == "Renamed"
        assert body.get("u_smo_gate_status") == ("at_risk" if kept else None)


def test_deliverable_tasks_and_their_approvals_are_stock_rows(pair: Any) -> None:
    """Each project's deliverables are pm_project_task rows under it, approved through the
    stock approval tables: by the right person or group, the wrong one, or not yet."""
    stock, _ = pair
    projects = {r["sys_id"] for r in rows(stock, "pm_project", sysparm_fields="sys_id")}
    tasks = {r["sys_id"]: r for r in rows(stock, "pm_project_task")}
    assert tasks and all(t["parent"]["value"] in projects and t["top_task"] == t["parent"]
                         for t in tasks.values())
    person = rows(stock, "sysapproval_approver", sysparm_query="source_table=pm_project_task")
    group = rows(stock, "sysapproval_group")
    assert all(a["sysapproval"]["value"] in tasks for a in person)
    assert all(g["parent"]["value"] in tasks for g in group)
    assert {a["state"] for a in person} == {"approved", "requested"}
    assert {g["approval"] for g in group} == {"approved", "requested"}
    # some group approvals come from a group other than the task's own team
    assert any(g["assignment_group"]["value"] != tasks[g["parent"]["value"]]["assignment_group"]
               ["value"] for g in group if g["approval"] == "approved")
