"""A state store filled by one sandbox sync, with hostile text in names the board shows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from bridge.config import BridgeConfig, load_config
from bridge.engine import Engine
from bridge.sandbox import Sandbox
from bridge.store import Store, open_store
from bridge.store.database import open_existing_store
from tests.integration.test_cycle import write_config

#: what a hostile ticket or project text may carry: markup, attribute breakouts, handlers
SCRIPT = "<script>window.__pwned=1</script>"
IMG = '"><img src=x onerror="window.__pwned=2">'
HOSTILE_SERVICE = f"HR {SCRIPT} Portal"
HOSTILE_PROJECT = f"HR portal {IMG}"
HOSTILE_SUMMARY = f"Printer {SCRIPT}{IMG} jammed"


@dataclass
class Synced:
    config: BridgeConfig
    config_path: Path
    jira_url: str
    servicenow_url: str


def _inject_hostile_text(sb: Sandbox) -> None:
    """Through ServiceNow's Table API, as any user could type it: a service's name, a
    project's name, an incident's summary."""
    api = f"{sb.servicenow_url}/api/now/table"
    with requests.Session() as http:
        http.auth = ("sandbox", "sandbox")
        found = http.get(f"{api}/pm_project", params={
            "sysparm_query": "number=PRJ0010005", "sysparm_fields": "sys_id,business_service"},
            timeout=10).json()["result"][0]
        service = found["business_service"]["value"]
        for url, body in ((f"{api}/cmdb_ci_service/{service}", {"name": HOSTILE_SERVICE}),
                          (f"{api}/pm_project/{found['sys_id']}", {"short_description": HOSTILE_PROJECT})):
            response = http.patch(url, json=body, timeout=10)
            assert response.status_code == 200, response.text
        response = http.post(f"{api}/incident", json={"short_description": HOSTILE_SUMMARY},
                             timeout=10)
        assert response.status_code == 201, response.text


@pytest.fixture(scope="package")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    tmp = tmp_path_factory.mktemp("board")
    with Sandbox(seed=42, tickets=600, jira_deployment="cloud") as sb:
        _inject_hostile_text(sb)
        path = write_config(tmp, sb)
        config = load_config(path)
        store = open_store(config.state)
        try:
            result = Engine(config, store).run_cycle()
        finally:
            store.close()
        assert result.exit_code == 0, [(s.name, s.error) for s in result.sources]
        yield Synced(config, path, sb.jira_url, sb.servicenow_url)


@pytest.fixture
def store(synced: Synced) -> Iterator[Store]:
    """The synced store, opened for reading as `serve` opens it."""
    opened = open_existing_store(synced.config.state)
    yield opened
    opened.close()
