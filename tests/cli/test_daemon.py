"""The daemon as an operator runs it: a real process, its health port, reload and signals."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import clean_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return str(response.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_daemon_serves_health_refuses_bad_reload_and_stops_cleanly(tmp_path: Path, sig: int) -> None:
    config = tmp_path / "smo-bridge.yaml"
    config.write_text(f"state: sqlite:///{tmp_path / 'state.db'}\nsources: []\n")
    port = free_port()
    env = clean_env()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli.main", "-v", "--config", str(config), "run",
         "--health-port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(f"http://127.0.0.1:{port}/healthz") == "ok\n"
        metrics = wait_for(f"http://127.0.0.1:{port}/metrics")
        assert "smo_bridge_records_pulled_total" in metrics or "smo_bridge_cycle_seconds" in metrics
        time.sleep(1.1)  # a new mtime, on filesystems with one-second resolution
        config.write_text(f"state: sqlite:///{tmp_path / 'state.db'}\nsources: []\n"
                          "daemon: {push_interval_seconds: 30}\n")
        time.sleep(6)  # the reload poll runs every five seconds
        config.write_text("sources: []\nstat: oops\n")
        time.sleep(6)
        assert wait_for(f"http://127.0.0.1:{port}/healthz") == "ok\n"
        started = time.monotonic()
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=15)
        assert time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert "configuration reloaded" in stderr
    assert "refused the changed configuration, keeping the last good one" in stderr
    assert "unknown key 'stat'; did you mean 'state'?" in stderr
    assert "stopped cleanly" in stderr
