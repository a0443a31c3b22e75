"""Values from data or configuration never change a query's meaning: JQL values are quoted
the way Jira reads them, encoded-query values that ServiceNow cannot escape are refused,
and an admin's JQL fragment cannot close the parentheses it is put in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import responses
from pydantic import ValidationError
from sqlalchemy import select

from bridge.config import load_config
from bridge.engine import Engine
from bridge.errors import SourceError
from bridge.models import KnowledgeArticle
from bridge.sandbox import Sandbox
from bridge.sandbox.jql import Bool, Clause, JqlError, tokenize
from bridge.sandbox.jql import parse as parse_query
from bridge.sandbox.testing import sandbox_factory  # noqa: F401 - fixture
from bridge.store import open_store
from bridge.store.schema import outbox, transitions
from connectors.jira import JiraConfig, JiraConnector
from connectors.jql_build import jql_string
from connectors.servicenow import ServiceNowConfig, ServiceNowConnector
from connectors.servicenow_query import query_value
from tests.connectors.conftest import jira
from tests.connectors.fakes import FIELDS
from tests.integration.test_cycle import write_config

HOSTILE_VALUES = [
    'PAYX" OR project = "OPS',
    'PAYX") OR project in ("OPS',
    "PAYX\\",
    'PAYX\\" OR project = \\"OPS',
    "PAYX' OR project = 'OPS",
    "PAYX\nOR project = OPS",
    "PAYX\r\tOPS",
    "ÜNÏ ☃ \U0001d518",
]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=42, tickets=200, jira_deployment="cloud") as sb:
        yield sb


def _jira(sb: Sandbox, **extra: object) -> JiraConnector:
    return JiraConnector(JiraConfig.model_validate({
        "name": "jira", "kind": "jira", "url": sb.jira_url,
        "auth": {"kind": "basic", "username": "sandbox", "password": "sandbox"}, **extra}))


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_a_quoted_value_reads_back_as_itself(value: str) -> None:
    """What the connector writes, the vendor's grammar (as the sandbox parses it) reads as one
    value: the whole hostile text, never a second condition."""
    where = parse_query(f"project in ({jql_string(value)}) AND updated >= \"2026-01-01 00:00\"").where
    assert isinstance(where, Bool) and where.op == "and" and len(where.children) == 2
    first = where.children[0]
    assert isinstance(first, Clause) and first.field == "project" and first.values == (value,)


def test_the_sandbox_reads_jira_escapes_and_refuses_others() -> None:
    assert tokenize(r'"a\"b\\c\nd\te\u00e9\ f\'g"')[0].text == "a\"b\\c\nd\te\u00e9 f'g"
    with pytest.raises(JqlError, match=r"The escape sequence '\\q' is illegal"):
        tokenize(r'project = "a\q"')


def test_the_jql_sent_quotes_a_hostile_project_key() -> None:
    with responses.RequestsMock() as mock:
        mock.get("https://jira.example/rest/api/2/field", json=FIELDS)
        search = mock.get("https://jira.example/rest/api/2/search/jql", json={"issues": [], "isLast": True})
        assert list(jira(deployment="cloud", projects=['PAY" OR project = "OPS']).read("issues")) == []
    assert search.calls[0].request.params["jql"] == (
        'project in ("PAY\\" OR project = \\"OPS") AND updated >= "1970-01-01 00:00" '
        "ORDER BY updated ASC, key ASC")


@pytest.mark.parametrize("value", HOSTILE_VALUES[:4])
def test_a_hostile_project_key_never_widens_the_scope(sandbox: Sandbox, value: str) -> None:
    """Before quoting, `PAYX" OR project = "OPS` pulled OPS issues: now Jira (the sandbox)
    reads it as one unknown project and refuses the query, naming the value."""
    with pytest.raises(SourceError, match="does not exist for the field 'project'"):
        list(_jira(sandbox, projects=["PAYX", value]).read("issues"))
    scoped = {r.payload["fields"]["project"]["key"] for r in _jira(sandbox, projects=["PAYX"]).read("issues")}
    assert scoped == {"PAYX"}


def test_the_epic_lookup_quotes_a_project_key_from_data(sandbox: Sandbox) -> None:
    connector = _jira(sandbox)
    assert connector._first_epic("PAYX") is not None
    with pytest.raises(SourceError, match="does not exist for the field 'project'"):
        connector._first_epic('NOPE" OR project = "PAYX')


@pytest.mark.parametrize(("fragment", "problem"), [
    ("labels = a) OR (project = OPS", r"closes a parenthesis it did not open \(character 11\)"),
    ("labels = a OR (project = OPS", "has a parenthesis that is not closed"),
    ('summary ~ "open', "has a quoted string that is not closed"),
    ("labels = a ORDER BY key", "has its own ORDER BY"),
])
def test_an_admin_jql_fragment_stays_in_its_parentheses(fragment: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        JiraConfig.model_validate({"name": "j", "kind": "jira", "url": "https://j.example",
                                   "auth": {"kind": "basic", "username": "u", "password": "p"},
                                   "jql": fragment})
    # a parenthesis inside a string is text, not structure
    JiraConfig.model_validate({"name": "j", "kind": "jira", "url": "https://j.example",
                               "auth": {"kind": "basic", "username": "u", "password": "p"},
                               "jql": 'summary ~ "a) OR (b" AND labels in (x, y)'})


@pytest.mark.parametrize("value", [
    "PRJ0010002^ORsys_idISNOTEMPTY", "PRJ1^NQsys_idISNOTEMPTY", "a\nb", "a\rb",
    "javascript:gs.getUserID()", "  JavaScript:new GlideRecord('sys_user')",
])
def test_encoded_query_values_that_cannot_be_escaped_are_refused(value: str) -> None:
    with pytest.raises(SourceError, match="refused to query by"):
        query_value("snow", value, "number")


def test_a_hostile_correlation_never_touches_another_article(sandbox: Sandbox) -> None:
    """The injection seen in the field: a pm_project number carrying `^OR...` became the
    article's correlation and matched an unrelated article. Now nothing is read or written."""
    connector = ServiceNowConnector(ServiceNowConfig.model_validate({
        "name": "snow", "kind": "servicenow", "url": sandbox.servicenow_url,
        "auth": {"kind": "basic", "username": "sandbox", "password": "sandbox"}}))
    before = sandbox.servicenow_rows("kb_knowledge")
    article = KnowledgeArticle(transition_id="snow:PRJ0010002^ORsys_idISNOTEMPTY", service="Pay",
                               short_description="Pay: guide", html="<p>x</p>", content_hash="h")
    with pytest.raises(SourceError, match="refused to query by correlation key"):
        connector.push_article(article, "smo-bridge:snow:PRJ0010002^ORsys_idISNOTEMPTY")
    with pytest.raises(SourceError, match="is not a sys_id"):
        connector.row("kb_knowledge", "x^ORsys_idISNOTEMPTY", ["sys_id"])
    assert sandbox.servicenow_rows("kb_knowledge") == before


