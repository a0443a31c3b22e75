"""What the ServiceNow connector writes: the gate status on pm_project, the knowledge article.

Stock first: a stock instance has no column of ours. The gate status is a work note on
the pm_project (work_notes is stock on every task table), tagged `[smo-bridge:<key>]`;
it also goes into `gate_field` only when the instance has that column (sys_dictionary,
or the row itself when sys_dictionary is not readable). An article carries its
correlation key as a `[smo-bridge:<key>]` keyword in `meta` (stock), and in
`correlation_field` too when the instance has that column.

Nothing the bridge did not create is modified: a row found by a query is taken for ours
only when it carries our key (an instance with glide.invalid_query.returns_no_rows=false
drops conditions on unknown fields and returns unrelated rows). Every write is read back:
ServiceNow answers 200 to a PATCH of a column it lacks and simply drops the field.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

from bridge.errors import PermissionDenied, SourceError
from bridge.models import KnowledgeArticle
from connectors.articles import ENDED_STATES, article_digest
from connectors.base import PushResult
from connectors.servicenow_articles import revision_title
from connectors.servicenow_query import (
    SYS_ID,
    check_correlation,
    display_text,
    field_value,
    lineage,
    marker,
    markers_in,
    query_value,
    sys_id_value,
)

if TYPE_CHECKING:
    from connectors.servicenow import ServiceNowConnector

_NO_DICTIONARY = (
    "custom columns cannot be discovered, a stock instance is assumed unless the row "
    "itself shows the column; grant the integration user read access to sys_dictionary"
)
_NO_JOURNAL = (
    "work notes are checked through the row's display value only; grant the integration "
    "user read access to sys_journal_field to check them there too"
)


def unreadable(exc: SourceError) -> bool:
    """403, or a table this instance does not have: a side read to do without."""
    text = str(exc)
    return isinstance(exc, PermissionDenied) or "(400)" in text or "(404)" in text


def has_column(conn: ServiceNowConnector, table: str, column: str) -> bool | None:
    """Whether sys_dictionary defines `column` on `table` (or a parent); None when
    sys_dictionary cannot be read. Cached for the connector's life."""
    key = (table, column)
    if key in conn.columns:
        return conn.columns[key]
    tables = lineage(table)
    found: bool | None
    try:
        rows = conn.rows(
            "sys_dictionary",
            f"nameIN{','.join(tables)}^element={column}",
            ["name", "element"],
            limit=10,
            display_value=False,
        )
        # the rows must say so themselves: an ignored condition returns unrelated rows
        found = any(
            field_value(r, "name") in tables and field_value(r, "element") == column for r in rows
        )
    except SourceError as exc:
        if not unreadable(exc):
            raise
        conn.side_read_denied("sys_dictionary", _NO_DICTIONARY, exc)
        found = None
    conn.columns[key] = found
    return found


def _note_seen(
    conn: ServiceNowConnector, sys_id: str, tag: str, row: dict[str, Any]
) -> bool | None:
    """Whether the pm_project's work notes hold `tag`: in the journal's display value on
    the row, else in sys_journal_field. None when neither can be read."""
    shown = display_text(row, "work_notes")
    if tag in shown:
        return True
    if "sys_journal_field" not in conn.denied:
        try:
            rows = conn.rows(
                "sys_journal_field",
                f"element_id={sys_id}^element=work_notes^valueLIKE{tag}",
                ["element_id", "value"],
                limit=5,
                display_value=False,
            )
            return any(
                field_value(r, "element_id") == sys_id and tag in str(field_value(r, "value"))
                for r in rows
            )
        except SourceError as exc:
            if not unreadable(exc):
                raise
            conn.side_read_denied("sys_journal_field", _NO_JOURNAL, exc)
    return False if shown else None


