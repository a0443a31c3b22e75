"""`mappings suggest`: the shipped default pointed at an instance's own custom fields."""

from __future__ import annotations

import re
from pathlib import Path

import responses

from bridge.suggest import suggest_mapping
from connectors.jira import JiraConfig
from mappings import load_mapping, run_examples

URL = "https://acme.atlassian.net"


def _field(fid: str, name: str, kind: str) -> dict[str, object]:
    return {"id": fid, "name": name, "custom": fid.startswith("customfield_"),
            "schema": {"type": kind}}


INSTANCE_FIELDS = [
    _field("summary", "Summary", "string"),
    _field("customfield_20001", "Go-Live Date", "date"),          # another case
    _field("customfield_20002", "Service", "string"),
    _field("customfield_10001", "Team", "team"),                  # Cloud's stock team
    _field("customfield_20003", "Team", "option"),                # the admin's select list
    _field("customfield_10016", "Story Points", "number"),
    _field("customfield_20004", "Service Managers", "user"),      # a near name
    _field("customfield_10050", "Time to resolution", "sd-servicelevelagreement"),
]


@responses.activate(assert_all_requests_are_fired=True)
def test_suggest_points_custom_fields_at_the_instance(tmp_path: Path) -> None:
    responses.get(f"{URL}/rest/api/2/field", json=INSTANCE_FIELDS)
    source = JiraConfig(name="jira", kind="jira", url=URL,
                        auth={"kind": "basic", "username": "bot", "password": "x"})
    drafted = suggest_mapping(source)
    block = re.search(r"custom_fields:\n((?:    .*\n)+)", drafted.text)
    assert block is not None
    chosen = dict(re.findall(r"^    ([^#:\n]+): (\S+)$", block.group(1), re.M))
    assert chosen["Go-live date"] == "customfield_20001"
    assert chosen["Team"] == "customfield_20003"  # the select list the mapping reads, not stock
    assert chosen["Service manager"] == "customfield_20004"
    assert chosen["Approver"] == "null" and chosen["Service aliases"] == "null"
    assert any("closest name 'Service Managers'" in n for n in drafted.notes)

    draft = tmp_path / "jira.yaml"
    draft.write_text(drafted.text)
    results = run_examples(load_mapping([draft], "jira"))
    assert results and all(r.ok for r in results), [(r.name, r.differences) for r in results]
    assert "customfield_10044" not in drafted.text  # examples follow the instance's ids


def _column(table: str, element: str, label: str, kind: str = "string") -> dict[str, str]:
    return {"name": table, "element": element, "column_label": label, "internal_type": kind}


@responses.activate(assert_all_requests_are_fired=True)
def test_suggest_renames_custom_columns_to_the_instance(tmp_path: Path) -> None:
    from connectors.servicenow import ServiceNowConfig

    snow_url = "https://acme.service-now.com"
    dictionary = [
        _column("task", "short_description", "Short description"),
        _column("planned_task", "end_date", "Planned end date", "glide_date_time"),
        _column("pm_project", "u_golive", "Go-live", "glide_date"),            # a near name
        _column("pm_project", "u_service", "Service", "reference"),
        _column("cmdb_ci_service", "u_alias", "Aliases"),                        # too far
    ]
    responses.get(f"{snow_url}/api/now/table/sys_dictionary", json={"result": dictionary})
    source = ServiceNowConfig(name="snow", kind="servicenow", url=snow_url,
                              auth={"kind": "basic", "username": "bot", "password": "x"})
    drafted = suggest_mapping(source)
    assert "u_go_live" not in drafted.text and "u_golive" in drafted.text
    assert "u_service" in drafted.text  # present: kept
    notes = "\n".join(drafted.notes)
    assert "pm_project.u_go_live: u_golive (closest name" in notes
    assert "pm_project.u_service_manager: not on this instance" in notes
    draft = tmp_path / "servicenow.yaml"
    draft.write_text(drafted.text)
    results = run_examples(load_mapping([draft], "servicenow"))
    assert results and all(r.ok for r in results), [(r.name, r.differences) for r in results]
