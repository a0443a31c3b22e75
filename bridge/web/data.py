"""What the board shows, read from the state store: aggregated in SQL, never whole tables.

Everything here reads; pages never see a raw payload or a secret, only the fields named
below (statuses, names, counts, dates, reasons).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Float, case, cast, func, select

from bridge import pullstate
from bridge.cli.explain import all_transitions, evidence_lines
from bridge.derive.workloads import DIMENSIONS
from bridge.models import GateItem, ItemStatus, ServiceTransition
from bridge.store.repository import one_of
from bridge.store.schema import (
    outbox,
    projects,
    quarantine,
    raw_records,
    runs,
    tickets,
    transitions,
    workload_cells,
)

#: what a gate matrix cell can say; `late` is an unmet item whose due day has passed
CELL_STATES = ("met", "unmet", "waived", "late")
#: go-live windows the matrix filters by, in the order offered
WINDOWS = {"past": "went live or due already", "30": "within 30 days", "90": "within 90 days",
           "later": "later than 90 days", "none": "no go-live date"}
RECENT_RUNS = 50
SHOWN_ROWS = 200  # outbox and quarantine rows listed (their counts are always complete)
PERIODS_SHOWN = {"week": 26, "month": 12}


@dataclass(frozen=True)
class Links:
    """Turns `source:key` references into links to the tool's own pages, when the source's
    base URL is configured and its connector knows the tool's address for that record."""

    bases: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # source -> (kind, url)
    streams: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (source, key) -> stream

    def url(self, ref: str, stream: str | None = None) -> str | None:
        source, sep, key = ref.partition(":")
        if not sep:
            return self.article(ref)
        if source not in self.bases:
            return None
        stream = stream or self.streams.get((source, key))
        if stream is None:
            return None
        from connectors.base import registry

        kind, base = self.bases[source]
        connector = registry().get(kind)
        url = connector.browse_url(base, stream, key) if connector else None
        return url if url and url.startswith(("https://", "http://")) else None

    def article(self, number: str) -> str | None:
        """An article's page in the one configured source that holds a knowledge base (an
        article's evidence names its number, not its source); None when not exactly one."""
        from connectors.base import registry

        found = set()
        for kind, base in self.bases.values():
            connector = registry().get(kind)
            url = connector.article_url(base, number) if connector else None
            if url and url.startswith(("https://", "http://")):
                found.add(url)
        return found.pop() if len(found) == 1 else None


def links_for(conn: Connection, bases: Mapping[str, tuple[str, str]],
              refs: Iterable[str]) -> Links:
    """Links for `refs`, their streams looked up in one query per source and chunk."""
    if not bases:
        return Links()
    wanted: dict[str, set[str]] = {}
    for ref in refs:
        source, sep, key = ref.partition(":")
        if sep and source in bases:
            wanted.setdefault(source, set()).add(key)
    streams: dict[tuple[str, str], str] = {}
    for source, keys in wanted.items():
        # with the source's streams named, each key is a probe of the (source, stream, key)
        # index; without them (or with `deleted` in SQL, which picks the (source, deleted)
        # index) SQLite walked every record of the source per chunk
        source_streams = list(conn.execute(select(raw_records.c.stream).where(
            raw_records.c.source == source).distinct()).scalars())
        ordered = sorted(keys)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start:start + 500]
            rows = conn.execute(select(raw_records.c.key, raw_records.c.stream, raw_records.c.deleted)
                                .where(raw_records.c.source == source,
                                       raw_records.c.stream.in_(source_streams),
                                       one_of(conn, raw_records.c.key, chunk))
                                .order_by(raw_records.c.id))  # a key in two streams: the first stored
            for key, stream, deleted in rows:
                if not deleted:
                    streams.setdefault((source, key), stream)
    return Links(bases, streams)


def _refs(transition: ServiceTransition) -> Iterable[str]:
    for item in transition.gate.items:
        for evidence in item.evidence:
            yield evidence.ref
    for project in transition.projects:
        yield f"{project.source}:{project.key}"


# -- the gate matrix ----------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    key: str
    title: str
    state: str  # one of CELL_STATES
    due: date | None
    delivers: str | None
    approves: str | None
    link: str | None
    link_label: str | None
    note: str | None


@dataclass(frozen=True)
class Row:
    transition: ServiceTransition
    team: str
    window: str
    cells: dict[str, Cell]
    met: int

    @property
    def total(self) -> int:
        return len(self.cells)


@dataclass(frozen=True)
class Matrix:
    items: list[tuple[str, str]]  # (key, title), in the order gates list them
    rows: list[Row]
    teams: list[str]
    statuses: list[str]
    today: date


