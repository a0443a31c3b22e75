"""Workload recomputation at scale: N tickets in a SQLite store, load + compute, with figures.

    .venv/bin/python -m benchmarks.bench_workloads [--tickets 1000000]
    (part "workloads" of `python -m benchmarks`)
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from benchmarks.harness import Bench, median
from bridge.derive.workloads import compute, load_ticket_columns, refresh_cells
from bridge.store import open_store
from bridge.store.schema import tickets

PRACTICES = [("operational", "incident_management"), ("operational", "service_desk"),
             ("operational", "problem_management"), ("tactical", "service_level_management"),
             ("tactical", "knowledge_management"), ("strategic", "portfolio_management"),
             ("tactical", "change_enablement"), ("operational", "service_request_management")]
TEAMS = ["Network", "Database", "Service Desk", "Identity", "Payments Ops", "Platform",
         "Workplace", "Security"]


def populate(url: str, n: int, now: datetime) -> None:
    rng = random.Random(7)
    store = open_store(url)
    batch: list[dict[str, object]] = []
    with store.engine.begin() as conn:
        for i in range(n):
            cap, practice = rng.choice(PRACTICES)
            opened = now - timedelta(seconds=rng.randrange(365 * 86400))
            done = rng.random() < 0.85
            resolved = opened + timedelta(hours=rng.expovariate(1 / 40)) if done else None
            if resolved and resolved > now:
                resolved = None
            batch.append({"source": "bench", "key": f"T-{i}", "practice": practice,
                          "capability": cap, "team": rng.choice(TEAMS),
                          "status_category": "done" if resolved else "todo", "opened": opened,
                          "resolved": resolved, "effort_hours": rng.random() * 8,
                          "sla_breached": rng.random() < 0.07, "payload": {},
                          "content_hash": "", "updated_at": now})
            if len(batch) == 20_000:
                conn.execute(insert(tickets), batch)
                batch.clear()
        if batch:
            conn.execute(insert(tickets), batch)
    store.close()


TARGET_PER_MILLION = 60.0  # seconds to recompute every cell from a million tickets


def part(bench: Bench) -> None:
    n = bench.scale.workload_tickets
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    zone = ZoneInfo("Europe/Amsterdam")
    url = f"sqlite:///{bench.scratch('workloads') / 'bench.db'}"
    populate(url, n, now)
    store = open_store(url)
    try:
        times: list[float] = []
        cells = 0
        for _ in range(bench.scale.runs):
            t0 = time.perf_counter()
            with store.engine.begin() as conn:
                cells = refresh_cells(conn, zone, now)
            times.append(time.perf_counter() - t0)
    finally:
        store.close()
    target = TARGET_PER_MILLION * n / 1_000_000
    bench.add(f"workload recompute, {n:,} tickets (load, weeks, months, write)", median(times),
              "s", "<", round(target, 1), runs=times,
              note=f"{cells:,} cells" + ("" if n == 1_000_000 else "; target pro rata of 60 s/1M"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    args = parser.parse_args()
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    zone = ZoneInfo("Europe/Amsterdam")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        t0 = time.perf_counter()
        populate(url, args.tickets, now)
        print(f"populate {args.tickets:,} tickets: {time.perf_counter() - t0:.1f} s (setup, not measured)")
        store = open_store(url)
        t0 = time.perf_counter()
        with store.engine.connect() as conn:
            columns = load_ticket_columns(conn)
        load_s = time.perf_counter() - t0
        print(f"load ticket columns: {load_s:.2f} s ({args.tickets / load_s:,.0f} tickets/s)")
        for kind in ("week", "month"):
            for by in (["capability"], ["practice"], ["team"], ["capability", "practice", "team"]):
                t0 = time.perf_counter()
                rows = compute(columns, by, kind, zone, now)  # type: ignore[arg-type]
                took = time.perf_counter() - t0
                print(f"compute by {'+'.join(by):<28} per {kind:<5}: {took:6.2f} s, {len(rows):5d} rows")
        t0 = time.perf_counter()
        with store.engine.begin() as conn:
            cells = refresh_cells(conn, zone, now)
        total = time.perf_counter() - t0
        print(f"refresh stored cells (load + weeks + months + write): {total:.2f} s, {cells} cells")
        print(f"budget ratio: {total / 60:.2%} of the one-minute target for {args.tickets:,} tickets")
        store.close()


if __name__ == "__main__":
    main()
