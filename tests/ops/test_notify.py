"""The daemon speaks systemd's notification protocol: a real datagram socket stands in for
systemd, and a real daemon process sends to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.notify import Notifier
from tests.helpers import clean_env


@pytest.fixture
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    # a short folder: an AF_UNIX path may not exceed 107 bytes
    with tempfile.TemporaryDirectory(prefix="sd") as folder:
        path = os.path.join(folder, "notify")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(path)
            sock.settimeout(20)
            yield sock, path


def receive_until(sock: socket.socket, field: str) -> list[str]:
    """Messages up to and including the first one carrying `field`."""
    seen: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        message = sock.recv(4096).decode()
        seen.append(message)
        if field in message.split("\n"):
            return seen
    raise AssertionError(f"{field} never sent; got {seen}")


def test_daemon_notifies_ready_watchdog_reload_and_stopping(
        tmp_path: Path, notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    config = tmp_path / "smo-bridge.yaml"
    config.write_text(f"state: sqlite:///{tmp_path / 'state.db'}\nsources: []\n")
    env = clean_env(NOTIFY_SOCKET=path, WATCHDOG_USEC="200000")
    with (tmp_path / "daemon.log").open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bridge.cli.main", "--config", str(config), "run"],
                                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        first = receive_until(sock, "READY=1")
        assert "STOPPING=1" not in "\n".join(first)
        assert "STATUS=running 0 source(s)" in first[-1].split("\n")
        receive_until(sock, "WATCHDOG=1")
        receive_until(sock, "WATCHDOG=1")  # again: it keeps pinging
        proc.send_signal(signal.SIGHUP)
        reload = receive_until(sock, "RELOADING=1")[-1].split("\n")
        assert any(f.startswith("MONOTONIC_USEC=") and int(f.split("=")[1]) > 0 for f in reload)
        receive_until(sock, "READY=1")
        proc.send_signal(signal.SIGTERM)
        receive_until(sock, "STOPPING=1")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_notifier_reads_systemds_variables() -> None:
    assert not Notifier({}).enabled and not Notifier({}).send("READY=1")
    assert Notifier({"NOTIFY_SOCKET": "@sd/notify"}).address == "\0sd/notify"
    assert Notifier({"NOTIFY_SOCKET": "relative"}).address is None
    sd = {"NOTIFY_SOCKET": "/run/systemd/notify"}
    assert Notifier(sd | {"WATCHDOG_USEC": "30000000"}).watchdog_interval == 15.0
    assert Notifier(sd | {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}).watchdog_interval == 15.0
    # the watchdog is for another process (our parent), or not asked for
    assert Notifier(sd | {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}).watchdog_interval is None
    assert Notifier(sd | {"WATCHDOG_USEC": "0"}).watchdog_interval is None
    assert Notifier(sd | {"WATCHDOG_USEC": "soon"}).watchdog_interval is None


def test_notifier_pings_the_watchdog_once_per_half_period(notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": str(3600 * 10**6)})
    assert notifier.ping_watchdog()
    assert not notifier.ping_watchdog()  # half an hour has not passed
    assert sock.recv(4096) == b"WATCHDOG=1"


def test_notifier_survives_a_vanished_socket(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert not notifier.send("READY=1") and not notifier.stopping()
    assert len([r for r in caplog.records if "cannot notify systemd" in r.getMessage()]) == 1
