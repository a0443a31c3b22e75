from __future__ import annotations

from datetime import date, timedelta

import pytest

from bridge.derive.gates import approval_counts, evaluate, gate_status, went_live
from bridge.models import GateItem, GateStatus, ItemStatus, ServiceTransition, Waiver

TODAY = date(2026, 11, 23)


def item(key: str, status: str = "unmet", due: date | None = None, **kw: object) -> GateItem:
    return GateItem(key=key, title=key, status=ItemStatus(status), due=due, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("items", "accepted", "expected"), [
    ([], False, GateStatus.NOT_STARTED),
    ([item("a", due=date(2027, 3, 1)), item("b", due=date(2027, 3, 1))], False, GateStatus.NOT_STARTED),
    ([item("a", "met"), item("b", due=date(2027, 3, 1))], False, GateStatus.IN_PROGRESS),
    ([item("a", "met"), item("b", due=date(2026, 12, 7))], False, GateStatus.AT_RISK),  # exactly 14 days
    ([item("a", "met"), item("b", due=date(2026, 12, 8))], False, GateStatus.IN_PROGRESS),  # 15 days
    ([item("a", "met"), item("b", due=TODAY)], False, GateStatus.AT_RISK),  # due today: not yet overdue
    ([item("a", "met"), item("b", due=date(2026, 11, 22))], False, GateStatus.OVERDUE),
    ([item("a", due=date(2026, 11, 22))], False, GateStatus.OVERDUE),  # nothing met, but late
    ([item("a", "met"), item("b", "waived")], False, GateStatus.READY_FOR_REVIEW),
    ([item("a", "met"), item("b", "waived")], True, GateStatus.PASSED),
    ([item("a", "waived"), item("b", due=date(2027, 3, 1))], False, GateStatus.NOT_STARTED),
    ([item("a", "met"), item("b", due=None)], True, GateStatus.IN_PROGRESS),
])
def test_status_rules(items: list[GateItem], accepted: bool, expected: GateStatus) -> None:
    status, reason = gate_status(items, TODAY, 14, accepted)
    assert status is expected
    assert reason


def test_overdue_wins_over_at_risk_and_names_the_earliest_item() -> None:
    status, reason = gate_status([item("soon", due=TODAY), item("late", due=date(2026, 11, 1)),
                                  item("later", due=date(2026, 11, 20))], TODAY, 14, False)
    assert status is GateStatus.OVERDUE
    assert reason == "2 unmet item(s) past due, first 'late' due 2026-11-01"


def test_acceptance_only_counts_from_the_service_manager() -> None:
    items = [item("a", "met")]
    assert evaluate(items, TODAY, 14, "Mallory", "Alice Service").status is GateStatus.READY_FOR_REVIEW
    gate = evaluate(items, TODAY, 14, "alice service", "Alice Service")
    assert gate.status is GateStatus.PASSED and gate.accepted_by == "alice service"
    assert evaluate(items, TODAY, 14, "Alice", None).status is GateStatus.READY_FOR_REVIEW


def test_approval_by_the_wrong_person_does_not_count() -> None:
    assert approval_counts(item("runbook", approver="Bob Ops", approved_by="Bob Ops"))
    assert approval_counts(item("runbook", approver="Bob Ops", approved_by=" bob ops "))
    assert not approval_counts(item("runbook", approver="Bob Ops", approved_by="Eve Dev"))
    assert not approval_counts(item("runbook", approver="Bob Ops"))
    assert approval_counts(item("runbook"))


def test_a_waiver_records_who_and_why() -> None:
    waived = item("monitoring", "waived", waiver=Waiver(by="Alice Service", reason="SaaS, vendor monitors"))
    status, _ = gate_status([waived, item("a", "met")], TODAY, 14, False)
    assert status is GateStatus.READY_FOR_REVIEW
    assert waived.waiver is not None and waived.waiver.reason


