"""Gate status from evidence: the rules, in order of precedence.

1. `passed`: every item is met or waived, and the appointed service manager accepted.
   Going live with a passed gate is how it should be.
   `live_unready`: otherwise, once the service went live (its go-live milestone released,
   or its go-live day ended): the case the gate exists to catch, with what was missing.
2. `ready_for_review`: every item is met or waived; the acceptance is outstanding.
3. `overdue`: an unmet item's due day has ended (in the reporting time zone). An item
   due today is not overdue until tomorrow.
4. `at_risk`: an unmet item is due within the horizon (today included); or the
   transition has no go-live date although it started (its start-up milestone) longer
   ago than `reporting.no_go_live_days`: without a date no item can fall due, so age
   is what flags it.
5. `not_started`: no item is met yet (waivers alone do not start a transition).
6. `in_progress`: otherwise.

An approval counts only when the item's appointed approver gave it; a waiver needs
who and why. The service manager's acceptance is one thing: the gate's acceptance item
(`gate.acceptance`, default `service_manager`) being met; a gate without that item reads
it from the project's own flag (the mapping's `service_manager_accepted`). A released
review milestone is no acceptance by itself. The status is computed, never typed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from bridge.models import Gate, GateItem, GateStatus, ItemStatus, Project, ServiceTransition


def approval_counts(item: GateItem) -> bool:
    """True when the item needs no approval, or the appointed approver gave it."""
    if not item.approver:
        return True
    return bool(item.approved_by) and same_person(item.approved_by or "", item.approver)


def same_person(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def gate_status(items: Sequence[GateItem], today: date, horizon_days: int,
                accepted: bool, live_since: date | None = None,
                acceptance_item: str | None = None,
                undated_for: int | None = None) -> tuple[GateStatus, str]:
    """The gate's status and a one-line reason, per the rules in this module's docstring.
    The acceptance item is the acceptance itself (`accepted`), not one more deliverable:
    with everything else met, its absence means the gate awaits review."""
    unmet = [i for i in items if i.status is ItemStatus.UNMET and i.key != acceptance_item]
    if items and not unmet and accepted:
        return GateStatus.PASSED, "all items met or waived and the service manager accepted"
    if live_since is not None:
        missing = [i.key for i in unmet] + ([] if accepted else ["service manager acceptance"])
        return GateStatus.LIVE_UNREADY, (f"live since {live_since} without a passed gate; "
                                         f"missing: {', '.join(missing) or 'the gate has no items'}")
    if not items:
        return GateStatus.NOT_STARTED, "the gate has no items"
    if not unmet:
        return GateStatus.READY_FOR_REVIEW, "all items met or waived; service manager acceptance outstanding"
    overdue = sorted((i for i in unmet if i.due is not None and i.due < today), key=_due)
    if overdue:
        first = overdue[0]
        return GateStatus.OVERDUE, (f"{len(overdue)} unmet item(s) past due, first {first.key!r} "
                                    f"due {first.due}")
    horizon_end = today + timedelta(days=horizon_days)
    soon = sorted((i for i in unmet if i.due is not None and i.due <= horizon_end), key=_due)
    if soon:
        first = soon[0]
        return GateStatus.AT_RISK, (f"{len(soon)} unmet item(s) due within {horizon_days} days, "
                                    f"first {first.key!r} due {first.due}")
    if undated_for is not None:
        return GateStatus.AT_RISK, f"no go-live date, {undated_for} days after the start-up"
    met = sum(1 for i in items if i.status is ItemStatus.MET)
    if met == 0:
        return GateStatus.NOT_STARTED, "no item has evidence yet"
    return GateStatus.IN_PROGRESS, f"{met} of {len(items)} items met, none due within {horizon_days} days"


def _due(item: GateItem) -> date:
    assert item.due is not None
    return item.due


def went_live(transition: ServiceTransition, today: date) -> date | None:
    """The day the service went live, the earliest the facts give: its go-live milestone
    released, the tool's own live state (a project closed complete), or its go-live day
    over (in the reporting time zone); None while it is not live yet."""
    days: list[date] = []
    released = [m for m in transition.milestones if m.kind == "go_live" and m.done]
    if released:
        days.append(released[0].due or transition.go_live or today)
    if transition.live:
        planned = transition.go_live
        days.append(transition.live_since or (min(planned, today) if planned else today))
    if transition.go_live is not None and transition.go_live < today:
        days.append(transition.go_live)
    return min(days, default=None)


def undated_for(transition: ServiceTransition, today: date, limit_days: int) -> int | None:
    """Days since the start-up of a transition that still has no go-live date, once they
    pass `limit_days`; None otherwise (dated, not started, or young)."""
    if transition.go_live is not None:
        return None
    starts = [m.due for m in transition.milestones if m.kind == "startup" and m.due]
    if not starts:
        return None
    age = (today - min(starts)).days
    return age if age > limit_days else None


def evaluate(items: Sequence[GateItem], today: date, horizon_days: int,
             accepted_by: str | None, service_manager: str | None,
             live_since: date | None = None, acceptance_item: str | None = None,
             undated: int | None = None) -> Gate:
    """A Gate whose status follows from its items, the recorded acceptance and going live."""
    accepted = bool(accepted_by and service_manager and same_person(accepted_by, service_manager))
    status, reason = gate_status(items, today, horizon_days, accepted, live_since, acceptance_item,
                                 undated)
    return Gate(status=status, items=list(items), reason=reason,
                accepted_by=accepted_by if accepted else None)


def acceptance(projects: Sequence[Project], transition: ServiceTransition,
               items: Sequence[GateItem] = (), acceptance_item: str | None = None) -> str | None:
    """Who accepted the service for operations (the service manager), or None: the
    acceptance item met when the gate has one, else the project's flag."""
    if transition.service_manager is None:
        return None
    item = next((i for i in items if i.key == acceptance_item), None) if acceptance_item else None
    if item is not None:
        return transition.service_manager if item.status is ItemStatus.MET else None
    if any(p.service_manager_accepted for p in projects):
        return transition.service_manager
    return None
