"""The shipped defaults classify each kind of ticket into the standard catalogue, and map
the tools' groups onto the SMO's specialist teams."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bridge.models import Capability, RawRecord
from mappings import CATALOGUE, STANDARD_PRACTICES, default_mapping

DOCS = Path(__file__).resolve().parents[2] / "docs" / "mappings.md"


def test_catalogue_is_the_itil4_practices_with_the_smo_tiers() -> None:
    families = [p.family for p in CATALOGUE]
    assert (families.count("general"), families.count("service"), families.count("technical")) \
        == (14, 17, 3)
    assert len(STANDARD_PRACTICES) == 34
    # the capability model the SMO is organised by names these twelve
    named = {p.name: p.capability for p in CATALOGUE if p.named_by_smo}
    assert named == {
        "strategy_management": "strategic", "relationship_management": "strategic",
        "risk_management": "strategic", "portfolio_management": "strategic",
        "service_level_management": "tactical", "continual_improvement": "tactical",
        "knowledge_management": "tactical", "supplier_management": "tactical",
        "incident_management": "operational", "problem_management": "operational",
        "measurement_and_reporting": "operational", "service_desk": "operational"}
    assert STANDARD_PRACTICES["software_development_and_management"] == Capability.TACTICAL
    assert STANDARD_PRACTICES["infrastructure_and_platform_management"] == Capability.OPERATIONAL


@pytest.mark.parametrize("kind", ["jira", "servicenow"])
def test_both_defaults_read_the_one_catalogue(kind: str) -> None:
    assert default_mapping(kind).practices == STANDARD_PRACTICES


def test_docs_list_the_catalogue_as_it_is() -> None:
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| [a-z]+ \| (strategic|tactical|operational) \|",
                           DOCS.read_text(encoding="utf-8"), flags=re.M))
    assert rows == {name: str(cap) for name, cap in STANDARD_PRACTICES.items()}


def _issue(type_: str, *, project_type: str | None = "software", labels: tuple[str, ...] = (),
           team: str | None = None, project: str = "DEV") -> RawRecord:
    fields: dict[str, Any] = {"summary": "s", "issuetype": {"name": type_},
                              "project": {"key": project}, "labels": list(labels),
                              "created": "2026-03-05T14:02:11.000+0000"}
    if project_type is not None:
        fields["project"]["projectTypeKey"] = project_type
    if team is not None:
        fields["components"] = [{"name": team}]
    return RawRecord(source="jira", stream="issues", key=f"{project}-1",
                     payload={"id": "1", "key": f"{project}-1", "fields": fields})


def _jira(raw: RawRecord, transition: bool = False) -> tuple[str, str]:
    bound = default_mapping("jira").bind()
    if transition:  # the project is a service transition: its epic is in the pipeline
        bound.feed(RawRecord(source="jira", stream="projects", key="DEV", payload={
            "id": "10", "key": "DEV", "name": "Payments", "projectCategory": {"name": "Service Transition"}}))
    ticket = bound.map(raw).ticket
    assert ticket is not None
    return ticket.practice or "", str(ticket.capability)


@pytest.mark.parametrize(("raw", "practice"), [
    (_issue("Incident", project_type="service_desk"), "incident_management"),
    (_issue("Problem", project_type="service_desk"), "problem_management"),
    (_issue("Change", project_type="service_desk"), "change_enablement"),
    (_issue("Service Request", project_type="service_desk"), "service_request_management"),
    (_issue("Service Request with Approvals", project_type="service_desk"),
     "service_request_management"),
    # delivery work is development, never problem management nor continual improvement
    (_issue("Bug"), "software_development_and_management"),
    (_issue("Story"), "software_development_and_management"),
    (_issue("Task"), "software_development_and_management"),
    (_issue("Sub-task"), "software_development_and_management"),
    (_issue("Epic"), "software_development_and_management"),
    (_issue("Bug", project_type="service_desk"), "software_development_and_management"),
    (_issue("Story", project_type=None), "software_development_and_management"),
    (_issue("Task", project_type=None), "software_development_and_management"),  # Server 5.x
    # tasks of operations projects: running the infrastructure
    (_issue("Task", project_type="business"), "infrastructure_and_platform_management"),
    (_issue("Sub-task", project_type="service_desk"), "infrastructure_and_platform_management"),
    # service-transition deliverables keep their practices, whatever their type
    (_issue("Task", labels=("gate:kb_article",)), "knowledge_management"),
    (_issue("Story", labels=("gate:sla",)), "service_level_management"),
    (_issue("Task", labels=("gate:runbook",)), "release_management"),
    (_issue("Initiative"), "portfolio_management"),
    (_issue("Risk", project_type="business"), "risk_management"),
])
def test_jira_default_classifies_each_kind_of_issue(raw: RawRecord, practice: str) -> None:
    got, capability = _jira(raw)
    assert got == practice
    assert capability == STANDARD_PRACTICES[practice]


def test_jira_transition_epic_is_the_service_pipeline_a_delivery_epic_is_development() -> None:
    assert _jira(_issue("Epic"), transition=True) == ("portfolio_management", "strategic")
    assert _jira(_issue("Epic")) == ("software_development_and_management", "tactical")


def _row(stream: str, **values: Any) -> RawRecord:
    payload = {"sys_id": "x1", "number": "N1", "opened_at": "2026-03-06 09:00:00", **values}
    return RawRecord(source="snow", stream=stream, key="x1", payload=payload)


@pytest.mark.parametrize(("raw", "practice"), [
    (_row("incident", category="network"), "incident_management"),
    (_row("incident", category="inquiry"), "service_desk"),
    (_row("problem"), "problem_management"),
    (_row("change_request", type="normal"), "change_enablement"),
    (_row("sc_req_item"), "service_request_management"),
])
def test_servicenow_default_classifies_each_task_table(raw: RawRecord, practice: str) -> None:
    ticket = default_mapping("servicenow").bind().map(raw).ticket
    assert ticket is not None
    assert (ticket.practice, ticket.capability) == (practice, STANDARD_PRACTICES[practice])


@pytest.mark.parametrize(("table", "practice"), [
    ("pm_project_task", "project_management"), ("sc_task", "service_request_management"),
    ("incident_task", "incident_management"), ("problem_task", "problem_management"),
    ("change_task", "change_enablement"), ("u_facilities_ticket", "service_desk"),
])
def test_servicenow_task_tables_a_mapping_adds(table: str, practice: str) -> None:
    # the default reads none of these; a mapping that adds one as tickets (its type is the
    # table's name) gets the practice of the work
    classify = default_mapping("servicenow").bind().classify
    values: dict[str, Any] = {"type": table, "attributes": {}}
    classify(values, {"sys_class_name": table}, None)
    assert (values["practice"], values["capability"]) == (practice, STANDARD_PRACTICES[practice])


@pytest.mark.parametrize(("group", "team"), [
    ("Network Operations", "Network"), ("platform operations", "Platform"),
    ("Identity", "Security"), ("Payments Engineering", "Software Engineering"),
    ("End User Computing", "End User Services"), ("Service Desk", "Service Desk"),
])
def test_groups_map_to_specialist_teams(group: str, team: str) -> None:
    ticket = default_mapping("jira").bind().map(_issue("Task", team=group)).ticket
    assert ticket is not None
    assert (ticket.team, ticket.attributes["group"] if ticket.team != group else group) \
        == (team, group)


@pytest.mark.parametrize("kind", ["jira", "servicenow"])
def test_an_unknown_group_is_unmapped_and_keeps_its_name(kind: str) -> None:
    bound = default_mapping(kind).bind()
    raw = (_issue("Incident", team="Jamflam") if kind == "jira" else
           _row("incident", assignment_group={"value": "g9", "display_value": "Jamflam"}))
    outcome = bound.explain(raw)
    assert outcome.ticket is not None
    assert (outcome.ticket.team, outcome.ticket.attributes["group"]) == ("unmapped", "Jamflam")
    assert outcome.explanation is not None
    assert "team 'Jamflam' is not in classification.teams: 'unmapped'" in outcome.explanation.lines()
    assert bound.map(_issue("Incident") if kind == "jira" else _row("incident")).ticket.team is None  # type: ignore[union-attr]