def test_acceptance_is_one_rule_the_acceptance_item_or_else_the_project_flag() -> None:
    from bridge.derive.gates import acceptance
    from bridge.models import Milestone, Project, SourceRef

    ref = SourceRef(source="jira", stream="projects", key="PAY")
    plain = Project(ref=ref, key="PAY", name="Payments")
    flagged = plain.model_copy(update={"service_manager_accepted": True})
    transition = ServiceTransition(id="jira:PAY", service="Payments", service_manager="Alice Service")
    reviewed = transition.model_copy(update={"milestones": [Milestone(kind="review", name="Review", done=True)]})
    # without an acceptance item: the project's flag, and a released review is not enough
    assert acceptance([flagged], transition) == "Alice Service"
    assert acceptance([plain], reviewed) is None
    assert acceptance([flagged], transition.model_copy(update={"service_manager": None})) is None
    # with one: that item alone decides, whatever the flag or the review milestone say
    open_item = item("service_manager", "unmet")
    assert acceptance([flagged], reviewed, [open_item], "service_manager") is None
    assert acceptance([plain], transition, [item("service_manager", "met")], "service_manager") \
        == "Alice Service"


def _live_item(status: ItemStatus) -> GateItem:
    return GateItem(key="kb_article", title="Article", status=status, due=date(2026, 11, 20))


def test_going_live_without_a_passed_gate_is_live_unready() -> None:
    today = date(2026, 12, 10)
    status, reason = gate_status([_live_item(ItemStatus.UNMET)], today, 14, accepted=False,
                                 live_since=date(2026, 12, 1))
    assert status is GateStatus.LIVE_UNREADY
    assert reason == ("live since 2026-12-01 without a passed gate; "
                      "missing: kb_article, service manager acceptance")
    # all items met, acceptance still outstanding: not ready for review once live
    status, reason = gate_status([_live_item(ItemStatus.MET)], today, 14, accepted=False,
                                 live_since=date(2026, 12, 1))
    assert status is GateStatus.LIVE_UNREADY and reason.endswith("missing: service manager acceptance")
    # a passed gate stays passed after go-live
    assert gate_status([_live_item(ItemStatus.MET)], today, 14, accepted=True,
                       live_since=date(2026, 12, 1))[0] is GateStatus.PASSED


def test_a_service_is_live_once_its_go_live_is_released_or_its_day_is_over() -> None:
    def transition(**kw: object) -> ServiceTransition:
        return ServiceTransition.model_validate({"id": "t", "service": "S", **kw})

    day = date(2026, 12, 1)
    assert went_live(transition(go_live=day), day) is None  # the go-live day itself
    assert went_live(transition(go_live=day), day + timedelta(days=1)) == day
    released = transition(go_live=date(2026, 12, 20), milestones=[
        {"kind": "go_live", "name": "Go-live", "due": date(2026, 12, 5), "done": True}])
    assert went_live(released, day) == date(2026, 12, 5)  # released early
    assert went_live(transition(), day) is None  # no go-live date: not known to be live


def test_the_tools_live_state_makes_a_service_live_before_its_planned_day() -> None:
    def transition(**kw: object) -> ServiceTransition:
        return ServiceTransition.model_validate({"id": "t", "service": "S", **kw})

    day = date(2026, 12, 1)
    planned = date(2026, 12, 20)
    # the tool says live on a known day: that day, though the plan says later
    assert went_live(transition(go_live=planned, live=True, live_since=date(2026, 11, 28)),
                     day) == date(2026, 11, 28)
    # live without a recorded day: today, never a planned day still ahead
    assert went_live(transition(go_live=planned, live=True), day) == day
    assert went_live(transition(live=True), day) == day
    # a day recorded but the state not live (closed incomplete): not live
    assert went_live(transition(go_live=planned, live_since=date(2026, 11, 28)), day) is None


def test_linked_projects_share_the_earliest_live_day() -> None:
    from bridge.derive.linking import merge_transition
    from bridge.models import Project, SourceRef

    def project(source: str, **kw: object) -> Project:
        return Project.model_validate({"ref": SourceRef(source=source, stream="p", key="K"),
                                       "key": "K", "name": "S", "service": "S", **kw})

    merged = merge_transition([project("jira"), project("snow", live=True,
                                                        live_since=date(2026, 11, 3)),
                               project("other", live_since=date(2026, 10, 1))])
    assert merged.live and merged.live_since == date(2026, 11, 3)


