"""Read-only queries behind `smo-bridge status`: what the store holds now."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.sql.elements import ColumnElement

from bridge.store.database import Store
from bridge.store.schema import (
    outbox,
    projects,
    quarantine,
    raw_records,
    runs,
    tickets,
    transitions,
)
from bridge.store.snapshots import current_workloads


def iso_utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def snapshot(store: Store, configured_sources: Iterable[tuple[str, str]] = (),
             now: datetime | None = None) -> dict[str, Any]:
    """The contract's status object: sources, transitions, workloads (as defined in
    bridge.derive.workloads, per capability, practice and team), outbox. The workloads are
    those the last derivation stored (`workloads_as_of` says when); a store no derivation
    has written them to yet has them computed from its tickets as of `now`."""
    now = now or datetime.now(UTC)
    with store.engine.connect() as conn:
        records = _count_by(conn, raw_records.c.source, raw_records.c.deleted.is_(False))
        project_counts = _count_by(conn, projects.c.source)
        ticket_counts = _count_by(conn, tickets.c.source)
        quarantine_counts = _count_by(conn, quarantine.c.source)
        last_success: dict[str, datetime] = dict(conn.execute(
            select(runs.c.source, func.max(runs.c.finished_at))
            .where(runs.c.status == "ok", runs.c.source.is_not(None))
            .group_by(runs.c.source)).all())
        kinds = dict(configured_sources)
        for name in (*records, *project_counts, *ticket_counts, *quarantine_counts, *last_success):
            kinds.setdefault(name, "unknown")
        sources = [
            {
                "name": name,
                "kind": kind,
                "last_success": iso_utc(_aware(last_success.get(name))),
                "records": int(records.get(name, 0)),
                "projects": int(project_counts.get(name, 0)),
                "tickets": int(ticket_counts.get(name, 0)),
                "quarantined": int(quarantine_counts.get(name, 0)),
            }
            for name, kind in kinds.items()
        ]
        transition_rows = conn.execute(
            select(transitions.c.payload).order_by(transitions.c.go_live, transitions.c.id)).all()
        workloads_as_of, workload_rows = _current_workloads(conn, now)
        outbox_counts = _count_by(conn, outbox.c.status)
    return {
        "sources": sources,
        "transitions": [_transition(row.payload) for row in transition_rows],
        "workloads": workload_rows,
        "workloads_as_of": iso_utc(workloads_as_of),
        "outbox": {
            "pending": int(outbox_counts.get("pending", 0)),
            "failed": int(outbox_counts.get("failed", 0)),
            "delivered": int(outbox_counts.get("delivered", 0)),
        },
    }


def _current_workloads(conn: Connection, now: datetime) -> tuple[datetime, list[dict[str, Any]]]:
    stored = current_workloads(conn)
    if stored is not None:
        return _aware(stored[0]) or now, stored[1]
    if conn.execute(select(tickets.c.key).limit(1)).first() is None:
        return now, []
    # numpy and every ticket row: only for a store no derivation wrote the snapshot to
    from bridge.derive.workloads import DIMENSIONS, current, load_ticket_columns

    return now, current(load_ticket_columns(conn), DIMENSIONS, now)


def _count_by(conn: Connection, column: ColumnElement[Any], *where: ColumnElement[bool]) -> dict[str, int]:
    rows = conn.execute(select(column, func.count()).where(*where).group_by(column)).all()
    return {str(value): int(count) for value, count in rows}


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # SQLite aggregates bypass the column type
    return value


def _transition(payload: dict[str, Any]) -> dict[str, Any]:
    """The contract's transition shape from a stored ServiceTransition payload."""
    # the id is "<source>:<project key>" of the primary project (bridge.derive.linking)
    source, _, project = str(payload["id"]).partition(":")
    gate = payload.get("gate") or {}
    return {
        "id": payload["id"],
        "source": source,
        "project": project,
        "service": payload.get("service"),
        "go_live": payload.get("go_live"),
        "gate": {
            "status": gate.get("status", "not_started"),
            "policy": gate.get("policy"),
            "items": [
                {"key": item["key"], "status": item.get("status", "unmet"),
                 "evidence": "; ".join(e.get("detail", "") for e in item.get("evidence") or []),
                 "late_days": item.get("late_days"),
                 "after_go_live": bool(item.get("after_go_live"))}
                for item in gate.get("items") or []
            ],
        },
    }
