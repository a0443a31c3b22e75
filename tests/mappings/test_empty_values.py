"""Empty is missing: `""`, null and an absent field read alike, in every path shape."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.models import RawRecord
from mappings import default_mapping
from mappings.paths import compile_getter, parse_path

BLANK_RECORDS: list[dict[str, Any]] = [
    {"a": {"b": ""}},
    {"a": {"b": None}},
    {"a": {}},
    {},
]


@pytest.mark.parametrize("record", BLANK_RECORDS)
@pytest.mark.parametrize("unwrap", [False, True])
def test_blank_reads_as_missing(record: dict[str, Any], unwrap: bool) -> None:
    assert compile_getter(parse_path("a.b"), unwrap_value=unwrap)(record) is None


@pytest.mark.parametrize("path", ["x", "a.b.c", "a.b.c.d", "a[0]", "a.b.value"])
def test_blank_text_is_missing_at_every_depth(path: str) -> None:
    records = {"x": "", "a.b.c": {"a": {"b": {"c": ""}}}, "a.b.c.d": {"a": {"b": {"c": {"d": ""}}}},
               "a[0]": {"a": [""]}, "a.b.value": {"a": {"b": {"value": ""}}}}
    assert compile_getter(parse_path(path), unwrap_value=True)(records[path]) is None


def test_servicenow_display_pairs_with_blank_value_are_missing() -> None:
    getter = compile_getter(parse_path("time_worked"), unwrap_value=True)
    assert getter({"time_worked": {"value": "", "display_value": ""}}) is None
    assert getter({"time_worked": {"value": "1970-01-01 02:00:00", "display_value": "2h"}}) \
        == "1970-01-01 02:00:00"


def test_fan_outs_drop_blank_elements() -> None:
    getter = compile_getter(parse_path("labels[*]"))
    assert getter({"labels": ["a", "", None, "b"]}) == ["a", "b"]
    names = compile_getter(parse_path("components[*].name"))
    assert names({"components": [{"name": ""}, {"name": "API"}, {}]}) == ["API"]


def _blank(value: Any = "") -> dict[str, str]:
    return {"value": value, "display_value": value}


def test_a_servicenow_ticket_with_unset_fields_is_mapped_not_quarantined() -> None:
    payload = {
        "sys_id": _blank("0a1b2c3d4e5f60718293a4b5c6d7e8f9"),
        "number": _blank("INC0010042"),
        "short_description": _blank("Printer jams"),
        "state": {"value": "2", "display_value": "In Progress"},
        "active": _blank("true"),
        "priority": {"value": "3", "display_value": "3 - Moderate"},
        "opened_at": _blank("2026-03-05 14:02:11"),
        "sys_updated_on": _blank("2026-03-05 15:02:11"),
        "time_worked": _blank(), "made_sla": _blank(), "resolved_at": _blank(),
        "closed_at": _blank(), "assignment_group": _blank(), "business_service": _blank(),
        "category": _blank(),
    }
    record = RawRecord(source="snow", stream="incident", key="0a1b2c3d4e5f60718293a4b5c6d7e8f9",
                       payload=payload)
    outcome = default_mapping("servicenow").bind().map(record)
    assert outcome.kind == "ticket", outcome.reason
    ticket = outcome.ticket
    assert ticket is not None
    assert ticket.effort_hours is None
    assert ticket.sla_breached is not True  # an unset made_sla is no breach
    assert ticket.resolved is None
    assert ticket.status_category == "in_progress"