def push_gate_status(
    conn: ServiceNowConnector,
    project_sys_id: str,
    status_payload: dict[str, Any],
    correlation_key: str,
    comment: str | None = None,
) -> PushResult:
    """A work note tagged with the correlation key (once: a retry finds the tag), plus the
    gate's one-line summary (a person reads it on the form) in `gate_field` when the
    instance has that column; both in one PATCH, then read back."""
    sid = sys_id_value(conn.name, project_sys_id, "pm_project")
    tag = marker(check_correlation(conn.name, correlation_key))
    gate = conn.cfg.gate_field
    column = has_column(conn, "pm_project", gate)
    fields = ["sys_id", "work_notes", *([gate] if column is not False else [])]
    request = "GET /api/now/table/pm_project"
    row = conn.row("pm_project", sid, fields)
    if row is None:
        raise SourceError(conn.name, f"pm_project {sid} not found", request=request)
    writes_gate = column is True or (column is None and gate in row)
    shown = status_payload.get("summary") or json.dumps(status_payload, sort_keys=True)
    noted = _note_seen(conn, sid, tag, row) if comment else None
    body: dict[str, Any] = {}
    if writes_gate and field_value(row, gate) != shown:
        body[gate] = shown
    if comment and not noted:
        body["work_notes"] = f"{comment}\n\n{tag}"
    if not body:
        return PushResult(sid, "unchanged", "exists" if noted else None)
    conn.write("PATCH", "pm_project", body, sys_id=sid)
    back = conn.row("pm_project", sid, fields)
    if back is None:
        raise SourceError(conn.name, f"pm_project {sid} not found after writing", request=request)
    if gate in body and field_value(back, gate) != shown:
        raise SourceError(
            conn.name,
            f"pm_project.{gate} did not keep the gate status written to it: the column is "
            f"missing or not writable by this user (fix gate_field or grant write access)",
            request=f"PATCH /api/now/table/pm_project/{sid}",
        )
    note: Literal["added"] | None = None
    if "work_notes" in body:
        seen = _note_seen(conn, sid, tag, back)
        if seen is False:
            raise SourceError(
                conn.name,
                f"the work note written to pm_project {sid} is not there when read back: "
                "grant the integration user write access to pm_project.work_notes",
                request=f"PATCH /api/now/table/pm_project/{sid}",
            )
        if seen is None:
            conn.log.warning(
                "%s: the work note on pm_project %s cannot be read back; taken as written",
                conn.name,
                sid,
            )
        note = "added"
    if gate in body and not field_value(row, gate):
        return PushResult(sid, "created", note)
    return PushResult(sid, "updated", note)


def _correlation_column(conn: ServiceNowConnector) -> bool:
    """Whether kb_knowledge has `correlation_field`: sys_dictionary, else a sample row."""
    corr = conn.cfg.correlation_field
    column = has_column(conn, "kb_knowledge", corr)
    if column is None:
        sample = conn.rows("kb_knowledge", "", ["sys_id", corr], limit=1)
        column = bool(sample) and corr in sample[0]
        conn.columns[("kb_knowledge", corr)] = column
    return column


def _carries(row: dict[str, Any], corr: str | None, key: str) -> bool:
    """Whether a kb_knowledge row carries our correlation key (column or meta marker)."""
    if corr and field_value(row, corr) == key:
        return True
    return key in markers_in(row.get("meta"))


def push_article(
    conn: ServiceNowConnector, article: KnowledgeArticle, correlation_key: str
) -> PushResult:
    """Create, update, revise or retire the kb_knowledge article carrying `correlation_key`.

    The key is looked up before any create, so a retried create finds its first attempt
    and updates it instead of adding a second article. Only the bridge's own draft, as the
    bridge last wrote it, is updated in place; an article a person edited or took on into
    the knowledge workflow is never touched: the changes become a new draft naming it."""
    key = check_correlation(conn.name, correlation_key)
    tag = marker(key)
    corr = conn.cfg.correlation_field if _correlation_column(conn) else None
    wanted = _wanted(conn, article, corr, key, tag)
    # the marker too: an article written before the column was seen carries only that
    query = f"{corr}={key}^ORmetaLIKE{tag}" if corr else f"metaLIKE{tag}"
    found = conn.rows(
        "kb_knowledge",
        f"{query}^ORDERBYsys_created_on^ORDERBYnumber",
        ["sys_id", "number", "sys_created_by", "sys_updated_by", *wanted],
        limit=50,
        display_value=False,
    )
    ours = [r for r in found if _carries(r, corr, key) and _created_by_us(conn, r)]
    if article.retire:
        return _retire(conn, ours, corr, key)
    live = [r for r in ours if field_value(r, "workflow_state") not in ENDED_STATES]
    if not live:
        return _create(conn, wanted, corr, key)
    current = live[-1]  # the newest: a revision draft comes after what it revises
    sys_id = str(field_value(current, "sys_id"))
    state = field_value(current, "workflow_state") or "draft"
    held = article_digest(field_value(current, "short_description"), field_value(current, "text"))
    edited = _edited_by_person(conn, current, held, article.written)
    # past draft, the bridge may still update what only its own account ever moved there
    # (an article configured to be created in review or published)
    if edited or (state != "draft" and not _last_written_by_us(conn, current)):
        # a person's now: never overwritten; what the bridge has to say is a new draft
        if held == article_digest(article.short_description, article.html):
            return PushResult(sys_id, "unchanged")
        number = str(field_value(current, "number") or sys_id)
        conn.log.info("%s: kb_knowledge %s is %s%s: proposing a revision draft", conn.name,
                      number, state, ", edited by a person" if edited else "")
        revision = {**wanted, "workflow_state": "draft",
                    "short_description": revision_title(article.short_description, number)}
        return _create(conn, revision, corr, key)
    # the state is set once, at creation: moving it on is the knowledge workflow's part
    changes = {k: v for k, v in wanted.items()
               if k != "workflow_state" and field_value(current, k) != v}
    if not changes:
        return PushResult(sys_id, "unchanged")
    conn.write("PATCH", "kb_knowledge", changes, sys_id=sys_id)
    _verify_article(conn, sys_id, changes, corr, key, f"PATCH /api/now/table/kb_knowledge/{sys_id}")
    return PushResult(sys_id, "updated")


