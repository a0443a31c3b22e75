"""How the SMO's gates fare, per go-live period: what `report transitions` prints.

Read from the stored transitions alone: a transition counts in the period of its go-live
date. Once live, it either `passed` (on time when every met item's evidence is dated by
its due day) or went live unready. Item by item: how often it was missing when the
service went live, and how many days late its evidence came when it did.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date
from statistics import median
from typing import Any, Literal

from bridge.derive.evidence import delivered_on
from bridge.derive.gates import went_live
from bridge.models import GateStatus, ItemStatus, ServiceTransition

Period = Literal["month", "quarter"]


def period_of(day: date, period: Period) -> str:
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


def days_late(transition: ServiceTransition) -> dict[str, int]:
    """Per met item with a due day and delivery-dated evidence: days after the due day
    (0 when on time)."""
    late: dict[str, int] = {}
    for item in transition.gate.items:
        if item.status is not ItemStatus.MET or item.due is None:
            continue
        done_on = delivered_on(item.evidence)
        if done_on is not None:
            late[item.key] = max(0, (done_on - item.due).days)
    return late


def outcomes(transitions: Iterable[ServiceTransition], today: date,
             period: Period = "month") -> dict[str, list[dict[str, Any]]]:
    periods: dict[str, Counter[str]] = defaultdict(Counter)
    lateness: dict[str, list[int]] = defaultdict(list)
    item_late: dict[str, list[int]] = defaultdict(list)
    missed: Counter[str] = Counter()
    titles: dict[str, str] = {}
    for t in transitions:
        if t.go_live is None:
            continue
        name = period_of(t.go_live, period)
        counts = periods[name]
        counts["transitions"] += 1
        for item in t.gate.items:
            titles.setdefault(item.key, item.title)
        late = days_late(t)
        for key, days in late.items():
            item_late[key].append(days)
            if days > 0:
                lateness[name].append(days)
        if went_live(t, today) is None:
            counts["not_live_yet"] += 1
            continue
        counts["went_live"] += 1
        if t.gate.status is GateStatus.PASSED:
            counts["passed"] += 1
            counts["passed_on_time"] += int(not any(late.values()))
        else:
            counts["live_unready"] += 1
            missed.update(i.key for i in t.gate.items if i.status is ItemStatus.UNMET)
    rows = [
        {"period": name, "transitions": c["transitions"], "went_live": c["went_live"],
         "passed": c["passed"], "passed_on_time": c["passed_on_time"],
         "live_unready": c["live_unready"], "not_live_yet": c["not_live_yet"],
         "median_days_late": _median(lateness[name])}
        for name, c in sorted(periods.items())
    ]
    keys = sorted(set(titles), key=lambda k: (-missed[k], k))
    items = [
        {"item": key, "title": titles[key], "missing_at_go_live": missed[key],
         "met_late": sum(1 for d in item_late[key] if d > 0),
         "median_days_late": _median([d for d in item_late[key] if d > 0])}
        for key in keys
    ]
    return {"periods": rows, "items": items}


def _median(values: list[int]) -> float | None:
    return float(median(values)) if values else None
