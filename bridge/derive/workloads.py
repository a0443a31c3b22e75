"""Capability workloads: tickets counted per (capability, practice, team) and period.

Per period: tickets opened, tickets closed, the open backlog at the period's end and
its median age, effort hours and SLA breaches. Effort and breaches count in the
period the ticket was resolved in (the period it was opened in while it is open).
Period boundaries are local midnight in the configured time zone (ISO weeks start on
Monday), converted to UTC instants, so DST changes move no ticket into the wrong period.

Everything is recomputed from the ticket columns with numpy: a million tickets take
seconds, so there is no incremental bookkeeping to get wrong. A cycle in which no ticket
changed and the day did not roll (`bridge.derive.run`) recomputes only the cells of the
current week and month, the ones whose backlog age follows the clock, from the columns of
the tickets that can count in them, kept in this process since the last full refresh.

This module is the one definition of a workload, read by `status`, `report workloads`,
the stored cells and the daemon's metrics alike:
- a ticket counts once it is classified (it has a capability);
- it is open while its status category is not `done`, whatever its resolution date (a
  reopened ticket is open again);
- a done ticket closed at its resolution date, else at the source's last update, else
  when it was opened (never before it was opened);
- its team is the specialist team (`unassigned` without a group; `unmapped` is what
  the default mappings call a group their team table does not know).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, case, delete, func, insert, select

from bridge.store.schema import tickets, workload_cells
from bridge.store.snapshots import current_workloads, save_current_workloads

PeriodKind = Literal["week", "month"]
DIMENSIONS = ("capability", "practice", "team")
UNASSIGNED = "unassigned"
UNMAPPED = "unmapped"
WINDOW_DAYS = 30  # the recent window `status` and the metrics count opened and closed in
_DAY = 86400.0


@dataclass
class TicketColumns:
    """Ticket fields needed for workloads, as parallel arrays (epoch seconds)."""

    capability: list[str]
    practice: list[str]
    team: list[str]
    opened: np.ndarray[Any, np.dtype[np.float64]]
    closed: np.ndarray[Any, np.dtype[np.float64]]  # NaN while open
    effort: np.ndarray[Any, np.dtype[np.float64]]
    breached: np.ndarray[Any, np.dtype[np.bool_]]
    #: by grouping: each ticket's group code and the groups' names (`group_codes`)
    _groups: dict[tuple[str, ...], tuple[np.ndarray[Any, np.dtype[np.int64]],
                                         dict[int, tuple[str, ...]]]] = field(
        default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.capability)

    def group_codes(self, by: Sequence[str]) -> tuple[np.ndarray[Any, np.dtype[np.int64]],
                                                       dict[int, tuple[str, ...]]]:
        """Each ticket's group (by `by`) as a code, and code -> group; kept, as columns
        kept across cycles are grouped again each cycle."""
        key = tuple(by)
        if key not in self._groups:
            keys = zip(*(getattr(self, dim) for dim in by), strict=True)
            codes_of: dict[tuple[str, ...], int] = {}
            codes = np.fromiter((codes_of.setdefault(k, len(codes_of)) for k in keys),
                                dtype=np.int64, count=len(self))
            self._groups[key] = codes, {code: k for k, code in codes_of.items()}
        return self._groups[key]

    def subset(self, keep: np.ndarray[Any, np.dtype[np.bool_]]) -> TicketColumns:
        rows = np.flatnonzero(keep).tolist()
        return TicketColumns([self.capability[i] for i in rows], [self.practice[i] for i in rows],
                             [self.team[i] for i in rows], self.opened[keep], self.closed[keep],
                             self.effort[keep], self.breached[keep])

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]]) -> TicketColumns:
        """Rows of (capability, practice, team, opened, closed, effort_hours, sla_breached);
        `closed` is None while the ticket is open (see `load_ticket_columns`)."""
        from array import array

        cap: list[str] = []
        practice: list[str] = []
        team: list[str] = []
        # flat arrays and one text object per distinct name: a million tickets stay megabytes
        opened, resolved, effort = array("d"), array("d"), array("d")
        breached = bytearray()
        names: dict[str, str] = {}
        for c, p, t, o, r, e, b in rows:
            cap.append(names.setdefault(str(c), str(c)))
            practice.append(names.setdefault(str(p or UNASSIGNED), str(p or UNASSIGNED)))
            team.append(names.setdefault(str(t or UNASSIGNED), str(t or UNASSIGNED)))
            opened.append(_epoch(o))
            resolved.append(_epoch(r) if r is not None else np.nan)
            effort.append(float(e or 0.0))
            breached.append(bool(b))
        opened_at = np.array(opened, dtype=np.float64)
        closed = np.array(resolved, dtype=np.float64)
        # never closed before it was opened (clocks and imports disagree)
        closed_at = np.where(np.isnan(closed), np.nan, np.maximum(closed, opened_at))
        return cls(cap, practice, team, opened_at, closed_at, np.array(effort, dtype=np.float64),
                   np.array(breached, dtype=np.bool_))


def _epoch(value: datetime | str) -> float:
    if isinstance(value, str):  # the source's `updated`, read from the stored payload
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def load_ticket_columns(conn: Connection) -> TicketColumns:
    """The classified tickets in the store, with when each closed (module docstring)."""
    done = tickets.c.status_category == "done"
    # only done tickets without a resolution date read their payload's `updated`
    updated = case((done & tickets.c.resolved.is_(None), tickets.c.payload["updated"].as_string()),
                   else_=None)
    result = conn.execute(
        select(tickets.c.capability, tickets.c.practice, tickets.c.team, tickets.c.opened,
               tickets.c.status_category, tickets.c.resolved, updated,
               tickets.c.effort_hours, tickets.c.sla_breached)
        .where(tickets.c.capability.is_not(None))
    )
    return TicketColumns.from_rows(
        (cap, practice, team, opened, _closed_at(category, resolved, updated, opened), effort,
         breached)
        for cap, practice, team, opened, category, resolved, updated, effort, breached in result)


def _closed_at(category: str, resolved: datetime | None, updated: str | None,
               opened: datetime) -> datetime | str | None:
    if category != "done":
        return None
    return resolved or updated or opened


def unmapped_groups(conn: Connection) -> list[tuple[str, int]]:
    """The tools' groups that no specialist team took (team `unmapped`), most tickets first."""
    group = tickets.c.payload["attributes"]["group"].as_string()
    rows = conn.execute(select(group, func.count()).where(tickets.c.team == UNMAPPED,
                                                          tickets.c.capability.is_not(None))
                        .group_by(group)).all()
    return sorted(((str(g or "?"), int(n)) for g, n in rows), key=lambda r: (-r[1], r[0]))


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
            now: datetime, *, current_only: bool = False) -> list[dict[str, Any]]:
    """Workload rows grouped by `by` (a subset of DIMENSIONS), one per group and period;
    with `current_only`, those of the period holding `now` alone (the same rows: a ticket
    outside a period's bounds counts in none of its figures)."""
    for dim in by:
        if dim not in DIMENSIONS:
            raise ValueError(f"cannot group workloads by {dim!r}")
    if not len(columns):
        return []
    now_ts = now.timestamp()
    opened = columns.opened
    resolved = columns.closed
    first = datetime.fromtimestamp(float(np.min(opened)), UTC)
    spans = periods(kind, zone, min(first, now), now)
    if current_only:
        spans = spans[-1:]
    bounds = np.array([p.start_utc for p in spans] + [spans[-1].end_utc])
    n_periods = len(spans)
    # the backlog is read at each period's end, or now for the current period
    snapshot_at = np.minimum(bounds[1:], now_ts)

    codes, group_names = columns.group_codes(by)
    opened_bin = np.searchsorted(bounds, opened, side="right") - 1
    is_open = np.isnan(resolved)
    resolved_bin = np.where(is_open, -1, np.searchsorted(bounds, np.nan_to_num(resolved), side="right") - 1)
    credit_bin = np.where(is_open, opened_bin, resolved_bin)

    order = np.argsort(codes, kind="stable")
    splits = np.flatnonzero(np.diff(codes[order])) + 1
    rows: list[dict[str, Any]] = []
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


