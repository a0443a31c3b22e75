"""Figures a derivation computes once for readers that must not recompute them.

The current workloads (`status`, the daemon's metrics) come from every ticket row: a
second or two at 200,000 tickets. Each derivation stores them here, in the transaction
that rewrites the workload cells, so a reader gets them with one row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from bridge.store.schema import snapshots

CURRENT_WORKLOADS = "current_workloads"


def save(conn: Connection, name: str, payload: Any, taken_at: datetime) -> None:
    """Replace the snapshot `name` in the caller's transaction."""
    conn.execute(delete(snapshots).where(snapshots.c.name == name))
    conn.execute(insert(snapshots).values(name=name, taken_at=taken_at, payload=payload))


def load(conn: Connection, name: str) -> tuple[datetime, Any] | None:
    """(when it was taken, what it holds), or None when no derivation stored it yet."""
    row = conn.execute(select(snapshots.c.taken_at, snapshots.c.payload)
                       .where(snapshots.c.name == name)).first()
    return (row.taken_at, row.payload) if row is not None else None


def save_current_workloads(conn: Connection, rows: list[dict[str, Any]], taken_at: datetime) -> None:
    save(conn, CURRENT_WORKLOADS, rows, taken_at)


def current_workloads(conn: Connection) -> tuple[datetime, list[dict[str, Any]]] | None:
    """The current workload rows the last derivation stored, with when; None before one."""
    found = load(conn, CURRENT_WORKLOADS)
    if found is None:
        return None
    taken_at, rows = found
    return taken_at, list(rows)
