"""Minimal Jira Cloud and ServiceNow on `responses`, serving the pages a test gives them:
enough for a whole engine cycle in-process, with malformed entries in any page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import responses

from tests.connectors.fakes import FIELDS

JIRA = "https://jira.example"
SNOW = "https://snow.example"
JIRA_API = f"{JIRA}/rest/api/2"
JSON = {"Content-Type": "application/json"}


def _params(request: requests.PreparedRequest) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(request.url or "").query, True).items()}


@contextmanager
def worlds(issues: list[Any], rows: list[Any]) -> Iterator[responses.RequestsMock]:
    """Jira serves `issues` on one search page (every search), project PAY and the stock
    fields; ServiceNow serves `rows` as the incident table's first page."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{JIRA_API}/field", json=FIELDS)
        mock.get(f"{JIRA_API}/myself", json={"accountId": "a1", "timeZone": "Pacific/Auckland"})
        mock.get(f"{JIRA_API}/project/search", json={
            "values": [{"key": "PAY", "id": "10000", "name": "Payments"}], "isLast": True})
        mock.get(f"{JIRA_API}/project/PAY/versions", json=[])
        mock.get(f"{JIRA_API}/search/jql", json={"issues": issues, "isLast": True})

        def table(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
            query = _params(request).get("sysparm_query", "")
            offset = int(_params(request).get("sysparm_offset", "0"))
            # the first query of a read; what follows a page (`sys_id>`, `sys_updated_on>`) is empty
            first = not re.search(r"sys_id>|sys_updated_on>(?!=)|sys_updated_on=", query)
            page = rows if first and offset == 0 else []
            headers = {**JSON, "X-Total-Count": str(len(rows) if first else 0)}
            return 200, headers, json.dumps({"result": page})

        mock.add_callback(responses.GET, re.compile(rf"{SNOW}/api/now/table/incident.*"),
                          callback=table)
        yield mock


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "smo-bridge.yaml"
    path.write_text(f"""state: sqlite:///{tmp_path / 'state.db'}
sources:
  - name: jira
    kind: jira
    url: {JIRA}
    deployment: cloud
    auth: {{kind: basic, username: bot@example.com, password: secret}}
    retry: {{max_attempts: 1}}
  - name: snow
    kind: servicenow
    url: {SNOW}
    auth: {{kind: basic, username: smo.bridge, password: secret}}
    retry: {{max_attempts: 1}}
    tables: [incident]
    display_value: "false"
    deletions: false
""", encoding="utf-8")
    return path