def _wanted(conn: ServiceNowConnector, article: KnowledgeArticle, corr: str | None, key: str,
            tag: str) -> dict[str, Any]:
    keywords = [k for k in article.keywords if k and k != tag]
    wanted: dict[str, Any] = {
        "short_description": article.short_description,
        "text": article.html,
        "meta": ", ".join([*keywords, tag]),
        "workflow_state": article.workflow_state,
    }
    if corr:
        wanted[corr] = key
    kb_name = conn.cfg.knowledge_base or article.knowledge_base
    if kb_name:
        wanted["kb_knowledge_base"] = knowledge_base_id(conn, kb_name)
        if article.category:
            category = _category_id(conn, article.category, wanted["kb_knowledge_base"])
            if category:
                wanted["kb_category"] = category
    if article.service_id and SYS_ID.match(article.service_id):
        wanted["cmdb_ci"] = article.service_id
    author = _user_id(conn, article.author) if article.author else None
    if author:
        wanted["author"] = author
    return wanted


def _create(conn: ServiceNowConnector, wanted: dict[str, Any], corr: str | None,
            key: str) -> PushResult:
    valid_to = date.today() + timedelta(days=conn.cfg.article_valid_days)
    wanted = {**wanted, "valid_to": valid_to.isoformat()}
    created = conn.write("POST", "kb_knowledge", wanted)
    sys_id = str(field_value(created, "sys_id"))
    _verify_article(conn, sys_id, wanted, corr, key, "POST /api/now/table/kb_knowledge")
    return PushResult(sys_id, "created")


def _created_by_us(conn: ServiceNowConnector, row: dict[str, Any]) -> bool:
    """A tagged row is the bridge's when its account created it (when that can be told)."""
    user = conn.integration_user
    creator = field_value(row, "sys_created_by")
    return user is None or not creator or str(creator).casefold() == user.casefold()


def _last_written_by_us(conn: ServiceNowConnector, row: dict[str, Any]) -> bool:
    user = conn.integration_user
    updater = str(field_value(row, "sys_updated_by") or "")
    return user is not None and updater.casefold() == user.casefold()


def _edited_by_person(conn: ServiceNowConnector, row: dict[str, Any], held: str,
                      written: str | None) -> bool:
    """Whether someone other than the bridge changed the article since the bridge wrote it:
    the last writer is not the bridge's account and the content is not what it wrote."""
    user = conn.integration_user
    updater = str(field_value(row, "sys_updated_by") or "")
    if user is not None and updater.casefold() == user.casefold():
        return False
    if written is None:
        return user is not None and bool(updater)
    return held != written


#: what the bridge moves its own article to when its transition ends (merged or cancelled):
#: ServiceNow's "pending retirement" is a published article selected for retirement,
#: pending approval; a draft or review nobody published is simply retired
_RETIRE = {"draft": "retired", "review": "retired", "scheduled_publish": "retired",
           "published": "pending_retirement"}


def _retire(conn: ServiceNowConnector, ours: list[dict[str, Any]], corr: str | None,
            key: str) -> PushResult:
    outcome: PushResult | None = None
    for row in ours:
        sys_id = str(field_value(row, "sys_id"))
        target = _RETIRE.get(str(field_value(row, "workflow_state") or "draft"))
        if target is None:
            continue  # already retired, outdated or pending retirement
        conn.write("PATCH", "kb_knowledge", {"workflow_state": target}, sys_id=sys_id)
        back = conn.row("kb_knowledge", sys_id, ["workflow_state"], display_value=False)
        if back is None or field_value(back, "workflow_state") != target:
            raise SourceError(
                conn.name,
                f"kb_knowledge {sys_id} did not move to {target}: grant the integration user "
                "write access to kb_knowledge.workflow_state",
                request=f"PATCH /api/now/table/kb_knowledge/{sys_id}",
            )
        outcome = PushResult(sys_id, "updated")
    if outcome is None:
        first = str(field_value(ours[0], "sys_id")) if ours else key
        return PushResult(first, "unchanged")
    return outcome


