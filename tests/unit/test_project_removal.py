"""A record that produces no project any more takes the project it produced with it, found
by the record it names (`ref`), not by its own key: a ServiceNow project is keyed by its
number, its record by its sys_id. Deleted at the source, moved out of what the rules map
(a Jira project recategorised), or skipped by an edited mapping in a remap: the project,
and so its transition, goes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mappings
from bridge.models import RawRecord
from bridge.sourcemaps import SourceMapping
from bridge.store import Store, open_store
from bridge.store import repository as repo
from connectors.base import BasicAuth, SourceConfig
from mappings.loader import default_mapping, load_mapping


def mapping(kind: str, compiled: Any = None) -> SourceMapping:
    source = SourceConfig(name=kind, kind=kind, url=f"https://{kind}.example",
                          auth=BasicAuth(kind="basic", username="u", password="p"))  # type: ignore[arg-type]
    return SourceMapping(source, compiled or default_mapping(kind))


def store_and_map(store: Store, mapped: SourceMapping, records: list[RawRecord]) -> None:
    with store.engine.begin() as conn:
        written = repo.store_raw(conn, records)
        mapped.apply(conn, written.changed)


def project_keys(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(p.key for p in repo.all_projects(conn))


def snow_project(sys_id: str, number: str) -> RawRecord:
    return RawRecord(source="servicenow", stream="pm_project", key=sys_id, payload={
        "sys_id": sys_id, "number": number, "short_description": f"Project {number}",
        "u_service": {"value": "svc1", "display_value": "Payments"}})


def jira_project(key: str, category: str) -> RawRecord:
    return RawRecord(source="jira", stream="projects", key=key, payload={
        "key": key, "name": f"{key} project", "projectCategory": {"name": category},
        "versions": []})


def test_a_servicenow_project_deleted_at_the_source_goes(store_url: str) -> None:
    store, snow = open_store(store_url), mapping("servicenow")
    try:
        store_and_map(store, snow, [snow_project("p1", "PRJ0001"), snow_project("p2", "PRJ0002")])
        assert project_keys(store) == ["PRJ0001", "PRJ0002"]
        gone = RawRecord(source="servicenow", stream="pm_project", key="p1", payload={},
                         deleted=True)
        store_and_map(store, snow, [gone])
        assert project_keys(store) == ["PRJ0002"]
    finally:
        store.close()


def test_a_jira_project_moved_out_of_its_category_goes(store_url: str) -> None:
    store, jira = open_store(store_url), mapping("jira")
    try:
        store_and_map(store, jira, [jira_project("PAY", "Service Transition"),
                                    jira_project("OPS", "Service Transition")])
        assert project_keys(store) == ["OPS", "PAY"]
        store_and_map(store, jira, [jira_project("PAY", "Business as usual")])
        assert project_keys(store) == ["OPS"]
    finally:
        store.close()


def test_a_project_an_edited_mapping_skips_goes_in_the_remap(store_url: str, tmp_path: Path) -> None:
    # the shipped mapping with its project rule narrowed to one project
    shipped = Path(mappings.__file__).with_name("defaults") / "jira.yaml"
    rule = "    stream: projects\n    when: {path: projectCategory.name, equals: Service Transition}\n"
    assert shipped.read_text().count(rule) == 1
    edited = tmp_path / "jira.yaml"
    edited.write_text(shipped.read_text().replace(
        rule, "    stream: projects\n    when: {path: key, equals: OPS}\n"))
    store = open_store(store_url)
    try:
        store_and_map(store, mapping("jira"), [jira_project("PAY", "Service Transition"),
                                               jira_project("OPS", "Service Transition")])
        with store.engine.begin() as conn:
            mapping("jira", load_mapping([edited], "jira")).remap_all(conn)
        assert project_keys(store) == ["OPS"]
    finally:
        store.close()
