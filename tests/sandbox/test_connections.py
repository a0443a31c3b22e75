"""The sandbox keeps a client's connection open between requests, as Jira and ServiceNow
do (HTTP/1.1): a session's requests share one connection, over TLS one handshake."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3.util.connection

from bridge.sandbox import Sandbox
from bridge.sandbox.server import SandboxTLS
from tests.sandbox.conftest import AUTH


def _counting_connects(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    made: list[tuple[str, int]] = []
    create = urllib3.util.connection.create_connection

    def counted(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        made.append(address)
        return create(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", counted)
    monkeypatch.setattr("urllib3.connection.connection.create_connection", counted)
    return made


def test_a_sessions_requests_share_one_connection(sandbox: Sandbox,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    made = _counting_connects(monkeypatch)
    with requests.Session() as session:
        for _ in range(4):
            assert session.get(f"{sandbox.jira_url}/rest/api/2/serverInfo", auth=AUTH,
                               timeout=10).status_code == 200
            rows = session.get(f"{sandbox.servicenow_url}/api/now/table/sys_user", auth=AUTH,
                               params={"sysparm_limit": 2}, timeout=10)
            assert rows.status_code == 200 and len(rows.json()["result"]) == 2
    assert len(made) == 2  # one per service


def test_over_tls_one_handshake_serves_every_request(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    tls = SandboxTLS(tmp_path)
    with Sandbox(seed=7, tickets=20, tls=tls) as sb:
        made = _counting_connects(monkeypatch)
        with requests.Session() as session:
            for _ in range(5):
                got = session.get(f"{sb.jira_url}/rest/api/2/serverInfo", auth=AUTH,
                                  verify=str(tls.ca_bundle), timeout=10)
                assert got.status_code == 200
    assert len(made) == 1
