"""What a knowledge base tells derivation about its articles, in vendor-neutral terms.

A connector with a knowledge base turns its pulled records into these (see
`Connector.article_state` and `Connector.service_facts`); derivation decides from them
which article is a transition's, whether a person published or approved it, and whether a
person edited what the bridge wrote.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: states in which an article is no longer the service's current article
ENDED_STATES = frozenset({"retired", "outdated", "pending_retirement"})


def article_digest(title: object, text: object) -> str:
    """The digest of an article's title and body, blind to whitespace changes: what the
    bridge wrote and what the tool holds are compared through it."""
    canonical = json.dumps([" ".join(str(title or "").split()), " ".join(str(text or "").split())],
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ArticleRecord:
    """One article as the knowledge base holds it, the bridge's or a person's.

    `by_integration` / `created_by_integration`: whether the bridge's own account changed
    it last / created it (None when the connector cannot tell who its account is).
    `revises`: the article a bridge revision draft proposes changes to."""

    ref: str
    remote_id: str
    workflow_state: str
    correlation: str | None = None
    service_id: str | None = None
    updated_by: str | None = None
    by_integration: bool | None = None
    created_by_integration: bool | None = None
    content: str = ""
    revises: str | None = None
    at: datetime | None = None

    @property
    def ended(self) -> bool:
        return self.workflow_state in ENDED_STATES


@dataclass(frozen=True)
class ArticleApproval:
    """A person's recorded approval of an article (ServiceNow: sysapproval_approver)."""

    article_id: str
    approver: str
    at: datetime | None = None


@dataclass(frozen=True)
class ServiceFacts:
    """A service as the tool's CMDB describes it: its id there and the facts an article shows."""

    name: str
    remote_id: str
    aliases: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)
