"""Daemons sharing one PostgreSQL store deal the sources out: each pulls its share, and the
sources of one that dies are pulled by the others once its lease expires."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.sandbox import Sandbox
from tests.conftest import fresh_database
from tests.postgres.test_daemons import start_daemon, stop

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

SOURCES = ("jira-a", "jira-b", "snow-a", "snow-b")
PULLED = re.compile(r"(jira-a|jira-b|snow-a|snow-b): pulled \d+ .*? s, ok;")
WAIT_SECONDS = 150.0


def _config(path: Path, state: str, sb: Sandbox) -> Path:
    lines = [f"state: {state}", "sources:"]
    for name in SOURCES:
        kind, url = (("jira", sb.jira_url) if name.startswith("jira")
                     else ("servicenow", sb.servicenow_url))
        lines.append(f"  - {{name: {name}, kind: {kind}, url: {url}, "
                     "auth: {kind: basic, username: sandbox, password: sandbox}}")
    lines += ["daemon:", "  schedule: {interval_seconds: 10}", "  member_lease_seconds: 3"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _pulled(log: Path, start: int = 0) -> set[str]:
    return set(PULLED.findall(log.read_text()[start:]))


def _wait(condition: Callable[[], bool], what: str, logs: list[Path],
          running: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        texts = "\n".join(p.read_text() for p in logs)
        assert time.monotonic() < deadline, f"{what}:\n{texts}"
        assert all(proc.poll() is None for proc in running), f"a daemon exited:\n{texts}"
        time.sleep(0.3)


def test_two_daemons_each_pull_their_share_and_a_dead_ones_sources_are_taken_over(
        postgres_url: str, tmp_path: Path) -> None:
    state = fresh_database(postgres_url)
    with Sandbox(seed=5, tickets=200) as sb:
        for service in ("jira", "servicenow"):
            sb.faults(service).configure(latency_ms=20)  # pulls last long enough to overlap
        config = _config(tmp_path / "smo-bridge.yaml", state, sb)
        logs = [tmp_path / "daemon-a.log", tmp_path / "daemon-b.log"]
        survivor, victim = (start_daemon(config, tmp_path, log) for log in logs)
        try:
            # both at work, and between them every source pulled
            _wait(lambda: all(_pulled(log) for log in logs)
                  and _pulled(logs[0]) | _pulled(logs[1]) == set(SOURCES),
                  "both daemons pulling", logs, [survivor, victim])
            text = logs[0].read_text()
            assert "2 daemon(s) share the store" in text, text
            # each daemon pulls the sources dealt to it, the other skips them
            shares = [re.findall(r"2 daemon\(s\) share the store; this one pulls (.*)",
                                 log.read_text())[-1].split(", ") for log in logs]
            assert sorted(shares[0] + shares[1]) == sorted(SOURCES), shares
            assert len(shares[0]) == len(shares[1]) == 2

            victim.send_signal(signal.SIGKILL)  # no goodbye: its row must expire
            victim.wait(timeout=30)
            since = len(logs[0].read_text())
            _wait(lambda: set(shares[1]) <= _pulled(logs[0], since),
                  "the survivor pulling the dead daemon's sources", logs, [survivor])
            assert "1 daemon(s) share the store" in logs[0].read_text()[since:]
            code, _ = stop(survivor)
        finally:
            for proc in (survivor, victim):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    text = logs[0].read_text()
    assert code == 0, text
    assert "Traceback" not in text and "ERROR" not in text, text
    # taken over because the dead member's lease expired, not by the overdue fallback
    assert "no daemon pulled it" not in text, text
