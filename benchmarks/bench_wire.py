"""Pull+map+store against the wire: `smo-bridge sync --once` vs a bare loop on the same pages.

    .venv/bin/python -m benchmarks --only wire [--quick]

For Jira Cloud, Jira Server and ServiceNow, one source each against the sandbox in its own
process: the sync (a fresh SQLite store per run, pushes left queued) is recorded by the
sandbox's request log, and `benchmarks.bare_loop` replays exactly those requests, parsing each
body. The two alternate run by run; the figure is the median of the paired ratios.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    Bench,
    Finished,
    SandboxProcess,
    bridge_cli,
    child_env,
    count_rows,
    median,
    run_measured,
    sandbox_process,
    tickets_for,
    write_config,
)

FLAVOURS = (("Jira Cloud", "jira", "cloud"), ("Jira Server", "jira", "server"),
            ("ServiceNow", "servicenow", "cloud"))
RATIO_TARGET = 1.2


def replayable(request: dict[str, Any]) -> bool:
    """Reads only: a search by POST is a read; anything else that is not GET is not."""
    return request["method"] == "GET" or (
        request["method"] == "POST" and request["path"].rstrip("/").endswith(("/search", "/jql")))


def sync_once(config: Path, env: dict[str, str] | None = None) -> Finished:
    done = run_measured(bridge_cli("--config", str(config), "sync", "--once", "--no-push"),
                        env=env or child_env(), cwd=config.parent)
    if done.returncode != 0:
        raise RuntimeError(f"sync --once exited {done.returncode}: {done.stderr[-2000:]}")
    return done


def bare_loop(requests_file: Path, jira: str, servicenow: str, ca: Path | None = None) -> Finished:
    args = [sys.executable, "-m", "benchmarks.bare_loop", str(requests_file), "--jira", jira,
            "--servicenow", servicenow]
    if ca is not None:
        args += ["--ca", str(ca)]
    done = run_measured(args)
    if done.returncode != 0:
        raise RuntimeError(f"bare loop exited {done.returncode}: {done.stderr[-2000:]}")
    return done


def part(bench: Bench) -> None:
    tool_tickets = bench.scale.wire_tickets
    for label, kind, deployment in FLAVOURS:
        folder = bench.scratch(f"wire-{kind}-{deployment}")
        with sandbox_process(folder, tickets_for(tool_tickets, kind), deployment=deployment) as sb:
            url = sb.jira if kind == "jira" else sb.servicenow
            replay = folder / "replay.json"
            syncs: list[float] = []
            bares: list[float] = []
            cpu: dict[str, list[float]] = {"sync": [], "bare": [], "sandbox sync": [],
                                           "sandbox bare": []}
            records = requests = 0
            for run in range(bench.scale.runs):
                state_file = folder / f"state-{run}.db"
                state = f"sqlite:///{state_file}"
                config = write_config(folder / f"run-{run}.yaml", state, [(kind, kind, url)])
                bare_first = run % 2 == 1 and replay.exists()  # alternate who goes first
                if bare_first:
                    measure_bare(replay, sb, bares, cpu)
                sb.mark()
                served = sb.cpu_seconds()
                sync = sync_once(config)
                cpu["sandbox sync"].append(sb.cpu_seconds() - served)
                syncs.append(sync.seconds)
                cpu["sync"].append(sync.cpu_seconds)
                recorded = [r for r in sb.since_mark() if replayable(r)]
                if run == 0:
                    replay.write_text(json.dumps(recorded))
                    records, requests = count_rows(state), len(recorded)
                if not bare_first:
                    measure_bare(replay, sb, bares, cpu)
                state_file.unlink()
        ratios = [s / b for s, b in zip(syncs, bares, strict=True)]
        name = f"{label}, {tool_tickets:,} tickets"
        bench.add(f"sync / bare loop, {name}", median(ratios), "x", "<=", RATIO_TARGET,
                  runs=ratios, note=f"{records:,} records in {requests:,} requests")
        bench.add("  sync --once (pull, map, store, derive)", median(syncs), "s", runs=syncs,
                  note=f"{records / median(syncs):,.0f} records/s; "
                  f"CPU {median(cpu['sync']):.1f} s")
        bench.add("  bare requests loop, same requests", median(bares), "s", runs=bares,
                  note=f"{records / median(bares):,.0f} records/s; "
                  f"CPU {median(cpu['bare']):.1f} s; sandbox's CPU {median(cpu['sandbox bare']):.1f} s")
        # the sync and the sandbox share this machine's cores: however well the sync overlaps
        # its work, its wall time is at least their CPU spread over all cores
        cores = os.cpu_count() or 1
        floors = [max(bare, (own + served) / cores) / bare for own, served, bare
                  in zip(cpu["sync"], cpu["sandbox sync"], bares, strict=True)]
        bench.add("  floor on this machine / bare loop", median(floors), "x", runs=floors,
                  note=f"(sync CPU + sandbox's CPU {median(cpu['sandbox sync']):.1f} s) / {cores} cores")


def measure_bare(replay: Path, sb: SandboxProcess, bares: list[float],
                 cpu: dict[str, list[float]]) -> None:
    served = sb.cpu_seconds()
    bare = bare_loop(replay, sb.jira, sb.servicenow)
    cpu["sandbox bare"].append(sb.cpu_seconds() - served)
    bares.append(bare.seconds)
    cpu["bare"].append(bare.cpu_seconds)


if __name__ == "__main__":
    from benchmarks.__main__ import main

    sys.exit(main(["--only", "wire", *sys.argv[1:]]))
