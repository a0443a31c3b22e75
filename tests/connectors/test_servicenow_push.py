"""Pushes on a stock instance and on one with the bridge's custom columns: where the gate
status goes, how articles are found again, and that every write is read back."""

from __future__ import annotations

import logging

import pytest
import responses

from bridge.errors import SourceError
from bridge.models import KnowledgeArticle, RawRecord
from connectors.articles import ArticleRecord
from tests.connectors.conftest import snow
from tests.connectors.snow_instance import Instance

STATUS = {"status": "at_risk", "items": [], "summary": "Operations gate at risk: 3/9 met; next: Runbook delivered"}
KEY = "gate:snow:snow:PRJ0010001:v2"


def article(html: str = "<p>Runbook</p>", **extra: object) -> KnowledgeArticle:
    return KnowledgeArticle.model_validate(
        {
            "transition_id": "tr-1",
            "service": "Payments",
            "short_description": "Payments service",
            "html": html,
            "keywords": ["payments", "pay"],
            "content_hash": "h1",
            **extra,
        }
    )


@pytest.fixture
def stock(loose: responses.RequestsMock) -> Instance:
    instance = Instance()
    instance.register(loose)
    return instance


@pytest.fixture
def custom(loose: responses.RequestsMock) -> Instance:
    instance = Instance()
    instance.columns["pm_project"].add("u_smo_gate_status")
    instance.columns["kb_knowledge"].add("u_smo_correlation")
    instance.register(loose)
    return instance


def test_stock_gate_status_is_one_tagged_work_note(stock: Instance) -> None:
    project = stock.add("pm_project", number="PRJ0010001")
    connector = snow()
    first = connector.push_gate_status(project["sys_id"], STATUS, KEY, "Gate at risk")
    retry = connector.push_gate_status(project["sys_id"], STATUS, KEY, "Gate at risk")
    assert (first.outcome, first.note) == ("updated", "added")
    assert (retry.outcome, retry.note) == ("unchanged", "exists")
    assert stock.notes(project["sys_id"]) == [f"Gate at risk\n\n[smo-bridge:{KEY}]"]
    patches = [r for r in stock.requests if r[0] == "PATCH"]
    assert len(patches) == 1
    # the dictionary was asked once, for the configured column, on pm_project and its parents
    asked = [p["sysparm_query"] for m, t, p in stock.requests if t == "sys_dictionary"]
    assert asked == ["nameINpm_project,planned_task,task^element=u_smo_gate_status"]


def test_custom_gate_column_gets_the_status_too(custom: Instance) -> None:
    project = custom.add("pm_project", number="PRJ0010001")
    connector = snow()
    first = connector.push_gate_status(project["sys_id"], STATUS, KEY, "Gate at risk")
    assert (first.outcome, first.note) == ("created", "added")
    assert custom.rows["pm_project"][0]["u_smo_gate_status"] == STATUS["summary"]
    assert (
        connector.push_gate_status(project["sys_id"], STATUS, KEY, "Gate at risk").outcome
        == "unchanged"
    )
    assert len(custom.notes(project["sys_id"])) == 1


def test_without_the_dictionary_the_row_shows_whether_the_column_exists(
    custom: Instance, caplog: pytest.LogCaptureFixture
) -> None:
    custom.dictionary_readable = False
    project = custom.add("pm_project", number="PRJ0010001")
    connector = snow()
    connector.push_gate_status(project["sys_id"], STATUS, KEY, "Gate at risk")
    overdue = {"status": "overdue", "summary": "Operations gate overdue: 2/9 met"}
    connector.push_gate_status(project["sys_id"], overdue, KEY + "x", "Overdue")
    assert custom.rows["pm_project"][0]["u_smo_gate_status"] == overdue["summary"]
    warned = [r.getMessage() for r in caplog.records if "sys_dictionary" in r.getMessage()]
    assert (
        len(warned) == 1 and "grant the integration user read access to sys_dictionary" in warned[0]
    )


def test_a_dropped_column_is_not_reported_delivered(stock: Instance) -> None:
    """The dictionary says the column exists, but the PATCH drops it (no write ACL)."""
    project = stock.add("pm_project", number="PRJ0010001")
    stock.columns["pm_project"].add("u_smo_gate_status")
    stock.rows["pm_project"][0]["u_smo_gate_status"] = ""
    connector = snow()
    stock.columns["pm_project"].discard("u_smo_gate_status")  # what the write will meet
    connector.columns[("pm_project", "u_smo_gate_status")] = True  # what discovery said
    with pytest.raises(
        SourceError, match=r"pm_project.u_smo_gate_status did not keep the gate status"
    ):
        connector.push_gate_status(project["sys_id"], STATUS, KEY, "Gate at risk")


