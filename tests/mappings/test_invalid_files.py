"""A table of invalid mapping files, each with the exact message `mappings validate` prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings import validate_files

BASE = """meta: {kind: jira}
tickets:
  - stream: issues
    fields:
      key: key
      opened: fields.created
"""
WHEN = BASE.replace("  - stream: issues\n", "  - stream: issues\n    when: {WHEN}\n")

CASES: list[tuple[str, str, str]] = [
    ("custom field id of another kind", "meta: {kind: jira, custom_fields: {Team: cf_10044}}\n",
     "m.yaml:1:36: meta.custom_fields.Team: 'cf_10044' is not a Jira field id"),
    ("named field in a kind without them",
     "meta: {kind: servicenow}\ntickets:\n  - stream: incident\n    fields:\n      key: sys_id\n"
     "      opened: opened_at\n      summary: {field: Short description}\n",
     "m.yaml:7:17: tickets[0].fields.summary.field: a ServiceNow record has no fields by "
     "display name: read it with `path`"),
    ("approver role of nobody", BASE + "gate:\n  items:\n"
     "    - {key: runbook, title: Runbook, due: -7d, approver: {role: resolver_grup}, "
     "evidence: {kind: field_set, field: service_manager}}\n",
     "m.yaml:9:59: gate.items[0].approver.role: role 'resolver_grup' resolves to nobody "
     "(roles: project_manager, resolver_group, service_manager); did you mean 'resolver_group'?"),
    ("receiver role of nobody", BASE + "gate:\n  items:\n"
     "    - {key: signoff, title: Signoff, evidence: {kind: receivers_signoff, "
     "receivers: [service_dsk]}}\n",
     "m.yaml:9:86: gate.items[0].evidence.receivers[0]: role 'service_dsk' resolves to nobody "
     "(roles: project_manager, resolver_group, service_manager); did you mean 'service_manager'?"),
    ("receivers sign-off without receivers",
     "meta: {kind: jira}\nprojects:\n  - stream: projects\n    fields: {key: key, name: name}\n"
     "gate:\n  items:\n    - {key: signoff, title: Signoff, evidence: {kind: receivers_signoff}}\n",
     "m.yaml:7:38: gate.items[0].evidence: receivers_signoff reads the projects' receivers, "
     "which no project rule maps; map `receivers` or name receiver roles"),
    ("acceptance names no item", BASE + "gate:\n  acceptance: service_manger\n  items:\n"
     "    - {key: service_manager, title: SM, due: -7d, evidence: {kind: field_set, "
     "field: service_manager}}\n",
     "m.yaml:8:3: gate.acceptance: no gate item 'service_manger'; did you mean "
     "'service_manager'?"),
    ("unknown section", "meta: {kind: jira}\ntikets: []\n",
     "m.yaml:2:1: tikets: unknown key 'tikets'; did you mean 'tickets'?"),
    ("unknown kind", "meta: {kind: jirra}\n",
     "m.yaml:1:8: meta.kind: unknown kind 'jirra'; did you mean 'jira'?"),
    ("unknown canonical field", BASE + "      sumary: fields.summary\n",
     "m.yaml:7:7: tickets[0].fields.sumary: unknown key 'sumary'; did you mean 'summary'?"),
    ("unknown transform", BASE + "      summary: {path: fields.summary, transforms: [lowr]}\n",
     "m.yaml:7:52: tickets[0].fields.summary.transforms[0]: unknown transform 'lowr'; "
     "did you mean 'lower'?"),
    ("unknown transform mapping", BASE + "      summary: {path: fields.summary, transforms: [{regx: a}]}\n",
     "m.yaml:7:52: tickets[0].fields.summary.transforms[0]: unknown transform 'regx'; "
     "did you mean 'regex'?"),
    ("bad regex transform", BASE + "      summary: {path: fields.summary, transforms: [{regex: '(a'}]}\n",
     "m.yaml:7:53: tickets[0].fields.summary.transforms[0].regex: invalid regular expression: "
     "missing ), unterminated subpattern at position 0"),
    ("bad regex condition", WHEN.replace("{WHEN}", "{path: key, matches: '[a'}"),
     "m.yaml:4:23: tickets[0].when.matches: invalid regular expression: "
     "unterminated character set at position 0"),
    ("two operators", WHEN.replace("{WHEN}", "{path: key, equals: a, exists: true}"),
     "m.yaml:4:5: tickets[0].when: a test needs exactly one operator of equals, in, matches, "
     "exists, gt, ge, lt, le, contains (found: equals, exists)"),
    ("unknown operator", WHEN.replace("{WHEN}", "{path: key, equal: a}"),
     "m.yaml:4:23: tickets[0].when.equal: unknown key 'equal'; did you mean 'equals'?"),
    ("unknown stream", BASE.replace("stream: issues", "stream: isues"),
     "m.yaml:3:5: tickets[0].stream: unknown Jira stream 'isues'; did you mean 'issues'?"),
    ("unknown Jira field", BASE + "      summary: fields.sumary\n",
     "m.yaml:7:7: tickets[0].fields.summary: unknown Jira field 'sumary'; did you mean 'summary'?"),
    ("unknown display name", BASE + "      team: 'fields[\"Teem\"].value'\n",
     "m.yaml:7:7: tickets[0].fields.team: unknown Jira field 'Teem'; did you mean 'Team'?"),
    ("unknown practice", BASE + "classification:\n  rules:\n"
     "    - {when: {path: type, equals: Incident}, practice: incident_managment}\n",
     "m.yaml:9:46: classification.rules[0].practice: unknown practice 'incident_managment'; "
     "did you mean 'incident_management'?"),
    ("standard practice left out of the file's own catalogue", BASE + "classification:\n"
     "  practices: {incident_management: operational}\n  rules:\n"
     "    - {when: {path: type, equals: Incident}, practice: information_security_management}\n",
     "m.yaml:10:46: classification.rules[0].practice: practice 'information_security_management' "
     "is not in this mapping's catalogue: its classification.practices replaces the standard one "
     "(add it there, or use `extends: default`, whose practices add to it)"),
    ("unknown ticket field in a rule", BASE + "classification:\n  rules:\n"
     "    - {when: {path: typ, equals: Incident}, practice: incident_management}\n",
     "m.yaml:9:15: classification.rules[0].when.path: unknown ticket field 'typ'; did you mean 'type'?"),
    ("unknown table", BASE + "      priority: {path: fields.priority.name, transforms: [{table: prios}]}\n",
     "m.yaml:7:60: tickets[0].fields.priority.transforms[0].table: unknown table 'prios'"),
    ("bad due offset", BASE + "gate:\n  items:\n"
     "    - {key: kb, title: KB, due: 14 days, evidence: {kind: article_published}}\n",
     "m.yaml:9:28: gate.items[0].due: due '14 days' is not an offset like -14d, -2w or +3d"),
    ("unknown evidence kind", BASE + "gate:\n  items:\n"
     "    - {key: kb, title: KB, evidence: {kind: article_publish}}\n",
     "m.yaml:9:28: gate.items[0].evidence: unknown evidence kind 'article_publish'; "
     "did you mean 'article_published'?"),
    ("duplicate gate key", BASE + "gate:\n  items:\n"
     "    - {key: kb, title: KB, evidence: {kind: article_published}}\n"
     "    - {key: kb, title: KB2, evidence: {kind: article_published}}\n",
     "m.yaml:10:8: gate.items[1].key: duplicate gate item key 'kb' (first at items[0])"),
    ("gate condition on an unknown ticket field", BASE + "gate:\n  items:\n"
     "    - {key: x, title: X, evidence: {kind: ticket_done, when: {path: label, contains: a}}}\n",
     "m.yaml:9:63: gate.items[0].evidence.when.path: unknown ticket field 'label'; "
     "did you mean 'labels'?"),
    ("bad path", BASE + "      summary: 'fields..summary'\n",
     "m.yaml:7:7: tickets[0].fields.summary: invalid field path 'fields..summary' at character 7"),
    ("missing required field", "meta: {kind: jira}\ntickets:\n  - stream: issues\n    fields:\n"
     "      opened: fields.created\n",
     "m.yaml:4:5: tickets[0].fields: missing required key 'key'"),
    ("field without a source", BASE + "      summary: {transforms: [lower]}\n",
     "m.yaml:7:7: tickets[0].fields.summary: a field needs exactly one of path, field, value, "
     "first_of, concat"),
    ("unknown lookup", BASE + "      team: {path: key, transforms: [{lookup: epics, path: x}]}\n",
     "m.yaml:7:39: tickets[0].fields.team.transforms[0].lookup: unknown lookup 'epics'"),
    ("YAML syntax", "meta: {kind: jira\n",
     "m.yaml:1:7: (root): invalid YAML: the '{' opened at 1:7 is never closed"),
    ("not a mapping", "- a\n- b\n",
     "m.yaml:1:1: (root): a mapping file must be a YAML mapping with a 'meta' section"),
    ("ServiceNow table typo", "meta: {kind: servicenow}\ntickets:\n  - stream: incidnet\n"
     "    fields: {key: number, opened: opened_at}\n",
     "m.yaml:3:5: tickets[0].stream: unknown ServiceNow table 'incidnet'; did you mean 'incident'?"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_file_is_reported_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          text: str, expected: str) -> None:
    monkeypatch.chdir(tmp_path)
    Path("m.yaml").write_text(text, encoding="utf-8")
    assert [str(i) for i in validate_files(["m.yaml"])] == [expected]


def test_template_syntax_error_points_into_the_template(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("kb.j2").write_text("<h1>{{ transition.service }}</h1>\n<p>{{ oops }</p>\n", encoding="utf-8")
    Path("m.yaml").write_text(BASE + "knowledge: {template: kb.j2}\n", encoding="utf-8")
    assert [str(i) for i in validate_files(["m.yaml"])] == [
        "kb.j2:2:1: knowledge.template: template syntax error: unexpected '}'"]


def test_every_error_of_every_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a.yaml").write_text(BASE + "      sumary: x\n      statu: y\n", encoding="utf-8")
    Path("b.yaml").write_text("meta: {kind: servicenow}\n", encoding="utf-8")
    lines = [str(i) for i in validate_files(["a.yaml", "b.yaml"])]
    assert lines == [
        "a.yaml:7:7: tickets[0].fields.sumary: unknown key 'sumary'; did you mean 'summary'?",
        "a.yaml:8:7: tickets[0].fields.statu: unknown key 'statu'; did you mean 'status'?",
        "b.yaml:1:8: meta.kind: kind 'servicenow' does not match the source's kind 'jira'",
    ]


def test_one_run_shows_every_error_of_every_file(tmp_path: Path) -> None:
    """A misspelt kind no longer hides a file's other errors, nor one file another's."""
    from mappings.loader import default_path, validate_files

    first = tmp_path / "a.yaml"
    first.write_text(default_path("jira").read_text().replace("  kind: jira", "  kind: jria", 1)
                     .replace("evidence: {kind: deliverable}", "evidence: {kind: deliverble}"))
    second = tmp_path / "b.yaml"
    second.write_text(default_path("servicenow").read_text()
                      .replace("matches: '^gate:'", "matches: '[gate'")
                      .replace("due: -14d", "due: 14days"))
    found = validate_files([first, second]) + validate_files([second])
    messages = [f"{Path(i.file).name}:{i.line}: {i.message}" for i in found]
    assert any(m == "a.yaml:5: unknown kind 'jria'; did you mean 'jira'?" for m in messages)
    assert any("unknown evidence kind 'deliverble'" in m for m in messages if m.startswith("a.yaml"))
    assert any("invalid regular expression" in m for m in messages if m.startswith("b.yaml"))
    assert any("is not an offset" in m for m in messages if m.startswith("b.yaml"))
    first_file = [m for m in messages[:len(messages) // 2 + 1] if m.startswith("a.yaml")]
    assert first_file and first_file[0].startswith("a.yaml:5:")  # in file order, by position
