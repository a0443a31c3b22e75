"""Capability workloads: tickets counted per (capability, practice, team) and period.

Per period: tickets opened, tickets closed, the open backlog at the period's end and
its median age, effort hours and SLA breaches. Effort and breaches count in the
period the ticket was resolved in (the period it was opened in while it is open).
Period boundaries are local midnight in the configured time zone (ISO weeks start on
Monday), converted to UTC instants, so DST changes move no ticket into the wrong period.

Everything is recomputed from the ticket columns with numpy: a million tickets take
seconds, so there is no incremental bookkeeping to get wrong. The stored cells are computed
a few whole groups at a time, read from the store in group order (`ticket_chunks`), so
their memory does not grow with the tickets. A cycle in which no ticket
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

from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import (
    Connection,
    String,
    case,
    delete,
    func,
    insert,
    literal_column,
    select,
    type_coerce,
)

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
    """Ticket fields needed for workloads, as parallel arrays (epoch seconds); each ticket's
    (capability, practice, team) as a small code into `names`, so a million tickets hold
    tens of megabytes of numbers and one text object per distinct name."""

    group: np.ndarray[Any, np.dtype[np.int32]]
    names: list[tuple[str, str, str]]  # group code -> (capability, practice, team)
    opened: np.ndarray[Any, np.dtype[np.float64]]
    closed: np.ndarray[Any, np.dtype[np.float64]]  # NaN while open
    effort: np.ndarray[Any, np.dtype[np.float64]]
    breached: np.ndarray[Any, np.dtype[np.bool_]]
    #: by grouping: each ticket's group code and the groups' names (`group_codes`)
    _groups: dict[tuple[str, ...], tuple[np.ndarray[Any, np.dtype[Any]],
                                         dict[int, tuple[str, ...]]]] = field(
        default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return int(self.group.size)

    def group_codes(self, by: Sequence[str]) -> tuple[np.ndarray[Any, np.dtype[Any]],
                                                       dict[int, tuple[str, ...]]]:
        """Each ticket's group (by `by`) as a code, and code -> group; kept, as columns
        kept across cycles are grouped again each cycle."""
        key = tuple(by)
        if key not in self._groups:
            at = [DIMENSIONS.index(dim) for dim in by]
            codes_of: dict[tuple[str, ...], int] = {}
            # a coarser grouping maps each fine group's code: one step per group, not per ticket
            coarse = np.array([codes_of.setdefault(tuple(name[i] for i in at), len(codes_of))
                               for name in self.names], dtype=np.int32)
            self._groups[key] = (coarse[self.group] if coarse.size else self.group,
                                 {code: k for k, code in codes_of.items()})
        return self._groups[key]

    def subset(self, keep: np.ndarray[Any, np.dtype[np.bool_]]) -> TicketColumns:
        return TicketColumns(self.group[keep], self.names, self.opened[keep], self.closed[keep],
                             self.effort[keep], self.breached[keep])

    @classmethod
    def concat(cls, parts: Sequence[TicketColumns]) -> TicketColumns:
        """One set of columns from parts in order (their name tables joined)."""
        names: list[tuple[str, str, str]] = []
        groups = []
        for part in parts:
            groups.append(part.group + np.int32(len(names)))
            names += part.names
        if not groups:
            return cls.from_rows([])
        return cls(np.concatenate(groups).astype(np.int32, copy=False), names,
                   np.concatenate([p.opened for p in parts]), np.concatenate([p.closed for p in parts]),
                   np.concatenate([p.effort for p in parts]),
                   np.concatenate([p.breached for p in parts]))

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]]) -> TicketColumns:
        """Rows of (capability, practice, team, opened, closed, effort_hours, sla_breached);
        `closed` is None while the ticket is open (see `load_ticket_columns`)."""
        builder = _ColumnsBuilder()
        for row in rows:
            builder.add(row)
        return builder.take()


class _ColumnsBuilder:
    """Rows appended into flat arrays (no object per ticket), taken as `TicketColumns`."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.codes: dict[tuple[str, str, str], int] = {}
        self.group = array("i")
        self.opened, self.resolved, self.effort = array("d"), array("d"), array("d")
        self.breached = bytearray()
        self.last: tuple[Any, Any, Any] | None = None
        self.last_key = ("", "", "")
        self.last_code = 0

    def __len__(self) -> int:
        return len(self.group)

    def add(self, row: Sequence[Any]) -> tuple[str, str, str]:
        """Append a row; its group's (capability, practice, team)."""
        c, p, t, o, r, e, b = row
        raw = (c, p, t)
        if raw != self.last:  # rows of one group mostly come together
            key = (str(c), str(p or UNASSIGNED), str(t or UNASSIGNED))
            self.last, self.last_key = raw, key
            self.last_code = self.codes.setdefault(key, len(self.codes))
        self.group.append(self.last_code)
        self.opened.append(_epoch(o))
        self.resolved.append(_epoch(r) if r is not None else np.nan)
        self.effort.append(float(e or 0.0))
        self.breached.append(bool(b))
        return self.last_key

    def take(self) -> TicketColumns:
        opened_at = np.frombuffer(self.opened, dtype=np.float64) if self.opened else np.zeros(0)
        closed = np.frombuffer(self.resolved, dtype=np.float64) if self.resolved else np.zeros(0)
        # never closed before it was opened (clocks and imports disagree)
        closed_at = np.where(np.isnan(closed), np.nan, np.maximum(closed, opened_at))
        names = list(self.codes)
        columns = TicketColumns(
            np.frombuffer(self.group, dtype=np.int32) if self.group else np.zeros(0, np.int32),
            names, opened_at, closed_at,
            np.frombuffer(self.effort, dtype=np.float64) if self.effort else np.zeros(0),
            np.frombuffer(self.breached, dtype=np.bool_))
        self._reset()
        return columns


