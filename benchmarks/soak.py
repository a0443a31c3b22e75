"""Soak: the daemon as an operator runs it, for many cycles, with things going wrong.

    .venv/bin/python -m benchmarks.soak [--cycles 30] [--tickets 1000]   # from the repository

Two sources on SQLite against the sandbox with faults on (rate limits, 5xx, dropped
connections); in the middle a bad mapping edit and a good one applied by SIGHUP, ServiceNow
down for a while, and one SIGKILL and restart. Prints what held: cycles by outcome, store
errors, the edits' fate, /readyz while the source was down and after, and every record
stored exactly once. Exit 1 when something did not hold.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import func, select

from benchmarks.harness import Bench
from bridge.config import load_config
from bridge.sandbox import Sandbox
from bridge.store import open_store
from bridge.store.schema import raw_records
from tests.helpers import clean_env
from tests.integration.test_crash import assert_every_record_stored_once, write_config

INTERVAL = 10  # the smallest pull interval the configuration allows
CYCLE = re.compile(r"(jira|snow): pulled \d+ .*? s, (ok|failed|interrupted|partial)")


def readyz(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as answer:
        return answer.code, json.loads(answer.read())
    except OSError:
        return 0, {}


def start(config: Path, cwd: Path, log: Path, port: int) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bridge.cli.main", "--config", str(config), "run",
             "--health-port", str(port)], cwd=cwd, env=clean_env(), stdout=out,
            stderr=subprocess.STDOUT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=30, help="pull cycles per source, at least")
    parser.add_argument("--tickets", type=int, default=1000)
    args = parser.parse_args()
    held = soak(args.cycles, args.tickets)
    return 0 if all(held.values()) else 1


def part(bench: Bench) -> None:
    cycles = bench.scale.soak_cycles or 30
    started = time.monotonic()
    held = soak(cycles, 1000)
    for name, ok in held.items():
        bench.add(f"soak: {name}", 1.0 if ok else 0.0, "held", "==", 1.0)
    bench.add("soak: duration", time.monotonic() - started, "s",
              note=f"{cycles}+ cycles per source with faults")


def soak(cycles: int, tickets: int) -> dict[str, bool]:
    """The soak as described above; prints what happened, returns what held."""
    args = argparse.Namespace(cycles=cycles, tickets=tickets)
    folder = Path(tempfile.mkdtemp(prefix="smo-bridge-soak-"))
    mapping = folder / "jira.yaml"
    mapping.write_text("extends: default\nmeta: {kind: jira, version: 1}\n")
    log = folder / "daemon.log"
    port = 18000 + int(time.time()) % 1000
    held: dict[str, bool] = {}
    with Sandbox(seed=77, tickets=args.tickets, jira_deployment="cloud") as sb:
        config = write_config(folder / "smo-bridge.yaml", f"sqlite:///{folder / 'state.db'}", sb,
                              f"daemon:\n  schedule: {{interval_seconds: {INTERVAL}}}\n"
                              "  push_interval_seconds: 5\n")
        config.write_text(config.read_text().replace(
            "    kind: jira\n", "    kind: jira\n    mappings: [jira.yaml]\n", 1))
        for service in ("jira", "servicenow"):
            sb.faults(service).configure(rate_limit=120, error_rate=0.1, drop_rate=0.05, seed=5)
        started = time.monotonic()
        proc = start(config, folder, log, port)
        events: list[str] = []
        down_ready: list[int] = []
        plan = {"bad edit": 40, "good edit": 70, "snow down": 100, "snow up": 150,
                "kill": 190, "restart": 192}
        done_steps: set[str] = set()

        def cycles() -> list[tuple[str, str]]:
            return CYCLE.findall(log.read_text()) if log.exists() else []

        while True:
            time.sleep(1)
            now = time.monotonic() - started
            for step, at in plan.items():
                if step in done_steps or now < at:
                    continue
                done_steps.add(step)
                events.append(f"{now:5.0f} s  {step}")
                if step == "bad edit":
                    mapping.write_text("extends: default\nmeta: {kind: jira, version: 1}\n"
                                       "gate: {itmes: []}\n")
                    proc.send_signal(signal.SIGHUP)
                elif step == "good edit":
                    mapping.write_text("extends: default\nmeta: {kind: jira, version: 1}\n"
                                       "gate:\n  items:\n    - {key: hypercare, enabled: false}\n")
                    proc.send_signal(signal.SIGHUP)
                elif step == "snow down":
                    sb.faults("servicenow").configure(error_rate=1.0)
                elif step == "snow up":
                    sb.faults("servicenow").configure(rate_limit=120, error_rate=0.1,
                                                      drop_rate=0.05, seed=6)
                elif step == "kill":
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                elif step == "restart":
                    proc = start(config, folder, log, port)
            if "snow down" in done_steps and "snow up" not in done_steps:
                down_ready.append(readyz(port)[0])
            per_source = {s: sum(1 for n, _ in cycles() if n == s) for s in ("jira", "snow")}
            if min(per_source.values()) >= args.cycles and len(done_steps) == len(plan):
                break
            if now > args.cycles * INTERVAL * 3 + 300:
                events.append("gave up waiting for cycles")
                break
        after_status = 0
        for _ in range(60):  # ready again once both sources succeeded within their staleness
            after_status, _ = readyz(port)
            if after_status == 200:
                break
            time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        for service in ("jira", "servicenow"):
            sb.faults(service).reset()
        # one quiet cycle, faults off: what the last pushes wrote comes back in
        subprocess.run([sys.executable, "-m", "bridge.cli.main", "--config", str(config), "sync",
                        "--once"], cwd=folder, env=clean_env(), capture_output=True, check=False)
        text = log.read_text()
        outcomes = cycles()
        bridge_config = load_config(config)
        store = open_store(bridge_config.state)
        try:
            with store.engine.connect() as conn:
                doubles = conn.execute(select(func.count()).select_from(
                    select(raw_records.c.source, raw_records.c.stream, raw_records.c.key)
                    .group_by(raw_records.c.source, raw_records.c.stream, raw_records.c.key)
                    .having(func.count() > 1).subquery())).scalar_one()
            try:
                assert_every_record_stored_once(bridge_config, store)
                exactly_once = True
            except AssertionError as exc:
                exactly_once = False
                events.append(f"records: {exc}")
        finally:
            store.close()
    store_errors = len(re.findall(r"database is locked|OperationalError", text))
    held["no failed cycle caused by the store"] = store_errors == 0
    held["the bad edit refused"] = "refused the changed configuration (SIGHUP)" in text
    held["the good edit live"] = "configuration reloaded (SIGHUP)" in text
    held["/readyz failed while ServiceNow was down"] = 503 in down_ready
    held["/readyz recovered after"] = after_status == 200
    held["clean stop after the restart"] = code == 0
    held["every record exactly once"] = exactly_once and doubles == 0
    print(f"soak in {folder} (jira's mapping: {mapping.name}, extending the shipped default)")
    for line in events:
        print(f"  {line}")
    counted = {s: {o: sum(1 for n, x in outcomes if n == s and x == o)
                   for o in ("ok", "failed", "partial", "interrupted")} for s in ("jira", "snow")}
    print(f"  cycles: {json.dumps(counted)}")
    print(f"  store errors in the log: {store_errors}; duplicate raw records: {doubles}")
    print(f"  /readyz while ServiceNow was down: {down_ready.count(503)} x 503, "
          f"{down_ready.count(200)} x 200; after: {after_status}")
    for name, ok in held.items():
        print(f"  {'held ' if ok else 'FAILED'}  {name}")
    return held


if __name__ == "__main__":
    sys.exit(main())
