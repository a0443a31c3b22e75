"""Service-desk knowledge articles: whose article a transition has, what the gate may take
from it, and what the bridge writes.

- **Adopted**: a service that already has an article (named in `knowledge.articles`, or a
  live article whose CI is the service) keeps it; the bridge writes no second one and never
  modifies it.
- **Ours**: otherwise the bridge writes one, tagged with the transition's correlation key.
  Only its own draft, as it last wrote it, is updated; once a person edited it or took it
  on into the knowledge workflow, the bridge's changes go into a new draft naming it.
- **No self-evidence**: a published article meets the gate only when a person published
  or approved it; one the bridge's account published (and nobody approved) does not.
- When a transition ends (merged into another, or cancelled), what the bridge wrote is
  retired (a draft) or proposed for retirement (a published one); never anyone else's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from jinja2 import Template, TemplateError

from bridge.derive.evidence import ArticleState
from bridge.errors import ConfigError
from bridge.models import KnowledgeArticle, Project, ServiceTransition, Ticket
from connectors.articles import ArticleApproval, ArticleRecord, ServiceFacts, article_digest
from mappings.templates import render_limited

#: project phases that end a transition without a service going live
CANCELLED = frozenset({"cancelled", "canceled"})
#: known errors an article lists at most
KNOWN_ERRORS = 10
#: stands for `generated_at` while the content is hashed
_STAMP = "smo-bridge-generated-at-5f3759df"


def keywords_for(transition: ServiceTransition) -> list[str]:
    """What the service desk types to find the service: its name and what its users call it.
    Not the resolver group: one group serves many services, and its name as a keyword
    makes a search for it return every one of their articles."""
    words: list[str] = []
    for word in (transition.service, *transition.service_aliases):
        if word and word.casefold() not in {w.casefold() for w in words}:
            words.append(word)
    return words


def article_hash(short_description: str, html: str, keywords: list[str],
                 knowledge_base: str | None, category: str | None, workflow_state: str,
                 *more: str | None) -> str:
    canonical = json.dumps([short_description, html, keywords, knowledge_base, category,
                            workflow_state, *more], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def render_article(transition: ServiceTransition, template: Template, *,
                   knowledge_base: str | None = None, category: str | None = None,
                   workflow_state: Literal["draft", "review", "published"] = "draft",
                   service_id: str | None = None, author: str | None = None,
                   generated_at: str = "", extra: dict[str, Any] | None = None) -> KnowledgeArticle:
    """Render the article; the template sees `transition`, `service`, `attributes` and
    `generated_at`. The content hash leaves `generated_at` out: a new day alone is no change."""
    try:
        html = render_limited(template, {"transition": transition, "service": transition.service,
                                         "attributes": transition.attributes,
                                         "generated_at": _STAMP, **(extra or {})})
    except TemplateError as exc:
        raise ConfigError(f"knowledge template failed for {transition.id}: {exc}") from None
    content = html
    html = html.replace(_STAMP, generated_at)
    short = f"{transition.service}: service desk guide"
    keywords = keywords_for(transition)
    return KnowledgeArticle(
        transition_id=transition.id, service=transition.service, short_description=short,
        html=html, keywords=keywords, knowledge_base=knowledge_base, category=category,
        workflow_state=workflow_state, service_id=service_id, author=author,
        content_hash=article_hash(short, content, keywords, knowledge_base, category,
                                  workflow_state, service_id, author),
    )


def written_digest(article: KnowledgeArticle | None) -> str | None:
    """The digest of the title and body the bridge wrote, compared with what the tool holds."""
    return article_digest(article.short_description, article.html) if article else None


# -- what the knowledge base holds ----------------------------------------------------------


@dataclass
class KnowledgeIndex:
    """The knowledge target's pulled articles, approvals and services, indexed."""

    by_correlation: dict[str, list[ArticleRecord]] = field(default_factory=dict)
    by_service: dict[str, list[ArticleRecord]] = field(default_factory=dict)
    by_number: dict[str, ArticleRecord] = field(default_factory=dict)
    approvals: dict[str, list[ArticleApproval]] = field(default_factory=dict)
    services: dict[str, ServiceFacts] = field(default_factory=dict)

    def add(self, found: ArticleRecord | ArticleApproval | ServiceFacts) -> None:
        if isinstance(found, ArticleApproval):
            self.approvals.setdefault(found.article_id, []).append(found)
        elif isinstance(found, ServiceFacts):
            for name in (found.name, *found.aliases):
                self.services.setdefault(name.casefold(), found)
        else:
            self.by_number[found.ref.casefold()] = found
            if found.correlation:
                self.by_correlation.setdefault(found.correlation, []).append(found)
            elif found.service_id:
                self.by_service.setdefault(found.service_id, []).append(found)

    def service(self, transition: ServiceTransition) -> ServiceFacts | None:
        for name in (transition.service, *transition.service_aliases):
            found = self.services.get(name.casefold())
            if found is not None:
                return found
        return None


