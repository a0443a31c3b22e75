"""Service-desk knowledge articles: rendered per transition, hashed so unchanged ones never travel."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from jinja2 import Template, TemplateError

from bridge.errors import ConfigError
from bridge.models import KnowledgeArticle, ServiceTransition
from mappings.templates import render_limited


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
                 knowledge_base: str | None, category: str | None, workflow_state: str) -> str:
    canonical = json.dumps([short_description, html, keywords, knowledge_base, category,
                            workflow_state], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def render_article(transition: ServiceTransition, template: Template, *,
                   knowledge_base: str | None = None, category: str | None = None,
                   workflow_state: Literal["draft", "published"] = "draft",
                   extra: dict[str, Any] | None = None) -> KnowledgeArticle:
    """Render the article; the template sees `transition`, `service` and `attributes`."""
    try:
        html = render_limited(template, {"transition": transition, "service": transition.service,
                                         "attributes": transition.attributes, **(extra or {})})
    except TemplateError as exc:
        raise ConfigError(f"knowledge template failed for {transition.id}: {exc}") from None
    short = f"{transition.service}: service desk guide"
    keywords = keywords_for(transition)
    return KnowledgeArticle(
        transition_id=transition.id, service=transition.service, short_description=short,
        html=html, keywords=keywords, knowledge_base=knowledge_base, category=category,
        workflow_state=workflow_state,
        content_hash=article_hash(short, html, keywords, knowledge_base, category, workflow_state),
    )
