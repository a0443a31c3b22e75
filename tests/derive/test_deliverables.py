"""Typed evidence: an item is met by its own deliverable and its approver's approval, and
receivers' sign-off by each receiving team; the shipped defaults use nothing else."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from bridge.derive.evidence import EvidenceContext, evaluate_items
from bridge.derive.linking import merge_transition
from bridge.models import Contact, GateItem, ItemStatus, Project, SourceRef, Ticket
from mappings.gate import DeliverableDone, GateDef
from mappings.loader import default_mapping

GO_LIVE = date(2026, 12, 21)
OWNER = "Alice Service"


def project(**kw: Any) -> Project:
    base: dict[str, Any] = {"ref": SourceRef(source="snow", stream="pm_project", key="PRJ1"),
                            "key": "PRJ1", "name": "Payments 2.0", "service": "Payments",
                            "go_live": GO_LIVE, "service_manager": OWNER,
                            "resolver_group": "Payments Engineering",
                            "receivers": ["Service Desk", "Payments Engineering"]}
    base.update(kw)
    return Project.model_validate(base)


def task(key: str, summary: str, *, labels: tuple[str, ...] = (), done: bool = True,
         **attributes: Any) -> Ticket:
    return Ticket(ref=SourceRef(source="snow", stream="pm_project_task", key=key), key=key,
                  summary=summary, labels=list(labels),
                  status_category="done" if done else "in_progress",
                  opened=datetime(2026, 10, 1, tzinfo=UTC),
                  resolved=datetime(2026, 11, 1, tzinfo=UTC) if done else None,
                  attributes=attributes)


def items(gate: GateDef, tickets: list[Ticket], projects: list[Project] | None = None
          ) -> dict[str, GateItem]:
    projects = projects or [project()]
    ctx = EvidenceContext(merge_transition(projects), projects, tickets, None)
    return {i.key: i for i in evaluate_items(gate, ctx)}


def one(key: str, evidence: dict[str, Any], approver: dict[str, str] | None = None) -> GateDef:
    item: dict[str, Any] = {"key": key, "title": key, "due": "-7d", "evidence": evidence}
    if approver:
        item["approver"] = approver
    return GateDef.model_validate({"items": [item]})


SLA = one("sla", {"kind": "deliverable", "approver_field": None}, {"role": "service_manager"})
RUNBOOK = one("runbook", {"kind": "deliverable", "approver_field": None,
                          "approved_by_fields": ["attributes.approved_by_group"]},
              {"role": "resolver_group"})


def test_deliverable_done_and_approved_by_the_appointed_person_is_met() -> None:
    sla = task("t1", "Agree the SLA and support hours", labels=("gate:sla",), approved_by=OWNER,
               approved_at="2026-11-03 09:30:00")
    item = items(SLA, [sla])["sla"]
    assert item.status is ItemStatus.MET
    assert item.approved_by == OWNER
    assert [e.kind for e in item.evidence] == ["ticket", "approval"]
    # the approval's own time, read as UTC, dates the evidence
    assert item.approved_at == datetime(2026, 11, 3, 9, 30, tzinfo=UTC)


def test_deliverable_done_but_approved_by_the_wrong_person_is_unmet() -> None:
    sla = task("t1", "Agree the SLA", labels=("gate:sla",), approved_by="Eve Dev")
    item = items(SLA, [sla])["sla"]
    assert item.status is ItemStatus.UNMET
    assert item.missing == f"t1 approved by Eve Dev, but the appointed approver is {OWNER}"


def test_deliverable_done_without_an_approval_is_unmet() -> None:
    item = items(SLA, [task("t1", "Agree the SLA", labels=("gate:sla",))])["sla"]
    assert item.status is ItemStatus.UNMET
    assert item.missing == f"t1 is done and awaits approval by {OWNER}"


def test_deliverable_approved_but_not_done_is_unmet() -> None:
    sla = task("t1", "Agree the SLA", labels=("gate:sla",), done=False, approved_by=OWNER)
    assert items(SLA, [sla])["sla"].status is ItemStatus.UNMET


def test_group_approval_by_the_resolver_group_meets_and_another_group_does_not() -> None:
    right = task("t1", "Runbook", labels=("gate:runbook",), approved_by_group="Payments Engineering")
    wrong = task("t1", "Runbook", labels=("gate:runbook",), approved_by_group="Service Desk")
    assert items(RUNBOOK, [right])["runbook"].status is ItemStatus.MET
    assert items(RUNBOOK, [wrong])["runbook"].status is ItemStatus.UNMET


def test_an_approver_role_that_names_nobody_cannot_be_satisfied() -> None:
    sla = task("t1", "Agree the SLA", labels=("gate:sla",), approved_by="Anyone")
    item = items(SLA, [sla], [project(service_manager=None)])["sla"]
    assert item.status is ItemStatus.UNMET
    assert "names nobody" in (item.missing or "")


def test_deliverable_without_approver_is_met_by_being_done() -> None:
    gate = one("monitoring", {"kind": "deliverable"})
    assert items(gate, [task("t1", "Monitoring", labels=("gate:monitoring",))])[
        "monitoring"].status is ItemStatus.MET


def test_ticket_own_appointed_approver_counts_when_the_rule_reads_it() -> None:
    gate = one("runbook", {"kind": "deliverable"}, {"role": "resolver_group"})
    ticket = task("PAY-2", "Runbook", labels=("gate:runbook",), approver="Rangi Horomona",
                  approved_by=["Eve Dev", "rangi horomona"])  # several approvals: one counts
    item = items(gate, [ticket])["runbook"]
    assert item.status is ItemStatus.MET
    assert item.approved_by == "rangi horomona"
    assert item.approver == "Rangi Horomona"  # the deliverable's own, not the team's name
    unapproved = task("PAY-2", "Runbook", labels=("gate:runbook",), approver="Rangi Horomona")
    waiting = items(gate, [unapproved])["runbook"]
    assert (waiting.status, waiting.approver) == (ItemStatus.UNMET, "Rangi Horomona")
    assert items(gate, [])["runbook"].approver == "Payments Engineering"


def test_words_in_a_summary_are_no_deliverable() -> None:
    """A "Remove obsolete runbook page" incident, done, meets no runbook item, in either
    default: only the runbook deliverable does."""
    incident = task("inc1", "Remove obsolete runbook page", approved_by=OWNER,
                    approved_by_group="Payments Engineering")
    alerts = task("inc2", "Monitoring alerts flood the desk")
    for kind in ("jira", "servicenow"):
        gate = default_mapping(kind).gate
        assert gate is not None
        got = items(gate, [incident, alerts])
        assert got["runbook"].status is ItemStatus.UNMET, kind
        assert got["monitoring"].status is ItemStatus.UNMET, kind


@pytest.mark.parametrize("kind", ["jira", "servicenow"])
def test_default_items_read_no_proxy_fields(kind: str) -> None:
    """Contacts named and an SLA tier on the service meet nothing by themselves."""
    gate = default_mapping(kind).gate
    assert gate is not None
    proxies = project(contacts=[Contact(role="service_manager", name=OWNER),
                                Contact(role="resolver_group", name="Payments Engineering")],
                      attributes={"sla": "Gold"}, service_manager_accepted=True)
    got = items(gate, [], [proxies])
    for key in ("service_manager", "sla", "contacts", "runbook", "monitoring"):
        assert got[key].status is ItemStatus.UNMET, (kind, key)


@pytest.mark.parametrize("kind", ["jira", "servicenow"])
def test_every_default_deliverable_item_is_typed(kind: str) -> None:
    """The items a person delivers are `deliverable` rules, each approved where it has an
    approver: no `ticket_done` over arbitrary tickets and no field stands in for them."""
    gate = default_mapping(kind).gate
    assert gate is not None
    by_key = {i.key: i for i in gate.items}
    for key in ("service_manager", "sla", "runbook", "monitoring", "contacts"):
        assert isinstance(by_key[key].evidence, DeliverableDone), (kind, key)
        assert by_key[key].approver is not None, (kind, key)
    assert by_key["receivers_signoff"].evidence.kind == "receivers_signoff"


SIGNOFF = one("receivers_signoff", {"kind": "receivers_signoff",
                                    "team_field": "attributes.approved_by_group"})


def test_receivers_signoff_needs_every_receiving_team() -> None:
    desk = task("s1", "Service desk signs off", labels=("gate:receivers_signoff",),
                approved_by_group="Service Desk")
    team = task("s2", "Resolver group signs off", labels=("gate:receivers_signoff",),
                approved_by_group="Payments Engineering")
    pending = task("s2", "Resolver group signs off", labels=("gate:receivers_signoff",),
                   done=False, approved_by_group="Payments Engineering")
    met = items(SIGNOFF, [desk, team])["receivers_signoff"]
    assert met.status is ItemStatus.MET
    assert met.approved_by == "Service Desk, Payments Engineering"
    partial = items(SIGNOFF, [desk, pending])["receivers_signoff"]
    assert partial.status is ItemStatus.UNMET
    assert partial.missing == "no sign-off yet from Payments Engineering"
    assert [e.detail for e in partial.evidence] == ["Service Desk signed off (s1)"]


def test_receivers_signoff_by_named_roles_and_without_receivers() -> None:
    gate = one("receivers_signoff", {"kind": "receivers_signoff", "receivers": ["resolver_group"],
                                     "team_field": "attributes.approved_by_group"})
    team = task("s2", "Resolver group signs off", labels=("gate:receivers_signoff",),
                approved_by_group="Payments Engineering")
    assert items(gate, [team])["receivers_signoff"].status is ItemStatus.MET
    nobody = items(SIGNOFF, [team], [project(receivers=[])])["receivers_signoff"]
    assert nobody.status is ItemStatus.UNMET
    assert nobody.missing == "the transition names no receivers"