_EPOCH = datetime(1970, 1, 1)


def _epoch(value: datetime | str) -> float:
    # SQLite's stored text, or the source's `updated` from the payload
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    if at.tzinfo is None:  # naive UTC: the very float `timestamp()` gives, in one step
        return (at - _EPOCH).total_seconds()
    return at.timestamp()


def load_ticket_columns(conn: Connection) -> TicketColumns:
    """The classified tickets in the store, with when each closed (module docstring)."""
    return TicketColumns.from_rows(_ticket_rows(conn, by_group=False))


#: tickets per chunk of whole groups that `ticket_chunks` hands out (a group larger than
#: this is one chunk of its own)
CHUNK_TICKETS = 50_000


def ticket_chunks(conn: Connection, size: int | None = None) -> Iterator[TicketColumns]:
    """The classified tickets as `load_ticket_columns` gives them, a few whole groups
    (capability, practice, team) at a time, read from the store in group order: the
    workloads of a million tickets are computed in the memory of the largest group. Within
    a group tickets come in the order they are stored, so sums add up as they always did."""
    size = size or CHUNK_TICKETS
    builder = _ColumnsBuilder()
    finished: set[tuple[str, str, str]] = set()
    key: tuple[str, str, str] | None = None
    for row in _ticket_rows(conn, by_group=True):
        if row[:3] != key:
            if key is not None:
                finished.add(key)
            key = (row[0], row[1], row[2])
            if key in finished:  # a database that sorts equal names apart (a non-deterministic collation)
                raise RuntimeError(f"tickets of workload group {key} came back apart")
            if len(builder) >= size:
                yield builder.take()
        builder.add(row)
    if len(builder):
        yield builder.take()


