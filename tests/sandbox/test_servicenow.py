"""The emulated ServiceNow Table API through pysnow and plain HTTP (stock instance,
non-admin user: the defaults)."""

from __future__ import annotations

from typing import Any

import pysnow
import pytest
import requests

from bridge.sandbox import Sandbox
from tests.sandbox.conftest import AUTH


def snow(sb: Sandbox) -> pysnow.Client:
    return pysnow.Client(
        host=sb.servicenow_url.removeprefix("http://"),
        user="sandbox",
        password="sandbox",
        use_ssl=False,
    )


def get(sb: Sandbox, table: str, **params: Any) -> requests.Response:
    return requests.get(
        f"{sb.servicenow_url}/api/now/table/{table}", params=params, auth=AUTH, timeout=10
    )


def visible(sb: Sandbox, table: str, query: str = "") -> list[dict[str, str]]:
    """The rows the integration user may read: admin's rows less those an ACL hides."""
    store = sb.servicenow_store
    found = store.table(table)
    assert found is not None
    return [
        r
        for r in sb.servicenow_rows(table, query)
        if store.readable(found, found.locate(r["sys_id"]) or 0)
    ]


def test_pysnow_query_builder_and_all(sandbox: Sandbox) -> None:
    incidents = snow(sandbox).resource(api_path="/table/incident")
    query = (
        pysnow.QueryBuilder()
        .field("priority")
        .equals(["1", "2"])
        .AND()
        .field("active")
        .equals("true")
    )
    rows = list(incidents.get(query=query, stream=True).all())
    expected = visible(sandbox, "incident", "priorityIN1,2^active=true")
    assert sorted(r["sys_id"] for r in rows) == sorted(r["sys_id"] for r in expected) and rows
    assert all(isinstance(v, (str, dict)) for r in rows for v in r.values())


def test_paging_headers(sandbox: Sandbox) -> None:
    total = sandbox.servicenow_count("incident")
    first = get(sandbox, "incident", sysparm_limit=100, sysparm_query="ORDERBYsys_updated_on")
    # the count is the query's, before read ACLs removed rows from the page
    assert first.headers["X-Total-Count"] == str(total)
    links = dict(
        (rel.split('"')[1], url.strip("<>"))
        for url, rel in (part.split(";") for part in first.headers["Link"].split(","))
    )
    assert set(links) == {"first", "next", "last"}
    seen: list[str] = []
    url: str | None = links["first"]
    while url:
        page = requests.get(url, auth=AUTH, timeout=10)
        seen += [r["sys_id"] for r in page.json()["result"]]
        url = next(
            (
                u.split(";")[0].strip("<>")
                for u in page.headers["Link"].split(",")
                if 'rel="next"' in u
            ),
            None,
        )
    assert len(seen) == len(set(seen)) == len(visible(sandbox, "incident")) < total
    quiet = get(sandbox, "incident", sysparm_limit=1, sysparm_suppress_pagination_header="true")
    assert "Link" not in quiet.headers


def test_values_references_and_display_modes(sandbox: Sandbox) -> None:
    plain = get(
        sandbox,
        "incident",
        sysparm_limit=5,  # a read ACL may hide a row or two
        sysparm_query="assigned_toISNOTEMPTY",
        sysparm_fields="assignment_group,opened_at,priority,closed_at",
    ).json()["result"][0]
    assert (
        set(plain["assignment_group"]) == {"link", "value"}
        and len(plain["assignment_group"]["value"]) == 32
    )
    assert plain["closed_at"] == "" or len(plain["closed_at"]) == 19
    every = get(
        sandbox,
        "incident",
        sysparm_limit=5,  # a read ACL may hide a row or two
        sysparm_display_value="all",
        sysparm_fields="assignment_group,priority",
    ).json()["result"][0]
    assert every["priority"]["display_value"].startswith(every["priority"]["value"] + " - ")
    assert set(every["assignment_group"]) == {"display_value", "value", "link"}
    shown = get(
        sandbox,
        "incident",
        sysparm_limit=5,  # a read ACL may hide a row or two
        sysparm_display_value="true",
        sysparm_exclude_reference_link="true",
        sysparm_fields="assignment_group",
    ).json()["result"][0]
    assert isinstance(shown["assignment_group"], str) and len(shown["assignment_group"]) < 32
    one = get(sandbox, "cmdb_ci_service", sysparm_limit=1).json()["result"][0]
    assert {"name", "owned_by", "support_group", "busines_criticality"} <= set(one)
    assert not [name for name in one if name.startswith("u_")]  # a stock instance


