"""Quick commands, whole process: `--help`, `--version`, `status` (JSON and table) and
`config validate` on a store of a synced sandbox, each the median of several runs.

    .venv/bin/python -m benchmarks.bench_cli [--tickets 20000]   (part "cli")

Wall time is what a person waits; the CPU seconds (the note) are what the process itself
spent, steadier on a busy machine.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from benchmarks.harness import Bench, Scale, child_env, median, run_measured, write_config

TARGET_S = 0.3  # issue 14: each quick command starts and finishes within this
TICKETS = {"quick": 5_000, "default": 20_000, "full": 20_000}
RUNS = {"quick": 5, "default": 7, "full": 7}


def synced_store(folder: Path, tickets: int) -> Path:
    """A configuration whose store holds one full cycle of a sandbox of `tickets`."""
    from bridge.config import load_config
    from bridge.engine import Engine
    from bridge.sandbox import Sandbox
    from bridge.store import open_store

    quiet = logging.getLogger("bridge")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with Sandbox(seed=42, tickets=tickets, jira_deployment="cloud") as sb:
            path = write_config(folder / "smo-bridge.yaml", f"sqlite:///{folder / 'state.db'}",
                                [("jira", "jira", sb.jira_url),
                                 ("snow", "servicenow", sb.servicenow_url)])
            config = load_config(path)
            store = open_store(config.state)
            try:
                Engine(config, store).run_cycle(push=False)
            finally:
                store.close()
    finally:
        quiet.setLevel(level)
    return path


def command() -> list[str]:
    """The console script people run, next to this interpreter."""
    script = Path(sys.executable).with_name("smo-bridge")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bridge.cli.main"]


def measure(bench: Bench, config: Path, tickets: int, runs: int) -> None:
    cases = {
        "--help": ["--help"],
        "--version": ["--version"],
        f"status --format json ({tickets:,} tickets)": ["--config", str(config), "status",
                                                       "--format", "json"],
        f"status, table ({tickets:,} tickets)": ["--config", str(config), "status"],
        "config validate": ["--config", str(config), "config", "validate"],
    }
    walls: dict[str, list[float]] = {name: [] for name in cases}
    cpus: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):  # the commands alternate: a busy spell weighs on all alike
        for name, args in cases.items():
            done = run_measured([*command(), *args], env=child_env(), cwd=config.parent,
                                timeout=120)
            if done.returncode != 0:
                raise RuntimeError(f"{name}: exit {done.returncode}: {done.stderr.strip()[:200]}")
            walls[name].append(done.seconds)
            cpus[name].append(done.cpu_seconds)
    for name in cases:
        bench.add(f"cli: {name}", median(walls[name]), "s", "<", TARGET_S, walls[name],
                  note=f"CPU {median(cpus[name]):.3f} s")


def part(bench: Bench) -> None:
    tickets = TICKETS[bench.scale.mode]
    config = synced_store(bench.scratch("cli"), tickets)
    measure(bench, config, tickets, RUNS[bench.scale.mode])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=TICKETS["default"])
    parser.add_argument("--runs", type=int, default=RUNS["default"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        bench = Bench(Scale.of("default"), Path(work) / "benchmarks.json", Path(work))
        bench.part = "cli"
        measure(bench, synced_store(Path(work), args.tickets), args.tickets, args.runs)