#: a person's article is adopted in this order of states: the desk reads a published one
_ADOPT_ORDER = {"published": 0, "scheduled_publish": 1, "review": 2, "draft": 3}


@dataclass
class ArticleChoice:
    """A transition's article: adopted (a person's) or the bridge's own records."""

    adopted: ArticleRecord | None
    ours: list[ArticleRecord]
    service: ServiceFacts | None
    configured: str | None = None
    approvals: dict[str, list[ArticleApproval]] = field(default_factory=dict)

    @property
    def live(self) -> list[ArticleRecord]:
        return [a for a in self.ours if not a.ended]

    @property
    def current(self) -> ArticleRecord | None:
        """The bridge's newest live article: where its next changes go (or next to it)."""
        live = self.live
        return live[-1] if live else None

    def state(self) -> ArticleState | None:
        """What the gate sees: the adopted article, else the best of the bridge's."""
        if self.adopted is not None:
            a = self.adopted
            return ArticleState(ref=a.ref, workflow_state=a.workflow_state, at=a.at, adopted=True,
                                person=a.updated_by)
        if self.configured is not None:
            return ArticleState(ref=self.configured, workflow_state="unknown", adopted=True)
        states = [self._ours(a) for a in self.live]
        counted = [s for s in states if s.workflow_state == "published" and not s.self_published]
        if counted:
            return counted[-1]
        published = [s for s in states if s.workflow_state == "published"]
        shown = published or states
        return shown[-1] if shown else None

    def _ours(self, a: ArticleRecord) -> ArticleState:
        approved = self.approvals.get(a.remote_id, [])
        if approved:
            last = approved[-1]
            return ArticleState(ref=a.ref, workflow_state=a.workflow_state, at=last.at or a.at,
                                person=last.approver, approved=True)
        # published by the bridge's own account (or by an account it cannot tell from its
        # own) and approved by nobody: the bridge's word, not a person's
        self_published = a.by_integration is not False
        return ArticleState(ref=a.ref, workflow_state=a.workflow_state, at=a.at,
                            person=None if self_published else a.updated_by,
                            self_published=self_published)

    def edited(self, written: str | None) -> ArticleRecord | None:
        """The bridge's current draft when a person changed it since the bridge wrote it."""
        current = self.current
        if current is None or current.workflow_state != "draft" or current.by_integration:
            return None
        if written is None or current.content == written:
            return None
        return current

    def fingerprint(self) -> list[Any]:
        """What of the articles derivation depends on, for the inputs digest."""
        rows = ([self.adopted] if self.adopted else []) + self.ours
        return [[a.ref, a.workflow_state, a.updated_by, a.content, str(a.at),
                 [x.approver for x in self.approvals.get(a.remote_id, [])]] for a in rows] + [
            self.configured, self.service.remote_id if self.service else None]


