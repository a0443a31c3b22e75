"""A lookup keeps only the parts of its records the rules read: what it holds grows with what
is read, not with the records (a ServiceNow task_sla row carries dozens of fields, the rules
read one), and every read gives what the whole record would have given."""

from __future__ import annotations

from typing import Any

from bridge.models import RawRecord
from mappings.loader import default_mapping
from mappings.paths import parse_path, projector, resolve_names

NOISE = {f"u_field_{i}": {"value": f"v{i}", "display_value": f"Value {i}"} for i in range(40)}


def raw(stream: str, key: str, payload: dict[str, Any], source: str = "snow") -> RawRecord:
    return RawRecord(source=source, stream=stream, key=key, payload=payload)


def steps(path: str) -> Any:
    return resolve_names(parse_path(path), {})


def test_a_servicenow_lookup_keeps_only_the_field_read_and_maps_as_before() -> None:
    bound = default_mapping("servicenow").bind()
    sla = {"sys_id": "sla1", "task": "inc1", "stage": "breached", "has_breached": "true", **NOISE}
    assert bound.feed(raw("task_sla", "sla1", sla))
    assert bound.lookup_tables["breached_slas"] == {"inc1": {"has_breached": "true"}}
    assert bound.changes == [("breached_slas", "inc1", "sla1", {"has_breached": "true"})]
    incident = {"sys_id": "inc1", "number": "INC1", "short_description": "Down",
                "opened_at": "2026-10-01 08:00:00", "sys_created_on": "2026-10-01 08:00:00"}
    outcome = bound.map(raw("incident", "inc1", incident))
    assert outcome.kind == "ticket", outcome.reason
    assert outcome.ticket.sla_breached is True


def test_a_change_to_a_field_no_rule_reads_is_taken_silently() -> None:
    bound = default_mapping("servicenow").bind()
    sla = {"sys_id": "sla1", "task": "inc1", "has_breached": "true", **NOISE}
    bound.feed(raw("task_sla", "sla1", sla))
    bound.changes.clear()
    assert not bound.feed(raw("task_sla", "sla1", {**sla, "u_field_3": "changed"}))
    assert bound.changes == []


def test_jira_display_names_are_resolved_before_projecting() -> None:
    bound = default_mapping("jira").bind()
    service, go_live = bound.catalogue["Service"], bound.catalogue["Go-live date"]
    epic = {"key": "TP-1", "fields": {
        "project": {"key": "TP"}, "issuetype": {"name": "Epic"}, "status": {"name": "Open"},
        service: "Payments", go_live: "2026-12-01", "description": "x" * 5000,
        "customfield_99999": ["unread"] * 100}}
    bound.feed(raw("issues", "TP-1", epic, source="jira"))
    kept = bound.lookup_tables["transition_epics"]["TP"]
    assert kept["key"] == "TP-1"
    assert kept["fields"] == {service: "Payments", go_live: "2026-12-01", "status": {"name": "Open"}}


def test_saved_whole_records_are_projected_when_loaded() -> None:
    bound = default_mapping("servicenow").bind()
    bound.load_entries("users", [("u1", "u1", {"sys_id": "u1", "name": "Ana Ruiz", **NOISE})])
    bound.load_entries("approvals", [("t1", "*", {"a1": {"approver": "u1", "state": "approved",
                                                         **NOISE}})])
    assert bound.lookup_tables["users"] == {"u1": {"name": "Ana Ruiz"}}
    assert dict(bound.lookup_tables["approvals"]["t1"]) == {"a1": {"approver": "u1"}}


def test_the_projection_keeps_whatever_a_path_reaches_below_its_keys() -> None:
    record = {"a": {"b": [{"c": 1, "d": 2}], "e": 3}, "f": {"g": {"h": 4, "i": 5}}, "j": "text",
              "k": 6}
    project = projector([steps("a.b[0].c"), steps("f.g.h"), steps("f.g"), steps("j.x"),
                         steps("missing.y")])
    # an index keeps the list whole; a shorter path (f.g) keeps its value whole whatever the
    # order; a key below a text keeps the text (a getter reads None from both)
    assert project(record) == {"a": {"b": [{"c": 1, "d": 2}]}, "f": {"g": {"h": 4, "i": 5}},
                               "j": "text"}
    assert projector([steps("[0]")])(record) is record  # read from the root: kept whole
    assert project("not a record") == "not a record"


def test_equal_small_projected_values_are_one_object() -> None:
    bound = default_mapping("servicenow").bind()
    for n in range(3):
        bound.feed(raw("task_sla", f"sla{n}", {"sys_id": f"sla{n}", "task": f"inc{n}",
                                               "has_breached": {"value": "true",
                                                                "display_value": "true"}, **NOISE}))
    bound.load_entries("breached_slas", [("inc9", "sla9", {"has_breached": {
        "display_value": "true", "value": "true"}, "stage": "breached"})])
    table = bound.lookup_tables["breached_slas"]
    assert len(table) == 4 and len({id(v) for v in table.values()}) == 1
    assert table["inc9"] == {"has_breached": {"value": "true", "display_value": "true"}}


def test_a_reference_whose_key_no_store_keeps_is_no_lookup_entry(store_url: str) -> None:
    """A group named with 300 characters, or with NUL, fits no stored entry (PostgreSQL would
    refuse the page): it is left out of the lookup, in memory and in the store alike, and
    the page with it is stored."""
    from bridge.sourcemaps import SourceMapping
    from bridge.store import open_store
    from bridge.store import repository as repo
    from connectors.base import BasicAuth, SourceConfig

    groups = [raw("sys_user_group", key, {"sys_id": key, "name": name})
              for key, name in (("g1", "Service Desk"), ("g2", "G" * 300), ("g3", "Ops\x00Team"))]
    source = SourceConfig(name="snow", kind="servicenow", url="https://snow.example",
                          auth=BasicAuth(kind="basic", username="u", password="p"))  # type: ignore[arg-type]
    mapping = SourceMapping(source, default_mapping("servicenow"))
    store = open_store(store_url)
    try:
        with store.engine.begin() as conn:
            written = repo.store_raw(conn, groups)
            mapping.apply(conn, written.changed)
            in_memory = set(mapping.bound(conn).lookup_tables["groups_by_name"])
        with store.engine.connect() as conn:
            entries = sorted((name, entry) for name, entry, _, _ in repo.load_lookup_entries(conn, "snow"))
    finally:
        store.close()
    assert ("groups_by_name", "Service Desk") in entries
    assert {entry for name, entry in entries if name == "groups_by_name"} == {"Service Desk"}
    assert {entry for name, entry in entries if name == "groups"} == {"g1", "g2", "g3"}
    assert in_memory == {"Service Desk"}
