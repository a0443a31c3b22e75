"""ServiceNow Table API, through `pysnow`.

pysnow is unmaintained, so it stays behind this module: it builds URLs and parameters
and parses the `result` envelope; the session it uses carries our PolicyAdapter.

Incremental reads page by keyset on (`sys_updated_on`, `sys_id`) with plain encoded
queries every Table API implementation understands:
`sys_updated_on>=T^ORDERBYsys_updated_on^ORDERBYsys_id`, then, after a page ending at
(T, ID), first the rest of that second (`sys_updated_on=T^sys_id>ID^ORDERBYsys_id`) and
then `sys_updated_on>T...`. Offsets would skip records updated while we page, and a page
shorter than the limit proves nothing (ACLs remove rows after the limit is applied): only
an empty page ends a scan. Text values in encoded queries are read as UTC.
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

import pysnow
import requests
from pydantic import Field
from pysnow.exceptions import PysnowException

from bridge.errors import SourceError, TransientError
from bridge.models import KnowledgeArticle, RawRecord
from connectors.base import (
    BasicAuth,
    BearerAuth,
    Connector,
    OAuth2Auth,
    PushResult,
    QuarantineHandler,
    SourceConfig,
    StreamSpec,
)
from connectors.http import HttpPolicy, failure_from_exception, failure_from_response, mount_policy
from connectors.oauth import PasswordGrant
from connectors.timefmt import format_servicenow_timestamp, parse_servicenow_timestamp

# reference tables first: mappings look groups, people and services up while mapping tickets
DEFAULT_TABLES = [
    "sys_user_group",
    "sys_user",
    "cmdb_ci_service",
    "kb_knowledge_base",
    "pm_project",
    "task_sla",
    "incident",
    "problem",
    "change_request",
    "sc_req_item",
    "kb_knowledge",
]
_SYS_ID = re.compile(r"^[0-9a-f]{32}$")
_ORDER = "^ORDERBYsys_updated_on^ORDERBYsys_id"


class ServiceNowConfig(SourceConfig):
    kind: Literal["servicenow"] = "servicenow"
    tables: list[str] = Field(default_factory=lambda: list(DEFAULT_TABLES))
    page_size: int = Field(1000, ge=1, le=10000)
    gate_field: str = Field(
        "u_smo_gate_status", description="pm_project field that receives the gate status"
    )
    knowledge_base: str | None = Field(
        None, description="kb_knowledge_base title or sys_id for articles"
    )
    display_value: Literal["all", "false"] = Field(
        "all", description="all: every field as {value, display_value[, link]}; false: values only"
    )
    fields: dict[str, list[str]] = Field(
        default_factory=dict,
        description="sysparm_fields per table; a table not named gets every field",
    )
    deletions: bool = Field(True, description="read sys_audit_delete to report deleted records")
    correlation_field: str = Field(
        "u_smo_correlation", description="kb_knowledge field holding our key"
    )


def field_value(record: dict[str, Any], name: str) -> Any:
    """A field's stored value, whether the record came with display values or not."""
    value = record.get(name)
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def _escape(value: str) -> str:
    return value.replace("^", "^^")  # a literal caret in an encoded-query value


