"""The shipped systemd unit: notify with watchdog, reload, no restart loop on a bad
configuration, private state, and hardening systemd rates 3.0 or lower."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

UNIT = Path(__file__).resolve().parents[2] / "config" / "smo-bridge.service"


def directives(text: str) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> every value, in order (systemd allows a key several times)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if match := re.fullmatch(r"\[(\w+)\]", line):
            current = sections.setdefault(match.group(1), {})
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"{UNIT.name}:{number}: not KEY=VALUE in a section"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_unit_runs_the_daemon_as_a_notify_service_with_a_watchdog() -> None:
    service = directives(UNIT.read_text())["Service"]
    assert service["Type"] == ["notify"] and service["NotifyAccess"] == ["main"]
    assert int(service["WatchdogSec"][0]) >= 10  # the daemon pings every half period
    assert service["ExecStart"][0].endswith(" run")
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert service["RestartPreventExitStatus"] == ["2"] and service["Restart"] == ["on-failure"]
    assert service["StateDirectory"] == ["smo-bridge"] and service["StateDirectoryMode"] == ["0700"]
    assert service["ConfigurationDirectory"] == ["smo-bridge"]
    assert service["UMask"] == ["0077"]
    assert service["CapabilityBoundingSet"] == [""]
    assert service["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"]
    for flag in ("NoNewPrivileges", "ProtectHome", "PrivateDevices", "PrivateTmp", "ProtectKernelTunables",
                 "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "RestrictNamespaces",
                 "LockPersonality", "MemoryDenyWriteExecute", "RestrictSUIDSGID", "RestrictRealtime"):
        assert service[flag] == ["true"], flag
    assert service["ProtectSystem"] == ["strict"]
    assert service["SystemCallFilter"][0] == "@system-service"


def test_systemd_rates_the_unit_3_or_lower() -> None:
    # .ci/run installs systemd where it is missing: this measurement never silently skips
    assert shutil.which("systemd-analyze"), "systemd-analyze is needed (Debian package systemd)"
    done = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", str(UNIT)],
                          capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= 3.0
