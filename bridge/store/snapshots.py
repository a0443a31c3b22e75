"""Figures a derivation computes once for readers that must not recompute them.

The current workloads (`status`, the daemon's metrics) come from every ticket row: a
second or two at 200,000 tickets. Each derivation stores them here, in the transaction
that rewrites the workload cells, so a reader gets them with one row."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from bridge.store.reader import Reader, as_reader, json_value, timestamp

if TYPE_CHECKING:
    from sqlalchemy import Connection

CURRENT_WORKLOADS = "current_workloads"
#: names are ours (constants above), never input: the statement needs no parameter
_LOAD = "SELECT taken_at, payload FROM snapshots WHERE name = '{name}'"


def save(conn: Connection, name: str, payload: Any, taken_at: datetime) -> None:
    """Replace the snapshot `name` in the caller's transaction."""
    from sqlalchemy import delete, insert

    from bridge.store.schema import snapshots

    conn.execute(delete(snapshots).where(snapshots.c.name == name))
    conn.execute(insert(snapshots).values(name=name, taken_at=taken_at, payload=payload))


def load(conn: Connection | Reader, name: str) -> tuple[datetime, Any] | None:
    """(when it was taken, what it holds), or None when no derivation stored it yet; on a
    SQLAlchemy connection or through a driver (bridge.store.reader)."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a snapshot name: {name!r}")
    found = as_reader(conn).rows(_LOAD.format(name=name))
    if not found:
        return None
    taken_at, payload = found[0]
    when = timestamp(taken_at)
    assert when is not None  # the column is NOT NULL
    return when, json_value(payload)


def save_current_workloads(conn: Connection, rows: list[dict[str, Any]], taken_at: datetime) -> None:
    save(conn, CURRENT_WORKLOADS, rows, taken_at)


def current_workloads(conn: Connection | Reader) -> tuple[datetime, list[dict[str, Any]]] | None:
    """The current workload rows the last derivation stored, with when; None before one."""
    found = load(conn, CURRENT_WORKLOADS)
    if found is None:
        return None
    taken_at, rows = found
    return taken_at, list(rows)