class ServiceNowConnector(Connector):
    kind = "servicenow"
    config_model = ServiceNowConfig
    push_capabilities = frozenset({"gate_status", "knowledge"})

    def __init__(self, config: SourceConfig) -> None:
        super().__init__(config)
        assert isinstance(config, ServiceNowConfig)
        self.cfg: ServiceNowConfig = config
        self._snow: pysnow.Client | None = None
        self._grant: PasswordGrant | None = None
        self._kb_ids: dict[str, str] = {}

    def streams(self) -> list[StreamSpec]:
        return [
            StreamSpec(t, primary_key="sys_id", cursor_field="sys_updated_on", is_sorted=True)
            for t in self.cfg.tables
        ]

    # -- the client, built on first use --------------------------------------------------------

    def _client(self) -> pysnow.Client:
        if self._snow is None:
            cfg = self.cfg
            parts = urlsplit(cfg.url)
            host, use_ssl = parts.netloc + parts.path, parts.scheme == "https"
            session = mount_policy(requests.Session(), HttpPolicy(cfg, self.kind))
            if isinstance(cfg.auth, BasicAuth):
                session.auth = (cfg.auth.username, cfg.auth.password.get_secret_value())
            elif isinstance(cfg.auth, BearerAuth):
                session.headers["Authorization"] = f"Bearer {cfg.auth.token.get_secret_value()}"
            elif isinstance(cfg.auth, OAuth2Auth):
                # our own token request on this session, not pysnow's OAuthClient: see oauth.py
                self._grant = PasswordGrant(
                    self.name, session, f"{cfg.url}/oauth_token.do", cfg.auth
                )
            self._snow = pysnow.Client(host=host, use_ssl=use_ssl, session=session)
        if self._grant is not None:
            self._grant.authorize()  # a token on first use, a fresh one before it expires
        return self._snow

    @contextmanager
    def _errors(self, request: str) -> Iterator[None]:
        try:
            yield
        except requests.HTTPError as exc:
            if exc.response is None:
                raise failure_from_exception(self.name, exc, request) from None
            raise failure_from_response(
                self.name, exc.response, _vendor_message(exc.response), request=request
            ) from None
        except requests.RequestException as exc:
            raise failure_from_exception(self.name, exc, request) from None
        except (ValueError, PysnowException):
            raise TransientError(f"malformed response body ({request})", source=self.name) from None

    def _get(
        self,
        table: str,
        query: str,
        fields: list[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        display_value: bool | str = False,
    ) -> list[dict[str, Any]]:
        resource = self._client().resource(api_path=f"/table/{table}")
        # lower-case flags as ServiceNow documents them (pysnow would send Python's "True")
        resource.parameters.add_custom(
            {
                "sysparm_display_value": str(display_value).lower(),
                "sysparm_exclude_reference_link": "false",
                "sysparm_suppress_pagination_header": "true",  # we page by key, not by Link
                "sysparm_no_count": "true",  # spares the server a COUNT(*) per page
            }
        )
        with self._errors(f"GET /api/now/table/{table}"):
            response = resource.get(
                query=query,
                limit=limit or self.cfg.page_size,
                offset=offset,
                fields=list(fields or []),
            )
            rows = response.all()
        return [r for r in rows if isinstance(r, dict)]

    def _write(
        self, method: str, table: str, payload: dict[str, Any], sys_id: str | None = None
    ) -> dict[str, Any]:
        resource = self._client().resource(api_path=f"/table/{table}")
        path = f"/api/now/table/{table}" + (f"/{sys_id}" if sys_id else "")
        with self._errors(f"{method} {path}"):
            if sys_id is None:
                result = resource.create(payload).one()
            else:
                result = resource.request(
                    method, path_append=f"/{sys_id}", data=json.dumps(payload)
                ).one()
        return dict(result)

    def check(self) -> None:
        table = self.cfg.tables[0] if self.cfg.tables else "sys_user"
        self._get(table, "", fields=["sys_id"], limit=1)

    def close(self) -> None:
        if self._snow is not None and self._snow.session is not None:
            self._snow.session.close()
        self._snow = None
        self._grant = None

    # -- reading ----------------------------------------------------------------------------------

    def read(
        self,
        stream: str,
        since: datetime | None = None,
        on_quarantine: QuarantineHandler | None = None,
    ) -> Iterator[RawRecord]:
        self.stream(stream)
        start = None if since is None else since - timedelta(seconds=self.cfg.overlap_seconds)
        fields = self.cfg.fields.get(stream)
        if fields:
            fields = list(dict.fromkeys([*fields, "sys_id", "sys_updated_on"]))
        display: bool | str = "all" if self.cfg.display_value == "all" else False
        updates = self._records(
            stream, self.scan(stream, "sys_updated_on", "", start, fields, display), on_quarantine
        )
        if start is None or not self.cfg.deletions or stream == "sys_audit_delete":
            yield from updates
            return
        deletes = self._deletions(stream, start, on_quarantine)
        yield from heapq.merge(updates, deletes, key=lambda r: (r.updated, r.key))

    def scan(
        self,
        table: str,
        cursor: str,
        where: str,
        start: datetime | None,
        fields: list[str] | None,
        display: bool | str,
    ) -> Iterator[dict[str, Any]]:
        """Keyset pages over (cursor, sys_id), from `start` on, until an empty page.

        A page whose rows all lack a readable position (they are quarantined downstream)
        gives no key to continue from: the next page then steps over it by offset."""
        order = f"^ORDERBY{cursor}^ORDERBYsys_id"
        prefix = f"{where}^" if where else ""
        query = (
            prefix + (f"{cursor}>={format_servicenow_timestamp(start)}" if start else "") + order
        )
        offset = 0
        while True:
            page = self._get(table, query.lstrip("^"), fields, offset=offset, display_value=display)
            if not page:
                return
            yield from page
            last = _last_position(page, cursor)
            if last is None:
                offset += len(page)
                continue
            stamp, sys_id = last
            drain_offset = 0
            while True:  # the rest of the last page's second, past its last sys_id
                rest = self._get(
                    table,
                    f"{prefix}{cursor}={stamp}^sys_id>{sys_id}^ORDERBYsys_id",
                    fields,
                    offset=drain_offset,
                    display_value=display,
                )
                if not rest:
                    break
                yield from rest
                position = _last_position(rest, cursor, same_second=stamp)
                if position is None:
                    drain_offset += len(rest)
                else:
                    sys_id, drain_offset = position[1], 0
            query, offset = f"{prefix}{cursor}>{stamp}{order}", 0

    def _records(
        self,
        stream: str,
        rows: Iterator[dict[str, Any]],
        on_q: QuarantineHandler | None,
    ) -> Iterator[RawRecord]:
        for row in rows:
            key = field_value(row, "sys_id")
            if not key:
                self.quarantine(on_q, stream, "record has no sys_id", row)
                continue
            try:
                updated = parse_servicenow_timestamp(field_value(row, "sys_updated_on"))
            except ValueError as exc:
                self.quarantine(on_q, stream, f"sys_updated_on: {exc}", row, key=str(key))
                continue
            yield RawRecord(
                source=self.name, stream=stream, key=str(key), updated=updated, payload=row
            )

    def _deletions(
        self, table: str, start: datetime, on_q: QuarantineHandler | None
    ) -> Iterator[RawRecord]:
        """sys_audit_delete rows of `table` since `start`, as deleted RawRecords."""
        rows = self.scan(
            "sys_audit_delete",
            "sys_created_on",
            f"tablename={_escape(table)}",
            start,
            ["sys_id", "tablename", "documentkey", "sys_created_on"],
            False,
        )
        for row in rows:
            key = row.get("documentkey")
            try:
                when = parse_servicenow_timestamp(row.get("sys_created_on"))
            except ValueError as exc:
                self.quarantine(
                    on_q,
                    table,
                    f"sys_audit_delete.sys_created_on: {exc}",
                    row,
                    key=str(key) if key else None,
                )
                continue
            if not key:
                self.quarantine(on_q, table, "sys_audit_delete row has no documentkey", row)
                continue
            payload = {"sys_id": key, "sys_audit_delete": row}
            yield RawRecord(
                source=self.name,
                stream=table,
                key=str(key),
                updated=when,
                payload=payload,
                deleted=True,
            )

    def census(self, stream: str) -> Iterator[str]:
        """Every sys_id of the table, keyset-paged on sys_id alone (cheap: one column)."""
        self.stream(stream)
        last = ""
        while True:
            query = (f"sys_id>{last}^" if last else "") + "ORDERBYsys_id"
            page = self._get(stream, query, ["sys_id"])
            ids = [str(field_value(r, "sys_id")) for r in page if field_value(r, "sys_id")]
            if not page:
                return
            yield from ids
            if not ids:
                raise TransientError(f"a census page of {stream} has no sys_id", source=self.name)
            last = ids[-1]

    # -- pushing --------------------------------------------------------------------------------

    def push_gate_status(
        self,
        project_sys_id: str,
        status_payload: dict[str, Any],
        correlation_key: str,
        comment: str | None = None,
    ) -> PushResult:
        """Write the gate status (JSON) into pm_project.`gate_field`, with a work note when
        the status changed. Both go in ONE PATCH, compared with the stored value first: a
        retry after success finds the status already there and writes nothing, so the work
        note (tagged with the correlation key) is never added twice."""
        gate = self.cfg.gate_field
        rows = self._get(
            "pm_project", f"sys_id={_escape(project_sys_id)}", ["sys_id", gate], limit=1
        )
        if not rows:
            raise SourceError(
                self.name,
                f"pm_project {project_sys_id} not found",
                request="GET /api/now/table/pm_project",
            )
        current = _json_or_none(rows[0].get(gate))
        if current == status_payload:
            return PushResult(project_sys_id, "unchanged")
        body: dict[str, Any] = {gate: json.dumps(status_payload, sort_keys=True)}
        previous = current.get("status") if isinstance(current, dict) else None
        note: Literal["added"] | None = None
        if comment and (current is None or previous != status_payload.get("status")):
            body["work_notes"] = f"{comment}\n\n[smo-bridge:{correlation_key}]"
            note = "added"
        self._write("PATCH", "pm_project", body, sys_id=project_sys_id)
        return PushResult(project_sys_id, "created" if current is None else "updated", note)

    def push_article(self, article: KnowledgeArticle, correlation_key: str) -> PushResult:
        """Create or update the kb_knowledge article carrying `correlation_key`.

        The key is looked up before any create, so a retried create finds its first
        attempt and updates it instead of adding a second article."""
        corr = self.cfg.correlation_field
        wanted: dict[str, Any] = {
            "short_description": article.short_description,
            "text": article.html,
            "meta": ", ".join(article.keywords),
            "workflow_state": article.workflow_state,
            corr: correlation_key,
        }
        kb_name = article.knowledge_base or self.cfg.knowledge_base
        if kb_name:
            wanted["kb_knowledge_base"] = self._knowledge_base_id(kb_name)
        if article.category:
            category = self._category_id(article.category, wanted.get("kb_knowledge_base"))
            if category:
                wanted["kb_category"] = category
        found = self._get(
            "kb_knowledge", f"{corr}={_escape(correlation_key)}", ["sys_id", *wanted], limit=2
        )
        if len(found) > 1:
            self.log.warning(
                "%s: %d articles carry correlation %s; updating the first",
                self.name,
                len(found),
                correlation_key,
            )
        if not found:
            created = self._write("POST", "kb_knowledge", wanted)
            return PushResult(str(field_value(created, "sys_id")), "created")
        existing = found[0]
        sys_id = str(field_value(existing, "sys_id"))
        changes = {k: v for k, v in wanted.items() if field_value(existing, k) != v}
        if not changes:
            return PushResult(sys_id, "unchanged")
        self._write("PATCH", "kb_knowledge", changes, sys_id=sys_id)
        return PushResult(sys_id, "updated")

    def _knowledge_base_id(self, name: str) -> str:
        if _SYS_ID.match(name):
            return name
        if name not in self._kb_ids:
            rows = self._get("kb_knowledge_base", f"title={_escape(name)}", ["sys_id"], limit=1)
            if not rows:
                raise SourceError(
                    self.name,
                    f"knowledge base {name!r} not found",
                    request="GET /api/now/table/kb_knowledge_base",
                )
            self._kb_ids[name] = str(field_value(rows[0], "sys_id"))
        return self._kb_ids[name]

    def _category_id(self, name: str, kb: str | None) -> str | None:
        if _SYS_ID.match(name):
            return name
        query = f"label={_escape(name)}" + (f"^kb_knowledge_base={kb}" if kb else "")
        rows = self._get("kb_category", query, ["sys_id"], limit=1)
        if not rows:
            self.log.warning(
                "%s: no kb_category %r; article filed without a category", self.name, name
            )
            return None
        return str(field_value(rows[0], "sys_id"))


def _last_position(
    page: list[dict[str, Any]],
    cursor: str,
    same_second: str | None = None,
) -> tuple[str, str] | None:
    """(cursor value, sys_id) of the last row that has both, in value form."""
    for row in reversed(page):
        stamp, sys_id = field_value(row, cursor), field_value(row, "sys_id")
        if not stamp or not sys_id:
            continue
        try:
            parse_servicenow_timestamp(stamp)
        except ValueError:
            continue
        if same_second is None or stamp == same_second:
            return str(stamp), str(sys_id)
    return None


def _json_or_none(text: object) -> Any:
    if isinstance(text, dict):
        text = text.get("value")
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _vendor_message(response: requests.Response) -> str | None:
    """ServiceNow's `{"error": {"message", "detail"}}`, as one line."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return None
    parts = [str(error.get(k)) for k in ("message", "detail") if error.get(k)]
    return ": ".join(parts) or None