def cell_state(item: GateItem, today: date) -> str:
    if item.status is ItemStatus.UNMET and item.due is not None and item.due < today:
        return "late"
    return item.status.value


def go_live_window(transition: ServiceTransition, today: date) -> str:
    go_live = transition.go_live
    if go_live is None:
        return "none"
    if go_live < today or transition.live:
        return "past"
    if go_live <= today + timedelta(days=30):
        return "30"
    if go_live <= today + timedelta(days=90):
        return "90"
    return "later"


def team_of(transition: ServiceTransition) -> str:
    """The team that takes the service over: its resolver group."""
    return transition.resolver_group or "unassigned"


def _first_link(item: GateItem, links: Links) -> tuple[str | None, str | None]:
    for evidence in item.evidence:
        url = links.url(evidence.ref)
        if url:
            source, sep, _ = evidence.ref.partition(":")
            return url, f"evidence in {source}" if sep else f"article {evidence.ref}"
    return None, None


def _cell(item: GateItem, today: date, links: Links) -> Cell:
    url, label = _first_link(item, links)
    note = None
    if item.waiver:
        note = f"waived by {item.waiver.by}" + (f" until {item.waiver.until}" if item.waiver.until else "")
    elif item.status is ItemStatus.MET and item.late_days:
        note = f"met {item.late_days} day(s) late"
    return Cell(item.key, item.title, cell_state(item, today), item.due, item.responsible_role,
                item.approver, url, label, note)


def load_transitions(conn: Connection) -> list[ServiceTransition]:
    """Every transition (one small document each: a few hundred at most), by go-live."""
    found = all_transitions(conn)
    return sorted(found, key=lambda t: (t.go_live or date.max, t.service.casefold(), t.id))


def gate_matrix(conn: Connection, today: date, bases: Mapping[str, tuple[str, str]] | None = None,
                *, status: str = "", window: str = "", team: str = "") -> Matrix:
    every = load_transitions(conn)
    links = links_for(conn, bases or {}, (r for t in every for r in _refs(t)))
    items: dict[str, str] = {}
    for t in every:
        for item in t.gate.items:
            items.setdefault(item.key, item.title)
    rows: list[Row] = []
    for t in every:
        cells = {item.key: _cell(item, today, links) for item in t.gate.items}
        met = sum(1 for c in cells.values() if c.state in ("met", "waived"))
        rows.append(Row(t, team_of(t), go_live_window(t, today), cells, met))
    teams = sorted({r.team for r in rows}, key=str.casefold)
    statuses = sorted({r.transition.gate.status.value for r in rows})
    shown = [r for r in rows
             if (not status or r.transition.gate.status.value == status)
             and (not window or r.window == window)
             and (not team or r.team == team)]
    return Matrix(list(items.items()), shown, teams, statuses, today)


# -- one transition -----------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    version: int
    status: str
    met: int
    total: int
    reason: str | None
    at: datetime | None


@dataclass(frozen=True)
class Detail:
    transition: ServiceTransition
    cells: dict[str, Cell]
    evidence: dict[str, list[str]]  # item key -> lines, as `explain` words them
    projects: list[tuple[str, str | None, str | None]]  # (source:key, name, link)
    history: list[Version]
    updated_at: datetime | None
    today: date


def transition_detail(conn: Connection, transition_id: str, today: date,
                      bases: Mapping[str, tuple[str, str]] | None = None) -> Detail | None:
    row = conn.execute(select(transitions.c.payload, transitions.c.updated_at)
                       .where(transitions.c.id == transition_id)).first()
    if row is None:
        return None
    t = ServiceTransition.model_validate(row.payload)
    links = links_for(conn, bases or {}, _refs(t))
    names = _project_names(conn, t)
    linked = []
    for p in t.projects:
        key, name = names.get((p.source, p.key), (p.key, ""))
        linked.append((f"{p.source}:{key}", name or None, links.url(f"{p.source}:{p.key}", p.stream)))
    return Detail(t, {i.key: _cell(i, today, links) for i in t.gate.items},
                  {i.key: evidence_lines(i) for i in t.gate.items}, linked,
                  gate_history(conn, t, row.updated_at), row.updated_at, today)


