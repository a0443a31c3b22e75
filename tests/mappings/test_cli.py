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


def _stored_issues(tmp_path: Path) -> Path:
    """A configuration and a state store holding three Jira issues, one of them bad."""
    from bridge.models import RawRecord
    from bridge.store import repository

    db = tmp_path / "state.db"
    (tmp_path / "smo-bridge.yaml").write_text(
        f"state: sqlite:///{db}\nsources:\n"
        "  - {name: jira, kind: jira, url: https://x, auth: {kind: basic, username: u, password: p}}\n")
    store = open_store(f"sqlite:///{db}")

    def issue(key: str, created: str | None) -> RawRecord:
        fields = {"summary": "s", "issuetype": {"name": "Incident"}, "project": {"key": "OPS"}}
        if created is not None:
            fields["created"] = created
        return RawRecord(source="jira", stream="issues", key=key,
                         payload={"id": key, "key": key, "fields": fields})

    with store.engine.begin() as conn:
        repository.store_raw(conn, [issue("OPS-1", "2026-03-05T14:02:11.000+0000"),
                                    issue("OPS-2", "yesterday"), issue("OPS-3", "last week")])
    store.close()
    return db


def test_test_against_store_reports_what_would_be_quarantined_and_writes_nothing(
        runner: CliRunner, tmp_path: Path) -> None:
    import hashlib

    db = _stored_issues(tmp_path)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    result = runner.invoke(group, ["test", "--against-store", "--format", "json"])
    assert result.exit_code == 2, result.output  # records would be quarantined
    report = json.loads(result.output)
    assert report["failed"] == 0 and report["passed"] > 0  # the default's own examples
    (source,) = report["sources"]
    assert (source["source"], source["records"], source["outcomes"]) == (
        "jira", 3, {"project": 0, "ticket": 1, "skip": 0, "quarantine": 2})
    assert source["quarantined"] == [{
        "field": "opened", "reason": "not a timestamp: '…'", "count": 2,
        "examples": [{"stream": "issues", "key": "OPS-2", "reason": "not a timestamp: 'yesterday'"},
                     {"stream": "issues", "key": "OPS-3", "reason": "not a timestamp: 'last week'"}]}]
    text = runner.invoke(group, ["test", "--against-store", "--source", "jira"])
    assert "source jira: 3 stored record(s): 0 project, 1 ticket, 0 skip, 2 quarantine" in text.output
    assert "  would quarantine 2 at opened: not a timestamp: '…'" in text.output
    assert "    issues/OPS-2: not a timestamp: 'yesterday'" in text.output
    assert text.output.rstrip().endswith("; 2 stored record(s) would be quarantined")
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    shown = runner.invoke(group, ["preview", "--source", "jira", "--key", "OPS-2"])
    assert "outcome: quarantine: opened: not a timestamp: 'yesterday'" in shown.output
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
