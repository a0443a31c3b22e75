"""The specialised mapping (readers fused when the mapping is bound, fast condition tests,
the remembered classification choice, models built without a second validation) maps every
record exactly as the general form does (`mappings.fused.ENABLED` off): the recorded vendor
payloads of shared/realapi, the sandbox's seeded records, and odd-valued copies of both,
with both shipped defaults. Quarantines name the same field and reason. And what it builds
is what pydantic validation builds from the same values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bridge.models import Project, RawRecord, Ticket
from connectors.jira_fields import field_catalogue
from mappings import BoundMapping, default_mapping, fused
from mappings.outcome import MapOutcome
from mappings.parsing import parse_datetime
from mappings.transforms import TransformError
from mappings.values import COERCE
from tests.mappings import recorded_records as recorded

SNOW_MAPPED = set(recorded.SNOW_STREAMS)


def bind_both(kind: str, catalogue: dict[str, str] | None,
              monkeypatch: pytest.MonkeyPatch) -> tuple[BoundMapping, BoundMapping]:
    """(general, specialised) bindings of a shipped default."""
    with monkeypatch.context() as patch:
        patch.setattr(fused, "ENABLED", False)
        general = default_mapping(kind).bind(catalogue)
    assert fused.ENABLED
    return general, default_mapping(kind).bind(catalogue)


def shown(outcome: MapOutcome) -> tuple[object, ...]:
    # repr shows each value with its type (1 vs 1.0 vs True, a timestamp's zone)
    return outcome.kind, outcome.field, outcome.reason, repr(outcome.entity)


def assert_same(kind: str, records: list[RawRecord], monkeypatch: pytest.MonkeyPatch,
                catalogue: dict[str, str] | None = None) -> dict[str, int]:
    general, special = bind_both(kind, catalogue, monkeypatch)
    for record in records:
        if record.stream in general.lookup_streams:
            assert general.feed(record) == special.feed(record)
    kinds: dict[str, int] = {}
    for record in records:
        expected, got = general.map(record), special.map(record)
        assert shown(got) == shown(expected), (record.stream, record.key)
        assert got.entity == expected.entity
        # explain maps through the per-record loop that keeps an explanation: same outcome
        assert shown(special.explain(record)) == shown(got), (record.stream, record.key)
        if got.entity is not None:
            rebuilt = type(got.entity).model_validate(got.entity.model_dump())
            # a mapped approval has no `ref` at all (validation gives None): compared without
            exclude = {"approvals": {"__all__": {"ref"}}} if isinstance(got.entity, Project) else None
            # item models keep the order their values were read in: compared as data
            assert json.loads(rebuilt.model_dump_json(exclude=exclude)) == json.loads(
                got.entity.model_dump_json(exclude=exclude))
            if isinstance(got.entity, Ticket):
                assert rebuilt == got.entity
        kinds[got.kind] = kinds.get(got.kind, 0) + 1
    return kinds


def test_recorded_jira_payloads_map_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    records = recorded.jira_recorded()
    records += recorded.mutants(records, {"issues", "projects"})
    kinds = assert_same("jira", records, monkeypatch, field_catalogue(recorded.stock_fields()))
    assert kinds.get("ticket", 0) > 20 and kinds.get("project", 0) >= 2
    assert kinds.get("quarantine", 0) > 10  # odd values: the reasons are compared too


def test_recorded_servicenow_payloads_map_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    records = recorded.servicenow_recorded()
    records += recorded.mutants(records, SNOW_MAPPED, 2)
    kinds = assert_same("servicenow", records, monkeypatch)
    assert kinds.get("ticket", 0) > 50 and kinds.get("quarantine", 0) > 10


@pytest.fixture(scope="module", params=["cloud", "server"])
def seeded(request: pytest.FixtureRequest) -> Iterator[tuple[list[RawRecord], list[RawRecord]]]:
    yield recorded.sandbox_records(request.param, tickets=150)


@pytest.mark.sandbox
def test_seeded_jira_records_map_alike(
        seeded: tuple[list[RawRecord], list[RawRecord]], monkeypatch: pytest.MonkeyPatch) -> None:
    jira, _ = seeded
    catalogue = default_mapping("jira").catalogue_from([r for r in jira if r.stream == "fields"])
    kinds = assert_same("jira", jira + recorded.mutants(jira, {"issues", "projects"}, 2),
                        monkeypatch, catalogue)
    assert kinds.get("ticket", 0) > 100 and kinds.get("project", 0) > 3
    assert kinds.get("quarantine", 0) > 10


@pytest.mark.sandbox
def test_seeded_servicenow_records_map_alike(
        seeded: tuple[list[RawRecord], list[RawRecord]], monkeypatch: pytest.MonkeyPatch) -> None:
    _, snow = seeded
    kinds = assert_same("servicenow", snow + recorded.mutants(snow, SNOW_MAPPED, 2), monkeypatch)
    assert kinds.get("ticket", 0) > 100 and kinds.get("project", 0) > 3
    assert kinds.get("quarantine", 0) > 10


TIMESTAMPS = [
    "2026-03-05 14:02:11", "2026-03-05T14:02:11", "2026-03-05T14:02:11.000+1300",
    "2026-03-05T14:02:11.000-0500", "2026-03-05T14:02:11.000+0000", "2026-03-05T14:02:11Z",
    "2026-03-05T14:02:11+00:00", "2026-03-05T14:02:11.123456+05:30", "2026-03-05",
    "2026-03-05 14:02", "2026-13-45 99:00:00", "2026-02-30 10:00:00", "2026-03-05 14:02:1x",
    "2026-03-05T14:02+01", "2026-03-05X14:02:11", "1709647331", "1709647331000",
    " 2026-03-05 14:02:11", "2026-03-05 14:02:11 ", "not a time", "", "12345678901234567890",
    "2026-03-05T14:02:11.000+13000", "2026-03-05T14:02:11.000+1",
]


@pytest.mark.parametrize("text", TIMESTAMPS)
def test_timestamp_coercion_matches_the_general_parser(text: str) -> None:
    """The coercer's shortcuts for the vendors' forms give what parse_datetime gives,
    value, zone and error message alike."""
    coerce = COERCE["datetime"]
    try:
        expected: object = parse_datetime(text) if text else None
    except ValueError as exc:
        with pytest.raises(TransformError) as raised:
            coerce(text)
        assert str(raised.value) == str(exc)
        return
    got = coerce(text)
    assert repr(got) == repr(expected)
    if isinstance(got, datetime):
        assert got.tzinfo is UTC
