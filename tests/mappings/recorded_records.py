"""Every record the mapping equality check runs: the recorded vendor payloads of
shared/realapi (as their connectors read them, the way tests/realapi loads them) and the
sandbox's seeded records read over loopback by both connectors.

Each source is a list of (label, records); feed every record first, then map: the order an
engine gives a mapping.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import responses

from bridge.models import RawRecord
from bridge.sandbox import Sandbox
from connectors.jira import JiraConfig, JiraConnector
from connectors.servicenow import ServiceNowConfig, ServiceNowConnector
from tests.realapi import test_servicenow_payloads as snow_realapi
from tests.realapi.test_jira_realapi import URL, connector, read, recorded, stock_fields

RETRY = {"max_attempts": 4, "base_delay": 0.01, "max_delay": 0.5}
SNOW_STREAMS = ["incident", "problem", "change_request", "sc_req_item", "pm_project",
                "pm_project_task"]


def _jira_issues(deployment: str, body: Any, api: int = 2) -> list[RawRecord]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(f"{URL}/rest/api/{api}/field", json=stock_fields())
        path = "search" if deployment == "server" else "search/jql"
        rsps.get(f"{URL}/rest/api/{api}/{path}", json=body)
        return read(connector(deployment, api), "issues")


def _single(issue: Any) -> dict[str, Any]:
    return {"startAt": 0, "maxResults": 50, "total": 1, "issues": [issue], "isLast": True}


def _filed(record: RawRecord) -> RawRecord:
    """The project as an admin files a transition: category Service Transition."""
    payload = copy.deepcopy(record.payload)
    payload["projectCategory"] = {"id": "10000", "name": "Service Transition"}
    return RawRecord(source=record.source, stream=record.stream, key=record.key, payload=payload)


def jira_recorded() -> list[RawRecord]:
    records = _jira_issues("server", recorded("server_v2_search_SAMPLEPROJECT.json"))
    records += _jira_issues("cloud", recorded("cloud_v2_search_expand_changelog.json"))
    for name, deployment in (("server_v2_issue_SAMPLEPROJECT-1.json", "server"),
                             ("server_dc_v2_issue_MAT-1.json", "server"),
                             ("cloud_v2_issue_SP-5_changelog.json", "cloud"),
                             ("cloud_v2_issue_SP-13_sprint_field.json", "cloud")):
        records += _jira_issues(deployment, _single(recorded(name)))
    records += _jira_issues("cloud", _single(recorded("cloud_v3_issue_SEC-108_adf.json")), api=3)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        project = recorded("cloud_v3_project_search_value_AI.json")
        rsps.get(f"{URL}/rest/api/3/project/search", json={
            "startAt": 0, "maxResults": 100, "total": 1, "isLast": True, "values": [project]})
        rsps.get(f"{URL}/rest/api/3/project/AI/versions", json=[])
        projects = read(connector("cloud", api=3), "projects")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        project = recorded("server_v2_project_SAMPLEPROJECT.json")
        rsps.get(f"{URL}/rest/api/2/project", json=[project])
        rsps.get(f"{URL}/rest/api/2/project/SAMPLEPROJECT/versions", json=project["versions"])
        projects += read(connector("server"), "projects")
    # the epics as transition epics of the filed projects: lookups with real shapes
    return records + projects + [_filed(p) for p in projects]


def servicenow_recorded() -> list[RawRecord]:
    """Every recorded row read as each mapped table: the odd shapes (display-only values,
    numbers as 4.0, `""` for unset) through every rule, skips and quarantines included."""
    rows: list[dict[str, Any]] = []
    for name in ("rapid7_change_request_create_display_all.json", "ocean_release_list.json",
                 "rapid7_attachment_list.json", "rapid7_vulnerable_item_create.json",
                 "ocean_vulnerable_item_list.json"):
        rows += snow_realapi.recorded(name)
    plain = [{k: v["value"] if isinstance(v, dict) and "value" in v else v for k, v in row.items()}
             for row in rows]
    records: list[RawRecord] = []
    for table in SNOW_STREAMS:
        records += snow_realapi.pulled(table, rows)
        records += snow_realapi.pulled(table, plain)
    return records


def _drain(connector: Any, stream: str) -> Iterator[RawRecord]:
    rejected: list[Any] = []
    yield from connector.read(stream, None, rejected.append)
    assert rejected == [], rejected


def sandbox_records(deployment: str, tickets: int) -> tuple[list[RawRecord], list[RawRecord]]:
    """(Jira records, ServiceNow records) of a seeded sandbox, as the connectors read them."""
    with Sandbox(seed=42, tickets=tickets, jira_deployment=deployment) as sb:
        jira = JiraConnector(JiraConfig.model_validate({
            "name": "jira", "kind": "jira", "url": sb.jira_url, "retry": RETRY,
            "auth": {"kind": "basic", "username": "sandbox", "password": "sandbox"}}))
        snow = ServiceNowConnector(ServiceNowConfig.model_validate({
            "name": "snow", "kind": "servicenow", "url": sb.servicenow_url, "retry": RETRY,
            "auth": {"kind": "basic", "username": "sandbox", "password": "sandbox"}}))
        jira_records = [r for spec in jira.streams() for r in _drain(jira, spec.name)]
        snow_records = [r for spec in snow.streams() for r in _drain(snow, spec.name)]
    return jira_records, snow_records


ODD_VALUES: list[Any] = ["garbage", "", " padded text ", "  ", {"x": 1},
                         {"value": "7", "display_value": "Seven"}, [1, 2],
                         [], True, 12.5, None, "2026-13-45 99:00:00"]


def mutants(records: list[RawRecord], streams: set[str], per_stream: int = 4) -> list[RawRecord]:
    """Copies of a few records of each mapped stream, each with one top-level field (or one
    Jira `fields` entry) set to an odd value: wrong types, bad timestamps, unset values.
    The quarantines and their reasons are compared as well as the mapped values."""
    out: list[RawRecord] = []
    taken: dict[str, int] = {}
    for record in records:
        if record.stream not in streams or taken.get(record.stream, 0) >= per_stream:
            continue
        taken[record.stream] = taken.get(record.stream, 0) + 1
        payload = record.payload
        places: list[tuple[str, ...]] = [(k,) for k in payload]
        if isinstance(payload.get("fields"), dict):
            places += [("fields", k) for k in payload["fields"]]
        for i, place in enumerate(places):
            for odd in (ODD_VALUES * 2)[i % len(ODD_VALUES):][:4]:  # four per place, in turn
                changed = dict(payload)  # the rest is shared: mapping never changes a payload
                if len(place) == 2:
                    changed[place[0]] = dict(changed[place[0]])
                    changed[place[0]][place[1]] = copy.deepcopy(odd)
                else:
                    changed[place[0]] = copy.deepcopy(odd)
                out.append(RawRecord(source=record.source, stream=record.stream,
                                     key=record.key, payload=changed))
    return out
