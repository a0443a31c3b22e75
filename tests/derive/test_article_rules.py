"""The rules of an article with an owner, one by one: whose article a transition has, what
the gate takes from it, when a person edited it, and what the template is given."""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.derive.evidence import ArticleState, article_published
from bridge.derive.knowledge import (
    KnowledgeIndex,
    article_context,
    author_for,
    cancelled,
    choose_article,
    known_errors,
    render_article,
    written_digest,
)
from bridge.models import Project, ServiceTransition, SourceRef, Ticket
from connectors.articles import ArticleApproval, ArticleRecord, ServiceFacts, article_digest
from mappings.loader import DEFAULT_TEMPLATE, template_environment

CORR = "smo-bridge:jira:OBS"
SERVICE = ServiceFacts(name="Observability", remote_id="svc-obs", aliases=("Monitoring",),
                       attributes={"business_impact": "2 - somewhat critical", "sla": "Silver",
                                   "support_hours": "24x7", "description": "Metrics and alerts",
                                   "service_manager": "Ada Lovelace", "resolver_group": "SRE"})


def transition(**kw: object) -> ServiceTransition:
    base: dict[str, object] = {"id": "jira:OBS", "service": "Observability"}
    base.update(kw)
    return ServiceTransition.model_validate(base)


def record(ref: str, state: str, *, ours: bool = True, by_bridge: bool | None = True,
           service: str | None = None, content: str = "c1") -> ArticleRecord:
    return ArticleRecord(ref=ref, remote_id=f"id-{ref}", workflow_state=state,
                         correlation=CORR if ours else None, service_id=service,
                         updated_by="smo.bridge" if by_bridge else "kb.manager",
                         by_integration=by_bridge, created_by_integration=ours, content=content)


def index(*found: ArticleRecord | ArticleApproval | ServiceFacts) -> KnowledgeIndex:
    built = KnowledgeIndex()
    for f in (SERVICE, *found):
        built.add(f)
    return built


# -- no self-evidence --------------------------------------------------------------------


def test_an_article_the_bridge_published_itself_meets_nothing() -> None:
    choice = choose_article(transition(), CORR, index(record("KB1", "published")), {})
    state = choice.state()
    assert state is not None and state.self_published
    found = article_published(state)
    assert not found.met and "published by smo-bridge itself" in (found.missing or "")


def test_an_account_the_bridge_cannot_tell_from_its_own_is_not_a_person() -> None:
    choice = choose_article(transition(), CORR, index(record("KB1", "published", by_bridge=None)), {})
    assert not article_published(choice.state()).met


def test_a_person_who_published_the_bridges_draft_meets_it() -> None:
    choice = choose_article(transition(), CORR, index(record("KB1", "published", by_bridge=False)), {})
    found = article_published(choice.state())
    assert found.met and "by kb.manager" in found.evidence[0].detail


def test_a_persons_approval_makes_the_bridges_publishing_count() -> None:
    at = datetime(2026, 11, 20, tzinfo=UTC)
    choice = choose_article(transition(), CORR, index(
        record("KB1", "published"), ArticleApproval("id-KB1", "Grace Hopper", at)), {})
    found = article_published(choice.state())
    assert found.met and found.approved_by == "Grace Hopper" and found.approved_at == at


def test_unpublished_or_missing_articles_are_unmet() -> None:
    assert not article_published(None).met
    assert not article_published(ArticleState(ref="KB1", workflow_state="review")).met


# -- adoption ----------------------------------------------------------------------------


def test_the_services_own_article_is_adopted_by_its_ci() -> None:
    theirs = record("KB7", "published", ours=False, by_bridge=False, service="svc-obs")
    retired = record("KB6", "retired", ours=False, by_bridge=False, service="svc-obs")
    other = record("KB8", "published", ours=False, by_bridge=False, service="svc-other")
    choice = choose_article(transition(service="Monitoring"), CORR, index(theirs, retired, other), {})
    assert choice.adopted == theirs
    state = choice.state()
    assert state is not None and state.adopted
    found = article_published(state)
    assert found.met and "existing article" in found.evidence[0].detail


def test_an_article_named_in_configuration_is_adopted_even_before_it_is_read() -> None:
    named = record("KB0010042", "review", ours=False, by_bridge=False)
    choice = choose_article(transition(), CORR, index(named), {"observability": "KB0010042"})
    assert choice.adopted == named
    unread = choose_article(transition(), CORR, index(), {"observability": "KB0099999"})
    assert unread.adopted is None and unread.configured == "KB0099999"
    assert not article_published(unread.state()).met


def test_the_bridges_article_a_person_took_on_stays_the_services() -> None:
    theirs = record("KB7", "published", ours=False, by_bridge=False, service="svc-obs")
    taken = record("KB1", "published", by_bridge=False)
    assert choose_article(transition(), CORR, index(theirs, taken), {}).adopted is None
    draft = record("KB2", "draft")
    assert choose_article(transition(), CORR, index(theirs, draft), {}).adopted == theirs


# -- a person's edit ---------------------------------------------------------------------


def test_a_persons_edit_is_told_from_what_the_bridge_wrote() -> None:
    written = article_digest("Observability: service desk guide", "<p>ours</p>")
    mine = record("KB1", "draft", content=written)
    assert choose_article(transition(), CORR, index(mine), {}).edited(written) is None
    theirs = record("KB1", "draft", by_bridge=False, content=article_digest("x", "<p>theirs</p>"))
    assert choose_article(transition(), CORR, index(theirs), {}).edited(written) == theirs
    # touched by a person, content as the bridge wrote it (say, valid_to extended): no edit
    touched = record("KB1", "draft", by_bridge=False, content=written)
    assert choose_article(transition(), CORR, index(touched), {}).edited(written) is None


