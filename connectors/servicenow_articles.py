"""Reading ServiceNow's knowledge records as articles, approvals and services.

kb_knowledge (stock): `workflow_state` is one of draft, review, scheduled_publish,
published, pending_retirement, retired, outdated; `cmdb_ci` is the CI the article documents;
`author`, `valid_to`, `kb_knowledge_base`, `kb_category`, `meta` (search keywords). Every
table records `sys_created_by` and `sys_updated_by` (the login). A publish or retire approval
of an article is a sysapproval_approver row with `source_table` kb_knowledge and
`document_id` the article's sys_id.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from connectors.articles import ArticleApproval, ArticleRecord, ServiceFacts, article_digest
from connectors.servicenow_query import display_text, field_value, markers_in

#: how a revision draft names the article it proposes changes to, in its short description
REVISION = re.compile(r"\(revision of ([A-Za-z0-9]+)\)\s*$")


def revision_title(title: str, revises: str) -> str:
    return f"{title} (revision of {revises})"


def _same_login(a: object, b: str | None) -> bool | None:
    if b is None:
        return None
    return str(a or "").strip().casefold() == b.strip().casefold()


def article_record(payload: dict[str, Any], key: str, at: datetime | None,
                   correlation_field: str, integration_user: str | None) -> ArticleRecord:
    correlation = field_value(payload, correlation_field)
    if not correlation:
        found = markers_in(payload.get("meta"))
        correlation = found[0] if found else None
    title = str(field_value(payload, "short_description") or "")
    revises = REVISION.search(title) if correlation else None
    service = field_value(payload, "cmdb_ci")
    return ArticleRecord(
        ref=str(field_value(payload, "number") or key),
        remote_id=str(field_value(payload, "sys_id") or key),
        workflow_state=str(field_value(payload, "workflow_state") or "draft"),
        correlation=str(correlation) if correlation else None,
        service_id=str(service) if service else None,
        updated_by=str(field_value(payload, "sys_updated_by") or "") or None,
        by_integration=_same_login(field_value(payload, "sys_updated_by"), integration_user),
        created_by_integration=_same_login(field_value(payload, "sys_created_by"), integration_user),
        content=article_digest(title, field_value(payload, "text")),
        revises=revises.group(1) if revises else None,
        at=at,
    )


def article_approval(payload: dict[str, Any], at: datetime | None) -> ArticleApproval | None:
    """An approved approval of a kb_knowledge record, by the approver's name."""
    if field_value(payload, "source_table") != "kb_knowledge":
        return None
    if field_value(payload, "state") != "approved":
        return None
    article = field_value(payload, "document_id") or field_value(payload, "sysapproval")
    approver = display_text(payload, "approver")
    if not article or not approver:
        return None
    return ArticleApproval(article_id=str(article), approver=approver, at=at)


def service_facts(payload: dict[str, Any]) -> ServiceFacts | None:
    name = display_text(payload, "name")
    sys_id = field_value(payload, "sys_id")
    if not name or not sys_id:
        return None
    aliases = tuple(a.strip() for a in display_text(payload, "u_aliases").split(",") if a.strip())
    facts = {
        "description": display_text(payload, "short_description") or display_text(payload, "description"),
        # stock spells it `busines_criticality`
        "business_impact": display_text(payload, "busines_criticality"),
        "support_hours": display_text(payload, "u_support_hours"),
        "sla": display_text(payload, "u_sla"),
        "service_manager": _shown(payload, "owned_by"),
        # its sys_user, so an article's author needs no lookup when the names agree
        "service_manager_id": str(field_value(payload, "owned_by") or "") if _shown(
            payload, "owned_by") else "",
        "resolver_group": _shown(payload, "support_group"),
    }
    return ServiceFacts(name=name, remote_id=str(sys_id), aliases=aliases,
                        attributes={k: v for k, v in facts.items() if v})


def _shown(payload: dict[str, Any], name: str) -> str:
    """A reference's display value; "" when the row came as values only (a sys_id is no name)."""
    value = payload.get(name)
    return str(value.get("display_value") or "") if isinstance(value, dict) else ""
