from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bridge.derive.workloads import TicketColumns, compute, periods

AMS = ZoneInfo("Europe/Amsterdam")
UTC_ZONE = ZoneInfo("UTC")


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def cols(*rows: tuple[str, str, str, str, str | None, float, bool]) -> TicketColumns:
    return TicketColumns.from_rows(
        (c, p, team, t(o), t(r) if r else None, e, b) for c, p, team, o, r, e, b in rows)


def by_period(rows: list[dict], **match: str) -> dict[str, dict]:  # type: ignore[type-arg]
    return {r["period"]: r for r in rows if all(r[k] == v for k, v in match.items())}


def test_week_boundary_follows_the_configured_zone() -> None:
    # Sunday 23:30 UTC is already Monday 00:30 in Amsterdam (UTC+1 in November)
    data = cols(("operational", "incident_management", "Network", "2026-11-01T23:30:00", None, 0, False))
    now = t("2026-11-03T12:00:00")
    in_utc = by_period(compute(data, ["capability"], "week", UTC_ZONE, now))
    in_ams = by_period(compute(data, ["capability"], "week", AMS, now))
    assert in_utc["2026-W44"]["opened"] == 1 and in_utc["2026-W45"]["opened"] == 0
    assert "2026-W44" not in in_ams and in_ams["2026-W45"]["opened"] == 1


def test_month_boundary_follows_the_configured_zone() -> None:
    data = cols(("tactical", "knowledge_management", "KM", "2026-10-31T23:30:00",
                 "2026-11-30T23:30:00", 2.5, True))
    now = t("2026-12-05T00:00:00")
    in_utc = by_period(compute(data, ["practice"], "month", UTC_ZONE, now))
    in_ams = by_period(compute(data, ["practice"], "month", AMS, now))
    assert in_utc["2026-10"]["opened"] == 1 and in_utc["2026-11"]["closed"] == 1
    assert in_ams["2026-11"]["opened"] == 1 and in_ams["2026-12"]["closed"] == 1
    # effort and breaches count where the ticket was resolved
    assert in_ams["2026-12"]["effort_hours"] == 2.5 and in_ams["2026-12"]["sla_breaches"] == 1
    assert in_ams["2026-11"]["effort_hours"] == 0 and in_ams["2026-11"]["open_backlog"] == 1


def test_backlog_and_median_age_at_period_end() -> None:
    data = cols(
        ("operational", "incident_management", "Network", "2026-11-02T00:00:00", None, 0, False),
        ("operational", "incident_management", "Network", "2026-11-04T00:00:00", None, 0, False),
        ("operational", "incident_management", "Network", "2026-11-05T00:00:00", "2026-11-06T00:00:00", 1, False),
        ("operational", "incident_management", "Network", "2026-11-06T00:00:00", "2026-11-10T00:00:00", 1, False),
    )
    rows = by_period(compute(data, ["team"], "week", UTC_ZONE, t("2026-11-11T00:00:00")))
    w45 = rows["2026-W45"]  # ends Monday 2026-11-09 00:00
    assert (w45["opened"], w45["closed"], w45["open_backlog"]) == (4, 1, 3)
    # ages at the period end: 7, 5 and 3 days
    assert w45["median_age_days"] == 5.0
    w46 = rows["2026-W46"]  # the current week: the backlog is read now
    assert (w46["opened"], w46["closed"], w46["open_backlog"]) == (0, 1, 2)
    assert w46["median_age_days"] == 8.0
    assert w45["effort_hours"] == 1 and w46["effort_hours"] == 1


def test_resolution_exactly_at_the_boundary_closes_in_the_new_period() -> None:
    data = cols(("operational", "service_desk", "Desk", "2026-11-08T10:00:00", "2026-11-09T00:00:00", 0, False))
    rows = by_period(compute(data, ["team"], "week", UTC_ZONE, t("2026-11-10T00:00:00")))
    assert rows["2026-W45"]["open_backlog"] == 0 and rows["2026-W45"]["closed"] == 0
    assert rows["2026-W46"]["closed"] == 1


def test_groups_are_kept_apart_and_dimensions_checked() -> None:
    data = cols(
        ("operational", "incident_management", "Network", "2026-11-02T00:00:00", None, 0, False),
        ("strategic", "portfolio_management", "PMO", "2026-11-02T00:00:00", None, 0, False),
        ("operational", "problem_management", "Network", "2026-11-02T00:00:00", None, 0, False),
    )
    rows = compute(data, ["capability"], "month", UTC_ZONE, t("2026-11-10T00:00:00"))
    assert [(r["capability"], r["opened"]) for r in rows] == [("operational", 2), ("strategic", 1)]
    with pytest.raises(ValueError, match="cannot group"):
        compute(data, ["colour"], "month", UTC_ZONE, t("2026-11-10T00:00:00"))


def test_periods_across_a_dst_change_are_whole_local_weeks() -> None:
    spans = periods("week", AMS, t("2026-10-20T00:00:00"), t("2026-10-28T00:00:00"))
    assert [s.label for s in spans] == ["2026-W43", "2026-W44"]
    # the week holding the end of summer time is 169 hours long
    assert spans[0].end_utc - spans[0].start_utc == 169 * 3600
