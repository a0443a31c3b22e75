"""`status` reads the current workloads the last derivation stored, not every ticket row:
the same rows as computing them from the tickets at the derivation's moment."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from sqlalchemy import delete, insert

from bridge.cli.main import cli
from bridge.derive.workloads import DIMENSIONS, current, load_ticket_columns, refresh_cells
from bridge.store import open_store
from bridge.store.schema import snapshots, tickets
from bridge.store.status import snapshot
from tests.derive.test_workload_definition import ROWS

DERIVED_AT = datetime.now(UTC).replace(microsecond=0)


def test_status_shows_the_workloads_the_derivation_stored(store_url: str) -> None:
    store = open_store(store_url)
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(tickets), ROWS)
        with store.engine.connect() as conn:
            computed = current(load_ticket_columns(conn), DIMENSIONS, DERIVED_AT)
        # no derivation yet: computed from the tickets, as of the call
        before = snapshot(store, [("jira", "jira")], now=DERIVED_AT)
        with store.engine.begin() as conn:
            refresh_cells(conn, ZoneInfo("UTC"), DERIVED_AT)
        later = DERIVED_AT + timedelta(hours=1)
        stored = snapshot(store, [("jira", "jira")], now=later)
        # what status shows no longer depends on the ticket rows: it is the stored snapshot
        with store.engine.begin() as conn:
            conn.execute(delete(tickets).where(tickets.c.key == "A-1"))
        unchanged = snapshot(store, [("jira", "jira")], now=later)
        with store.engine.begin() as conn:  # a store whose snapshot is gone computes again
            conn.execute(delete(snapshots))
        recomputed = snapshot(store, [("jira", "jira")], now=DERIVED_AT)
    finally:
        store.close()
    assert computed and before["workloads"] == computed
    assert before["workloads_as_of"] == DERIVED_AT.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert stored["workloads"] == computed
    assert [list(row) for row in stored["workloads"]] == [list(row) for row in computed]
    assert stored["workloads_as_of"] == DERIVED_AT.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert unchanged["workloads"] == computed
    assert recomputed["workloads"] != computed  # A-1 is gone from the tickets
    network = {tuple(r[d] for d in DIMENSIONS): r for r in recomputed["workloads"]}[
        ("operational", "incident_management", "Network")]
    assert network["open"] == 2


def test_status_json_from_the_snapshot_keeps_the_contract_keys(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    config = tmp_path / "smo-bridge.yaml"
    config.write_text(f"state: {state}\nsources:\n  - name: jira\n    kind: jira\n"
                      "    url: https://example.atlassian.net\n"
                      "    auth: {kind: basic, username: u, password: p}\n", encoding="utf-8")
    store = open_store(state)
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(tickets), ROWS)
            refresh_cells(conn, ZoneInfo("UTC"), DERIVED_AT)
    finally:
        store.close()
    done = CliRunner().invoke(cli, ["--config", str(config), "status", "--format", "json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.output)
    assert set(data) >= {"sources", "transitions", "workloads", "outbox"}
    row = {tuple(r[d] for d in DIMENSIONS): r for r in data["workloads"]}[
        ("operational", "incident_management", "Network")]
    assert (row["open"], row["opened"], row["closed"], row["median_age_days"]) == (3, 3, 2, 10.0)
    assert set(row) == {"capability", "practice", "team", "open", "opened", "closed",
                        "median_age_days", "window_days"}
    table = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert table.exit_code == 0, table.output
    assert "Network" in table.output and "last 30 days" in table.output