def test_a_work_note_that_does_not_stick_is_an_error(stock: Instance) -> None:
    project = stock.add("pm_project", number="PRJ0010001")
    stock.columns["pm_project"].discard("work_notes")  # no write access to work notes
    with pytest.raises(
        SourceError, match=r"grant the integration user write access to pm_project\.work_notes"
    ):
        snow().push_gate_status(project["sys_id"], STATUS, KEY, "Gate at risk")


def test_stock_article_is_tagged_in_meta_and_found_again(stock: Instance) -> None:
    connector = snow()
    first = connector.push_article(article(), "smo-bridge:snow:PRJ0010001")
    assert first.outcome == "created"
    [row] = stock.rows["kb_knowledge"]
    assert row["meta"] == "payments, pay, [smo-bridge:smo-bridge:snow:PRJ0010001]"
    assert "kb_knowledge_base" not in row  # none named: the instance's default base
    assert connector.push_article(article(), "smo-bridge:snow:PRJ0010001").outcome == "unchanged"
    assert (
        connector.push_article(article("<p>v2</p>"), "smo-bridge:snow:PRJ0010001").outcome
        == "updated"
    )
    assert len(stock.rows["kb_knowledge"]) == 1 and row["text"] == "<p>v2</p>"
    lookups = [
        p["sysparm_query"]
        for m, t, p in stock.requests
        if m == "GET" and t == "kb_knowledge" and "metaLIKE" in p.get("sysparm_query", "")
    ]
    assert lookups[0] == ("metaLIKE[smo-bridge:smo-bridge:snow:PRJ0010001]"
                          "^ORDERBYsys_created_on^ORDERBYnumber")


def test_an_article_the_bridge_did_not_write_is_never_updated(stock: Instance) -> None:
    """A configured correlation column the instance lacks: the condition is dropped and an
    unrelated article comes back; it must not be overwritten."""
    theirs = stock.add(
        "kb_knowledge",
        short_description="VPN how-to",
        text="<p>theirs</p>",
        meta="vpn",
        workflow_state="published",
    )
    connector = snow()
    connector.columns[("kb_knowledge", "u_smo_correlation")] = True  # wrongly believed
    stock.columns["kb_knowledge"].add("u_smo_correlation")  # accepted on create...
    stock.columns["kb_knowledge"].discard("u_smo_correlation")  # ...but not there at all
    with pytest.raises(SourceError, match="did not keep u_smo_correlation"):
        connector.push_article(article(), "smo-bridge:snow:PRJ0010001")
    assert stock.rows["kb_knowledge"][0] == theirs and theirs["text"] == "<p>theirs</p>"
    assert [m for m, t, _ in stock.requests if t == "kb_knowledge" and m == "PATCH"] == []


def test_custom_correlation_column_is_written_and_read_back(custom: Instance) -> None:
    connector = snow()
    custom.add(
        "kb_knowledge", short_description="Other", meta="x", u_smo_correlation="someone-else"
    )
    assert connector.push_article(article(), "smo-bridge:snow:P1").outcome == "created"
    ours = custom.rows["kb_knowledge"][1]
    assert ours["u_smo_correlation"] == "smo-bridge:snow:P1"
    assert connector.push_article(article(), "smo-bridge:snow:P1").outcome == "unchanged"
    assert custom.rows["kb_knowledge"][0]["short_description"] == "Other"


def test_a_named_knowledge_base_must_exist(stock: Instance) -> None:
    stock.add("kb_knowledge_base", title="IT")
    with pytest.raises(
        SourceError, match="knowledge base 'IT Service Desk' not found: set `knowledge_base`"
    ):
        snow().push_article(article(knowledge_base="IT Service Desk"), "smo-bridge:snow:P1")
    kb = stock.rows["kb_knowledge_base"][0]["sys_id"]
    assert (
        snow(knowledge_base="IT")
        .push_article(article(knowledge_base="IT Service Desk"), "smo-bridge:snow:P1")
        .outcome
        == "created"
    )
    assert stock.rows["kb_knowledge"][0]["kb_knowledge_base"] == kb  # the source's setting wins


def test_article_state_reads_the_column_or_the_marker() -> None:
    connector = snow()
    by_marker = RawRecord(
        source="snow",
        stream="kb_knowledge",
        key="a",
        payload={
            "number": {"value": "KB0010001"},
            "workflow_state": {"value": "published"},
            "meta": {"value": "pay, [smo-bridge:smo-bridge:snow:P1]"},
        },
    )
    assert _triple(connector.article_state(by_marker)) == (
        "smo-bridge:snow:P1", "published", "KB0010001")
    by_column = RawRecord(
        source="snow",
        stream="kb_knowledge",
        key="b",
        payload={"u_smo_correlation": "smo-bridge:snow:P2", "meta": "", "workflow_state": ""},
    )
    assert _triple(connector.article_state(by_column)) == ("smo-bridge:snow:P2", "draft", "b")
    other = snow(correlation_field="u_other")
    renamed = RawRecord(
        source="snow",
        stream="kb_knowledge",
        key="c",
        payload={"u_other": "smo-bridge:snow:P3", "u_smo_correlation": "stale"},
    )
    assert _triple(other.article_state(renamed)) == ("smo-bridge:snow:P3", "draft", "c")
    theirs = RawRecord(source="snow", stream="kb_knowledge", key="d", payload={"meta": "vpn"})
    found = connector.article_state(theirs)
    assert isinstance(found, ArticleRecord) and found.correlation is None  # a person's article


