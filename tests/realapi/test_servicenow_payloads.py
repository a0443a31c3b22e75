"""Recorded ServiceNow payloads (see shared/realapi/SOURCES.md) through the connector's record
handling and the shipped default mapping: real shapes (numbers as 4.0, booleans, display-only
rows, `""` for unset) must map, not quarantine. The files stay beside the repository; a
missing one fails the test."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import responses

from bridge.models import RawRecord
from mappings import default_mapping
from tests.connectors.conftest import snow

RECORDED = Path(__file__).resolve().parents[2].parent / "shared" / "realapi" / "servicenow"
TABLE = "https://snow.example/api/now/table"


def recorded(name: str) -> list[dict[str, Any]]:
    path = RECORDED / name
    assert path.is_file(), f"recorded payload missing: {path} (see shared/realapi/SOURCES.md)"
    result = json.loads(path.read_text(encoding="utf-8"))["result"]
    return result if isinstance(result, list) else [result]


def pulled(table: str, rows: list[dict[str, Any]]) -> list[RawRecord]:
    """The rows as the connector reads them from a Table API page."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(f"{TABLE}/{table}", json={"result": rows})
        rsps.get(f"{TABLE}/{table}", json={"result": []})  # the rest of the last second
        rsps.get(f"{TABLE}/{table}", json={"result": []})  # after it: done
        quarantined: list[Any] = []
        records = list(snow(tables=[table], deletions=False).read(table, None, quarantined.append))
    assert quarantined == []
    return records


def test_a_recorded_change_request_maps_to_a_ticket() -> None:
    [record] = pulled("change_request", recorded("rapid7_change_request_create_display_all.json"))
    assert record.key == "25a42de31b582010593876a61a4bcbc8"
    assert record.updated == datetime(2020, 11, 11, 17, 54, 57, tzinfo=UTC)  # the value, UTC
    outcome = default_mapping("servicenow").bind().map(record)
    assert outcome.kind == "ticket", outcome.reason
    ticket = outcome.ticket
    assert ticket is not None
    assert ticket.key == "25a42de31b582010593876a61a4bcbc8"
    assert ticket.display_key == "CHG0030003"
    assert ticket.attributes["category"] == "Other"
    assert (ticket.type, ticket.practice, ticket.capability) == (
        "Change",
        "change_enablement",
        "tactical",
    )
    assert (ticket.status, ticket.status_category) == ("New", "todo")  # state value -5.0
    assert ticket.priority == "low"  # priority value 4.0
    assert ticket.summary == "Reboot server on scheduled interval"
    assert ticket.opened == datetime(2020, 11, 11, 17, 54, 57, tzinfo=UTC)
    assert (ticket.resolved, ticket.effort_hours, ticket.sla_breached) == (None, None, False)
    assert ticket.team is None  # assignment_group is "" (unset)


def test_the_same_change_in_value_mode_maps_alike() -> None:
    [row] = recorded("rapid7_change_request_create_display_all.json")
    plain = {k: v["value"] for k, v in row.items() if isinstance(v, dict) and "value" in v}
    [record] = pulled("change_request", [plain])
    ticket = default_mapping("servicenow").bind().map(record).ticket
    assert ticket is not None
    assert (ticket.key, ticket.status, ticket.status_category, ticket.priority) == (
        "25a42de31b582010593876a61a4bcbc8",
        "-5",
        "todo",
        "low",
    )


def test_a_recorded_release_project_is_read_and_left_unmapped() -> None:
    """A release (rm_release, display values only) is no transition: skipped, not quarantined."""
    [record] = pulled("rm_release", recorded("ocean_release_list.json"))
    assert record.key == "053892cb47357650360b3b12d16d43eb"
    assert record.updated == datetime(2025, 12, 18, 3, 37, 47, tzinfo=UTC)
    outcome = default_mapping("servicenow").bind().map(record)
    assert (outcome.kind, outcome.reason) == ("skip", "stream 'rm_release' is not mapped")


def test_a_recorded_release_as_a_project_row_without_a_service_is_skipped() -> None:
    [row] = recorded("ocean_release_list.json")
    record = RawRecord(source="snow", stream="pm_project", key=row["sys_id"], payload=row)
    assert default_mapping("servicenow").bind().map(record).kind == "skip"
    with_service = {**row, "business_service": "svc1", "end_date": row["actual_end_date"]}
    mapped = (
        default_mapping("servicenow")
        .bind()
        .map(RawRecord(source="snow", stream="pm_project", key=row["sys_id"], payload=with_service))
    )
    assert mapped.kind == "project", mapped.reason
    assert mapped.project is not None
    assert (mapped.project.key, mapped.project.go_live) == ("REL0010001", date(2025, 12, 18))
    # "" everywhere else: no milestone invented, nothing quarantined
    assert [m.kind for m in mapped.project.milestones] == ["go_live"]


def test_recorded_vulnerable_items_keep_their_shape_through_the_task_rule() -> None:
    """Vulnerable items are task rows of another table; read with the task-table rule (as an
    admin mapping them would), display-only values and no opened_at must not quarantine."""
    rows = recorded("ocean_vulnerable_item_list.json") + recorded(
        "rapid7_vulnerable_item_create.json"
    )
    records = pulled("incident", rows)
    assert sorted(r.key for r in records) == sorted(str(r["sys_id"]) for r in rows)
    bound = default_mapping("servicenow").bind()
    tickets = {r.key: bound.map(r) for r in records}
    assert all(o.kind == "ticket" for o in tickets.values()), {
        k: o.reason for k, o in tickets.items()
    }
    vit = tickets["b7ad7e0347b1f650360b3b12d16d434f"].ticket
    assert vit is not None
    assert vit.display_key == "VIT0010001"
    assert vit.opened == datetime(2025, 12, 18, 6, 21, 33, tzinfo=UTC)  # sys_created_on
    assert (vit.status, vit.status_category) == ("Under Investigation", "in_progress")
    assert vit.priority == "high"  # display-only "2 - High"
