"""A live instance's gaps: empty fields, legacy and localised state labels, a duplicate number."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import requests

from bridge.sandbox import Sandbox
from tests.sandbox.conftest import AUTH


def every(sb: Sandbox, table: str, **params: Any) -> list[dict[str, Any]]:
    response = requests.get(
        f"{sb.servicenow_url}/api/now/table/{table}",
        params={"sysparm_display_value": "all", **params},
        auth=AUTH,
        timeout=10,
    )
    assert response.status_code == 200
    result: list[dict[str, Any]] = response.json()["result"]
    return result


@pytest.fixture(scope="module")
def admin_view() -> Any:
    """Every row (no ACL hides any), so shares are counted over the whole table."""
    with Sandbox(seed=42, tickets=1500, admin=True) as sb:
        yield sb


def share(rows: list[dict[str, Any]], test: Any) -> float:
    return sum(1 for r in rows if test(r)) / len(rows)


def test_unset_fields_are_empty_strings_in_realistic_shares(admin_view: Sandbox) -> None:
    incidents = every(admin_view, "incident")
    empty = {"display_value": "", "value": ""}
    assert 0.15 < share(incidents, lambda r: r["time_worked"] == empty) < 0.4
    assert 0.03 < share(incidents, lambda r: r["made_sla"] == empty) < 0.15
    unresolved = [r for r in incidents if not r["resolved_at"]["value"]]
    resolved = [r for r in incidents if r["resolved_at"]["value"]]
    assert unresolved and all(r["resolved_at"] == empty for r in unresolved)
    assert all(r["close_code"] == empty for r in unresolved)
    assert 0.05 < share(resolved, lambda r: r["close_code"] == empty) < 0.3
    assert all(r["time_worked"]["display_value"] for r in incidents if r["time_worked"]["value"])
    plain = requests.get(
        f"{admin_view.servicenow_url}/api/now/table/incident",
        params={"sysparm_limit": 50},
        auth=AUTH,
        timeout=10,
    ).json()["result"]
    assert "" in {r["time_worked"] for r in plain}  # value mode: a bare empty string


def test_some_closed_tickets_carry_legacy_or_localised_states(admin_view: Sandbox) -> None:
    labels: Counter[str] = Counter()
    for table in ("incident", "problem"):
        for row in every(admin_view, table, sysparm_fields="state,active,closed_at"):
            if row["state"]["display_value"] in ("Geschlossen", "Closed/Resolved"):
                assert row["active"]["value"] == "false" and row["closed_at"]["value"]
            labels[row["state"]["display_value"]] += 1
    assert labels["Geschlossen"] and labels["Closed/Resolved"]
    assert labels["Closed"] > 5 * labels["Geschlossen"]  # a few rows, not the rule


def test_one_incident_number_is_on_two_records(admin_view: Sandbox) -> None:
    rows = every(admin_view, "incident", sysparm_fields="sys_id,number")
    counts = Counter(r["number"]["value"] for r in rows)
    doubled = [n for n, c in counts.items() if c > 1]
    assert len(doubled) == 1 and counts[doubled[0]] == 2
    twins = every(admin_view, "incident", sysparm_query=f"number={doubled[0]}")
    assert len({t["sys_id"]["value"] for t in twins}) == 2


def test_the_customised_instance_keeps_its_dense_rows() -> None:
    with Sandbox(seed=42, tickets=600, custom_columns=True) as sb:
        incidents = every(sb, "incident")
        assert all(r["made_sla"]["value"] in ("true", "false") for r in incidents)
        assert not [r for r in incidents if r["state"]["display_value"] == "Geschlossen"]
        numbers = [r["number"]["value"] for r in incidents]
        assert len(numbers) == len(set(numbers))
