"""The same sync into PostgreSQL and into SQLite: `smo-bridge sync --once` of a Jira Cloud and
a ServiceNow source from one sandbox, into a fresh store of each kind, the two alternating.

    .venv/bin/python -m benchmarks --only backends [--quick]

PostgreSQL is a throwaway server from Debian's binaries, as the tests start one (no binaries:
not measured, said so). `python -m benchmarks.bench_store` measures the store alone, without
the wire.
"""

from __future__ import annotations

import sys

from benchmarks.bench_scaleout import database
from benchmarks.bench_wire import sync_once
from benchmarks.harness import (
    Bench,
    count_rows,
    median,
    sandbox_process,
    throwaway_postgres,
    write_config,
)

TARGET = 1.3  # PostgreSQL / SQLite


def part(bench: Bench) -> None:
    name = "sync into PostgreSQL / into SQLite"
    tickets = bench.scale.wire_tickets
    folder = bench.scratch("backends")
    seconds: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    cpu: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    records = 0
    with throwaway_postgres() as server_url:
        if server_url is None:
            bench.add(name, None, "x", "<=", TARGET,
                      note="not measured: no PostgreSQL binaries (apt-get install postgresql)")
            return
        with sandbox_process(folder, tickets) as sb:
            sources = [("jira", "jira", sb.jira), ("servicenow", "servicenow", sb.servicenow)]
            for run in range(bench.scale.runs):
                for kind in (("sqlite", "postgresql") if run % 2 == 0 else ("postgresql", "sqlite")):
                    state = (f"sqlite:///{folder / f'state-{run}.db'}" if kind == "sqlite"
                             else database(server_url, f"backends_{run}"))
                    done = sync_once(write_config(folder / f"{kind}-{run}.yaml", state, sources))
                    seconds[kind].append(done.seconds)
                    cpu[kind].append(done.cpu_seconds)
                    if run == 0 and kind == "sqlite":
                        records = count_rows(state)
                (folder / f"state-{run}.db").unlink()
    ratios = [p / s for p, s in zip(seconds["postgresql"], seconds["sqlite"], strict=True)]
    bench.add(name, median(ratios), "x", "<=", TARGET, runs=ratios,
              note=f"{records:,} records, Jira Cloud and ServiceNow, {tickets:,} sandbox tickets")
    for kind, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        bench.add(f"  sync --once into {label}", median(seconds[kind]), "s", runs=seconds[kind],
                  note=f"CPU {median(cpu[kind]):.1f} s (the bridge's process)")


if __name__ == "__main__":
    from benchmarks.__main__ import main

    sys.exit(main(["--only", "backends", *sys.argv[1:]]))
