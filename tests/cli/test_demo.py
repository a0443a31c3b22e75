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