def test_the_pushed_comment_names_each_missing_item_with_who_and_when() -> None:
    from bridge.derive.run import gate_comment

    item = GateItem(key="kb_article", title="Service-desk knowledge article published",
                    status=ItemStatus.UNMET, due=date(2026, 11, 2), responsible_role="project_manager",
                    approver="Dana Desk")
    done = GateItem(key="sla", title="SLA defined", status=ItemStatus.MET, due=date(2026, 11, 1))
    transition = ServiceTransition.model_validate({
        "id": "snow:PRJ1", "service": "Corporate Network",
        "gate": {"status": "live_unready", "items": [item, done],
                 "reason": "live since 2026-11-09 without a passed gate; missing: kb_article"}})
    text = gate_comment(transition, "overdue")
    assert text.splitlines() == [
        "smo-bridge: the operations gate for Corporate Network is now live unready (was overdue): "
        "1/2 items met or waived. live since 2026-11-09 without a passed gate; missing: kb_article",
        "Still missing:",
        "- Service-desk knowledge article published (due 2026-11-02, delivers: project manager, "
        "approves: Dana Desk)",
    ]
    assert gate_comment(transition, "live_unready").startswith(
        "smo-bridge: the operations gate for Corporate Network is live unready:")


def test_the_gate_line_names_the_next_missing_item_and_the_board() -> None:
    from bridge.derive.run import gate_line

    items = [GateItem(key="runbook", title="Runbook delivered", status=ItemStatus.UNMET,
                      due=date(2026, 11, 20), approver="Platform"),
             GateItem(key="kb_article", title="Knowledge article published", status=ItemStatus.UNMET,
                      due=date(2026, 11, 2), approver="Dana Desk"),
             GateItem(key="sla", title="SLA defined", status=ItemStatus.WAIVED)]
    transition = ServiceTransition.model_validate({
        "id": "snow:PRJ1", "service": "Corporate Network",
        "gate": {"status": "overdue", "items": items}})
    assert gate_line(transition, "https://board.example/t/snow:PRJ1") == (
        "Operations gate overdue: 1/3 met; next: Knowledge article published (due 2026-11-02, "
        "Dana Desk approves) and 1 more. https://board.example/t/snow:PRJ1")
    transition.gate.items = items[2:]
    assert gate_line(transition) == "Operations gate overdue: 1/1 met"


def test_the_acceptance_item_is_the_review_not_one_more_deliverable() -> None:
    items = [item("runbook", "met", date(2026, 11, 1)), item("service_manager", "unmet", date(2026, 11, 1))]
    # everything else delivered: the gate awaits the review, whatever the item's due day
    assert gate_status(items, TODAY, 14, False, acceptance_item="service_manager")[0] \
        is GateStatus.READY_FOR_REVIEW
    # without naming it, it is one more overdue item
    assert gate_status(items, TODAY, 14, False)[0] is GateStatus.OVERDUE


def test_a_transition_started_long_ago_without_a_go_live_date_is_at_risk() -> None:
    from bridge.derive.gates import undated_for
    from bridge.models import Milestone

    started = ServiceTransition.model_validate({"id": "t", "service": "S", "milestones": [
        Milestone(kind="startup", name="Start-up meeting", due=date(2026, 8, 1))]})
    assert undated_for(started, TODAY, 60) == 114
    assert undated_for(started, TODAY, 200) is None  # young enough
    dated = started.model_copy(update={"go_live": date(2027, 1, 1)})
    assert undated_for(dated, TODAY, 60) is None
    status, reason = gate_status([item("a", "unmet")], TODAY, 14, False, undated_for=114)
    assert status is GateStatus.AT_RISK and reason == "no go-live date, 114 days after the start-up"
