"""The sandbox's TLS mode: clients that trust its throwaway CA get in, others are refused."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from jira import JIRA

from bridge.sandbox import Sandbox
from bridge.sandbox.server import SandboxTLS
from tests.sandbox.conftest import AUTH
from tests.sandbox.test_cli import SCRIPT


@pytest.fixture(scope="module")
def tls_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path]]:
    tls = SandboxTLS(tmp_path_factory.mktemp("ca"))
    with Sandbox(seed=42, tickets=50, tls=tls) as sb:
        yield sb, tls.ca_bundle


def test_urls_are_https_and_the_bundle_is_a_pem_certificate(
    tls_sandbox: tuple[Sandbox, Path],
) -> None:
    sb, bundle = tls_sandbox
    assert sb.jira_url.startswith("https://127.0.0.1:")
    assert sb.servicenow_url.startswith("https://127.0.0.1:")
    assert bundle.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE KEY" not in bundle.read_text()


def test_requests_trusting_the_ca_reaches_both_services(tls_sandbox: tuple[Sandbox, Path]) -> None:
    sb, bundle = tls_sandbox
    info = requests.get(f"{sb.jira_url}/rest/api/2/serverInfo", auth=AUTH, verify=str(bundle),
                        timeout=10)  # fmt: skip
    assert info.status_code == 200
    assert info.json()["baseUrl"] == sb.jira_url
    rows = requests.get(f"{sb.servicenow_url}/api/now/table/sys_user", auth=AUTH,
                        params={"sysparm_limit": 2}, verify=str(bundle), timeout=10)  # fmt: skip
    assert rows.status_code == 200 and len(rows.json()["result"]) == 2


def test_jira_client_trusting_the_ca_by_environment(
    tls_sandbox: tuple[Sandbox, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bridge's own clients verify with the default bundle: REQUESTS_CA_BUNDLE steers it."""
    sb, bundle = tls_sandbox
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    client = JIRA(options={"server": sb.jira_url, "verify": True}, basic_auth=AUTH,
                  get_server_info=False, max_retries=0)  # fmt: skip
    assert client.myself()["accountId"]
    assert {p.key for p in client.projects()}


def test_clients_without_the_ca_are_refused(
    tls_sandbox: tuple[Sandbox, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    sb, _ = tls_sandbox
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        requests.get(f"{sb.jira_url}/rest/api/2/serverInfo", auth=AUTH, timeout=10)
    client = JIRA(options={"server": sb.jira_url, "verify": True}, basic_auth=AUTH,
                  get_server_info=False, max_retries=0)  # fmt: skip
    with pytest.raises(requests.exceptions.SSLError):
        client.myself()
    with pytest.raises(requests.exceptions.ConnectionError):  # plain HTTP to the TLS port
        requests.get(sb.jira_url.replace("https", "http"), auth=AUTH, timeout=10)


def test_cli_tls_writes_the_bundle_and_logs_requests(tmp_path: Path) -> None:
    bundle, log = tmp_path / "ca.pem", tmp_path / "requests.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, "--jira-port", "0", "--servicenow-port", "0",
         "--tickets", "20", "--tls", "--ca-bundle", str(bundle), "--request-log", str(log)],
        stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert process.stdout is not None
        lines = dict(process.stdout.readline().split()[:2] for _ in range(3))
        assert lines["ca-bundle"] == str(bundle)
        assert lines["jira"].startswith("https://")
        answer = requests.post(f"{lines['jira']}/rest/api/3/search/jql", auth=AUTH,
                               json={"jql": "project = OPS ORDER BY key", "maxResults": 1},
                               verify=str(bundle), timeout=10)  # fmt: skip
        assert answer.status_code == 200
        requests.get(f"{lines['servicenow']}/api/now/table/incident?sysparm_limit=1", auth=AUTH,
                     verify=str(bundle), timeout=10)  # fmt: skip
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["service"], e["method"], e["path"]) for e in logged] == [
        ("jira", "POST", "/rest/api/3/search/jql"),
        ("servicenow", "GET", "/api/now/table/incident"),
    ]
    assert logged[1]["query"] == "sysparm_limit=1"
    assert json.loads(__import__("base64").b64decode(logged[0]["body"]))["maxResults"] == 1


def test_the_bridges_sessions_make_one_tls_context_per_bundle(
    tls_sandbox: tuple[Sandbox, Path], tmp_path: Path
) -> None:
    """A bundle named by path: one context, made once, for every connection (the sandbox
    closes each connection, so every request connects again), still verifying."""
    from connectors.base import SourceConfig
    from connectors.http import HttpPolicy, PolicyAdapter, mount_policy

    sb, bundle = tls_sandbox
    config = SourceConfig.model_validate({"name": "src", "kind": "jira", "url": sb.jira_url,
                                          "auth": {"kind": "basic", "username": "u", "password": "p"}})
    session = mount_policy(requests.Session(), HttpPolicy(config, "jira"))
    adapter = session.get_adapter(sb.jira_url)
    assert isinstance(adapter, PolicyAdapter)
    for _ in range(3):
        got = session.get(f"{sb.jira_url}/rest/api/2/serverInfo", auth=AUTH, verify=str(bundle),
                          timeout=10)
        assert got.status_code == 200
    assert list(adapter._contexts) == [str(bundle)]
    assert len(adapter.poolmanager.pools) == 1  # one pool: the context is the same object
    stranger = SandboxTLS(tmp_path / "other").ca_bundle  # a CA that did not sign the sandbox
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        session.get(f"{sb.jira_url}/rest/api/2/serverInfo", auth=AUTH, verify=str(stranger),
                    timeout=10)
