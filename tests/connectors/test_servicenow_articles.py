"""ServiceNow's knowledge records read as articles, approvals and services; and the article
lifecycle the connector writes: revise instead of overwrite, retire only its own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import responses

from bridge.models import KnowledgeArticle, RawRecord
from connectors.articles import ArticleApproval, ArticleRecord, ServiceFacts, article_digest
from tests.connectors.conftest import snow
from tests.connectors.snow_instance import Instance

KEY = "smo-bridge:snow:PRJ0010001"
TAG = f"[smo-bridge:{KEY}]"
SYS = {"sys_created_by", "sys_updated_by", "cmdb_ci", "author"}


def raw(stream: str, payload: dict[str, object], key: str = "k") -> RawRecord:
    return RawRecord(source="snow", stream=stream, key=key, payload=payload,
                     updated=datetime(2026, 11, 20, tzinfo=UTC))


def test_an_article_row_says_whose_it_is_and_who_changed_it() -> None:
    connector = snow()  # writes as smo.bridge
    found = connector.article_state(raw("kb_knowledge", {
        "number": {"value": "KB0010020", "display_value": "KB0010020"},
        "sys_id": {"value": "a" * 32}, "workflow_state": {"value": "published"},
        "meta": {"value": f"Payments, {TAG}"}, "cmdb_ci": {"value": "c" * 32},
        "short_description": {"value": "Payments: service desk guide (revision of KB0010011)"},
        "text": {"value": "<p>x</p>"},
        "sys_created_by": {"value": "smo.bridge"}, "sys_updated_by": {"value": "beth.anglin"}}))
    assert isinstance(found, ArticleRecord)
    assert (found.ref, found.remote_id, found.correlation, found.service_id) == (
        "KB0010020", "a" * 32, KEY, "c" * 32)
    assert found.created_by_integration is True and found.by_integration is False
    assert found.updated_by == "beth.anglin" and found.revises == "KB0010011"
    assert found.content == article_digest(
        "Payments: service desk guide (revision of KB0010011)", "<p>x</p>")
    bearer = snow(auth={"kind": "bearer", "token": "t"})
    unknown = bearer.article_state(raw("kb_knowledge", {"sys_updated_by": "smo.bridge"}))
    assert isinstance(unknown, ArticleRecord) and unknown.by_integration is None


def test_only_approved_approvals_of_articles_are_read() -> None:
    connector = snow()
    row = {"source_table": "kb_knowledge", "document_id": "a" * 32, "state": "approved",
           "approver": {"value": "u" * 32, "display_value": "Grace Hopper"}}
    found = connector.article_state(raw("sysapproval_approver", row))
    assert found == ArticleApproval("a" * 32, "Grace Hopper", datetime(2026, 11, 20, tzinfo=UTC))
    assert connector.article_state(raw("sysapproval_approver", {**row, "state": "requested"})) is None
    assert connector.article_state(raw("sysapproval_approver", {**row, "source_table": "pm_project"})) \
        is None


def test_a_service_row_gives_its_facts_by_display_value() -> None:
    connector = snow()
    found = connector.service_facts(raw("cmdb_ci_service", {
        "sys_id": {"value": "s" * 32}, "name": {"value": "Payments", "display_value": "Payments"},
        "busines_criticality": {"value": "1", "display_value": "1 - most critical"},
        "owned_by": {"value": "u" * 32, "display_value": "Ada Lovelace"},
        "support_group": "g" * 32}))  # values only: a sys_id is no name
    assert found == ServiceFacts("Payments", "s" * 32, (), {
        "business_impact": "1 - most critical", "service_manager": "Ada Lovelace",
        "service_manager_id": "u" * 32})
    assert connector.service_facts(raw("incident", {"sys_id": "x", "name": "y"})) is None


@pytest.fixture
def stock(loose: responses.RequestsMock) -> Instance:
    instance = Instance()
    instance.columns["kb_knowledge"] |= SYS
    instance.columns["sys_user"] = {"sys_id", "name"}
    instance.register(loose)
    return instance


def article(html: str = "<p>v1</p>", **extra: object) -> KnowledgeArticle:
    return KnowledgeArticle.model_validate({
        "transition_id": "snow:PRJ0010001", "service": "Payments",
        "short_description": "Payments: service desk guide", "html": html,
        "keywords": ["Payments"], "content_hash": "h", **extra})


def test_a_draft_a_person_edited_is_never_overwritten(stock: Instance) -> None:
    connector = snow()
    connector.push_article(article(), KEY)
    [row] = stock.rows["kb_knowledge"]
    row["sys_created_by"] = row["sys_updated_by"] = "smo.bridge"
    written = article_digest("Payments: service desk guide", "<p>v1</p>")
    # unchanged by anyone: the bridge's next version is written in place
    assert connector.push_article(article("<p>v2</p>", written=written), KEY).outcome == "updated"
    row["sys_updated_by"] = "smo.bridge"
    written = article_digest("Payments: service desk guide", "<p>v2</p>")
    row.update(text="<p>the desk's words</p>", sys_updated_by="kb.manager")
    result = connector.push_article(article("<p>v3</p>", written=written), KEY)
    assert result.outcome == "created"
    assert row["text"] == "<p>the desk's words</p>"
    revision = stock.rows["kb_knowledge"][-1]
    assert revision["text"] == "<p>v3</p>" and revision["workflow_state"] == "draft"
    assert "(revision of" in revision["short_description"] and TAG in revision["meta"]


def test_the_service_ci_and_its_manager_are_set(stock: Instance) -> None:
    stock.add("sys_user", sys_id="e" * 32, name="Ada Lovelace")
    snow().push_article(article(service_id="c" * 32, author="Ada Lovelace"), KEY)
    [row] = stock.rows["kb_knowledge"]
    assert (row["cmdb_ci"], row["author"]) == ("c" * 32, "e" * 32)
    snow().push_article(article(author="Nobody Known"), "smo-bridge:snow:PRJ0010002")
    assert "author" not in stock.rows["kb_knowledge"][-1]  # unknown person: the default


def test_retiring_moves_only_the_bridges_own_articles(stock: Instance) -> None:
    connector = snow()
    connector.push_article(article(), KEY)
    draft = stock.rows["kb_knowledge"][0]
    published = stock.add("kb_knowledge", short_description="p", meta=TAG, workflow_state="published",
                          sys_created_by="smo.bridge")
    copied = stock.add("kb_knowledge", short_description="c", meta=TAG, workflow_state="published",
                       sys_created_by="beth.anglin")  # a person copied our tag: not ours
    draft["sys_created_by"] = "smo.bridge"
    assert connector.push_article(article(retire=True), KEY).outcome == "updated"
    assert draft["workflow_state"] == "retired"
    assert published["workflow_state"] == "pending_retirement"  # a person approves that
    assert copied["workflow_state"] == "published"
    assert connector.push_article(article(retire=True), KEY).outcome == "unchanged"
