"""Capability workloads: tickets counted per (capability, practice, team) and period.

Per period: tickets opened, tickets closed, the open backlog at the period's end and
its median age, effort hours and SLA breaches. Effort and breaches count in the
period the ticket was resolved in (the period it was opened in while it is open).
Period boundaries are local midnight in the configured time zone (ISO weeks start on
Monday), converted to UTC instants, so DST changes move no ticket into the wrong period.

Everything is recomputed from the ticket columns with numpy: a million tickets take
seconds, so there is no incremental bookkeeping to get wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, delete, insert, select

from bridge.store.schema import tickets, workload_cells

PeriodKind = Literal["week", "month"]
DIMENSIONS = ("capability", "practice", "team")
UNASSIGNED = "unassigned"
_DAY = 86400.0


@dataclass
class TicketColumns:
    """Ticket fields needed for workloads, as parallel arrays (epoch seconds, NaN = open)."""

    capability: list[str]
    practice: list[str]
    team: list[str]
    opened: np.ndarray[Any, np.dtype[np.float64]]
    resolved: np.ndarray[Any, np.dtype[np.float64]]
    effort: np.ndarray[Any, np.dtype[np.float64]]
    breached: np.ndarray[Any, np.dtype[np.bool_]]

    def __len__(self) -> int:
        return len(self.capability)

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]]) -> TicketColumns:
        """Rows of (capability, practice, team, opened, resolved, effort_hours, sla_breached)."""
        cap: list[str] = []
        practice: list[str] = []
        team: list[str] = []
        opened: list[float] = []
        resolved: list[float] = []
        effort: list[float] = []
        breached: list[bool] = []
        for c, p, t, o, r, e, b in rows:
            cap.append(str(c))
            practice.append(str(p or UNASSIGNED))
            team.append(str(t or UNASSIGNED))
            opened.append(_epoch(o))
            resolved.append(_epoch(r) if r is not None else np.nan)
            effort.append(float(e or 0.0))
            breached.append(bool(b))
        return cls(cap, practice, team, np.array(opened, dtype=np.float64),
                   np.array(resolved, dtype=np.float64), np.array(effort, dtype=np.float64),
                   np.array(breached, dtype=np.bool_))


def _epoch(value: datetime) -> float:
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def load_ticket_columns(conn: Connection) -> TicketColumns:
    """The classified tickets in the store (unclassified ones have no workload)."""
    result = conn.execute(
        select(tickets.c.capability, tickets.c.practice, tickets.c.team, tickets.c.opened,
               tickets.c.resolved, tickets.c.effort_hours, tickets.c.sla_breached)
        .where(tickets.c.capability.is_not(None))
    )
    return TicketColumns.from_rows(result)


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    start_utc: float
    end_utc: float


def periods(kind: PeriodKind, zone: ZoneInfo, first: datetime, last: datetime) -> list[Period]:
    """Consecutive local periods from the one holding `first` to the one holding `last`."""
    day = first.astimezone(zone).date()
    start = day - timedelta(days=day.weekday()) if kind == "week" else day.replace(day=1)
    end_day = last.astimezone(zone).date()
    out: list[Period] = []
    while start <= end_day:
        following = start + timedelta(days=7) if kind == "week" else _next_month(start)
        if kind == "week":
            iso = start.isocalendar()
            label = f"{iso.year}-W{iso.week:02d}"
        else:
            label = f"{start.year}-{start.month:02d}"
        out.append(Period(label, start, _local_midnight(start, zone), _local_midnight(following, zone)))
        start = following
    return out


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _local_midnight(day: date, zone: ZoneInfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()


def compute(columns: TicketColumns, by: Sequence[str], kind: PeriodKind, zone: ZoneInfo,
            now: datetime) -> list[dict[str, Any]]:
    """Workload rows grouped by `by` (a subset of DIMENSIONS), one per group and period."""
    for dim in by:
        if dim not in DIMENSIONS:
            raise ValueError(f"cannot group workloads by {dim!r}")
    if not len(columns):
        return []
    now_ts = now.timestamp()
    opened = columns.opened
    resolved = np.where(np.isnan(columns.resolved), np.nan, np.maximum(columns.resolved, opened))
    first = datetime.fromtimestamp(float(np.min(opened)), UTC)
    spans = periods(kind, zone, min(first, now), now)
    bounds = np.array([p.start_utc for p in spans] + [spans[-1].end_utc])
    n_periods = len(spans)
    # the backlog is read at each period's end, or now for the current period
    snapshot_at = np.minimum(bounds[1:], now_ts)

    keys = list(zip(*(getattr(columns, dim) for dim in by), strict=True))
    codes_of: dict[tuple[str, ...], int] = {}
    codes = np.fromiter((codes_of.setdefault(k, len(codes_of)) for k in keys), dtype=np.int64,
                        count=len(keys))
    opened_bin = np.searchsorted(bounds, opened, side="right") - 1
    is_open = np.isnan(resolved)
    resolved_bin = np.where(is_open, -1, np.searchsorted(bounds, np.nan_to_num(resolved), side="right") - 1)
    credit_bin = np.where(is_open, opened_bin, resolved_bin)

    order = np.argsort(codes, kind="stable")
    splits = np.flatnonzero(np.diff(codes[order])) + 1
    rows: list[dict[str, Any]] = []
    group_names = {code: key for key, code in codes_of.items()}
    for members in np.split(order, splits):
        key = group_names[int(codes[members[0]])]
        g_opened = opened[members]
        g_resolved = resolved[members]
        n_opened = _per_period(opened_bin[members], n_periods)
        n_closed = _per_period(resolved_bin[members], n_periods)
        effort = _per_period(credit_bin[members], n_periods, columns.effort[members])
        breaches = _per_period(credit_bin[members][columns.breached[members]], n_periods)
        for p, span in enumerate(spans):
            t = snapshot_at[p]
            open_mask = (g_opened <= t) & ~(g_resolved <= t)
            backlog = int(np.count_nonzero(open_mask))
            if not (n_opened[p] or n_closed[p] or backlog or effort[p] or breaches[p]):
                continue
            median_age = round(float(np.median(t - g_opened[open_mask])) / _DAY, 2) if backlog else None
            row: dict[str, Any] = dict(zip(by, key, strict=True))
            row.update(
                period_kind=kind, period=span.label, period_start=span.start.isoformat(),
                opened=int(n_opened[p]), closed=int(n_closed[p]), open_backlog=backlog,
                median_age_days=median_age, effort_hours=round(float(effort[p]), 2),
                sla_breaches=int(breaches[p]),
            )
            rows.append(row)
    rows.sort(key=lambda r: (*(r[d] for d in by), r["period_start"]))
    return rows


def _per_period(bins: np.ndarray[Any, Any], n: int,
                weights: np.ndarray[Any, Any] | None = None) -> np.ndarray[Any, Any]:
    valid = (bins >= 0) & (bins < n)
    return np.bincount(bins[valid], weights=None if weights is None else weights[valid], minlength=n)


def refresh_cells(conn: Connection, zone: ZoneInfo, now: datetime | None = None) -> int:
    """Recompute the stored cells (finest grouping, weeks and months) in the caller's transaction."""
    now = now or datetime.now(UTC)
    columns = load_ticket_columns(conn)
    conn.execute(delete(workload_cells))
    rows: list[dict[str, Any]] = []
    for kind in ("week", "month"):
        for row in compute(columns, DIMENSIONS, kind, zone, now):
            row["period_start"] = date.fromisoformat(row["period_start"])
            rows.append(row)
    if rows:
        conn.execute(insert(workload_cells), rows)
    return len(rows)
