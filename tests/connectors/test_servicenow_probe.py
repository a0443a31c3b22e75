"""`smo-bridge check` on a ServiceNow source: counts, side tables, push targets, missing
columns; nothing is written."""

from __future__ import annotations

from typing import Any

import responses
from responses import matchers

from tests.connectors.conftest import snow

TABLE = "https://snow.example/api/now/table"
DENIED = {
    "error": {"message": "Insufficient rights to query records", "detail": None},
    "status": "failure",
}


def params(**values: str) -> list[Any]:
    return [matchers.query_param_matcher(values, strict_match=False)]


def test_probe_counts_tables_and_reports_what_it_cannot_verify(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(
        f"{TABLE}/incident",
        json={"result": [{"sys_id": "1"}]},
        match=params(sysparm_no_count="true"),
    )  # check(): reach and authenticate
    rsps.get(
        f"{TABLE}/incident",
        json={"result": [{"sys_id": "1"}]},
        headers={"X-Total-Count": "42"},
        match=params(sysparm_no_count="false", sysparm_limit="1"),
    )
    rsps.get(f"{TABLE}/pm_project", status=403, json=DENIED)
    rsps.get(f"{TABLE}/sys_audit_delete", status=403, json=DENIED)
    rsps.get(
        f"{TABLE}/sys_dictionary",
        json={"result": []},
        match=params(sysparm_query="nameINpm_project,planned_task,task^element=u_smo_gate_status"),
    )
    rsps.get(
        f"{TABLE}/sys_dictionary",
        json={"result": [{"name": "kb_knowledge", "element": "u_smo_correlation"}]},
        match=params(sysparm_query="nameINkb_knowledge^element=u_smo_correlation"),
    )
    rsps.get(
        f"{TABLE}/sys_dictionary",
        json={"result": [{"name": "pm_project", "element": "business_service"}]},
        match=params(
            sysparm_query="nameINpm_project,planned_task,task^elementINbusiness_service,u_go_live"
        ),
    )
    connector = snow(tables=["incident", "pm_project"])
    fields = {"pm_project": ["u_go_live", "business_service.display_value", "sys_updated_on"]}
    found = {p.subject: p for p in connector.probe(frozenset({"gate_status", "knowledge"}), fields)}
    assert found["connection"].level == "ok"
    assert (found["stream incident"].level, found["stream incident"].count) == ("ok", 42)
    assert found["stream pm_project"].level == "warning"
    assert "not readable" in found["stream pm_project"].detail
    assert found["stream sys_audit_delete"].level == "warning"
    assert (
        "grant the integration user read access to sys_audit_delete"
        in found["stream sys_audit_delete"].detail
    )
    gate = found["push gate_status"]
    assert gate.level == "ok"
    assert (
        "no column u_smo_gate_status" in gate.detail
        and "not verified until the first push" in gate.detail
    )
    assert "the u_smo_correlation column and a meta keyword" in found["push knowledge"].detail
    assert found["field pm_project.u_go_live"].level == "warning"
    assert "field pm_project.business_service" not in found
    assert all(c.request.method == "GET" for c in rsps.calls)  # nothing written