def current(columns: TicketColumns, by: Sequence[str], now: datetime,
            window_days: int = WINDOW_DAYS) -> list[dict[str, Any]]:
    """Workload rows grouped by `by` as of `now`: `open` (the backlog now) with its
    `median_age_days`, and `opened` and `closed` in the last `window_days`. What `status`
    and the daemon's metrics show; `compute`'s current period reads the same backlog."""
    for dim in by:
        if dim not in DIMENSIONS:
            raise ValueError(f"cannot group workloads by {dim!r}")
    now_ts = now.timestamp()
    since = now_ts - window_days * _DAY
    opened, closed = columns.opened, columns.closed
    is_open = (opened <= now_ts) & ~(closed <= now_ts)
    opened_recently = (opened > since) & (opened <= now_ts)
    closed_recently = (closed > since) & (closed <= now_ts)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, key in enumerate(zip(*(getattr(columns, dim) for dim in by), strict=True)):
        groups.setdefault(key, []).append(i)
    rows: list[dict[str, Any]] = []
    for key in sorted(groups):
        members = np.array(groups[key], dtype=np.int64)
        open_members = members[is_open[members]]
        row: dict[str, Any] = dict(zip(by, key, strict=True))
        row.update(
            open=int(open_members.size),
            opened=int(np.count_nonzero(opened_recently[members])),
            closed=int(np.count_nonzero(closed_recently[members])),
            median_age_days=(round(float(np.median(now_ts - opened[open_members])) / _DAY, 2)
                             if open_members.size else None),
            window_days=window_days,
        )
        rows.append(row)
    return rows