def test_a_project_number_carrying_a_query_never_overwrites_an_article(
        sandbox_factory: Callable[..., Sandbox], tmp_path: Path) -> None:  # noqa: F811
    """The field report, end to end: a pm_project number `...^ORsys_idISNOTEMPTY` made the
    bridge overwrite an unrelated article. Every number carries it here: the transitions'
    correlation keys and note tags use a digest of such an id, so every push is delivered
    to its own record and no existing article changes."""
    sb = sandbox_factory(seed=5, tickets=120, jira_deployment="cloud")
    table = sb.servicenow_store.table("pm_project")
    assert table is not None
    for i in range(len(table)):
        sb.servicenow_store.update(table, i, {"number": table.row(i)["number"] + "^ORsys_idISNOTEMPTY"})
    seeded = {r["sys_id"]: (r["short_description"], r["text"], r["meta"])
              for r in sb.servicenow_rows("kb_knowledge")}
    config = load_config(write_config(tmp_path, sb))
    store = open_store(config.state)
    try:
        result = Engine(config, store).run_cycle()
        with store.engine.connect() as conn:
            hostile = [t for t in conn.execute(select(transitions.c.id)).scalars()
                       if t.startswith("snow:")]
            errors = [row["last_error"] or "" for row in conn.execute(
                select(outbox).where(outbox.c.status != "delivered")).mappings()]
    finally:
        store.close()
    assert hostile and all(t.endswith("^ORsys_idISNOTEMPTY") for t in hostile)
    assert result.push_failures == 0 and errors == []
    notes = [row["value"] for row in sb.servicenow_rows(
        "sys_journal_field", "element=work_notes^valueLIKEsmo-bridge:gate:snow:~")]
    assert len(notes) == len(hostile)  # one gate note per hostile transition, on its project
    after = {r["sys_id"]: (r["short_description"], r["text"], r["meta"])
             for r in sb.servicenow_rows("kb_knowledge")}
    assert {k: after.get(k) for k in seeded} == seeded  # no article the bridge did not write changed
    assert not any("ORsys_idISNOTEMPTY" in str(meta) for _, _, meta in after.values())
