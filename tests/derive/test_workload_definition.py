"""One definition of a workload: `status`, `report workloads` and the daemon's metrics agree."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import insert

from bridge.cli.main import cli
from bridge.config import load_config
from bridge.daemon import Daemon
from bridge.derive.workloads import DIMENSIONS, current, load_ticket_columns
from bridge.store import open_store
from bridge.store.schema import tickets
from bridge.store.status import snapshot

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)
CELL = ("operational", "incident_management", "Network")
DEV = ("tactical", "software_development_and_management", "Software Engineering")


def _ticket(key: str, cell: tuple[str, str, str | None], category: str, opened: datetime,
            resolved: datetime | None = None, updated: datetime | None = None) -> dict[str, Any]:
    capability, practice, team = cell
    payload: dict[str, Any] = {"attributes": {}}
    if updated is not None:
        payload["updated"] = updated.isoformat()
    return {"source": "jira", "key": key, "practice": practice, "capability": capability,
            "team": team, "status_category": category, "opened": opened, "resolved": resolved,
            "sla_breached": False, "payload": payload, "content_hash": key, "updated_at": NOW}


# days are whole and far from the 30-day window's edge: a second between the reads moves nothing
ROWS = [
    _ticket("A-1", CELL, "todo", NOW - 2 * DAY),                          # open, recent
    _ticket("A-2", CELL, "done", NOW - 5 * DAY, NOW - 3 * DAY),            # closed recently
    _ticket("A-3", CELL, "todo", NOW - 90 * DAY),                          # open, old
    # reopened: a resolution date, but not done: open, never closed
    _ticket("A-4", CELL, "in_progress", NOW - 10 * DAY, NOW - 8 * DAY),
    # done without a resolution date: closed at the source's last update
    _ticket("A-5", CELL, "done", NOW - 60 * DAY, None, NOW - 4 * DAY),
    _ticket("D-1", DEV, "done", NOW - 40 * DAY, NOW - 35 * DAY),           # closed long ago
    _ticket("D-2", DEV, "todo", NOW - 6 * DAY),
    _ticket("D-3", ("tactical", "software_development_and_management", None), "todo", NOW - DAY),
    _ticket("X-1", (None, None, None), "todo", NOW - DAY) | {"capability": None},  # unclassified
    _ticket("U-1", ("operational", "incident_management", "unmapped"), "todo", NOW - DAY)
    | {"payload": {"attributes": {"group": "Jamflam"}}},
]


def test_status_report_and_metrics_read_one_definition(store_url: str, tmp_path: Path) -> None:
    config_file = tmp_path / "smo-bridge.yaml"
    config_file.write_text(f"state: {store_url}\nsources:\n  - name: jira\n    kind: jira\n"
                           "    url: https://example.atlassian.net\n"
                           "    auth: {kind: basic, username: u, password: p}\n", encoding="utf-8")
    store = open_store(store_url)
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(tickets), ROWS)
        with store.engine.connect() as conn:
            expected = current(load_ticket_columns(conn), DIMENSIONS, NOW)
        status = snapshot(store, [("jira", "jira")], now=NOW)["workloads"]
        daemon = Daemon(load_config(config_file), health_port=0)
        daemon.store = store
        daemon._refresh_gauges()
    finally:
        store.close()

    cells = {tuple(r[d] for d in DIMENSIONS): r for r in status}
    assert status == expected
    network = cells[CELL]
    # open (A-4 reopened); closed in the window; A-4 not closed
    assert (network["open"], network["opened"], network["closed"]) == (3, 3, 2)
    assert network["median_age_days"] == 10.0
    assert (cells[DEV]["open"], cells[DEV]["closed"]) == (1, 0)
    assert cells[("tactical", "software_development_and_management", "unassigned")]["open"] == 1
    assert all(r["capability"] for r in status)  # the unclassified ticket has no workload

    registry = daemon.metrics.registry
    for row in status:
        labels = {d: row[d] for d in DIMENSIONS}
        assert registry.get_sample_value("smo_bridge_workload_open_tickets", labels) == row["open"]
        assert registry.get_sample_value("smo_bridge_workload_opened_tickets", labels) == row["opened"]
        assert registry.get_sample_value("smo_bridge_workload_closed_tickets", labels) == row["closed"]

    result = CliRunner().invoke(cli, ["--config", str(config_file), "report", "workloads", "--by",
                                      "capability,practice,team", "--period", "month",
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    this_month = max(r["period_start"] for r in report)
    backlog = {tuple(r[d] for d in DIMENSIONS): r["open_backlog"]
               for r in report if r["period_start"] == this_month}
    assert backlog == {cell: row["open"] for cell, row in cells.items() if row["open"]}
    opened_ever = {cell: 0 for cell in cells}
    for r in report:
        opened_ever[tuple(r[d] for d in DIMENSIONS)] += r["opened"]
    assert opened_ever[CELL] == 5 and opened_ever[DEV] == 2

    table = CliRunner().invoke(cli, ["--config", str(config_file), "report", "workloads", "--by",
                                     "tier,team"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "add them to classification.teams): Jamflam (1)" in table.output