def test_the_newest_revision_is_where_changes_go() -> None:
    first = record("KB9", "draft", by_bridge=False)
    revision = record("KB10", "draft")
    retired = record("KB8", "retired")
    choice = choose_article(transition(), CORR, index(revision, first, retired), {})
    assert choice.current == revision and [a.ref for a in choice.live] == ["KB9", "KB10"]


def test_written_digest_matches_the_connectors_reading() -> None:
    article = render_article(transition(), template_environment().from_string("<p>{{ service }}</p>"))
    assert written_digest(article) == article_digest(article.short_description,
                                                     f"  {article.html}\n")


# -- what the article says ---------------------------------------------------------------


def _project(**kw: object) -> Project:
    base: dict[str, object] = {"ref": SourceRef(source="jira", stream="projects", key="OBS"), "key": "OBS",
                               "name": "Observability"}
    base.update(kw)
    return Project.model_validate(base)


def _ticket(key: str, kind: str, category: str = "todo") -> Ticket:
    return Ticket.model_validate({"ref": {"source": "snow", "stream": "problem", "key": key}, "key": key,
                                  "display_key": key.upper(), "type": kind, "summary": f"{key} fails",
                                  "status_category": category,
                                  "opened": datetime(2026, 11, int(key[-1]) + 1, tzinfo=UTC)})


def test_every_template_variable_is_filled_for_a_jira_only_service() -> None:
    template = template_environment().from_string(DEFAULT_TEMPLATE.read_text())
    tickets = [_ticket("prb1", "Problem"), _ticket("prb2", "Problem", "done"),
               _ticket("inc3", "Incident")]
    shown, extra = article_context(transition(), [_project()], tickets, SERVICE)
    article = render_article(shown, template, generated_at="2026-11-30", extra=extra)
    for wanted in ("2 - somewhat critical", "Silver", "Ada Lovelace", "PRB1: prb1 fails",
                   "updated 2026-11-30", "Monitoring", "from OBS"):
        assert wanted in article.html, wanted
    assert "PRB2" not in article.html and "INC3" not in article.html
    assert "not stated" not in article.html and "not yet" not in article.html
    assert "What it is:</strong> Metrics and alerts." in article.html
    assert article.keywords == ["Observability", "Monitoring"]  # no resolver group
    # a new day alone changes nothing the bridge would write
    again = render_article(shown, template, generated_at="2026-12-01", extra=extra)
    assert again.content_hash == article.content_hash


def test_the_projects_own_facts_win_over_the_cmdbs() -> None:
    shown, _ = article_context(transition(attributes={"sla": "Gold"}, service_manager="Bo"),
                               [], [], SERVICE)
    assert shown.attributes["sla"] == "Gold" and shown.service_manager == "Bo"


def test_known_errors_are_the_open_problems_newest_first() -> None:
    tickets = [_ticket("prb1", "Problem"), _ticket("prb4", "problem"), _ticket("prb2", "Problem", "done")]
    assert known_errors(tickets) == ["PRB4: prb4 fails", "PRB1: prb1 fails"]


def test_a_transition_is_cancelled_only_when_all_its_projects_are() -> None:
    assert cancelled([_project(phase="Cancelled")])
    assert cancelled([_project(attributes={"state": "canceled"})])
    assert not cancelled([_project(phase="Cancelled"), _project(phase="Execution")])
    assert not cancelled([])


def test_the_author_is_the_service_manager_by_the_tools_id_when_the_cmdb_agrees() -> None:
    facts = ServiceFacts("Observability", "svc", attributes={
        "service_manager": "Ada Lovelace", "service_manager_id": "u" * 32})
    assert author_for(transition(service_manager="ada lovelace"), facts) == "u" * 32
    assert author_for(transition(service_manager="Bo Smith"), facts) == "Bo Smith"
    assert author_for(transition(), None) is None


def test_a_person_appointed_to_approve_the_article_must_be_the_one_who_approved() -> None:
    published = ArticleState(ref="KB7", workflow_state="published", person="jane.doe")
    assert article_published(published).met  # a team approver: any person's publish counts
    waiting = article_published(published, approver="Dana Desk")
    assert not waiting.met and waiting.missing == (
        "article KB7 published by jane.doe; awaits approval by Dana Desk")
    other = ArticleState(ref="KB7", workflow_state="published", person="Ana Ruiz", approved=True)
    assert not article_published(other, approver="Dana Desk").met
    right = ArticleState(ref="KB7", workflow_state="published", person="Dana Desk", approved=True)
    found = article_published(right, approver="Dana Desk")
    assert found.met and found.approved_by == "Dana Desk"


def test_people_not_teams_are_held_to_their_own_approval() -> None:
    from bridge.derive.evidence import EvidenceContext, _is_person

    transition = ServiceTransition(id="jira:PAY", service="Payments", service_manager="Dana Desk",
                                   receivers=["Service Desk"], resolver_group="Network Ops")
    project = Project(ref=SourceRef(source="jira", stream="projects", key="PAY"), key="PAY",
                      name="Payments", project_manager="Piet Plan")
    ctx = EvidenceContext(transition, [project], [], None)
    assert _is_person("Dana Desk", ctx) and _is_person("piet plan", ctx)
    assert not _is_person("Service Desk", ctx) and not _is_person("network ops", ctx)
    assert not _is_person(None, ctx)
