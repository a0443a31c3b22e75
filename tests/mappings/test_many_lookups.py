"""A `many` lookup keeps every matching record of a key: a task approved by two people
shows both, so a later approval by someone else never hides the appointed approver's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from bridge.derive.evidence import EvidenceContext, evaluate_items
from bridge.derive.linking import merge_transition
from bridge.models import Approval, ItemStatus, Project, RawRecord, SourceRef
from mappings.gate import GateDef
from mappings.loader import default_mapping


def raw(stream: str, key: str, payload: dict[str, Any], deleted: bool = False) -> RawRecord:
    return RawRecord(source="snow", stream=stream, key=key, payload=payload, deleted=deleted)


def approval(sys_id: str, task: str, who: str, at: str, state: str = "approved") -> RawRecord:
    return raw("sysapproval_approver", sys_id,
               {"sys_id": sys_id, "sysapproval": task, "state": state,
                "approver": {"value": who.lower(), "display_value": who}, "sys_updated_on": at})


TASK = {"sys_id": "tsk1", "number": "PRJTASK1", "short_description": "Agree the SLA and support hours",
        "parent": "prj1", "top_task": "prj1", "state": "3", "active": "false",
        "closed_at": "2026-10-19 16:00:00", "sys_created_on": "2026-09-10 09:00:00"}
PROJECT = {"sys_id": "prj1", "number": "PRJ1", "business_service": "svc1", "approval": "requested"}


def bound_with(*records: RawRecord) -> Any:
    bound = default_mapping("servicenow").bind()
    bound.feed(raw("pm_project", "prj1", PROJECT))
    for record in records:
        bound.feed(record)
    return bound


def task_ticket(bound: Any) -> Any:
    outcome = bound.map(raw("pm_project_task", "tsk1", TASK))
    assert outcome.kind == "ticket", outcome.reason
    return outcome.ticket


def sla_item(ticket: Any) -> Any:
    gate = GateDef.model_validate({"items": [{
        "key": "sla", "title": "SLA", "due": "-7d", "approver": {"role": "service_manager"},
        "evidence": {"kind": "deliverable", "approver_field": None}}]})
    owner = Project(ref=SourceRef(source="snow", stream="pm_project", key="PRJ1"), key="PRJ1",
                    name="Payments", service="Payments", go_live=date(2026, 12, 21),
                    service_manager="Ana Ruiz")
    ctx = EvidenceContext(merge_transition([owner]), [owner], [ticket], None)
    return evaluate_items(gate, ctx)[0]


def test_a_later_approval_by_someone_else_keeps_the_appointed_approvers() -> None:
    bound = bound_with(approval("a1", "tsk1", "Ana Ruiz", "2026-10-20 08:00:00"),
                       approval("a2", "tsk1", "Bob Other", "2026-10-21 09:00:00"))
    ticket = task_ticket(bound)
    assert ticket.attributes["approved_by"] == ["Ana Ruiz", "Bob Other"]
    item = sla_item(ticket)
    assert item.status == ItemStatus.MET, item.missing
    assert item.approved_by == "Ana Ruiz"
    assert item.approved_at == datetime(2026, 10, 20, 8, tzinfo=UTC)


def test_only_someone_elses_approval_leaves_the_item_unmet() -> None:
    bound = bound_with(approval("a2", "tsk1", "Bob Other", "2026-10-21 09:00:00"))
    item = sla_item(task_ticket(bound))
    assert item.status != ItemStatus.MET
    assert "Bob Other" in (item.missing or "") and "Ana Ruiz" in (item.missing or "")


def test_a_rejected_or_deleted_row_leaves_the_others() -> None:
    bound = bound_with(approval("a1", "tsk1", "Ana Ruiz", "2026-10-20 08:00:00"),
                       approval("a2", "tsk1", "Bob Other", "2026-10-21 09:00:00"))
    assert bound.feed(approval("a1", "tsk1", "Ana Ruiz", "2026-10-22 08:00:00", state="rejected"))
    assert task_ticket(bound).attributes["approved_by"] == "Bob Other"
    gone = approval("a2", "tsk1", "Bob Other", "2026-10-21 09:00:00")
    assert bound.feed(raw("sysapproval_approver", "a2", gone.payload, deleted=True))
    assert "approved_by" not in task_ticket(bound).attributes
    assert ("approvals", "tsk1", None, None) in bound.changes


def test_saved_entries_restore_every_row() -> None:
    bound = bound_with(approval("a1", "tsk1", "Ana Ruiz", "2026-10-20 08:00:00"),
                       approval("a2", "tsk1", "Bob Other", "2026-10-21 09:00:00"))
    saved = [(e, k, p) for name, e, k, p in bound.entries() if name == "approvals"]
    fresh = default_mapping("servicenow").bind()
    fresh.feed(raw("pm_project", "prj1", PROJECT))
    fresh.load_entries("approvals", saved)
    assert task_ticket(fresh).attributes["approved_by"] == ["Ana Ruiz", "Bob Other"]


def test_a_project_with_two_approvals_gets_two_approval_items() -> None:
    bound = bound_with(approval("a1", "prj1", "Ana Ruiz", "2026-10-20 08:00:00"),
                       approval("a2", "prj1", "Bob Other", "2026-10-21 09:00:00"))
    outcome = bound.map(raw("pm_project", "prj1", PROJECT))
    assert outcome.kind == "project", outcome.reason
    got = [(a.approver, a.at) for a in outcome.project.approvals]
    assert got == [("Ana Ruiz", datetime(2026, 10, 20, 8, tzinfo=UTC)),
                   ("Bob Other", datetime(2026, 10, 21, 9, tzinfo=UTC))]


def test_items_built_from_a_list_have_every_field_of_their_model() -> None:
    """An approval's `ref` is no mapping target: it is still there (None), as validation
    would give it, so reading it never fails and a stored dump reads back equal."""
    bound = bound_with(approval("a1", "prj1", "Ana Ruiz", "2026-10-20 08:00:00"))
    outcome = bound.map(raw("pm_project", "prj1", PROJECT))
    assert outcome.kind == "project", outcome.reason
    (built,) = outcome.project.approvals
    assert built.ref is None
    assert built.model_dump() == Approval.model_validate(built.model_dump()).model_dump()
    assert Project.model_validate(outcome.project.model_dump()) == outcome.project
