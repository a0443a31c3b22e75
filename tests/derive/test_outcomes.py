"""`report transitions`: per go-live period, what went live passed (on time) or unready."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from bridge.derive.outcomes import outcomes
from bridge.models import ServiceTransition

TODAY = date(2026, 12, 10)


def _item(key: str, status: str, due: date, done: date | None = None, kind: str = "ticket") -> dict[str, Any]:
    evidence = [] if done is None else [{"kind": kind, "ref": "x", "detail": "d",
                                         "at": datetime(done.year, done.month, done.day, tzinfo=UTC)}]
    return {"key": key, "title": key.title(), "status": status, "due": due, "evidence": evidence}


def _transition(tid: str, go_live: date, status: str, items: list[dict[str, Any]]) -> ServiceTransition:
    return ServiceTransition.model_validate({"id": tid, "service": tid, "go_live": go_live,
                                             "gate": {"status": status, "items": items}})


def test_outcomes_per_go_live_month_and_the_items_missed_most() -> None:
    on_time = _transition("a", date(2026, 11, 5), "passed",
                          [_item("kb_article", "met", date(2026, 10, 29), date(2026, 10, 20))])
    late = _transition("b", date(2026, 11, 20), "passed",
                       [_item("kb_article", "met", date(2026, 11, 13), date(2026, 11, 18)),
                        _item("sla", "met", date(2026, 11, 6), date(2026, 12, 1), kind="field")])
    unready = _transition("c", date(2026, 11, 25), "live_unready",
                          [_item("kb_article", "unmet", date(2026, 11, 18)),
                           _item("runbook", "met", date(2026, 11, 18), date(2026, 11, 28))])
    upcoming = _transition("d", date(2027, 1, 15), "in_progress",
                           [_item("kb_article", "unmet", date(2027, 1, 8))])
    report = outcomes([on_time, late, unready, upcoming], TODAY)
    assert report["periods"] == [
        {"period": "2026-11", "transitions": 3, "went_live": 3, "passed": 2, "passed_on_time": 1,
         "live_unready": 1, "not_live_yet": 0, "median_days_late": 7.5},
        {"period": "2027-01", "transitions": 1, "went_live": 0, "passed": 0, "passed_on_time": 0,
         "live_unready": 0, "not_live_yet": 1, "median_days_late": None},
    ]
    by_item = {i["item"]: i for i in report["items"]}
    assert report["items"][0]["item"] == "kb_article"  # the item missing most comes first
    assert (by_item["kb_article"]["missing_at_go_live"], by_item["kb_article"]["met_late"],
            by_item["kb_article"]["median_days_late"]) == (1, 1, 5.0)
    assert by_item["runbook"]["median_days_late"] == 10.0
    # a field is dated by its project's last change, not its delivery: never counted late
    assert by_item["sla"]["met_late"] == 0


def test_quarters_group_go_lives() -> None:
    t = _transition("a", date(2026, 11, 5), "passed", [])
    assert outcomes([t], TODAY, "quarter")["periods"][0]["period"] == "2026-Q4"
