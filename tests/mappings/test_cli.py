"""`smo-bridge mappings ...` through click's CliRunner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli.mappings import group
from bridge.store import open_store

INCIDENT = {
    "sys_id": {"value": "i1", "display_value": "i1"},
    "number": {"value": "INC0000042", "display_value": "INC0000042"},
    "short_description": {"value": "Where is the VPN guide?", "display_value": "Where is the VPN guide?"},
    "category": {"value": "inquiry", "display_value": "Inquiry / Help"},
    "opened_at": {"value": "2026-02-01 08:00:00", "display_value": "01/02/2026 09:00:00"},
    "priority": {"value": "4", "display_value": "4 - Low"},
}


@pytest.fixture()
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no smo-bridge.yaml here: the shipped defaults apply
    monkeypatch.delenv("SMO_BRIDGE_CONFIG", raising=False)
    return CliRunner()


def test_validate_without_configuration_checks_the_defaults(runner: CliRunner) -> None:
    result = runner.invoke(group, ["validate"])
    assert result.exit_code == 0, result.output
    assert "jira.yaml: valid (default jira)" in result.output
    assert "servicenow.yaml: valid (default servicenow)" in result.output


def test_validate_reports_each_error_and_exits_2(runner: CliRunner) -> None:
    Path("bad.yaml").write_text("meta: {kind: jira}\ntikets: []\n", encoding="utf-8")
    result = runner.invoke(group, ["validate", "bad.yaml"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "bad.yaml:2:1: tikets: unknown key 'tikets'; did you mean 'tickets'?"]


def test_test_command_passes_defaults_and_diffs_a_failing_example(runner: CliRunner) -> None:
    assert runner.invoke(group, ["test"]).exit_code == 0
    Path("m.yaml").write_text(
        "meta: {kind: servicenow}\n"
        "tickets:\n  - stream: incident\n    fields: {key: number, opened: opened_at}\n"
        "examples:\n  - name: wrong practice\n    stream: incident\n"
        "    record: {number: INC1, opened_at: '2026-01-01 00:00:00'}\n"
        "    expect: {ticket: {key: INC1, practice: incident_management}}\n", encoding="utf-8")
    result = runner.invoke(group, ["test", "m.yaml"])
    assert result.exit_code == 2
    assert "FAIL  wrong practice (m.yaml:6)" in result.stderr
    assert "practice: expected 'incident_management', got None" in result.stderr


def test_preview_explains_a_classification(runner: CliRunner) -> None:
    Path("inc.json").write_text(json.dumps(INCIDENT), encoding="utf-8")
    result = runner.invoke(group, ["preview", "--kind", "servicenow", "--stream", "incident",
                                   "--file", "inc.json"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "outcome: ticket i1 (INC0000042)" in out  # keyed by sys_id, shown by its number
    assert '"display_key": "INC0000042"' in out
    assert '"practice": "service_desk"' in out
    assert "classified by classification.rules[0]" in out
    assert "raw.category in ['inquiry', 'request']" in out
    assert "missing team (from first_of(assignment_group.display_value, assignment_group))" in out


def test_preview_by_key_needs_a_source_and_a_stored_record(
        runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(group, ["preview", "--kind", "jira", "--stream", "issues", "--key", "X-1"])
    assert result.exit_code == 2
    assert "--key reads the state store: give --source NAME" in result.output
    (tmp_path / "smo-bridge.yaml").write_text(
        f"state: sqlite:///{tmp_path / 'state.db'}\nsources:\n"
        "  - {name: jira, kind: jira, url: https://x, auth: {kind: basic, username: u, password: p}}\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(group, ["preview", "--source", "jira", "--key", "X-1"])
    assert result.exit_code != 0  # reading never creates the store
    assert str(result.exception).startswith("no state store at sqlite:///")
    assert not (tmp_path / "state.db").exists()
    open_store(f"sqlite:///{tmp_path / 'state.db'}").close()
    result = runner.invoke(group, ["preview", "--source", "jira", "--key", "X-1"])
    assert result.exit_code != 0
    assert str(result.exception) == ("no raw record jira/X-1 in the state store "
                                     "(run a sync first, or save it as JSON and use --file)")


def test_schema_is_json_with_the_sections(runner: CliRunner) -> None:
    result = runner.invoke(group, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert set(schema["properties"]) == {"extends", "meta", "tables", "lookups", "projects", "tickets",
                                         "classification", "gate", "knowledge", "examples"}


def test_preview_shows_each_rule_tried_with_the_value_it_saw_and_the_items_fed(
        runner: CliRunner) -> None:
    issue = {"id": "1", "key": "PAY-7", "fields": {
        "summary": "Runbook", "issuetype": {"name": "Task"}, "labels": ["gate:runbook"],
        "project": {"key": "PAY", "projectTypeKey": "software"},
        "status": {"name": "Done", "statusCategory": {"key": "done"}},
        "created": "2026-03-05T14:02:11.000+0000"}}
    Path("issue.json").write_text(json.dumps(issue), encoding="utf-8")
    result = runner.invoke(group, ["preview", "--kind", "jira", "--stream", "issues",
                                   "--file", "issue.json"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(re.fullmatch(r"  not classified by classification\.rules\[0\] \(incidents\) "
                            r".*jira\.yaml:\d+: type equals 'Incident' failed: saw 'Task'", line)
               for line in lines)
    assert lines[lines.index("gate items it feeds:") + 1:] == [
        "  runbook (Runbook delivered): deliverable: labelled gate:runbook, done"]
    Path("m.yaml").write_text(
        "meta: {kind: jira}\ntickets:\n"
        "  - name: ops only\n    stream: issues\n"
        "    when: {path: fields.project.key, in: [OPS, NET]}\n"
        "    fields: {key: key, opened: fields.created}\n"
        "  - name: the rest\n    stream: issues\n"
        "    fields: {key: key, opened: fields.created}\n", encoding="utf-8")
    result = runner.invoke(group, ["preview", "--kind", "jira", "--mapping", "m.yaml",
                                   "--stream", "issues", "--file", "issue.json"])
    assert result.exit_code == 0, result.output
    why = result.output.split("why:\n")[1].splitlines()
    assert why[:2] == [
        "  not selected by ticket rule m.yaml:3: fields.project.key in ['OPS', 'NET'] failed: "
        "saw 'PAY'",
        "  selected by ticket rule m.yaml:7: no `when`: every record of the stream"]
    assert result.output.endswith("gate items it feeds: none\n")