def _triple(found: object) -> tuple[str | None, str, str]:
    assert isinstance(found, ArticleRecord)
    return found.correlation, found.workflow_state, found.ref


@pytest.mark.parametrize("bad", ["PRJ0010002^ORsys_idISNOTEMPTY", "x\nsys_idISNOTEMPTY"])
def test_query_values_cannot_add_conditions(rsps: responses.RequestsMock, bad: str) -> None:
    connector = snow()
    with pytest.raises(SourceError, match="refused to query by correlation key"):
        connector.push_article(article(), bad)
    with pytest.raises(SourceError, match="is not a sys_id"):
        connector.push_gate_status(bad, STATUS, KEY, "note")
    with pytest.raises(SourceError, match="refused to query by correlation key"):
        connector.push_gate_status("0" * 32, STATUS, bad, "note")
    assert len(rsps.calls) == 0  # refused before anything was sent


def test_a_knowledge_base_title_cannot_add_conditions(
    stock: Instance, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with pytest.raises(SourceError, match="refused to query by knowledge base title"):
        snow(knowledge_base="IT^ORtitleISNOTEMPTY").push_article(article(), "smo-bridge:snow:P1")
    assert [t for _, t, _ in stock.requests if t == "kb_knowledge_base"] == []


def test_an_article_written_before_its_column_was_seen_is_found_again(stock: Instance) -> None:
    """No sys_dictionary and an empty kb_knowledge: the first push cannot see the column
    and writes the marker only; once the column shows, the same article is updated."""
    stock.dictionary_readable = False
    stock.columns["kb_knowledge"].add("u_smo_correlation")
    assert snow().push_article(article(), "smo-bridge:snow:P1").outcome == "created"
    [row] = stock.rows["kb_knowledge"]
    assert row.get("u_smo_correlation", "") == ""  # not seen: not written
    again = snow().push_article(article(), "smo-bridge:snow:P1")  # a new run: the row shows it
    assert again.outcome == "updated"
    assert len(stock.rows["kb_knowledge"]) == 1 and row["u_smo_correlation"] == "smo-bridge:snow:P1"


def test_an_article_a_person_took_on_is_left_as_it_is(stock: Instance) -> None:
    connector = snow()
    key = "smo-bridge:snow:PRJ0010001"
    assert connector.push_article(article(), key).outcome == "created"
    [row] = stock.rows["kb_knowledge"]
    assert row["workflow_state"] == "draft"  # the model's default: a person publishes
    # a text change on a draft is written, but the state is never moved by the bridge
    row["workflow_state"] = "draft"
    assert connector.push_article(article("<p>v2</p>", workflow_state="published"), key).outcome \
        == "updated"
    assert (row["text"], row["workflow_state"]) == ("<p>v2</p>", "draft")
    # the knowledge manager publishes and edits it: it is never written again; the
    # bridge's changes become a new draft naming it
    row.update(workflow_state="published", text="<p>edited by the desk</p>")
    patches = sum(1 for m, t, _ in stock.requests if m == "PATCH" and t == "kb_knowledge")
    assert connector.push_article(article("<p>v3</p>"), key).outcome == "created"
    assert row["text"] == "<p>edited by the desk</p>" and row["workflow_state"] == "published"
    assert sum(1 for m, t, _ in stock.requests if m == "PATCH" and t == "kb_knowledge") == patches
    revision = stock.rows["kb_knowledge"][-1]
    assert revision["workflow_state"] == "draft" and revision["text"] == "<p>v3</p>"
    assert revision["short_description"].endswith(f"(revision of {row.get('number') or row['sys_id']})")
    assert key in revision["meta"]
    # the revision is the bridge's draft now: the next change updates it, nothing else
    assert connector.push_article(article("<p>v4</p>"), key).outcome == "updated"
    assert len(stock.rows["kb_knowledge"]) == 2 and revision["text"] == "<p>v4</p>"


def test_a_new_article_is_valid_for_a_year_so_the_desk_can_find_it(stock: Instance) -> None:
    from datetime import date, timedelta

    snow().push_article(article(), "smo-bridge:snow:PRJ0010009")
    [row] = stock.rows["kb_knowledge"]
    assert row["valid_to"] == (date.today() + timedelta(days=365)).isoformat()