def _project_names(conn: Connection, t: ServiceTransition) -> dict[tuple[str, str], tuple[str, str]]:
    """(source, record key) -> (project key, name) of the transition's projects."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    record_key = projects.c.payload["ref"]["key"].as_string()
    for source in {p.source for p in t.projects}:
        keys = [p.key for p in t.projects if p.source == source]
        rows = conn.execute(select(record_key, projects.c.key, projects.c.payload["name"].as_string())
                            .where(projects.c.source == source, record_key.in_(keys)))
        found.update({(source, ref): (key, name or "") for ref, key, name in rows})
    return found


def gate_history(conn: Connection, t: ServiceTransition, updated_at: datetime | None) -> list[Version]:
    """The transition's gate versions, oldest first: each version's status as the outbox
    planned it for its first push target, then the current one (kept even without pushes)."""
    status = outbox.c.payload["status"]
    rows = conn.execute(
        select(status["version"].as_integer(), status["status"].as_string(),
               status["reason"].as_string(), status["items"], outbox.c.created_at)
        .where(outbox.c.operation == "gate_status",
               status["transition"].as_string() == t.id)).all()
    seen: dict[int, Version] = {}
    for version, state, reason, items, at in rows:
        if version is None:
            continue
        items = items if isinstance(items, list) else []
        met = sum(1 for i in items if isinstance(i, dict) and i.get("status") in ("met", "waived"))
        at = at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at
        if int(version) not in seen or (at and seen[int(version)].at and at < seen[int(version)].at):
            seen[int(version)] = Version(int(version), str(state), met, len(items), reason, at)
    current = t.gate
    met_now = sum(1 for i in current.items if i.status in (ItemStatus.MET, ItemStatus.WAIVED))
    if t.gate_version not in seen:
        seen[t.gate_version] = Version(t.gate_version, current.status.value, met_now,
                                       len(current.items), current.reason, updated_at)
    return [seen[v] for v in sorted(seen)]


# -- workloads ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One measure over periods, one line per group: values[group][i] for periods[i]."""

    measure: str
    periods: list[str]
    values: dict[str, list[float | None]]


MEASURES = {"opened": "Opened", "closed": "Closed", "open_backlog": "Open backlog (at period end)",
            "age": "Median age of the backlog (days)"}


def workload_series(conn: Connection, by: str, kind: str, last: int | None = None) -> list[Series]:
    """The stored workload cells (bridge.derive.workloads, refreshed every cycle) summed per
    `by` and period in SQL. Counts add up exactly; a group's age is its cells' median ages
    weighted by their backlogs (the cells keep medians, not every ticket's age)."""
    if by not in DIMENSIONS or kind not in PERIODS_SHOWN:
        raise ValueError(f"no workloads by {by!r} per {kind!r}")
    last = last or PERIODS_SHOWN[kind]
    starts = conn.execute(select(workload_cells.c.period_start).where(
        workload_cells.c.period_kind == kind).group_by(workload_cells.c.period_start)
        .order_by(workload_cells.c.period_start.desc()).limit(last)).scalars().all()
    if not starts:
        return [Series(m, [], {}) for m in MEASURES]
    dim = workload_cells.c[by]
    aged = case((workload_cells.c.median_age_days.is_not(None), workload_cells.c.open_backlog), else_=0)
    rows = conn.execute(
        select(workload_cells.c.period, workload_cells.c.period_start, dim,
               func.sum(workload_cells.c.opened), func.sum(workload_cells.c.closed),
               func.sum(workload_cells.c.open_backlog),
               func.sum(func.coalesce(workload_cells.c.median_age_days, 0.0)
                        * cast(workload_cells.c.open_backlog, Float)),
               func.sum(aged))
        .where(workload_cells.c.period_kind == kind, workload_cells.c.period_start >= min(starts))
        .group_by(workload_cells.c.period, workload_cells.c.period_start, dim)
        .order_by(workload_cells.c.period_start)).all()
    periods: list[str] = []
    for r in rows:
        if not periods or periods[-1] != r[0]:
            periods.append(r[0])
    index = {p: i for i, p in enumerate(periods)}
    groups = sorted({str(r[2]) for r in rows}, key=str.casefold)
    out: dict[str, dict[str, list[float | None]]] = {
        m: {g: [0 if m != "age" else None] * len(periods) for g in groups} for m in MEASURES}
    for period, _start, group, opened, closed, backlog, age_weighted, aged_backlog in rows:
        i, g = index[period], str(group)
        out["opened"][g][i] = int(opened or 0)
        out["closed"][g][i] = int(closed or 0)
        out["open_backlog"][g][i] = int(backlog or 0)
        out["age"][g][i] = round(float(age_weighted) / float(aged_backlog), 1) if aged_backlog else None
    return [Series(m, periods, out[m]) for m in MEASURES]


