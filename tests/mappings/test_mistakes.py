"""The admin's table: deliberate mistakes across a configuration and the files it names,
each found in one run (`validate_configuration`, what `config validate` and `mappings
validate` print) with its exact message and position; and all of them at once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from mappings.validation import validate_configuration

CONFIG = """\
state: sqlite:///state.db
sources:
  - name: jira
    kind: jira
    url: https://example.atlassian.net
    auth: {kind: basic, username: bot@example.com, password: "${SMO_TEST_TOKEN}"}
    deployment: cloud
    projects: [PAYX, OPS]
    verify_tls: true
    mappings: [jira.yaml]
  - name: snow
    kind: servicenow
    url: https://example.service-now.com
    auth: {kind: basic, username: smo, password: secret}
    mappings: [snow.yaml]
push:
  gate_status: [snow]
  knowledge: snow
daemon:
  push_interval_seconds: 60
  schedule: {interval_seconds: 900, cron: '*/15 7-19 * * 1-5'}
reporting:
  timezone: Europe/Berlin
  at_risk_days: 14
policy: policy.yaml
"""

JIRA = """\
extends: default
meta: {kind: jira, version: 1}
tables:
  sites: {values: {AMS: Amsterdam, BER: Berlin}, default: Other, ignore_case: true}
lookups:
  project_rows: {stream: projects, key: key}
classification:
  practices: {vendor_management: tactical}
  rules:
    - name: vendor tickets
      when: {path: labels, contains: vendor}
      practice: vendor_management
      team: Supplier Desk
    - name: outages
      when: {path: summary, matches: '(?i)outage'}
      practice: incident_management
  teams:
    values: {Vendors: Supplier Desk}
gate:
  items:
    - key: security_review
      title: Security review passed
      responsible: project_manager
      approver: {role: service_manager}
      due: -10d
      evidence: {kind: deliverable, approver_field: null}
    - key: vendor_contract
      title: Vendor contract signed
      due: -2w
      enabled: true
      evidence: {kind: ticket_done, when: {path: labels, contains: contract}}
    - {key: hypercare, enabled: false}
tickets:
  - name: site tickets
    stream: issues
    when: {path: fields.project.key, equals: SITE}
    fields:
      key: key
      opened: {path: fields.created, transforms: [{datetime: {tz: Europe/Amsterdam}}]}
      team: {path: 'fields.components[0].name', transforms: [{table: sites}]}
      summary: fields.summary
      status: {path: fields.status.name, transforms: [lower]}
"""

SNOW = """\
extends: default
meta: {kind: servicenow, version: 1}
lookups:
  companies: {stream: core_company, key: sys_id}
  locations: {stream: cmn_location, key: sys_id}
classification:
  rules:
    - name: network desk
      when: {path: team, equals: Network}
      practice: incident_management
knowledge:
  template: kb.html.j2
  workflow_state: review
  author: none
"""

POLICY = """\
gate:
  acceptance: service_manager
  items:
    - key: service_manager
      title: Service manager accepts
      responsible: service_manager
      due: -7d
      evidence: {kind: project, when: {path: service_manager_accepted, equals: true}}
    - key: kb_article
      title: Knowledge article published
      responsible: project_manager
      due: -14d
      evidence: {kind: article_published}
    - key: runbook
      title: Runbook delivered
      responsible: project_manager
      approver: {role: resolver_group}
      due: -7d
      evidence: {kind: deliverable}
knowledge:
  template: kb.html.j2
