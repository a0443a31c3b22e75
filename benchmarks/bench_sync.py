"""A full sync against the sandbox in its own process: first load and an incremental cycle.

    .venv/bin/python benchmarks/bench_sync.py [--tickets 200000] [--state URL]

Prints records per second for the first load (pull, store, map, derive, push) and the
time of a second, incremental cycle.
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bridge.config import load_config
from bridge.engine import Engine
from bridge.store import open_store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sandbox(tickets: int) -> tuple[subprocess.Popen[str], str, str]:
    jira_port, snow_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli.main", "sandbox", "--tickets", str(tickets),
         "--jira-port", str(jira_port), "--servicenow-port", str(snow_port)],
        stdout=subprocess.PIPE, text=True)
    urls: dict[str, str] = {}
    assert proc.stdout is not None
    while len(urls) < 2:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the sandbox did not start")
        match = re.match(r"(jira|servicenow)\s+(http://\S+)", line)
        if match:
            urls[match.group(1)] = match.group(2)
    return proc, urls["jira"], urls["servicenow"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--state", default=None, help="SQLAlchemy URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    proc, jira, snow = start_sandbox(args.tickets)
    print(f"sandbox with {args.tickets:,} tickets ready in {time.perf_counter() - t0:.1f} s")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            state = args.state or f"sqlite:///{Path(tmp) / 'state.db'}"
            config_path = Path(tmp) / "smo-bridge.yaml"
            config_path.write_text(
                f"state: {state}\nsources:\n"
                f"  - {{name: jira, kind: jira, url: {jira}, auth: {{kind: basic, username: sandbox, password: sandbox}}}}\n"
                f"  - {{name: snow, kind: servicenow, url: {snow}, auth: {{kind: basic, username: sandbox, password: sandbox}}}}\n"
                "push: {gate_status: [jira, snow], knowledge: snow}\n")
            config = load_config(config_path)
            store = open_store(config.state)
            for label in ("first load", "incremental"):
                started = time.perf_counter()
                result = Engine(config, store).run_cycle()
                took = time.perf_counter() - started
                pulled = sum(s.pulled for s in result.sources)
                print(f"{label:<12}: {took:7.1f} s, {pulled:,} records pulled "
                      f"({pulled / took:,.0f} records/s), {result.transitions} transitions, "
                      f"{result.workload_cells} workload cells, {result.delivered} pushes, "
                      f"exit {result.exit_code}")
                for s in result.sources:
                    print(f"    {s.name}: {s.status}, pulled {s.pulled:,}, new {s.inserted:,}, "
                          f"changed {s.updated:,}, mapped {s.mapped:,}, quarantined {s.quarantined}")
            store.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
