"""Server/DC paging against the sandbox while other users edit issues between pages.

`startAt` paging over `ORDER BY updated` loses an issue each time an already-read issue is
edited (it moves to the end and everything after it shifts back one place); the
connector's keyset paging must emit every issue at least once.
"""

from __future__ import annotations

from collections.abc import Iterator

import jira as jira_library
import pytest

from bridge.sandbox import Sandbox
from connectors.jira import JiraConfig, JiraConnector

TICKETS = 600
PAGE = 15
EDITS = {"edit_rate": 0.5, "seed": 4}


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    """A fresh Server/DC sandbox per test: the edits change it."""
    with Sandbox(seed=7, tickets=TICKETS, jira_deployment="server") as sandbox:
        yield sandbox


def every_key(sb: Sandbox) -> set[str]:
    data = sb.jira_store.data
    return {data.key_of(h) for h in range(len(data.cols))}


def test_startat_paging_loses_issues_under_these_edits(sb: Sandbox) -> None:
    # the control: what the old paging does with the same fault, through the same client
    sb.faults("jira").configure(**EDITS)
    client = jira_library.JIRA(sb.jira_url, basic_auth=("sandbox", "sandbox"), max_retries=0)
    seen: set[str] = set()
    start = 0
    while True:
        page = client.search_issues(
            'updated >= "1970-01-01 00:00" ORDER BY updated ASC, key ASC',
            startAt=start,
            maxResults=PAGE,
            fields=["updated"],
            json_result=True,
        )
        assert isinstance(page, dict)
        seen.update(i["key"] for i in page["issues"])
        start += len(page["issues"])
        if not page["issues"] or start >= page["total"]:
            break
    assert sb.faults("jira").injected["edit"] >= 5
    assert every_key(sb) - seen  # some issue was skipped for good


def test_every_issue_is_emitted_while_issues_are_edited_between_pages(sb: Sandbox) -> None:
    sb.faults("jira").configure(**EDITS)
    connector = JiraConnector(
        JiraConfig.model_validate(
            {
                "name": "jira",
                "kind": "jira",
                "url": sb.jira_url,
                "auth": {"kind": "basic", "username": "sandbox", "password": "sandbox"},
                "deployment": "server",
                "page_size": PAGE,
                "issue_fields": ["summary", "updated"],
            }
        )
    )
    keys = [r.key for r in connector.read("issues")]
    connector.close()
    edits = sb.faults("jira").injected["edit"]
    assert edits >= 5
    assert every_key(sb) <= set(keys)
    # edited issues come again with their new `updated`; nothing else repeats much
    assert len(keys) - len(set(keys)) <= edits