def test_encoded_query_operators(sandbox: Sandbox) -> None:
    def numbers(query: str) -> list[str]:
        return [r["number"] for r in sandbox.servicenow_rows("incident", query)]

    every = numbers("")
    assert numbers("numberSTARTSWITHINC001000") == [n for n in every if n.startswith("INC001000")]
    assert set(numbers("number=INC0010002^ORnumber=INC0010003")) <= {"INC0010002", "INC0010003"}
    nq = numbers("number=INC0010002^NQnumber=INC0010004")
    assert set(nq) <= {"INC0010002", "INC0010004"}
    ordered = sandbox.servicenow_rows("incident", "ORDERBYDESCsys_updated_on")
    stamps = [r["sys_updated_on"] for r in ordered]
    assert stamps == sorted(stamps, reverse=True)
    like = numbers("short_descriptionLIKEunavailable")
    assert like and len(like) < len(every)
    malformed = get(sandbox, "incident", sysparm_query="priority~1")
    assert malformed.status_code == 400 and malformed.json()["status"] == "failure"


def test_writes_journal_and_deletions(sandbox: Sandbox) -> None:
    client = snow(sandbox)
    kb = client.resource(api_path="/table/kb_knowledge")
    created = kb.create(
        {
            "short_description": "Payments: how to get help",
            "text": "<p>x</p>",
            "meta": "smo-bridge:t-1",
            "workflow_state": "draft",
        }
    ).one()
    assert created["number"].startswith("KB") and created["meta"] == "smo-bridge:t-1"
    assert sandbox.servicenow_rows("kb_knowledge", "meta=smo-bridge:t-1")[0]["text"] == "<p>x</p>"
    projects = client.resource(api_path="/table/pm_project")
    updated = projects.update(
        query={"number": "PRJ0010002"}, payload={"work_notes": "Gate: at risk"}
    ).one()
    notes = sandbox.servicenow_rows(
        "sys_journal_field", f"element_id={updated['sys_id']}^ORDERBYDESCsys_created_on"
    )
    assert notes[0]["value"] == "Gate: at risk" and updated["work_notes"] == ""
    victim = get(sandbox, "incident", sysparm_limit=5).json()["result"][0]["sys_id"]
    url = f"{sandbox.servicenow_url}/api/now/table/incident/{victim}"
    assert requests.delete(url, auth=AUTH, timeout=5).status_code == 204
    missing = requests.get(url, auth=AUTH, timeout=5)
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "No Record found"
    audit = sandbox.servicenow_rows("sys_audit_delete", f"documentkey={victim}")
    assert audit and audit[0]["tablename"] == "incident"


def test_unauthenticated_and_unknown(sandbox: Sandbox) -> None:
    refused = requests.get(
        f"{sandbox.servicenow_url}/api/now/table/incident", auth=("sandbox", "nope"), timeout=5
    )
    assert refused.status_code == 401
    assert refused.json() == {
        "error": {
            "message": "User Not Authenticated",
            "detail": "Required to provide Auth information",
        },
        "status": "failure",
    }
    assert get(sandbox, "no_such_table").json()["error"]["message"] == "Invalid table no_such_table"
    with pytest.raises(requests.HTTPError, match="400"):
        list(
            snow(sandbox)
            .resource(api_path="/table/incident")
            .get(query="priority~1", stream=True)
            .all()
        )


def test_v2_path_and_task_reference(sandbox: Sandbox) -> None:
    slas = requests.get(
        f"{sandbox.servicenow_url}/api/now/v2/table/task_sla",
        auth=AUTH,
        params={"sysparm_limit": 20},
        timeout=5,
    ).json()["result"]
    tasks = [requests.get(sla["task"]["link"], auth=AUTH, timeout=5) for sla in slas]
    # an SLA may point at an incident a read ACL hides: 404, as for a missing record
    assert {t.status_code for t in tasks} <= {200, 404}
    task = next(t for t in tasks if t.status_code == 200)
    assert task.json()["result"]["sys_class_name"] == "incident"
    shown = requests.get(
        f"{sandbox.servicenow_url}/api/now/table/task_sla",
        auth=AUTH,
        params={"sysparm_limit": 1, "sysparm_display_value": "true"},
        timeout=5,
    ).json()["result"][0]
    assert shown["task"]["display_value"].startswith("INC")
