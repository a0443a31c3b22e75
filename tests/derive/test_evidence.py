"""Gate items and statuses from constructed evidence: projects, tickets, articles, waivers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from bridge.derive.evidence import ArticleState, EvidenceContext, evaluate_items
from bridge.derive.gates import evaluate
from bridge.derive.linking import merge_transition
from bridge.models import GateStatus, ItemStatus, Milestone, Project, SourceRef, Ticket
from mappings.gate import GateDef

TODAY = date(2026, 11, 23)
GO_LIVE = date(2026, 12, 21)

GATE = GateDef.model_validate({"items": [
    {"key": "service_manager", "title": "Service manager named", "approver": {"role": "service_manager"},
     "due": "-28d", "evidence": {"kind": "field_set", "field": "service_manager"}},
    {"key": "kb_article", "title": "Article published", "due": "-7d",
     "evidence": {"kind": "article_published"}},
    {"key": "runbook", "title": "Runbook delivered", "approver": {"name": "Rangi Horomona"},
     "due": "-14d", "evidence": {"kind": "ticket_done", "approved": True,
                                 "when": {"path": "labels", "contains": "gate:runbook"}}},
    {"key": "hypercare", "title": "Hypercare window", "due": "-7d",
     "evidence": {"kind": "milestones", "kinds": ["hypercare_end"], "after_go_live": True}},
    {"key": "no_critical_defects", "title": "No open critical defects", "due": "0d",
     "evidence": {"kind": "no_open_tickets",
                  "when": {"all": [{"path": "type", "equals": "Bug"},
                                   {"path": "priority", "in": ["critical", "high"]}]}}},
]})


def project(**kw: Any) -> Project:
    base: dict[str, Any] = {"ref": SourceRef(source="jira", stream="projects", key="PAY"), "key": "PAY",
                            "name": "Payments 2.0", "service": "Payments", "go_live": GO_LIVE}
    base.update(kw)
    return Project.model_validate(base)


def ticket(key: str, *, labels: list[str] | None = None, done: bool = True, type_: str = "Task",
           priority: str = "medium", **attributes: str) -> Ticket:
    return Ticket(ref=SourceRef(source="jira", stream="issues", key=key), key=key, type=type_,
                  labels=labels or [], status_category="done" if done else "in_progress",
                  priority=priority, opened=datetime(2026, 10, 1, tzinfo=UTC),
                  resolved=datetime(2026, 11, 1, tzinfo=UTC) if done else None,
                  attributes=dict(attributes))


def items_for(projects: list[Project], tickets: list[Ticket], article: ArticleState | None = None) -> dict[str, Any]:
    transition = merge_transition(projects)
    items = evaluate_items(GATE, EvidenceContext(transition, projects, tickets, article))
    return {i.key: i for i in items}


def full_evidence() -> tuple[list[Project], list[Ticket], ArticleState]:
    projects = [project(service_manager="Alice Service",
                        milestones=[Milestone(kind="hypercare_end", name="Hypercare end", due=date(2027, 1, 31))])]
    tickets = [ticket("PAY-2", labels=["gate:runbook"], approver="Rangi Horomona", approved_by="Rangi Horomona")]
    return projects, tickets, ArticleState(ref="KB0010001", workflow_state="published")


def test_every_item_met_with_its_evidence_and_due_dates_from_go_live() -> None:
    projects, tickets, article = full_evidence()
    items = items_for(projects, tickets, article)
    assert {k: i.status for k, i in items.items()} == dict.fromkeys(items, ItemStatus.MET)
    assert items["service_manager"].due == date(2026, 11, 23)
    assert items["service_manager"].approver == "Alice Service"  # the role resolved to a person
    assert items["runbook"].approved_by == "Rangi Horomona"
    assert [e.ref for e in items["runbook"].evidence] == ["jira:PAY-2", "jira:PAY-2"]
    assert items["kb_article"].evidence[0].detail == "KB0010001 published"


def test_approval_by_someone_other_than_the_appointed_approver_does_not_count() -> None:
    projects, _, article = full_evidence()
    wrong = [ticket("PAY-2", labels=["gate:runbook"], approver="Rangi Horomona", approved_by="Eve Dev")]
    item = items_for(projects, wrong, article)["runbook"]
    assert item.status is ItemStatus.UNMET
    assert item.missing == "PAY-2 approved by Eve Dev, but the appointed approver is Rangi Horomona"
    unapproved = [ticket("PAY-2", labels=["gate:runbook"], approver="Rangi Horomona")]
    assert items_for(projects, unapproved, article)["runbook"].missing == \
        "PAY-2 awaits approval by Rangi Horomona"
    # without an appointed approver on the ticket, the item's approver is the one that counts
    by_item = [ticket("PAY-2", labels=["gate:runbook"], approved_by="Rangi Horomona")]
    assert items_for(projects, by_item, article)["runbook"].status is ItemStatus.MET


def test_missing_evidence_says_what_is_missing() -> None:
    items = items_for([project(milestones=[Milestone(kind="hypercare_end", name="Hypercare end",
                                                     due=date(2026, 12, 1))])],
                      [ticket("PAY-9", type_="Bug", priority="critical", done=False)],
                      ArticleState(ref="KB0010002", workflow_state="draft"))
    assert items["service_manager"].missing == "service_manager is not set on any project of the transition"
    assert items["kb_article"].missing == "knowledge article not published (article KB0010002 is draft)"
    assert items["runbook"].missing == "no matching ticket in the transition"
    assert items["hypercare"].missing == "hypercare_end must fall after the go-live date"
    assert items["no_critical_defects"].missing == "1 open ticket(s): PAY-9"


def test_a_waiver_needs_who_why_and_an_approval() -> None:
    projects, _, _ = full_evidence()
    projects = [projects[0].model_copy(update={"attributes": {"waivers": [
        {"item": "kb_article", "by": "Alice Service", "reason": "internal tool, no service desk",
         "approved_by": "Hana Head", "until": "2027-06-30"},
        {"item": "runbook", "by": "Alice Service"},  # no reason: not a waiver
        {"item": "runbook", "by": "Alice Service", "reason": "vendor runs it"},  # unapproved
    ]}})]
    items = items_for(projects, [], None)
    assert items["kb_article"].status is ItemStatus.WAIVED
    waiver = items["kb_article"].waiver
    assert waiver is not None and (waiver.by, waiver.approved_by) == ("Alice Service", "Hana Head")
    assert waiver.until == date(2027, 6, 30)
    assert items["runbook"].status is ItemStatus.UNMET
    assert "waiver by Alice Service is not approved" in (items["runbook"].missing or "")


def _items_on(day: date, projects: list[Project], tickets: list[Ticket]) -> dict[str, Any]:
    transition = merge_transition(projects)
    items = evaluate_items(GATE, EvidenceContext(transition, projects, tickets, None, today=day))
    return {i.key: i for i in items}


def test_an_expired_waiver_stops_counting() -> None:
    projects, _, _ = full_evidence()
    projects = [projects[0].model_copy(update={"attributes": {"waivers": [
        {"item": "kb_article", "by": "Alice Service", "reason": "pilot only",
         "approved_by": "Hana Head", "until": "2026-11-15"}]}})]
    assert _items_on(date(2026, 11, 15), projects, [])["kb_article"].status is ItemStatus.WAIVED
    expired = _items_on(date(2026, 11, 16), projects, [])["kb_article"]
    assert expired.status is ItemStatus.UNMET
    assert expired.missing is not None and expired.missing.endswith(
        "waiver by Alice Service expired on 2026-11-15")


def test_a_waiver_ticket_counts_once_done_and_approved_by_the_items_approver() -> None:
    projects, _, _ = full_evidence()
    asked = ticket("PAY-30", labels=["waiver:service_manager"], done=False,
                   requested_by="Piet Plan", until="2027-01-31")
    asked = asked.model_copy(update={"summary": "Interim: the platform lead covers acceptance"})
    items = _items_on(date(2026, 11, 20), [projects[0].model_copy(
        update={"service_manager": None})], [asked])
    assert items["service_manager"].status is ItemStatus.UNMET
    # approved, but the item's approver (the service manager, a person here) must approve it
    projects = [projects[0]]
    wrong = asked.model_copy(update={"status_category": "done",
                                     "attributes": {**asked.attributes, "approved_by": "Eve Dev"}})
    gate_item = _items_on(date(2026, 11, 20), projects, [wrong])["service_manager"]
    assert gate_item.status is ItemStatus.MET  # the field is set: the waiver is not needed
    runbook_waiver = wrong.model_copy(update={"labels": ["waiver:runbook"]})
    runbook = _items_on(date(2026, 11, 20), projects, [runbook_waiver])["runbook"]
    assert runbook.status is ItemStatus.UNMET
    assert "approved by Eve Dev, not by Rangi Horomona" in (runbook.missing or "")
    right = runbook_waiver.model_copy(update={"attributes": {**runbook_waiver.attributes,
                                                             "approved_by": "Rangi Horomona"}})
    waived = _items_on(date(2026, 11, 20), projects, [right])["runbook"]
    assert waived.status is ItemStatus.WAIVED and waived.waiver is not None
    assert (waived.waiver.by, waived.waiver.ref) == ("Piet Plan", "PAY-30")


@pytest.mark.parametrize(("today", "scenario", "expected"), [
    (date(2026, 10, 1), "nothing", GateStatus.NOT_STARTED),
    (date(2026, 10, 1), "some", GateStatus.IN_PROGRESS),
    (date(2026, 11, 25), "some", GateStatus.AT_RISK),     # runbook due 12-07, within 14 days
    (date(2026, 12, 8), "some", GateStatus.OVERDUE),      # runbook was due 12-07
    (date(2026, 12, 7), "some", GateStatus.AT_RISK),      # the due day itself is not overdue
    (date(2026, 12, 8), "all", GateStatus.READY_FOR_REVIEW),
    (date(2026, 12, 8), "accepted", GateStatus.PASSED),
])
def test_each_gate_status_from_constructed_evidence(today: date, scenario: str, expected: GateStatus) -> None:
    projects, tickets, article = full_evidence()
    if scenario in ("nothing", "some"):
        projects = [project(milestones=[])] if scenario == "nothing" else [project(service_manager="Alice Service")]
        tickets = [ticket("PAY-9", type_="Bug", priority="critical", done=False)]
        article = None
    transition = merge_transition(projects)
    items = evaluate_items(GATE, EvidenceContext(transition, projects, tickets, article))
    accepted_by = "Alice Service" if scenario == "accepted" else None
    gate = evaluate(items, today, 14, accepted_by, transition.service_manager)
    assert gate.status is expected, gate.reason


def test_evidence_after_its_due_day_or_after_go_live_is_late() -> None:
    projects, _, article = full_evidence()
    on_time = items_for(projects, [ticket("PAY-2", labels=["gate:runbook"], approver="Rangi Horomona",
                                          approved_by="Rangi Horomona")], article)["runbook"]
    assert (on_time.late_days, on_time.after_go_live) == (0, False)  # resolved 2026-11-01, due 12-07
    late_ticket = ticket("PAY-2", labels=["gate:runbook"], approver="Rangi Horomona",
                         approved_by="Rangi Horomona")
    late_ticket = late_ticket.model_copy(update={"resolved": datetime(2026, 12, 24, tzinfo=UTC)})
    late = items_for(projects, [late_ticket], article)["runbook"]
    assert late.status is ItemStatus.MET
    assert (late.late_days, late.after_go_live) == (17, True)  # due 12-07, live 12-21
    # a field is dated by its project's last change: no delivery date, no lateness
    assert items_for(projects, [late_ticket], article)["service_manager"].late_days is None
