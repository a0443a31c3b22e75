"""`extends:` — an admin states only what differs from the shipped default: add a practice
and a rule for it, add a gate item, switch one off, change the team table; errors still
name the file and line they are in."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.errors import ConfigError
from mappings.loader import default_mapping, load_mapping

EDIT = """\
extends: default
meta: {kind: jira, version: 1}
classification:
  practices: {vendor_management: tactical}
  rules:
    - {name: vendor tickets, when: {path: labels, contains: vendor}, practice: vendor_management}
  teams:
    values: {Vendors: Supplier Desk}
gate:
  items:
    - key: security_review
      title: Security review passed
      responsible: project_manager
      due: -10d
      evidence: {kind: deliverable, approver_field: null}
    - {key: hypercare, enabled: false}
"""


def test_an_admins_edit_in_under_twenty_lines(tmp_path: Path) -> None:
    assert len(EDIT.splitlines()) < 20
    path = tmp_path / "jira.yaml"
    path.write_text(EDIT)
    mine, shipped = load_mapping([path], "jira"), default_mapping("jira")
    # the catalogue grew by one; every standard practice is still there
    assert set(mine.practices) == set(shipped.practices) | {"vendor_management"}
    # the added rule comes first (first match wins); the default's rules follow unchanged
    assert [r.item.name for r in mine.rules] == ["vendor tickets",
                                                  *(r.item.name for r in shipped.rules)]
    assert mine.rules[0].origin.startswith(str(path))
    assert mine.teams is not None and shipped.teams is not None
    assert mine.teams.values == {**shipped.teams.values, "vendors": "Supplier Desk"}  # ignore_case
    keys = [i.key for i in mine.gate.items]
    assert keys == [*(i.key for i in shipped.gate.items), "security_review"]
    assert [i.key for i in mine.gate.enabled_items] == [
        *(i.key for i in shipped.gate.enabled_items if i.key != "hypercare"), "security_review"]
    hypercare = next(i for i in mine.gate.items if i.key == "hypercare")
    assert hypercare.title == next(i for i in shipped.gate.items if i.key == "hypercare").title
    assert len(mine.projects) == len(shipped.projects) and mine.examples == []


def test_errors_in_an_extending_file_name_that_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "jira.yaml"
    path.write_text(EDIT.replace("due: -10d", "due: 10days"))
    with pytest.raises(ConfigError) as raised:
        load_mapping([path], "jira")
    assert [(i.file, i.line) for i in raised.value.issues or [] if "10days" in i.message] == [
        (str(path), 14)]
    path.write_text(EDIT.replace("practice: vendor_management", "practice: vendor_managment"))
    with pytest.raises(ConfigError) as raised:
        load_mapping([path], "jira")
    assert [(i.file, i.line) for i in raised.value.issues or []
            if "vendor_managment" in i.message] == [(str(path), 6)]


def test_a_file_beside_and_circles(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("extends: default\nmeta: {kind: jira, version: 1}\n"
                    "classification: {default: service_desk}\n")
    top = tmp_path / "top.yaml"
    top.write_text("extends: base.yaml\nmeta: {kind: jira, version: 1}\n")
    assert load_mapping([top], "jira").default_practice == "service_desk"
    base.write_text("extends: top.yaml\nmeta: {kind: jira, version: 1}\n")
    with pytest.raises(ConfigError) as raised:
        load_mapping([top], "jira")
    assert any("a circle" in i.message for i in raised.value.issues or [])
    top.write_text("extends: nope.yaml\nmeta: {kind: jira, version: 1}\n")
    with pytest.raises(ConfigError) as raised:
        load_mapping([top], "jira")
    assert [(i.line, i.message) for i in raised.value.issues or []] == [
        (1, "no mapping file 'nope.yaml' beside this one")]


def test_init_writes_a_starting_file_that_loads_and_show_merges_it(tmp_path: Path) -> None:
    import yaml
    from click.testing import CliRunner

    from bridge.cli.main import cli

    config = tmp_path / "smo-bridge.yaml"
    config.write_text(f"state: sqlite:///{tmp_path / 's.db'}\nsources:\n"
                      "  - {name: jira, kind: jira, url: https://x.atlassian.net,"
                      " auth: {kind: basic, username: u, password: p}}\n")
    runner = CliRunner()
    done = runner.invoke(cli, ["--config", str(config), "mappings", "init", "--source", "jira"])
    assert done.exit_code == 0, done.output
    starter = tmp_path / "jira.mapping.yaml"
    assert load_mapping([starter], "jira").gate.model_dump() == default_mapping("jira").gate.model_dump()
    again = runner.invoke(cli, ["--config", str(config), "mappings", "init", "--source", "jira"])
    assert again.exit_code == 2 and "nothing was overwritten" in again.output
    (tmp_path / "mine.yaml").write_text(EDIT)
    shown = runner.invoke(cli, ["mappings", "show", "--merged", str(tmp_path / "mine.yaml")])
    merged = yaml.safe_load(shown.output)
    assert "extends" not in merged and merged["gate"]["items"][-1]["key"] == "security_review"
    assert "vendor_management" in merged["classification"]["practices"]


def test_the_edit_validates_clean_and_takes_effect(tmp_path: Path) -> None:
    from bridge.models import RawRecord
    from mappings import validate_files
    from mappings.feeds import gate_items_fed

    path = tmp_path / "jira.yaml"
    path.write_text(EDIT)
    assert validate_files([path], "jira") == []
    bound = load_mapping([path], "jira").bind()

    def issue(labels: list[str], component: str) -> RawRecord:
        fields = {"summary": "s", "issuetype": {"name": "Task"}, "labels": labels,
                  "project": {"key": "OPS", "projectTypeKey": "software"},
                  "components": [{"name": component}], "status": {"statusCategory": {"key": "done"}},
                  "created": "2026-03-05T14:02:11.000+0000"}
        return RawRecord(source="jira", stream="issues", key="OPS-1",
                         payload={"id": "1", "key": "OPS-1", "fields": fields})

    vendor = bound.map(issue(["vendor"], "Vendors")).ticket
    assert vendor is not None
    assert (vendor.practice, vendor.capability, vendor.team) == (
        "vendor_management", "tactical", "Supplier Desk")
    shipped = default_mapping("jira").bind().map(issue(["vendor"], "Vendors")).ticket
    assert shipped is not None and shipped.practice != "vendor_management"
    deliverable = bound.map(issue(["gate:security_review"], "Network")).ticket
    mine = load_mapping([path], "jira")
    assert [line.split(":")[0] for line in gate_items_fed(mine.gate, deliverable)] == [
        "security_review (Security review passed)"]
    assert gate_items_fed(default_mapping("jira").gate, deliverable) == []