def _ticket_rows(conn: Connection, *, by_group: bool) -> Iterator[tuple[Any, ...]]:
    """(capability, practice, team, opened, closed, effort_hours, sla_breached) of each
    classified ticket; `by_group`: ordered by group, names as the group is called."""
    done = tickets.c.status_category == "done"
    # only done tickets without a resolution date read their payload's `updated`
    updated = case((done & tickets.c.resolved.is_(None), tickets.c.payload["updated"].as_string()),
                   else_=None)
    practice: Any = tickets.c.practice
    team: Any = tickets.c.team
    opened: Any = tickets.c.opened
    resolved: Any = tickets.c.resolved
    if conn.dialect.name == "sqlite":  # the stored text, parsed once by `_epoch`
        opened, resolved = type_coerce(opened, String), type_coerce(resolved, String)
    capability: Any = tickets.c.capability
    order: list[Any] = []
    if by_group:
        # an expression, not the indexed column: SQLite scans the table and sorts once rather
        # than walking the index to every row (a fifth less time)
        capability = func.coalesce(capability, None)
        # `from_rows` calls an empty name `unassigned`: the order must too
        practice = func.coalesce(func.nullif(practice, ""), UNASSIGNED)
        team = func.coalesce(func.nullif(team, ""), UNASSIGNED)
        # then as stored: the order an unordered read gives on SQLite
        stored: list[Any] = ([literal_column("tickets.rowid")] if conn.dialect.name == "sqlite"
                             else [tickets.c.source, tickets.c.key])
        order = [capability, practice, team, *stored]
    result = conn.execute(
        select(tickets.c.capability, practice, team, opened, tickets.c.status_category, resolved,
               updated, tickets.c.effort_hours, tickets.c.sla_breached)
        .where(capability.is_not(None)).order_by(*order),
        execution_options={"yield_per": 5_000})  # PostgreSQL: a server-side cursor, not all rows at once
    for cap, practice_, team_, opened_, category, resolved_, updated_, effort, breached in result:
        yield (cap, practice_, team_, opened_, _closed_at(category, resolved_, updated_, opened_),
               effort, breached)


def _closed_at(category: str, resolved: datetime | str | None, updated: str | None,
               opened: datetime | str) -> datetime | str | None:
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

    opened_bin = np.searchsorted(bounds, opened, side="right") - 1
    is_open = np.isnan(resolved)
    resolved_bin = np.where(is_open, -1, np.searchsorted(bounds, np.nan_to_num(resolved), side="right") - 1)
    credit_bin = np.where(is_open, opened_bin, resolved_bin)

    rows: list[dict[str, Any]] = []
    for key, members in _members(columns, by):
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
    rows: list[dict[str, Any]] = []
    for key, members in sorted(_members(columns, by), key=lambda found: found[0]):
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


def _members(columns: TicketColumns, by: Sequence[str]
             ) -> Iterator[tuple[tuple[str, ...], np.ndarray[Any, np.dtype[np.intp]]]]:
    """Each group (by `by`) with its tickets' indexes, ascending (sums add in one order)."""
    if not len(columns):
        return
    codes, group_names = columns.group_codes(by)
    order = np.argsort(codes, kind="stable")
    splits = np.flatnonzero(np.diff(codes[order])) + 1
    for members in np.split(order, splits):
        yield group_names[int(codes[members[0]])], members


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
    transaction; with `keep_as`, keep what `refresh_current_cells` needs under that token.

    Group by group (`ticket_chunks`): no group's figures depend on another's, so the cells
    are those of all tickets at once, in the memory of a chunk."""
    global _kept
    now = now or datetime.now(UTC)
    cells: dict[PeriodKind, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    now_rows: list[dict[str, Any]] = []
    kept: list[TicketColumns] = []
    for chunk in ticket_chunks(conn):
        for kind in KINDS:
            cells[kind] += compute(chunk, DIMENSIONS, kind, zone, now)
        now_rows += current(chunk, DIMENSIONS, now)
        if keep_as is not None:
            kept.append(_current_tickets(chunk, zone, now))
    rows: list[dict[str, Any]] = []
    for kind in KINDS:  # in the order one computation over all tickets gives
        rows += _stored(sorted(cells[kind], key=lambda r: (*(r[d] for d in DIMENSIONS),
                                                           r["period_start"])))
    conn.execute(delete(workload_cells))
    if rows:
        conn.execute(insert(workload_cells), rows)
    # what `status` and the metrics show, from the same tickets: they read it, not the tickets
    now_rows.sort(key=lambda row: tuple(row[dim] for dim in DIMENSIONS))
    save_current_workloads(conn, now_rows, now)
    if keep_as is not None:
        _kept = (keep_as, TicketColumns.concat(kept))
    return len(rows)


def refresh_current_cells(conn: Connection, zone: ZoneInfo, now: datetime, token: str) -> int:
    """Recompute the stored cells of the week and month holding `now`, when no ticket
    changed since the full refresh that left `token` in the same local day (the caller
    knows). Returns the number of cells stored in all."""
    global _kept
    if _kept is None or _kept[0] != token:  # another process refreshed, or this one started
        # read as `refresh_cells` reads them: each group's tickets in the same order
        _kept = (token, TicketColumns.concat([_current_tickets(chunk, zone, now)
                                              for chunk in ticket_chunks(conn)]))
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