def choose_article(transition: ServiceTransition, correlation: str, index: KnowledgeIndex,
                   configured: dict[str, str]) -> ArticleChoice:
    """Which article is the transition's: one named in configuration, else a person's live
    article whose CI is the service, else the bridge's own. The bridge's own stays the
    service's once a person took it past draft (it is theirs then, and counts)."""
    ours = sorted(index.by_correlation.get(correlation, []), key=lambda a: (len(a.ref), a.ref))  # numbered in creation order
    service = index.service(transition)
    approvals = index.approvals
    named = next((configured[n.casefold()] for n in (transition.service, *transition.service_aliases)
                  if n.casefold() in configured), None)
    if named is not None:
        found = index.by_number.get(named.casefold())
        if found is not None and found.correlation is None:
            return ArticleChoice(found, ours, service, approvals=approvals)
        # named but not (yet) read: still adopted, so nothing is written in its place
        return ArticleChoice(None, ours, service, configured=named, approvals=approvals)
    taken = [a for a in ours if not a.ended and a.workflow_state != "draft"]
    candidates = [a for a in index.by_service.get(service.remote_id, []) if not a.ended
                  and a.workflow_state in _ADOPT_ORDER] if service else []
    if candidates and not taken:
        best = min(candidates, key=lambda a: (_ADOPT_ORDER[a.workflow_state], a.ref))
        return ArticleChoice(best, ours, service, approvals=approvals)
    return ArticleChoice(None, ours, service, approvals=approvals)


# -- what the article says ------------------------------------------------------------------


def cancelled(projects: Sequence[Project]) -> bool:
    """Every project of the transition was cancelled (its phase or state says so)."""
    def says(project: Project) -> bool:
        values = (project.phase, project.attributes.get("state"), project.attributes.get("status"))
        return any(str(v or "").strip().casefold() in CANCELLED for v in values)
    return bool(projects) and all(says(p) for p in projects)


def is_known_error(ticket: Ticket) -> bool:
    """An open problem (known error): the tickets an article reads."""
    return (ticket.type or "").casefold() in {"problem", "known error"} and ticket.status_category != "done"


def known_errors(tickets: Iterable[Ticket]) -> list[str]:
    """The service's open problems (known errors), as the desk should read them."""
    found = [t for t in tickets if is_known_error(t)]
    found.sort(key=lambda t: t.opened, reverse=True)
    return [f"{t.label}: {t.summary}" if t.summary else t.label for t in found[:KNOWN_ERRORS]]


def article_context(transition: ServiceTransition, projects: Sequence[Project],
                    tickets: Iterable[Ticket], service: ServiceFacts | None
                    ) -> tuple[ServiceTransition, dict[str, Any]]:
    """The transition as the template sees it: the CMDB's facts where the projects are
    silent (a service tracked only in Jira) and its known errors."""
    facts = dict(service.attributes) if service else {}
    people = ("service_manager", "service_manager_id", "resolver_group")
    attributes = {**{k: v for k, v in facts.items() if k not in people},
                  **{k: v for k, v in transition.attributes.items() if v not in (None, "", [])}}
    errors = known_errors(tickets)
    if errors and not attributes.get("known_errors"):
        attributes["known_errors"] = errors
    update: dict[str, Any] = {"attributes": attributes}
    if not transition.service_manager and facts.get("service_manager"):
        update["service_manager"] = facts["service_manager"]
    if not transition.resolver_group and facts.get("resolver_group"):
        update["resolver_group"] = facts["resolver_group"]
    if service and service.aliases:
        seen = {a.casefold() for a in (transition.service, *transition.service_aliases)}
        extra = [a for a in service.aliases if a.casefold() not in seen]
        if extra:
            update["service_aliases"] = [*transition.service_aliases, *extra]
    return transition.model_copy(update=update), {"projects": list(projects)}


def author_for(shown: ServiceTransition, service: ServiceFacts | None) -> str | None:
    """The article's author: the service manager, by the tool's own id for that person when
    its CMDB names the same manager (no lookup needed), else by name."""
    name = shown.service_manager
    if not name or service is None:
        return name
    facts = service.attributes
    same = str(facts.get("service_manager") or "").strip().casefold() == name.strip().casefold()
    return str(facts["service_manager_id"]) if same and facts.get("service_manager_id") else name
