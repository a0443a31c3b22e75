"""A knowledge manager at work in the emulated ServiceNow, for tests that run cycles.

Between two cycles a test can play the people of the knowledge workflow: edit an article,
publish it, approve it, as a named user. Each change is an update by that user, so the row
records it the way an instance does (`sys_updated_by`, `sys_updated_on`, `sys_mod_count`)
and the next incremental pull reads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.sandbox import Sandbox

#: a seeded person's login that is not the integration user
KNOWLEDGE_MANAGER = "kb.manager"


def _article_index(sb: Sandbox, number: str) -> int:
    table = sb.servicenow_store.table("kb_knowledge")
    assert table is not None
    for row in sb.servicenow_rows("kb_knowledge", f"number={number}"):
        found = table.locate(row["sys_id"])
        if found is not None:
            return found
    raise KeyError(f"no kb_knowledge {number}")


def edit_article(sb: Sandbox, number: str, user: str = KNOWLEDGE_MANAGER,
                 **values: str) -> dict[str, str]:
    """Change kb_knowledge `number` as `user` (e.g. `text=...`, `workflow_state="published"`);
    returns the row as it is now."""
    store = sb.servicenow_store
    table = store.table("kb_knowledge")
    assert table is not None
    i = _article_index(sb, number)
    store.update(table, i, values, user)
    return dict(table.row(i))


def approve_article(sb: Sandbox, number: str, approver_sys_id: str,
                    user: str = KNOWLEDGE_MANAGER) -> dict[str, str]:
    """Record `approver_sys_id`'s approval of the article as ServiceNow's knowledge workflow
    does (a sysapproval_approver row on the kb_knowledge record), and publish it."""
    store = sb.servicenow_store
    articles, approvals = store.table("kb_knowledge"), store.table("sysapproval_approver")
    assert articles is not None and approvals is not None
    i = _article_index(sb, number)
    sys_id = articles.row(i)["sys_id"]
    store.insert(approvals, {"sysapproval": "", "document_id": sys_id,
                             "source_table": "kb_knowledge", "approver": approver_sys_id,
                             "state": "approved"})
    store.update(articles, i, {"workflow_state": "published"}, user)
    return dict(articles.row(i))
