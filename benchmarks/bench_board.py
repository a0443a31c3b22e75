"""How long the board's pages take to render: N transitions and M tickets in a SQLite store.

    .venv/bin/python -m benchmarks.bench_board [--transitions 200] [--tickets 200000]

The store is built synthetically: tickets as in bench_workloads, their workload cells
refreshed, transitions with ten gate items each (evidence on tickets, so links are
looked up), two gate versions each in the outbox, recent runs and quarantined records.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from benchmarks.bench_workloads import TEAMS, populate
from benchmarks.harness import Bench
from bridge.derive.workloads import refresh_cells
from bridge.models import (
    Evidence,
    Gate,
    GateItem,
    GateStatus,
    ItemStatus,
    ServiceTransition,
    SourceRef,
)
from bridge.store import open_store
from bridge.store.database import open_existing_store
from bridge.store.schema import outbox, quarantine, raw_records, runs, transitions
from bridge.web.board import Board, transition_page
from bridge.web.export import write_board

ITEMS = ["service_manager", "resolver_group", "kb_article", "sla", "runbook", "monitoring",
         "contacts", "milestones", "hypercare", "no_critical_defects"]


def add_board_data(url: str, n_transitions: int, now: datetime) -> None:
    rng = random.Random(11)
    store = open_store(url)
    statuses = list(GateStatus)
    with store.engine.begin() as conn:
        rows, raws, pushes = [], [], []
        for i in range(n_transitions):
            go_live = now.date() + timedelta(days=rng.randrange(-60, 240))
            items = []
            for j, key in enumerate(ITEMS):
                ticket = f"T-{i * len(ITEMS) + j}"
                items.append(GateItem(
                    key=key, title=key.replace("_", " ").capitalize(), responsible_role="project_manager",
                    approver=f"Approver {j}", due=go_live - timedelta(days=rng.randrange(0, 30)),
                    status=rng.choice(list(ItemStatus)),
                    evidence=[Evidence(kind="ticket", ref=f"bench:{ticket}", detail=f"{ticket} is Open")]))
                raws.append({"source": "bench", "stream": "issues", "key": ticket, "payload": {},
                             "content_hash": "", "deleted": False, "first_seen": now,
                             "last_seen": now})
            status = rng.choice(statuses)
            t = ServiceTransition(
                id=f"bench:P{i}", service=f"Service {i}", go_live=go_live,
                projects=[SourceRef(source="bench", stream="projects", key=f"P{i}")],
                resolver_group=rng.choice(TEAMS), service_manager=f"Manager {i % 17}",
                gate=Gate(status=status, items=items, reason="synthetic"), gate_version=2)
            payload = t.model_dump(mode="json")
            rows.append({"id": t.id, "service": t.service, "go_live": go_live,
                         "gate_status": status.value, "payload": payload, "content_hash": "",
                         "updated_at": now})
            for version in (1, 2):
                pushes.append({"idempotency_key": f"gate:bench:{t.id}:v{version}", "target": "bench",
                               "operation": "gate_status", "status": "delivered", "attempts": 1,
                               "created_at": now - timedelta(days=3 - version),
                               "payload": {"status": {"transition": t.id, "status": status.value,
                                                      "version": version, "reason": "synthetic",
                                                      "items": [{"key": k, "status": "met"} for k in ITEMS]}}})
        conn.execute(insert(transitions), rows)
        conn.execute(insert(raw_records), raws)
        conn.execute(insert(outbox), pushes)
        conn.execute(insert(runs), [
            {"kind": "sync", "source": "bench", "started_at": now - timedelta(minutes=15 * k),
             "finished_at": now - timedelta(minutes=15 * k - 1), "status": "ok",
             "counts": {"pulled": rng.randrange(100, 5000), "quarantined": 0}} for k in range(500)])
        conn.execute(insert(quarantine), [
            {"source": "bench", "stream": "issues", "key": f"Q-{k}", "field": "priority",
             "reason": "unknown priority", "at": now} for k in range(1000)])
        refresh_cells(conn, ZoneInfo("UTC"), now)
    store.close()


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def part(bench: Bench) -> None:
    """The board's pages for 200 transitions over the workload part's ticket count (200,000
    at the default scale); reported, no target in the issue."""
    tickets = 20_000 if bench.scale.mode == "quick" else 200_000
    now = datetime.now(UTC).replace(microsecond=0)
    url = f"sqlite:///{bench.scratch('board') / 'bench.db'}"
    populate(url, tickets, now)
    add_board_data(url, 200, now)
    store = open_existing_store(url)
    try:
        board = Board(store, {"bench": ("jira", "https://jira.example")}, clock=lambda: now)
        for name, page in (("gate matrix", "index.html"),
                           ("workloads by team per month", "workloads-team-month.html"),
                           ("a transition", transition_page("bench:P0")), ("sync", "sync.html")):
            runs = [timed(lambda page=page: board.page(page), 1) for _ in range(bench.scale.runs)]
            bench.add(f"board: {name}, 200 transitions, {tickets:,} tickets", statistics.median(runs),
                      "s", runs=runs)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transitions", type=int, default=200)
    parser.add_argument("--tickets", type=int, default=200_000)
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        t0 = time.perf_counter()
        populate(url, args.tickets, now)
        add_board_data(url, args.transitions, now)
        print(f"setup: {args.tickets:,} tickets, {args.transitions} transitions: "
              f"{time.perf_counter() - t0:.1f} s (not measured)")
        store = open_existing_store(url)
        board = Board(store, {"bench": ("jira", "https://jira.example")}, clock=lambda: now)
        some = [transition_page(f"bench:P{i}") for i in range(0, args.transitions, max(1, args.transitions // 20))]
        figures = {
            "gate matrix (index.html)": timed(lambda: board.page("index.html")),
            "gate matrix, filtered": timed(lambda: board.page("index.html", {"status": "overdue"})),
            "a transition (median of 20)": statistics.median(timed(lambda p=p: board.page(p), 1) for p in some),
            "workloads by capability per week": timed(lambda: board.page("workloads-capability-week.html")),
            "workloads by team per month": timed(lambda: board.page("workloads-team-month.html")),
            "workloads by practice per week": timed(lambda: board.page("workloads-practice-week.html")),
            "sync": timed(lambda: board.page("sync.html")),
        }
        for name, seconds in figures.items():
            print(f"{name:<36} {seconds * 1000:8.1f} ms")
        t0 = time.perf_counter()
        written = write_board(board, Path(tmp) / "export")
        print(f"{'static export (every page)':<36} {(time.perf_counter() - t0) * 1000:8.1f} ms, "
              f"{len(written)} files")
        store.close()


if __name__ == "__main__":
    main()