"""

TEMPLATE = "<h1>{{ transition.service }}</h1>\n<p>{{ attributes.sla }}</p>\n"

FILES = {"smo-bridge.yaml": CONFIG, "jira.yaml": JIRA, "snow.yaml": SNOW,
         "policy.yaml": POLICY, "kb.html.j2": TEMPLATE}


@dataclass(frozen=True)
class Mistake:
    name: str
    file: str
    old: str  # replaced once, within its line: positions elsewhere stay put
    new: str
    expected: str  # FILE:LINE:COL: path: message
    alone: bool = False  # hides the rest of its file by nature (YAML syntax, a missing file)


M = Mistake
MISTAKES: list[Mistake] = [
    # the configuration file
    M("unknown top-level key", "smo-bridge.yaml", "state:", "stat:",
      "smo-bridge.yaml:1:1: stat: unknown key 'stat'; did you mean 'state'?"),
    M("misspelt source kind", "smo-bridge.yaml", "kind: servicenow", "kind: servicenwo",
      "smo-bridge.yaml:12:5: sources[1].kind: unknown source kind 'servicenwo'; did you mean 'servicenow'?"),
    M("unknown source key", "smo-bridge.yaml", "url: https://example.atlassian.net", "ulr: https://example.atlassian.net",
      "smo-bridge.yaml:5:5: sources[0].ulr: unknown key 'ulr'; did you mean 'url'?"),
    M("one value where a list belongs", "smo-bridge.yaml", "projects: [PAYX, OPS]", "projects: PAYX",
      "smo-bridge.yaml:8:5: sources[0].projects: expected a list, got 'PAYX'; write [PAYX]"),
    M("misspelt auth kind", "smo-bridge.yaml", "auth: {kind: basic, username: smo", "auth: {kind: basci, username: smo",
      "smo-bridge.yaml:14:5: sources[1].auth: unknown kind 'basci'; did you mean 'basic'?"),
    M("number out of range", "smo-bridge.yaml", "push_interval_seconds: 60", "push_interval_seconds: 2",
      'smo-bridge.yaml:20:3: daemon.push_interval_seconds: 2 is out of range: it must be at least 5'),
    M("push target misspelt", "smo-bridge.yaml", "gate_status: [snow]", "gate_status: [snwo]",
      "smo-bridge.yaml:17:17: push.gate_status[0]: no source named 'snwo'; did you mean 'snow'?"),
    M("time zone misspelt", "smo-bridge.yaml", "timezone: Europe/Berlin", "timezone: Europe/Berln",
      "smo-bridge.yaml:23:3: reporting.timezone: unknown time zone 'Europe/Berln' (did you mean Europe/Berlin, Europe/Dublin, Europe/Belfast?)"),
    M("enum value misspelt", "smo-bridge.yaml", "deployment: cloud", "deployment: clud",
      "smo-bridge.yaml:7:5: sources[0].deployment: 'clud' is not one of 'auto', 'cloud', 'server'; did you mean 'cloud'?"),
    M("yes/no value", "smo-bridge.yaml", "verify_tls: true", "verify_tls: maybe",
      "smo-bridge.yaml:9:5: sources[0].verify_tls: expected true or false, got 'maybe'"),
    M("crontab", "smo-bridge.yaml", "cron: '*/15 7-19 * * 1-5'", "cron: '*/15 7-19 * *'",
      'smo-bridge.yaml:21:37: daemon.schedule.cron: not a crontab expression: wrong number of fields; got 4, expected 5'),
    M("unset environment variable", "smo-bridge.yaml", "${SMO_TEST_TOKEN}", "${SMO_TEST_TOKN}",
      'smo-bridge.yaml:6:52: sources[0].auth.password: environment variable SMO_TEST_TOKN is not set'),
    M("source name", "smo-bridge.yaml", "name: jira", "name: Jira_Cloud",
      "smo-bridge.yaml:3:5: sources[0].name: 'Jira_Cloud' is not a valid name: lowercase letters, digits and '-'"),
    M("URL scheme", "smo-bridge.yaml", "url: https://example.service-now.com", "url: example.service-now.com",
      'smo-bridge.yaml:13:5: sources[1].url: must start with http:// or https://'),
    M("mapping file not found", "smo-bridge.yaml", "mappings: [jira.yaml]", "mappings: [jira.yml]",
      "smo-bridge.yaml:10:16: sources[0].mappings[0]: mapping file 'jira.yml' not found", alone=True),
    M("policy file not found", "smo-bridge.yaml", "policy: policy.yaml", "policy: polcy.yaml",
      "smo-bridge.yaml:25:1: policy: policy file 'polcy.yaml' not found", alone=True),
    M("YAML: tab indentation", "smo-bridge.yaml", "  knowledge: snow", "\tknowledge: snow",
      'smo-bridge.yaml:18:1: (root): invalid YAML: a tab is not allowed for indentation: indent with spaces', alone=True),
    # a Jira mapping extending the shipped default
    M("unknown section", "jira.yaml", "lookups:", "lookps:",
      "jira.yaml:5:1: lookps: unknown key 'lookps'; did you mean 'lookups'?"),
    M("misspelt meta kind", "jira.yaml", "meta: {kind: jira,", "meta: {kind: jirra,",
      "jira.yaml:2:8: meta.kind: unknown kind 'jirra'; did you mean 'jira'?"),
    M("capability misspelt", "jira.yaml", "vendor_management: tactical", "vendor_management: tacticle",
      "jira.yaml:8:15: classification.practices.vendor_management: 'tacticle' is not one of 'strategic', 'tactical', 'operational'; did you mean 'tactical'?"),
    M("practice misspelt", "jira.yaml", "practice: vendor_management", "practice: vendor_managment",
      "jira.yaml:12:7: classification.rules[0].practice: unknown practice 'vendor_managment'; did you mean 'vendor_management'?"),
    M("ticket field misspelt in a rule", "jira.yaml", "when: {path: labels, contains: vendor}", "when: {path: labls, contains: vendor}",
      "jira.yaml:11:14: classification.rules[0].when.path: unknown ticket field 'labls'; did you mean 'labels'?"),
    M("regular expression", "jira.yaml", "matches: '(?i)outage'", "matches: '(?i)outage('",
      'jira.yaml:15:29: classification.rules[1].when.matches: invalid regular expression: missing ), unterminated subpattern at position 10'),
    M("rule key misspelt", "jira.yaml", "      team: Supplier Desk", "      tem: Supplier Desk",
      "jira.yaml:13:7: classification.rules[0].tem: unknown key 'tem'; did you mean 'team'?"),
    M("responsible role misspelt", "jira.yaml", "responsible: project_manager", "responsible: project_manger",
      "jira.yaml:23:7: gate.items[0].responsible: role 'project_manger' resolves to nobody (roles: project_manager, resolver_group, service_desk, service_desk_lead, service_manager); did you mean 'project_manager'?"),
    M("approver role misspelt", "jira.yaml", "approver: {role: service_manager}", "approver: {role: service_manger}",
      "jira.yaml:24:18: gate.items[0].approver.role: role 'service_manger' resolves to nobody (roles: project_manager, resolver_group, service_desk, service_desk_lead, service_manager); did you mean 'service_manager'?"),
    M("due offset", "jira.yaml", "due: -10d", "due: -10 days",
      "jira.yaml:25:7: gate.items[0].due: due '-10 days' is not an offset like -14d, -2w or +3d"),
    M("evidence kind misspelt", "jira.yaml", "evidence: {kind: deliverable, approver_field: null}", "evidence: {kind: deliverble, approver_field: null}",
      "jira.yaml:26:7: gate.items[0].evidence: unknown evidence kind 'deliverble'; did you mean 'deliverable'?"),
    M("gate item key", "jira.yaml", "key: vendor_contract", "key: Vendor-Contract",
      "jira.yaml:27:7: gate.items[1].key: 'Vendor-Contract' is not a valid key: snake_case, lowercase letters, digits and '_' after a first letter"),
    M("enabled not yes/no", "jira.yaml", "      enabled: true", "      enabled: nope",
      "jira.yaml:30:7: gate.items[1].enabled: expected true or false, got 'nope'"),
    M("two operators", "jira.yaml", "when: {path: labels, contains: contract}", "when: {path: labels, contains: contract, equals: x}",
      'jira.yaml:31:37: gate.items[1].evidence.when: a test needs exactly one operator of equals, in, matches, exists, gt, ge, lt, le, contains (found: equals, contains)'),
    M("Jira stream misspelt", "jira.yaml", "stream: issues", "stream: isues",
      "jira.yaml:35:5: tickets[0].stream: unknown Jira stream 'isues'; did you mean 'issues'?"),
    M("operator misspelt", "jira.yaml", "equals: SITE}", "equal: SITE}",
      "jira.yaml:36:38: tickets[0].when.equal: unknown key 'equal'; did you mean 'equals'?"),
    M("time zone in a transform", "jira.yaml", "tz: Europe/Amsterdam", "tz: Europe/Amsterdm",
      "jira.yaml:39:63: tickets[0].fields.opened.transforms[0].datetime.tz: unknown time zone 'Europe/Amsterdm' (did you mean Europe/Amsterdam, Europe/Samara, Europe/Athens?)"),
    M("table misspelt", "jira.yaml", "{table: sites}", "{table: site}",
      "jira.yaml:40:63: tickets[0].fields.team.transforms[0].table: unknown table 'site'; did you mean 'sites'?"),
    M("canonical field misspelt", "jira.yaml", "      summary: fields.summary", "      sumary: fields.summary",
      "jira.yaml:41:7: tickets[0].fields.sumary: unknown key 'sumary'; did you mean 'summary'?"),
    M("Jira field misspelt", "jira.yaml", "fields.status.name", "fields.statsu.name",
      "jira.yaml:42:16: tickets[0].fields.status.path: unknown Jira field 'statsu'; did you mean 'status'?"),
    M("transform misspelt", "jira.yaml", "transforms: [lower]", "transforms: [lowr]",
      "jira.yaml:42:55: tickets[0].fields.status.transforms[0]: unknown transform 'lowr'; did you mean 'lower'?"),
    M("table option not yes/no", "jira.yaml", "ignore_case: true}", "ignore_case: sometimes}",
      "jira.yaml:4:66: tables.sites.ignore_case: expected true or false, got 'sometimes'"),
    M("extends misspelt", "jira.yaml", "extends: default", "extends: defualt",
      "jira.yaml:1:1: extends: no mapping file 'defualt' beside this one; did you mean 'default'?", alone=True),
    M("YAML: missing colon", "jira.yaml", "      practice: incident_management", "      practice incident_management",
      "jira.yaml:16:7: (root): invalid YAML: a ':' is missing after the key", alone=True),
    M("YAML: quote never closed", "jira.yaml", "matches: '(?i)outage'}", "matches: '(?i)outage}",
      'jira.yaml:15:38: (root): invalid YAML: the quote opened at 15:38 is never closed', alone=True),
    M("YAML: indentation", "jira.yaml", "      title: Vendor contract signed", "       title: Vendor contract signed",
      'jira.yaml:28:8: (root): invalid YAML: indentation does not match the lines above', alone=True),
    # a ServiceNow mapping extending the shipped default
    M("ServiceNow table misspelt", "snow.yaml", "stream: core_company", "stream: core_compnay",
      "snow.yaml:4:15: lookups.companies.stream: unknown ServiceNow table 'core_compnay'; did you mean 'core_company'?"),
    M("lookup key path", "snow.yaml", "cmn_location, key: sys_id}", "cmn_location, key: 'sys_id..value'}",
      "snow.yaml:5:37: lookups.locations.key: invalid field path 'sys_id..value' at character 7"),
    M("ticket field misspelt in a condition", "snow.yaml", "when: {path: team, equals: Network}", "when: {path: teem, equals: Network}",
      "snow.yaml:9:14: classification.rules[0].when.path: unknown ticket field 'teem'; did you mean 'team'?"),
    M("workflow state misspelt", "snow.yaml", "workflow_state: review", "workflow_state: reveiw",
      "snow.yaml:13:3: knowledge.workflow_state: 'reveiw' is not one of 'draft', 'review', 'published'; did you mean 'review'?"),
    M("author misspelt", "snow.yaml", "author: none", "author: nobody",
      "snow.yaml:14:3: knowledge.author: 'nobody' is not one of 'service_manager', 'none'"),
    M("template not found", "snow.yaml", "template: kb.html.j2", "template: kb.html",
      "snow.yaml:12:3: knowledge.template: template file 'kb.html' not found"),
    M("unknown practice in ServiceNow", "snow.yaml", "practice: incident_management", "practice: incident_managment",
      "snow.yaml:10:7: classification.rules[0].practice: unknown practice 'incident_managment'; did you mean 'incident_management'?"),
    # the policy file
    M("unknown gate item key", "policy.yaml", "      responsible: service_manager", "      responsable: service_manager",
      "policy.yaml:6:7: gate.items[0].responsable: unknown key 'responsable'; did you mean 'responsible'?"),
    M("acceptance names no item", "policy.yaml", "acceptance: service_manager", "acceptance: service_manger",
      "policy.yaml:2:3: gate.acceptance: no gate item 'service_manger'; did you mean 'service_manager'?"),
    M("approver role of nobody", "policy.yaml", "approver: {role: resolver_group}", "approver: {role: resolver_grup}",
      "policy.yaml:17:18: gate.items[2].approver.role: role 'resolver_grup' resolves to nobody (roles: project_manager, resolver_group, service_desk, service_desk_lead, service_manager); did you mean 'resolver_group'?"),
    M("project field misspelt", "policy.yaml", "path: service_manager_accepted", "path: service_manager_acepted",
      "policy.yaml:8:40: gate.items[0].evidence.when.path: unknown project field 'service_manager_acepted'; did you mean 'service_manager_accepted'?"),
    M("policy due offset", "policy.yaml", "due: -14d", "due: 14",
      "policy.yaml:12:7: gate.items[1].due: due '14' is not an offset like -14d, -2w or +3d"),
    # the article template both name
    M("template syntax", "kb.html.j2", "{{ attributes.sla }}", "{{ attributes.sla }",
      "kb.html.j2:2:1: knowledge.template: template syntax error: unexpected '}'"),
]


def _write(folder: Path, mistakes: list[Mistake]) -> None:
    texts = dict(FILES)
    for m in mistakes:
        assert texts[m.file].count(m.old) == 1, (m.name, m.old)
        texts[m.file] = texts[m.file].replace(m.old, m.new)
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")


def _found(folder: Path) -> list[str]:
    prefix = f"{folder}/"
    return [str(i).removeprefix(prefix) for i in validate_configuration(folder / "smo-bridge.yaml")]


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMO_TEST_TOKEN", "t0ken")


def test_the_files_without_mistakes_are_valid(tmp_path: Path) -> None:
    _write(tmp_path, [])
    assert _found(tmp_path) == []


def test_the_table_holds_forty_mistakes_or_more() -> None:
    assert len(MISTAKES) >= 40
    assert len({m.name for m in MISTAKES}) == len(MISTAKES)
    assert {m.file for m in MISTAKES} == set(FILES)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_each_mistake_is_found_with_its_message_and_position(tmp_path: Path,
                                                             mistake: Mistake) -> None:
    _write(tmp_path, [mistake])
    assert _found(tmp_path) == [mistake.expected]


def test_every_mistake_at_once_in_one_run(tmp_path: Path) -> None:
    together = [m for m in MISTAKES if not m.alone]
    _write(tmp_path, together)
    assert sorted(_found(tmp_path)) == sorted(m.expected for m in together)


def test_a_misspelt_key_does_not_hide_the_checks_beside_it(tmp_path: Path) -> None:
    """The misspelt operator is read as the key it resembles, so the rule's misspelt
    practice is still found in the same run."""
    rule = M("", "jira.yaml", "when: {path: labels, contains: vendor}\n      practice: vendor_management",
             "when: {path: labels, contians: vendor}\n      practice: vendor_managment", "")
    _write(tmp_path, [rule])
    assert _found(tmp_path) == [
        "jira.yaml:11:28: classification.rules[0].when.contians: unknown key 'contians'; "
        "did you mean 'contains'?",
        "jira.yaml:12:7: classification.rules[0].practice: unknown practice 'vendor_managment'; "
        "did you mean 'vendor_management'?"]


def test_an_auth_without_its_kind_says_which_key_is_missing(tmp_path: Path) -> None:
    _write(tmp_path, [M("", "smo-bridge.yaml", "auth: {kind: basic, username: smo",
                        "auth: {username: smo", "")])
    assert _found(tmp_path) == [
        "smo-bridge.yaml:14:5: sources[1].auth: missing key 'kind' (which kind this entry is)"]