def workload_totals(conn: Connection) -> dict[str, int]:
    """Tickets in the store, classified, and open now: the scale the charts summarise."""
    classified = tickets.c.capability.is_not(None)
    total, counted, open_now = conn.execute(select(
        func.count(), func.sum(case((classified, 1), else_=0)),
        func.sum(case((classified & (tickets.c.status_category != "done"), 1), else_=0)))).one()
    return {"tickets": int(total or 0), "classified": int(counted or 0), "open": int(open_now or 0)}


# -- the sync -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceState:
    name: str
    last_success: datetime | None
    last_status: str | None
    complete: bool
    failed_at: str | None
    records: int
    quarantined: int


@dataclass(frozen=True)
class Cycle:
    id: int
    kind: str
    source: str | None
    started_at: datetime
    finished_at: datetime | None
    status: str
    pulled: int | None
    quarantined: int | None
    error: str | None

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 2)


@dataclass(frozen=True)
class SyncView:
    sources: list[SourceState]
    cycles: list[Cycle]
    outbox_counts: dict[str, int]
    outbox_rows: list[dict[str, Any]]
    quarantine_counts: dict[str, int]
    quarantine_rows: list[dict[str, Any]]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # SQLite aggregates bypass the column type
    return value


def _short(text: str | None, limit: int = 300) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[:limit - 1] + "…"


def sync_view(conn: Connection, configured: Iterable[str] = ()) -> SyncView:
    last_ok: dict[str, datetime] = dict(conn.execute(select(runs.c.source, func.max(runs.c.finished_at))
                                .where(runs.c.status == "ok", runs.c.source.is_not(None))
                                .group_by(runs.c.source)).all())
    latest_id = select(runs.c.source, func.max(runs.c.id).label("id")).where(
        runs.c.source.is_not(None)).group_by(runs.c.source).subquery()
    last_status: dict[str, str] = dict(conn.execute(select(runs.c.source, runs.c.status).join(
        latest_id, runs.c.id == latest_id.c.id)).all())
    records: dict[str, int] = dict(conn.execute(select(raw_records.c.source, func.count()).where(
        raw_records.c.deleted.is_(False)).group_by(raw_records.c.source)).all())
    held: dict[str, int] = dict(conn.execute(select(quarantine.c.source, func.count())
                             .group_by(quarantine.c.source)).all())
    pulls = pullstate.all_states(conn)
    names = list(dict.fromkeys([*configured, *sorted({*last_ok, *records, *held, *pulls})]))
    sources = [SourceState(n, _aware(last_ok.get(n)), last_status.get(n),
                           pulls[n].complete if n in pulls else True,
                           pulls[n].failed_at if n in pulls else None,
                           int(records.get(n, 0)), int(held.get(n, 0))) for n in names]
    cycles = [
        Cycle(r.id, r.kind, r.source, _aware(r.started_at) or r.started_at, _aware(r.finished_at),
              r.status, _count(r.counts, "pulled"), _count(r.counts, "quarantined"),
              _short(r.error))
        for r in conn.execute(select(runs.c.id, runs.c.kind, runs.c.source, runs.c.started_at,
                                     runs.c.finished_at, runs.c.status, runs.c.counts, runs.c.error)
                              .order_by(runs.c.id.desc()).limit(RECENT_RUNS))
    ]
    cycles.reverse()
    outbox_counts = {str(s): int(n) for s, n in conn.execute(
        select(outbox.c.status, func.count()).group_by(outbox.c.status))}
    # what is waiting or parked, never the payload it would push
    outbox_rows = [dict(r._mapping) for r in conn.execute(
        select(outbox.c.id, outbox.c.target, outbox.c.operation, outbox.c.status,
               outbox.c.attempts, outbox.c.next_attempt_at, outbox.c.last_error,
               outbox.c.created_at)
        .where(outbox.c.status != "delivered").order_by(outbox.c.id).limit(SHOWN_ROWS))]
    for row in outbox_rows:
        row["last_error"] = _short(row["last_error"])
    quarantine_rows = [dict(r._mapping) for r in conn.execute(
        select(quarantine.c.source, quarantine.c.stream, quarantine.c.key, quarantine.c.field,
               quarantine.c.reason, quarantine.c.at)
        .order_by(quarantine.c.at.desc(), quarantine.c.id).limit(SHOWN_ROWS))]
    for row in quarantine_rows:
        row["reason"] = _short(row["reason"])
    return SyncView(sources, cycles, outbox_counts, outbox_rows,
                    {str(k): int(v) for k, v in held.items()}, quarantine_rows)


def _count(counts: Any, key: str) -> int | None:
    if isinstance(counts, dict) and isinstance(counts.get(key), int | float):
        return int(counts[key])
    return None
