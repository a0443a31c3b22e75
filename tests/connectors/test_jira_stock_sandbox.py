"""The connector and the shipped mapping against the sandbox's stock instance: case-variant
and duplicate field names, JSM SLA objects, a zone behind UTC, Server 5.x statuses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bridge.models import RawRecord, Ticket
from bridge.sandbox import Sandbox
from bridge.sandbox.jira_data import STATUSES, TYPE_NAMES
from connectors.jira import JiraConfig, JiraConnector
from mappings import default_mapping

CATEGORY = {"new": "todo", "indeterminate": "in_progress", "done": "done"}


def stock(**options: Any) -> Iterator[Sandbox]:
    with Sandbox(seed=5, tickets=300, **options) as sb:
        yield sb


@pytest.fixture(params=["cloud", "server"])
def flavour(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    yield from stock(jira_deployment=request.param)


@pytest.fixture
def server_5() -> Iterator[Sandbox]:
    yield from stock(jira_deployment="server", jira_status_categories=False)


def connector(sb: Sandbox) -> JiraConnector:
    return JiraConnector(
        JiraConfig.model_validate(
            {
                "name": "jira",
                "kind": "jira",
                "url": sb.jira_url,
                "auth": {"kind": "basic", "username": "sandbox", "password": "sandbox"},
                "projects": ["OPS", "DEV"],
            }
        )
    )


def mapped(sb: Sandbox) -> dict[str, Ticket]:
    conn = connector(sb)
    fields = list(conn.read("fields"))
    compiled = default_mapping("jira")
    bound = compiled.bind(compiled.catalogue_from(fields))
    out: dict[str, Ticket] = {}
    records: list[RawRecord] = list(conn.read("issues"))
    conn.close()
    assert records
    for record in records:
        outcome = bound.map(record)
        assert outcome.kind == "ticket", (record.key, outcome.field, outcome.reason)
        assert outcome.ticket is not None
        out[record.key] = outcome.ticket
    return out


def test_stock_fields_reach_the_tickets(flavour: Sandbox) -> None:
    sb = flavour
    tickets = mapped(sb)
    data = sb.jira_store.data
    breaches = 0
    for key, ticket in tickets.items():
        h = data.handle_of(key)
        assert h is not None
        cols = data.cols
        # "Team" resolves to the admin's select list, not Cloud's stock team field
        assert ticket.team is not None and not ticket.team.endswith(" squad")
        # "Story Points" is "Story points" on this instance
        if cols["points"][h] >= 0:
            assert ticket.attributes["story_points"] == float(cols["points"][h])
        assert ticket.sla_breached is (cols["breached"][h] == 1)
        breaches += cols["breached"][h] == 1
        assert ticket.status_category == CATEGORY[STATUSES[cols["status"][h]][2]]
        assert ticket.type == TYPE_NAMES[cols["type"][h]]
    assert breaches > 0
    assert any(t.attributes.get("story_points") for t in tickets.values())


def test_server_5_statuses_without_a_category(server_5: Sandbox) -> None:
    sb = server_5
    conn = connector(sb)
    first = next(iter(conn.read("issues")))
    conn.close()
    assert "statusCategory" not in first.payload["fields"]["status"]
    tickets = mapped(sb)
    data = sb.jira_store.data
    seen = set()
    for key, ticket in tickets.items():
        h = data.handle_of(key)
        assert h is not None
        _, name, category = STATUSES[data.cols["status"][h]]
        assert ticket.status_category == CATEGORY[category], name
        seen.add(ticket.status_category)
    assert seen == {"todo", "in_progress", "done"}
