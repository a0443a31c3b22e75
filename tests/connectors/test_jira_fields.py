"""One field-name rule for the connector and the mappings (connectors.jira.field_catalogue)."""

from __future__ import annotations

from typing import Any

import responses

from bridge.models import RawRecord
from connectors.jira_fields import field_catalogue, resolve_field
from mappings import default_mapping
from tests.connectors.conftest import jira

API = "https://jira.example/rest/api/2"
PLUGIN = "com.atlassian.jira.plugin.system.customfieldtypes:"
TEAMS = "com.atlassian.teams:rm-teams-custom-field-team"  # Cloud's stock Team field


def custom(number: int, name: str, kind: str, custom_type: str) -> dict[str, Any]:
    plugin = custom_type if ":" in custom_type else PLUGIN + custom_type
    return {
        "id": f"customfield_{number}",
        "name": name,
        "custom": True,
        "clauseNames": [f"cf[{number}]", name],
        "schema": {"type": kind, "custom": plugin, "customId": number},
    }


# Cloud's stock Atlassian "Team" (type team, lower id) next to an admin's "Team" select list,
# a "Story points" in another case than the mapping's "Story Points", and two case variants.
FIELDS: list[dict[str, Any]] = [
    {"id": "summary", "name": "Summary", "custom": False, "schema": {"type": "string"}},
    {"id": "created", "name": "Created", "custom": False, "schema": {"type": "datetime"}},
    {"id": "updated", "name": "Updated", "custom": False, "schema": {"type": "datetime"}},
    custom(10001, "Team", "team", TEAMS),
    custom(10301, "Team", "option", "select"),
    custom(10302, "Team", "option", "select"),
    custom(10310, "Story points", "number", "float"),
    custom(10320, "SERVICE", "string", "textfield"),
    custom(10321, "service", "string", "textfield"),
]


def test_among_fields_with_one_name_a_usable_type_then_the_lowest_id_wins() -> None:
    catalogue = field_catalogue(FIELDS)
    assert catalogue["Team"] == "customfield_10301"
    # the order the instance lists its fields in does not matter
    assert field_catalogue(reversed(FIELDS)) == catalogue


def test_stock_before_custom_for_one_name() -> None:
    fields = [
        custom(10400, "Summary", "string", "textfield"),
        {"id": "summary", "name": "Summary", "custom": False, "schema": {"type": "string"}},
    ]
    assert field_catalogue(fields) == {"Summary": "summary"}


def test_exact_name_before_case_insensitive_then_lowest_id_among_variants() -> None:
    catalogue = field_catalogue(FIELDS)
    assert resolve_field(catalogue, "Story Points") == "customfield_10310"
    assert resolve_field(catalogue, "service") == "customfield_10321"  # exact
    assert resolve_field(catalogue, "Service") == "customfield_10320"  # lowest of two variants
    assert resolve_field(catalogue, "team") == "customfield_10301"
    assert resolve_field(catalogue, "Go-live date") is None


def test_the_only_team_field_is_used_even_when_its_type_is_special() -> None:
    assert field_catalogue([custom(10001, "Team", "team", TEAMS)]) == {"Team": "customfield_10001"}


def test_the_mapping_binds_by_the_same_rule() -> None:
    records = [RawRecord(source="jira", stream="fields", key=f["id"], payload=f) for f in FIELDS]
    catalogue = default_mapping("jira").catalogue_from(records)
    assert catalogue == field_catalogue(FIELDS)
    bound = default_mapping("jira").bind(catalogue)
    payload = {
        "id": "1",
        "key": "OPS-1",
        "fields": {
            "summary": "VPN down",
            "issuetype": {"name": "Incident"},
            "project": {"key": "OPS"},
            "created": "2026-03-05T14:02:11.000-0500",
            "customfield_10001": {"id": "a1b2", "name": "Platform crew", "title": "Platform crew"},
            "customfield_10301": {"value": "Database", "id": "10400"},
            "customfield_10302": {"value": "Security", "id": "10401"},
            "customfield_10310": 5.0,
            # the sandbox's default ids must not win over the instance's fields
            "customfield_10044": {"value": "Network", "id": "1"},
            "customfield_10016": 99.0,
        },
    }
    ticket = bound.map(RawRecord(source="jira", stream="issues", key="OPS-1", payload=payload))
    assert ticket.ticket is not None, ticket.reason
    assert ticket.ticket.team == "Database"
    assert ticket.ticket.attributes["story_points"] == 5.0


def test_the_connector_asks_for_the_fields_the_mapping_reads(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(f"{API}/field", json=FIELDS)
    connector = jira(deployment="server", issue_fields=["summary", "Team", "Story Points"])
    ids = connector.issue_field_ids()
    catalogue = field_catalogue(FIELDS)
    assert ids == ["summary", "customfield_10301", "customfield_10310", "updated", "created"]
    assert ids[1:3] == [resolve_field(catalogue, "Team"), resolve_field(catalogue, "Story Points")]
