"""The shipped defaults: their own examples, the gate, the template, and engine-facing behaviour."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bridge.models import Project, RawRecord, ServiceTransition, Ticket
from connectors.jira_fields import field_catalogue
from mappings import default_mapping, run_examples
from mappings.gate import DeliverableDone, NoOpenTickets

KINDS = ["jira", "servicenow"]


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_default_passes_its_examples(kind: str) -> None:
    results = run_examples(default_mapping(kind))
    assert len(results) >= 5
    assert [(r.name, r.differences) for r in results if not r.ok] == []


@pytest.mark.parametrize("kind", KINDS)
def test_default_gate_covers_the_handover_checklist(kind: str) -> None:
    gate = default_mapping(kind).gate
    assert [i.key for i in gate.items] == [
        "service_manager", "resolver_group", "kb_article", "sla", "runbook", "monitoring",
        "contacts", "receivers_signoff", "milestones", "hypercare", "no_critical_defects"]
    assert all(i.due_days is not None and i.due_days <= 0 for i in gate.items)


def _ticket(**values: Any) -> Ticket:
    base: dict[str, Any] = {"ref": {"source": "s", "stream": "issues", "key": "K"}, "key": "K-1",
                            "opened": datetime(2026, 1, 1, tzinfo=UTC)}
    return Ticket.model_validate(base | values)


def test_gate_evidence_conditions_test_canonical_tickets() -> None:
    items = {i.key: i for i in default_mapping("jira").gate.items}
    runbook = items["runbook"].evidence
    assert isinstance(runbook, DeliverableDone) and runbook.label_for("runbook") == "gate:runbook"
    assert items["runbook"].approver is not None
    defects = items["no_critical_defects"].evidence
    assert isinstance(defects, NoOpenTickets)
    assert defects.matches(_ticket(type="Bug", priority="critical"))
    assert not defects.matches(_ticket(type="Story", priority="critical"))


def _jira_issue(**fields: Any) -> RawRecord:
    payload = {"id": "1", "key": "OPS-1", "fields": {
        "summary": "s", "issuetype": {"name": "Incident"}, "project": {"key": "OPS"},
        "created": "2026-03-05T14:02:11.000+1300", **fields}}
    return RawRecord(source="jira", stream="issues", key="OPS-1", payload=payload)


def test_mapped_entities_are_valid_models_in_field_order() -> None:
    ticket = default_mapping("jira").bind().map(_jira_issue(labels=["a"])).ticket
    assert ticket is not None
    again = Ticket.model_validate(ticket.model_dump())
    assert again == ticket
    assert ticket.model_dump_json() == again.model_dump_json()


def test_custom_field_ids_come_from_the_bound_catalogue() -> None:
    catalogue = field_catalogue([
        {"id": "customfield_20000", "name": "Team", "custom": True},
        {"id": "summary", "name": "Summary", "custom": False},
    ])
    bound = default_mapping("jira").bind(catalogue)
    raw = _jira_issue(customfield_20000={"value": "Database"}, customfield_10044={"value": "Network"})
    ticket = bound.map(raw).ticket
    assert ticket is not None and ticket.team == "Database"


def test_a_bad_value_quarantines_only_that_record() -> None:
    bound = default_mapping("jira").bind()
    bad = bound.map(_jira_issue(created="not a date"))
    assert (bad.kind, bad.field) == ("quarantine", "opened")
    assert bad.reason == "not a timestamp: 'not a date'"
    assert bound.map(_jira_issue()).kind == "ticket"


def test_lookups_follow_reference_records_and_deletions() -> None:
    bound = default_mapping("servicenow").bind()
    assert bound.lookup_streams >= {"cmdb_ci_service", "pm_project", "sys_user_group"}
    project = {"sys_id": "p1", "number": "PRJ1", "u_service": "svc1"}
    incident = RawRecord(source="s", stream="incident", key="i1", payload={
        "sys_id": "i1", "number": "INC1", "opened_at": "2026-01-01 00:00:00",
        "business_service": "svc1"})
    assert bound.feed(RawRecord(source="s", stream="pm_project", key="p1", payload=project))
    assert bound.map(incident).ticket.transition_key == "PRJ1"  # type: ignore[union-attr]
    bound.feed(RawRecord(source="s", stream="pm_project", key="p1", payload=project, deleted=True))
    assert bound.map(incident).ticket.transition_key is None  # type: ignore[union-attr]
    assert "incident" in bound.dependent_streams("pm_project")


def test_explain_names_the_rule_and_missing_fields() -> None:
    outcome = default_mapping("jira").bind().explain(_jira_issue())
    assert outcome.explanation is not None
    assert outcome.explanation.classification is not None
    assert "type equals 'Incident'" in outcome.explanation.classification
    assert any(m.startswith("resolved (from fields.resolutiondate)") for m in outcome.explanation.missing)


def test_unmapped_streams_are_skipped_with_a_reason() -> None:
    outcome = default_mapping("jira").bind().map(
        RawRecord(source="j", stream="comments", key="1", payload={"id": "1"}))
    assert (outcome.kind, outcome.reason) == ("skip", "stream 'comments' is not mapped")


def test_default_template_renders_escaped_html() -> None:
    knowledge = default_mapping("servicenow").knowledge
    transition = ServiceTransition(id="t1", service="Pay <b>", service_aliases=["pay"],
                                   resolver_group="Network", attributes={"sla": "Gold"})
    project = Project(ref={"source": "s", "stream": "pm_project", "key": "p"}, key="PRJ1", name="P")
    html = knowledge.render(transition=transition, projects=[project], generated_at="2026-01-01")
    assert "<h1>Pay &lt;b&gt;</h1>" in html
    assert "Gold" in html and "PRJ1" in html
    assert knowledge.knowledge_base is None  # stock-safe: the instance's default base


def test_a_lookup_change_the_rules_never_read_needs_no_re_mapping() -> None:
    bound = default_mapping("servicenow").bind()
    project = {"sys_id": "p1", "number": "PRJ1", "u_service": "svc1", "u_smo_gate_status": ""}
    assert bound.feed(RawRecord(source="s", stream="pm_project", key="p1", payload=project))
    # smo-bridge's own gate push changes a field no rule reads through the lookup
    pushed = {**project, "u_smo_gate_status": "Operations gate overdue: 6/11 met"}
    assert not bound.feed(RawRecord(source="s", stream="pm_project", key="p1", payload=pushed))
    renumbered = {**pushed, "number": "PRJ2"}
    assert bound.feed(RawRecord(source="s", stream="pm_project", key="p1", payload=renumbered))
    incident = RawRecord(source="s", stream="incident", key="i1", payload={
        "sys_id": "i1", "number": "INC1", "opened_at": "2026-01-01 00:00:00", "business_service": "svc1"})
    assert bound.map(incident).ticket.transition_key == "PRJ2"  # type: ignore[union-attr]


def test_servicenow_default_tables_feed_every_lookup_before_it_is_read() -> None:
    from connectors.servicenow import DEFAULT_TABLES

    bound = default_mapping("servicenow").bind()
    assert bound.lookup_streams <= set(DEFAULT_TABLES)
    assert "sysapproval_approver" in bound.lookup_streams
    first_mapped = DEFAULT_TABLES.index("pm_project")
    references = {"sys_user_group", "sys_user", "sysapproval_approver", "cmdb_ci_service"}
    assert all(DEFAULT_TABLES.index(t) < first_mapped for t in references)


@pytest.mark.parametrize("blank", ["", {"value": "", "display_value": ""}])
def test_servicenow_unset_fields_are_missing_not_errors(blank: Any) -> None:
    bound = default_mapping("servicenow").bind()
    fields = ["short_description", "state", "priority", "assignment_group", "business_service",
              "resolved_at", "closed_at", "made_sla", "time_worked", "category", "active",
              "sys_updated_on"]
    payload = {"sys_id": "inc9", "number": "INC9", "opened_at": "2026-01-01 00:00:00",
               **{f: blank for f in fields}}
    outcome = bound.map(RawRecord(source="s", stream="incident", key="inc9", payload=payload))
    assert outcome.kind == "ticket", outcome.reason
    ticket = outcome.ticket
    assert ticket is not None
    assert (ticket.key, ticket.sla_breached, ticket.effort_hours, ticket.resolved) == (
        "inc9", False, None, None)
    assert (ticket.status_category, ticket.priority) == ("in_progress", None)
    project = {"sys_id": "p9", "number": "PRJ9", "business_service": "svc9", "u_go_live": blank,
               "start_date": blank, "end_date": blank, "u_service_manager_accepted": blank}
    mapped = bound.map(RawRecord(source="s", stream="pm_project", key="p9", payload=project))
    assert mapped.kind == "project", mapped.reason
    assert mapped.project is not None
    assert (mapped.project.go_live, mapped.project.milestones) == (None, [])


@pytest.mark.parametrize(("sla", "breached"), [
    ({"completedCycles": [], "ongoingCycle": {"breached": True}}, True),
    ({"completedCycles": [{"breached": False}], "ongoingCycle": {"breached": False}}, False),
    ({"completedCycles": [{"breached": False}, {"breached": True}]}, True),
    ({"completedCycles": [{"breached": False}]}, False),
    (None, False),
])
def test_jira_breach_is_read_from_the_jsm_sla_object(sla: Any, breached: bool) -> None:
    bound = default_mapping("jira").bind(field_catalogue([
        {"id": "customfield_10030", "name": "Time to resolution", "custom": True,
         "schema": {"type": "sd-servicelevelagreement", "custom": "com.atlassian.servicedesk:sd-sla-field"}},
    ]))
    ticket = bound.map(_jira_issue(customfield_10030=sla)).ticket
    assert ticket is not None and ticket.sla_breached is breached


@pytest.mark.parametrize("name", ["Incident", "incident", "INCIDENT"])
def test_jira_issue_types_match_ignoring_case(name: str) -> None:
    ticket = default_mapping("jira").bind().map(_jira_issue(issuetype={"name": name})).ticket
    assert ticket is not None and ticket.practice == "incident_management"


@pytest.mark.parametrize("kind", ["jira", "servicenow"])
def test_the_article_is_approved_by_a_person_and_receivers_sign_off(kind: str) -> None:
    """The knowledge item's approver is the desk's lead (a person mapped from a stock field),
    never the desk as a team, and each receiving team's sign-off is part of the gate."""
    mapping = default_mapping(kind)
    items = {i.key: i for i in mapping.gate.enabled_items}
    approver = items["kb_article"].approver
    assert approver is not None and approver.role == "service_desk_lead"
    contact_roles = {
        c.fields.role.value for rule in mapping.projects
        for c in rule.item.fields.contacts if getattr(c.fields.role, "value", None)}
    assert "service_desk_lead" in contact_roles
    assert items["receivers_signoff"].evidence.kind == "receivers_signoff"