def _user_id(conn: ServiceNowConnector, name: str) -> str | None:
    """The sys_user of a person named `name`, when the instance knows exactly one."""
    if SYS_ID.match(name):
        return name
    if name in conn.user_ids:
        return conn.user_ids[name]
    found: str | None = None
    try:
        rows = conn.rows("sys_user", f"name={query_value(conn.name, name, 'user name')}",
                         ["sys_id", "name"], limit=3, display_value=False)
        matches = [r for r in rows if field_value(r, "name") == name]
        if len(matches) == 1:
            found = str(field_value(matches[0], "sys_id"))
    except SourceError as exc:
        if not unreadable(exc):
            raise
        conn.side_read_denied("sys_user", "articles are written without an author", exc)
    conn.user_ids[name] = found
    return found


def _verify_article(
    conn: ServiceNowConnector,
    sys_id: str,
    written: dict[str, Any],
    corr: str | None,
    key: str,
    request: str,
) -> None:
    """Read the article back: every field written is there, with our key on it.

    `text` is compared for presence only (the instance's HTML sanitizer may rewrite it);
    a knowledge workflow may move `workflow_state` on: that is logged, not refused."""
    if not SYS_ID.match(sys_id):
        raise SourceError(
            conn.name, f"the instance answered without a sys_id ({sys_id!r})", request=request
        )
    back = conn.row("kb_knowledge", sys_id, ["meta", *written], display_value=False)
    if back is None:
        raise SourceError(
            conn.name, f"kb_knowledge {sys_id} not found after writing", request=request
        )
    missing = sorted(k for k in written if k not in back)
    if missing:
        raise SourceError(
            conn.name,
            f"kb_knowledge {sys_id} did not keep {', '.join(missing)}: the instance has no "
            "such column or this user may not write it",
            request=request,
        )
    if not _carries(back, corr, key):
        raise SourceError(
            conn.name,
            f"kb_knowledge {sys_id} does not carry correlation {key} when read back",
            request=request,
        )
    for name, value in written.items():
        stored = field_value(back, name)
        if name in ("text", "meta") or stored == value:
            continue
        if name == "workflow_state":
            conn.log.warning(
                "%s: kb_knowledge %s is %r, not %r: the knowledge workflow decides",
                conn.name,
                sys_id,
                stored,
                value,
            )
            continue
        raise SourceError(
            conn.name,
            f"kb_knowledge {sys_id}.{name} reads back as {stored!r}, not what was written",
            request=request,
        )


def knowledge_base_id(conn: ServiceNowConnector, name: str) -> str:
    if SYS_ID.match(name):
        return name
    if name not in conn.kb_ids:
        title = query_value(conn.name, name, "knowledge base title")
        rows = conn.rows("kb_knowledge_base", f"title={title}", ["sys_id", "title"], limit=5)
        match = next((r for r in rows if field_value(r, "title") == name), None)
        if match is None:
            raise SourceError(
                conn.name,
                f"knowledge base {name!r} not found: set `knowledge_base` on the source or "
                "`knowledge.knowledge_base` in the mapping to the title or sys_id of an existing "
                "knowledge base (a stock instance has 'IT'), or leave both unset for the "
                "instance's default",
                request="GET /api/now/table/kb_knowledge_base",
            )
        conn.kb_ids[name] = str(field_value(match, "sys_id"))
    return conn.kb_ids[name]


def _category_id(conn: ServiceNowConnector, name: str, kb: str) -> str | None:
    if SYS_ID.match(name):
        return name
    label = query_value(conn.name, name, "knowledge category")
    try:
        rows = conn.rows(
            "kb_category",
            f"label={label}^kb_knowledge_base={kb}",
            ["sys_id", "label", "kb_knowledge_base"],
            limit=5,
        )
    except PermissionDenied as exc:
        conn.side_read_denied("kb_category", "articles are filed without a category", exc)
        return None
    match = next((r for r in rows if field_value(r, "label") == name), None)
    if match is None:
        conn.log.warning(
            "%s: no kb_category %r in the knowledge base; article filed without a category",
            conn.name,
            name,
        )
        return None
    return str(field_value(match, "sys_id"))
