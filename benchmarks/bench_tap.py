"""The same Jira pull by the bridge and by the Singer `tap-jira`, over HTTPS.

    .venv/bin/python -m benchmarks --only tap [--quick]

`tap-jira` comes from the package index into the harness's own environment, `.bench-venv/`
(created on first use; never a project dependency). It refuses plain HTTP, so the sandbox
runs with --tls and both clients trust its throwaway CA through REQUESTS_CA_BUNDLE. The tap
syncs its `issues` stream (the bulk; its other streams left unselected, which only helps it)
into a file; the bridge runs `sync --once` with one Jira Cloud source. They alternate run
by run; the figure is the median of the paired ratios tap / bridge.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

from benchmarks.bench_wire import sync_once
from benchmarks.harness import (
    ROOT,
    Bench,
    child_env,
    count_rows,
    median,
    run_measured,
    sandbox_process,
    tickets_for,
    write_config,
)

VENV = ROOT / ".bench-venv"
PACKAGE = "tap-jira"
TARGET = 3.0  # the tap takes at least 3x the bridge's time


#: How the tap is started, changing two things only:
#: - tap-jira sends prepared requests (Session.send), which skips REQUESTS_CA_BUNDLE: its
#:   sessions get that bundle, as `verify` would;
#: - it asks for `expand=transitions`, which the sandbox does not render, and then pops each
#:   issue's `transitions` unconditionally: an empty list stands in (the tap's transitions
#:   stream is not selected, so it would discard them anyway; it parses a little less).
LAUNCHER = """\
import os, sys, requests
_init = requests.Session.__init__
def _trusting(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.verify = os.environ["REQUESTS_CA_BUNDLE"]
requests.Session.__init__ = _trusting
import tap_jira.streams as streams
_sub = streams.sync_sub_streams
def _sub_streams(page):
    for issue in page:
        issue.setdefault("transitions", [])
    _sub(page)
streams.sync_sub_streams = _sub_streams
from tap_jira import main
sys.argv[0] = "tap-jira"
main()
"""


class Unavailable(Exception):
    """The tap could not be installed (no package index, most likely)."""


def tap_command() -> list[str]:
    """How to start `tap-jira` from .bench-venv (installed on first use), trusting the CA."""
    tap_executable()
    return [str(VENV / "bin" / "python"), "-c", LAUNCHER]


def tap_executable() -> Path:
    """`tap-jira` in .bench-venv, installed on first use."""
    tap = VENV / "bin" / "tap-jira"
    if tap.exists():
        return tap
    if not (VENV / "bin" / "python").exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    print(f"  installing {PACKAGE} into {VENV.relative_to(ROOT)} (first use)", flush=True)
    done = subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                           PACKAGE], capture_output=True, text=True, timeout=900)
    if done.returncode != 0 or not tap.exists():
        raise Unavailable(f"pip install {PACKAGE} failed: the package index may be unreachable "
                          f"({done.stderr.strip().splitlines()[-1:] or ['no message']})")
    return tap


def tap_version() -> str:
    done = subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "show", PACKAGE],
                          capture_output=True, text=True)
    return next((line.split()[1] for line in done.stdout.splitlines()
                 if line.startswith("Version:")), "?")


def select_issues(catalog: dict[str, Any]) -> dict[str, Any]:
    """The discovered catalog with `issues` selected, and only it (the tap wants them all)."""
    for stream in catalog["streams"]:
        for entry in stream.get("metadata", []):
            if entry.get("breadcrumb") == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] == "issues"
    return catalog


def part(bench: Bench) -> None:
    tool_tickets = bench.scale.wire_tickets
    name = f"tap-jira / bridge, Jira Cloud over HTTPS, {tool_tickets:,} tickets"
    try:
        tap = tap_command()
    except (Unavailable, OSError, subprocess.SubprocessError) as error:
        bench.add(name, None, "x", ">=", TARGET, note=f"not measured: {error}")
        return
    folder = bench.scratch("tap")
    with sandbox_process(folder, tickets_for(tool_tickets, "jira"), tls=True) as sb:
        assert sb.ca_bundle is not None
        env = child_env(REQUESTS_CA_BUNDLE=str(sb.ca_bundle))
        tap_config = folder / "tap-config.json"
        tap_config.write_text(json.dumps({
            "base_url": sb.jira, "username": "sandbox", "password": "sandbox",
            "start_date": "2000-01-01T00:00:00Z", "user_agent": "smo-bridge benchmark"}))
        found = subprocess.run([*tap, "--config", str(tap_config), "--discover"], env=env,
                               capture_output=True, text=True, timeout=300)
        if found.returncode != 0:
            raise RuntimeError(f"tap-jira --discover failed: {found.stderr[-1500:]}")
        catalog = folder / "catalog.json"
        catalog.write_text(json.dumps(select_issues(json.loads(found.stdout))))
        taps: list[float] = []
        bridges: list[float] = []
        tap_records = records = 0
        cpu: dict[str, list[float]] = {"tap": [], "bridge": []}
        for run in range(bench.scale.heavy_runs):
            state_file = folder / f"state-{run}.db"
            config = write_config(folder / f"run-{run}.yaml", f"sqlite:///{state_file}",
                                  [("jira", "jira", sb.jira)])
            order = ("tap", "bridge") if run % 2 else ("bridge", "tap")
            for side in order:
                if side == "bridge":
                    sync = sync_once(config, env)
                    bridges.append(sync.seconds)
                    cpu["bridge"].append(sync.cpu_seconds)
                    records = count_rows(f"sqlite:///{state_file}")
                    continue
                emitted = folder / "tap-output.jsonl"
                done = run_measured([*tap, "--config", str(tap_config), "--properties", str(catalog)], env=env, cwd=folder, stdout_to=emitted)
                if done.returncode != 0:
                    raise RuntimeError(f"tap-jira exited {done.returncode}: {done.stderr[-1500:]}")
                taps.append(done.seconds)
                cpu["tap"].append(done.cpu_seconds)
                with emitted.open() as lines:
                    tap_records = sum(1 for line in lines if '"RECORD"' in line[:40])
                emitted.unlink()
            state_file.unlink()
    ratios = [t / b for t, b in zip(taps, bridges, strict=True)]
    bench.add(name, median(ratios), "x", ">=", TARGET, runs=ratios,
              note=f"tap-jira {tap_version()}")
    bench.add("  bridge sync --once, one Jira Cloud source, HTTPS", median(bridges), "s",
              runs=bridges, note=f"{records:,} records stored; CPU {median(cpu['bridge']):.1f} s")
    bench.add("  tap-jira, issues stream, HTTPS", median(taps), "s", runs=taps,
              note=f"{tap_records:,} records emitted; CPU {median(cpu['tap']):.1f} s")


if __name__ == "__main__":
    from benchmarks.__main__ import main

    sys.exit(main(["--only", "tap", *sys.argv[1:]]))