def _per_period(bins: np.ndarray[Any, Any], n: int,
                weights: np.ndarray[Any, Any] | None = None) -> np.ndarray[Any, Any]:
    valid = (bins >= 0) & (bins < n)
    return np.bincount(bins[valid], weights=None if weights is None else weights[valid], minlength=n)


KINDS: tuple[PeriodKind, ...] = ("week", "month")

#: (token of the full refresh, the columns of the tickets that can count in its current
#: periods): one store's, the last refreshed in this process
_kept: tuple[str, TicketColumns] | None = None


def refresh_cells(conn: Connection, zone: ZoneInfo, now: datetime | None = None, *,
                  keep_as: str | None = None) -> int:
    """Recompute the stored cells (finest grouping, weeks and months) in the caller's
    transaction; with `keep_as`, keep what `refresh_current_cells` needs under that token."""
    global _kept
    now = now or datetime.now(UTC)
    columns = load_ticket_columns(conn)
    conn.execute(delete(workload_cells))
    rows: list[dict[str, Any]] = []
    for kind in KINDS:
        rows += _stored(compute(columns, DIMENSIONS, kind, zone, now))
    if rows:
        conn.execute(insert(workload_cells), rows)
    # what `status` and the metrics show, from the same columns: they read it, not the tickets
    save_current_workloads(conn, current(columns, DIMENSIONS, now), now)
    if keep_as is not None:
        _kept = (keep_as, _current_tickets(columns, zone, now))
    return len(rows)


def refresh_current_cells(conn: Connection, zone: ZoneInfo, now: datetime, token: str) -> int:
    """Recompute the stored cells of the week and month holding `now`, when no ticket
    changed since the full refresh that left `token` in the same local day (the caller
    knows). Returns the number of cells stored in all."""
    global _kept
    if _kept is None or _kept[0] != token:  # another process refreshed, or this one started
        _kept = (token, _current_tickets(load_ticket_columns(conn), zone, now))
    columns = _kept[1]
    rows: list[dict[str, Any]] = []
    for kind in KINDS:
        span = periods(kind, zone, now, now)[-1]
        conn.execute(delete(workload_cells).where(workload_cells.c.period_kind == kind,
                                                  workload_cells.c.period == span.label))
        rows += _stored(compute(columns, DIMENSIONS, kind, zone, now, current_only=True))
    if rows:
        conn.execute(insert(workload_cells), rows)
    save_current_workloads(conn, _current_padded(conn, columns, now), now)
    return int(conn.execute(select(func.count()).select_from(workload_cells)).scalar_one())


def _current_padded(conn: Connection, kept: TicketColumns, now: datetime) -> list[dict[str, Any]]:
    """`current` over the kept tickets, plus the groups only long-closed tickets form (all
    zero, as a full computation gives them): no ticket changed, so the last snapshot names them."""
    rows = current(kept, DIMENSIONS, now)
    stored = current_workloads(conn)
    if stored is not None:
        seen = {tuple(row[dim] for dim in DIMENSIONS) for row in rows}
        for old in stored[1]:
            key = tuple(old[dim] for dim in DIMENSIONS)
            if key not in seen:
                rows.append({**old, "open": 0, "opened": 0, "closed": 0, "median_age_days": None,
                             "window_days": WINDOW_DAYS})
        rows.sort(key=lambda row: tuple(row[dim] for dim in DIMENSIONS))
    return rows


def _current_tickets(columns: TicketColumns, zone: ZoneInfo, now: datetime) -> TicketColumns:
    """The tickets that can count in the periods holding `now` and in `current`'s window:
    those open, or closed since the earliest of their starts (one closed before is in none)."""
    start = min([periods(kind, zone, now, now)[-1].start_utc for kind in KINDS]
                + [now.timestamp() - WINDOW_DAYS * _DAY])  # `current`'s window too
    return columns.subset(np.isnan(columns.closed) | (columns.closed >= start))


def _stored(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        row["period_start"] = date.fromisoformat(row["period_start"])
    return rows
