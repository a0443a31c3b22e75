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


def wait_for_text(path: Path, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        found = path.read_text() if path.exists() else ""
        if text in found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not logged within {timeout} s:\n{found}")
        time.sleep(0.2)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_daemon_serves_health_refuses_bad_reload_and_stops_cleanly(tmp_path: Path, sig: int) -> None:
    config = tmp_path / "smo-bridge.yaml"
    config.write_text(f"state: sqlite:///{tmp_path / 'state.db'}\nsources: []\n")
    port = free_port()
    log = tmp_path / "daemon.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bridge.cli.main", "-v", "--config", str(config), "run",
             "--health-port", str(port)],
            cwd=tmp_path, env=clean_env(), stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for(f"http://127.0.0.1:{port}/healthz") == "ok\n"
        metrics = wait_for(f"http://127.0.0.1:{port}/metrics")
        assert 'smo_bridge_config_reloads_total{outcome="refused"} 0.0' in metrics
        # SIGHUP reloads at once (it stopped the daemon before)
        config.write_text(f"state: sqlite:///{tmp_path / 'state.db'}\nsources: []\n"
                          "daemon: {push_interval_seconds: 30}\n")
        proc.send_signal(signal.SIGHUP)
        wait_for_text(log, "configuration reloaded (SIGHUP)")
        config.write_text("sources: []\nstat: oops\n")
        proc.send_signal(signal.SIGHUP)
        wait_for_text(log, "refused the changed configuration (SIGHUP)")
        metrics = wait_for(f"http://127.0.0.1:{port}/metrics")
        assert 'smo_bridge_config_reloads_total{outcome="refused"} 1.0' in metrics
        assert "smo_bridge_config_last_reload_ok 0.0" in metrics
        # the file watch applies a settled change by itself
        time.sleep(1.1)  # a new mtime, on filesystems with one-second resolution
        config.write_text(f"state: sqlite:///{tmp_path / 'state.db'}\nsources: []\n")
        wait_for_text(log, "configuration reloaded (files changed)", timeout=25)
        assert wait_for(f"http://127.0.0.1:{port}/healthz") == "ok\n"
        assert proc.poll() is None
        started = time.monotonic()
        proc.send_signal(sig)
        proc.wait(timeout=15)
        assert time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert proc.returncode == 0, text
    assert "unknown key 'stat'; did you mean 'state'?" in text
    assert "stopped cleanly" in text
