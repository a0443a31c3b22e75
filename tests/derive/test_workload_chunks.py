"""The stored workload cells and current workloads are computed a few groups at a time from
tickets read in group order, each group a small code into a table of names: the very rows
one computation over every ticket at once gives, on a mixed store."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, insert, select

from bridge.derive import workloads
from bridge.derive.workloads import (
    DIMENSIONS,
    KINDS,
    compute,
    current,
    load_ticket_columns,
    refresh_cells,
    refresh_current_cells,
    ticket_chunks,
)
from bridge.store import open_store
from bridge.store.schema import tickets, workload_cells
from bridge.store.snapshots import current_workloads

ZONE = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
# practice and team as stored: NULL, "" and "unassigned" are one group
PRACTICES = [("operational", "incident_management"), ("operational", None),
             ("tactical", "knowledge_management"), ("tactical", ""), ("strategic", "unassigned")]
TEAMS = ["Network", "Service Desk", None, "", "unassigned", "unmapped", "Zeta"]


def mixed_rows(n: int) -> list[dict[str, Any]]:
    rng = random.Random(14)
    rows = []
    for i in range(n):
        capability, practice = rng.choice(PRACTICES)
        opened = NOW - timedelta(seconds=rng.randrange(400 * 86400)) + timedelta(days=3)  # some ahead
        category = rng.choice(["done", "done", "done", "todo", "in_progress"])
        resolved = opened + timedelta(hours=rng.expovariate(1 / 60)) if rng.random() < 0.8 else None
        if resolved is not None and rng.random() < 0.05:
            resolved = opened - timedelta(hours=2)  # clocks disagree: never closed before opened
        payload: dict[str, Any] = {}
        if category == "done" and resolved is None and rng.random() < 0.6:
            payload["updated"] = (opened + timedelta(days=rng.randrange(1, 40))).isoformat()
        rows.append({"source": rng.choice(["jira", "snow"]), "key": f"T-{i}",
                     "capability": None if rng.random() < 0.03 else capability,
                     "practice": practice, "team": rng.choice(TEAMS), "status_category": category,
                     "opened": opened, "resolved": resolved,
                     "effort_hours": rng.choice([None, rng.random() * 9, 1 / 3, 0.1]),
                     "sla_breached": rng.random() < 0.1, "payload": payload,
                     "content_hash": str(i), "updated_at": NOW})
    return rows


def stored_cells(conn: Connection) -> list[dict[str, Any]]:
    found = conn.execute(select(workload_cells)).mappings().all()
    return sorted(({k: v for k, v in row.items() if k in _CELL_KEYS} for row in found),
                  key=lambda row: (row["period_kind"], *(row[d] for d in DIMENSIONS),
                                   row["period_start"]))


_CELL_KEYS = {*DIMENSIONS, "period_kind", "period", "period_start", "opened", "closed",
              "open_backlog", "median_age_days", "effort_hours", "sla_breaches"}


def all_at_once(conn: Connection, now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The cells and current workloads of one computation over every ticket."""
    columns = load_ticket_columns(conn)
    cells = [{**row, "period_start": date.fromisoformat(row["period_start"])}
             for kind in KINDS for row in compute(columns, DIMENSIONS, kind, ZONE, now)]
    cells.sort(key=lambda row: (row["period_kind"], *(row[d] for d in DIMENSIONS),
                                row["period_start"]))
    return cells, current(columns, DIMENSIONS, now)


def test_cells_by_chunks_of_groups_equal_one_computation_over_all(
        store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workloads, "CHUNK_TICKETS", 40)  # many chunks, some groups larger
    monkeypatch.setattr(workloads, "_kept", None)
    store = open_store(store_url)
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(tickets), mixed_rows(900))
        with store.engine.begin() as conn:
            expected_cells, expected_now = all_at_once(conn, NOW)
            chunks = list(ticket_chunks(conn))
            refresh_cells(conn, ZONE, NOW, keep_as="full")
        with store.engine.connect() as conn:
            cells = stored_cells(conn)
            snapshot = current_workloads(conn)
        later = NOW + timedelta(hours=5)  # same local day, no ticket changed: current periods only
        with store.engine.begin() as conn:
            expected_later, expected_later_now = all_at_once(conn, later)
            refresh_current_cells(conn, ZONE, later, "full")
            kept_cells = stored_cells(conn)
            kept_now = current_workloads(conn)
        monkeypatch.setattr(workloads, "_kept", None)  # another process: read again, in chunks
        with store.engine.begin() as conn:
            refresh_current_cells(conn, ZONE, later, "full")
            read_cells = stored_cells(conn)
            read_now = current_workloads(conn)
    finally:
        store.close()
    groups = {name for chunk in chunks for name in chunk.names}
    assert len(chunks) > 5 and sum(len(c) for c in chunks) == sum(
        1 for row in mixed_rows(900) if row["capability"] is not None)
    assert sum(len(chunk.names) for chunk in chunks) == len(groups)  # no group split across chunks
    assert ("operational", "unassigned", "unassigned") in groups
    assert not any("" in name or None in name for name in groups)
    assert len(expected_cells) > 300 and cells == expected_cells
    assert snapshot is not None and snapshot[1] == expected_now
    assert {row["open"] for row in expected_now} != {0}
    assert kept_cells == expected_later and read_cells == expected_later
    assert kept_now is not None and kept_now[1] == expected_later_now
    assert read_now is not None and read_now[1] == expected_later_now
