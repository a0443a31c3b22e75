"""`smo-bridge demo` on the stock sandbox: one cycle, every push delivered, the tables shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import clean_env


def test_demo_runs_one_cycle_on_the_stock_sandbox(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bridge.cli.main", "demo", "--tickets", "200",
                           "--keep", str(tmp_path / "demo")],
                          capture_output=True, text=True, env=clean_env(), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = " ".join(done.stdout.split())
    assert "Service transitions" in out
    assert "failed: 0" in out and "Pushed back to a stock instance" in out
    assert (tmp_path / "demo" / "state.db").exists()


def test_report_transitions_after_the_demo(tmp_path: Path) -> None:
    import json

    keep = tmp_path / "demo"
    base = [sys.executable, "-m", "bridge.cli.main"]
    done = subprocess.run([*base, "demo", "--tickets", "200", "--keep", str(keep)],
                          capture_output=True, text=True, env=clean_env(), timeout=300)
    assert done.returncode == 0, done.stderr
    report = subprocess.run([*base, "--config", str(keep / "smo-bridge.yaml"), "report",
                             "transitions", "--format", "json"],
                            capture_output=True, text=True, env=clean_env(), timeout=60)
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert sum(p["live_unready"] for p in data["periods"]) >= 1  # the seeded live-unready service
    assert sum(p["passed"] for p in data["periods"]) >= 1
    assert data["items"] and data["items"][0]["missing_at_go_live"] >= 1
    table = subprocess.run([*base, "--config", str(keep / "smo-bridge.yaml"), "report",
                            "transitions"], capture_output=True, text=True, env=clean_env(),
                           timeout=60)
    assert table.returncode == 0 and "unready" in table.stdout
    cross = subprocess.run([*base, "--config", str(keep / "smo-bridge.yaml"), "report", "workloads",
                            "--by", "practice,team", "--format", "json"],
                           capture_output=True, text=True, env=clean_env(), timeout=60)
    assert cross.returncode == 0, cross.stderr
    rows = json.loads(cross.stdout)
    assert rows and all(r["practice"] and "team" in r for r in rows)
    assert len({(r["practice"], r["team"]) for r in rows}) > len({r["practice"] for r in rows})
    wrong = subprocess.run([*base, "--config", str(keep / "smo-bridge.yaml"), "report", "workloads",
                            "--by", "practice,tema"], capture_output=True, text=True,
                           env=clean_env(), timeout=60)
    assert wrong.returncode == 2 and "practice,tema" in wrong.stderr
