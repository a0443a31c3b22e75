"""The JSON Schemas editors use: valid shipped files pass, and each typo class admins make
is caught by the schema alone (before the loader's own checks)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from bridge.cli.main import cli
from bridge.schemas import FILES, config_schema, mapping_schema
from mappings.loader import default_path

CONFIG: dict[str, Any] = {
    "state": "sqlite:///state.db",
    "sources": [
        {"name": "jira", "kind": "jira", "url": "https://example.atlassian.net",
         "auth": {"kind": "bearer", "token": "${JIRA_TOKEN}"}, "projects": ["PAYX"]},
        {"name": "snow", "kind": "servicenow", "url": "https://example.service-now.com",
         "auth": {"kind": "basic", "username": "u", "password": "${SNOW_PASSWORD}"}},
    ],
    "push": {"gate_status": ["jira", "snow"], "knowledge": "snow"},
    "daemon": {"push_interval_seconds": 60},
    "policy": {"file": "smo-policy.yaml", "overrides": {"snow": "mapping"}},
}


def _errors(schema: dict[str, Any], doc: Any) -> list[str]:
    return [e.message for e in Draft202012Validator(schema).iter_errors(doc)]


def _set(path: list[Any], value: Any) -> Callable[[Any], None]:
    def apply(doc: Any) -> None:
        for step in path[:-1]:
            doc = doc[step]
        doc[path[-1]] = value
    return apply


def _rename(path: list[Any], old: str, new: str) -> Callable[[Any], None]:
    def apply(doc: Any) -> None:
        for step in path:
            doc = doc[step]
        doc[new] = doc.pop(old)
    return apply


CONFIG_TYPOS = {
    "unknown top-level key": _rename([], "state", "stat"),
    "misspelt connector kind": _set(["sources", 0, "kind"], "jria"),
    "unknown source key": _rename(["sources", 1], "url", "ulr"),
    "a list written as one value": _set(["sources", 0, "projects"], "PAYX"),
    "misspelt auth kind": _set(["sources", 0, "auth", "kind"], "token"),
    "number out of range": _set(["daemon", "push_interval_seconds"], 2),
    "unknown policy key": _rename(["policy"], "overrides", "override"),
}


def _gate_item(doc: Any, key: str) -> dict[str, Any]:
    return next(i for i in doc["gate"]["items"] if i["key"] == key)


MAPPING_TYPOS: dict[str, Callable[[Any], None]] = {
    "unknown section": _rename([], "gate", "gates"),
    "unknown gate item key": lambda d: _gate_item(d, "sla").update(responsable="x"),
    "misspelt evidence kind": lambda d: _gate_item(d, "runbook")["evidence"].update(kind="deliverble"),
    "due not an offset": lambda d: _gate_item(d, "sla").update(due="14days"),
    "misspelt workflow state": lambda d: d["knowledge"].update(workflow_state="publsihed"),
    "rules not a list": _set(["classification", "rules"], "incidents"),
    "misspelt meta kind key": _rename(["meta"], "kind", "knid"),
}


def test_valid_files_pass_their_schemas() -> None:
    assert _errors(config_schema(), CONFIG) == []
    for kind in ("jira", "servicenow"):
        shipped = yaml.safe_load(default_path(kind).read_text())
        assert _errors(mapping_schema(), shipped) == [], kind


@pytest.mark.parametrize("typo", sorted(CONFIG_TYPOS))
def test_the_configuration_schema_catches(typo: str) -> None:
    doc = copy.deepcopy(CONFIG)
    CONFIG_TYPOS[typo](doc)
    assert _errors(config_schema(), doc), typo


@pytest.mark.parametrize("typo", sorted(MAPPING_TYPOS))
def test_the_mapping_schema_catches(typo: str) -> None:
    doc = yaml.safe_load(default_path("jira").read_text())
    MAPPING_TYPOS[typo](doc)
    assert _errors(mapping_schema(), doc), typo


def test_schema_write_gives_both_files_with_dialect_and_id(tmp_path: Path) -> None:
    from click.testing import CliRunner

    done = CliRunner().invoke(cli, ["schema", "--write", str(tmp_path / "schemas")])
    assert done.exit_code == 0, done.output
    for name in FILES.values():
        schema = json.loads((tmp_path / "schemas" / name).read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"].startswith("urn:smo-bridge:schema:")
        Draft202012Validator.check_schema(schema)


def _properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every property of every object in the schema, as (where, its schema)."""
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, sub in (node.get("properties") or {}).items():
                found.append((f"{where}.{key}", sub))
                walk(sub, f"{where}.{key}")
            for key, sub in node.items():
                if key != "properties":
                    walk(sub, f"{where}/{key}")
        elif isinstance(node, list):
            for sub in node:
                walk(sub, where)

    walk(schema, "")
    return found


@pytest.mark.parametrize(("name", "build", "at_least"), [("mapping", mapping_schema, 190),
                                                         ("configuration", config_schema, 75)])
def test_every_property_has_a_description(name: str, build: Callable[[], dict[str, Any]],
                                          at_least: int) -> None:
    found = _properties(build())
    undescribed = [where for where, prop in found if not prop.get("description")]
    assert len(found) >= at_least, name
    assert undescribed == [], f"{len(found) - len(undescribed)}/{len(found)} described"


def test_kinds_are_enums_and_offsets_ids_and_names_have_patterns() -> None:
    schema = mapping_schema()
    defs = schema["$defs"]
    assert defs["Meta"]["properties"]["kind"]["enum"] == ["jira", "servicenow"]
    assert set(defs["GateItemDef"]["properties"]["evidence"]["discriminator"]["mapping"]) == {
        "field_set", "project", "deliverable", "receivers_signoff", "ticket_done",
        "tickets_approved", "no_open_tickets", "article_published", "milestones", "all", "any"}
    doc = yaml.safe_load(default_path("jira").read_text())
    for mistake in (lambda d: d["meta"].update(kind="jria"),
                    lambda d: d["meta"].update(custom_fields={"Team": "custom field 10044"}),
                    lambda d: d["classification"].update(practices={"Vendor Management": "tactical"}),
                    lambda d: _gate_item(d, "sla").update(due="-2 weeks"),
                    lambda d: _gate_item(d, "sla").update(key="SLA-agreed")):
        bad = copy.deepcopy(doc)
        mistake(bad)
        assert _errors(schema, bad)
