"""`smo-bridge sandbox` prints its URLs, serves, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys

import requests

from tests.sandbox.conftest import AUTH

SCRIPT = (
    "import sys; from bridge.cli.sandbox import command; "
    "command(sys.argv[1:], prog_name='smo-bridge sandbox')"
)


def test_cli_serves_until_sigterm() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SCRIPT,
            "--jira-port",
            "0",
            "--servicenow-port",
            "0",
            "--tickets",
            "50",
            "--jira-deployment",
            "server",
            "--jira-fault",
            "latency_ms=1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        jira_line = process.stdout.readline().split()
        snow_line = process.stdout.readline().split()
        assert jira_line[0] == "jira" and snow_line[0] == "servicenow"
        info = requests.get(jira_line[1] + "/rest/api/2/serverInfo", auth=AUTH, timeout=5)
        assert info.json()["deploymentType"] == "Server"
        groups = requests.get(snow_line[1] + "/api/now/table/sys_user_group", auth=AUTH, timeout=5)
        assert groups.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
