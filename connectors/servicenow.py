"""ServiceNow Table API, through `pysnow`.

pysnow is unmaintained, so it stays behind this module: it builds URLs and parameters
and parses the `result` envelope; the session it uses carries our PolicyAdapter.

Incremental reads page by keyset on (`sys_updated_on`, `sys_id`) with plain encoded
queries every Table API implementation understands:
`sys_updated_on>=T^ORDERBYsys_updated_on^ORDERBYsys_id`, then, after a page ending at
(T, ID), first the rest of that second (`sys_updated_on=T^sys_id>ID^ORDERBYsys_id`) and
then `sys_updated_on>T...`. Offsets would skip records updated while we page. Row ACLs
remove rows after the limit is applied, so a short or empty page proves nothing: an
empty page is stepped over by offset while X-Total-Count says more rows match. Text
values in encoded queries are read as UTC; values that could add conditions are refused
(connectors/servicenow_query.py). Pushes: connectors/servicenow_push.py.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import requests

from bridge.errors import PermissionDenied, SourceError, TransientError
from bridge.models import KnowledgeArticle, RawRecord
from connectors.articles import ArticleApproval, ArticleRecord, ServiceFacts
from connectors.base import (
    BasicAuth,
    BearerAuth,
    Connector,
    FieldInfo,
    OAuth2Auth,
    Probe,
    PushResult,
    QuarantineHandler,
    SourceConfig,
    StreamSpec,
)
from connectors.http import HttpPolicy, failure_from_exception, failure_from_response, mount_policy
from connectors.oauth import PasswordGrant
from connectors.paging import NoProgressGuard
from connectors.records import key_problem, kind_of
from connectors.servicenow_articles import article_approval, article_record, service_facts
from connectors.servicenow_config import DEFAULT_TABLES, ServiceNowConfig
from connectors.servicenow_probe import probe
from connectors.servicenow_push import push_article, push_gate_status
from connectors.servicenow_query import (
    SYS_ID,
    field_value,
    lineage,
    query_value,
    sys_id_value,
)
from connectors.timefmt import format_servicenow_timestamp, parse_servicenow_timestamp

if TYPE_CHECKING:  # pysnow is imported when a client is built, not to validate a config
    import pysnow

__all__ = ["DEFAULT_TABLES", "ServiceNowConfig", "ServiceNowConnector", "field_value"]

ARTICLE_STREAM = "kb_knowledge"
APPROVAL_STREAM = "sysapproval_approver"
SERVICE_STREAM = "cmdb_ci_service"
_ORDER = "^ORDERBYsys_updated_on^ORDERBYsys_id"


class ServiceNowConnector(Connector):
    kind = "servicenow"
    config_model = ServiceNowConfig
    push_capabilities = ServiceNowConfig.push_capabilities
    article_streams = (ARTICLE_STREAM, APPROVAL_STREAM)
    service_stream = SERVICE_STREAM

    @classmethod
    def browse_url(cls, base_url: str, stream: str, key: str) -> str | None:
        # a stream is a table; nav_to.do opens a record in the instance's own frame
        if key.startswith("~"):
            return None
        return f"{base_url}/nav_to.do?uri={quote(f'{stream}.do?sys_id={key}', safe='')}"

    @classmethod
    def article_url(cls, base_url: str, number: str) -> str | None:
        # the stock knowledge view, by article number
        return f"{base_url}/kb_view.do?sysparm_article={quote(number, safe='')}"

    def __init__(self, config: SourceConfig) -> None:
        super().__init__(config)
        assert isinstance(config, ServiceNowConfig)
        self.cfg: ServiceNowConfig = config
        self._snow: pysnow.Client | None = None
        self._grant: PasswordGrant | None = None
        self.kb_ids: dict[str, str] = {}
        #: person's name -> sys_user sys_id (None: not known to the instance)
        self.user_ids: dict[str, str | None] = {}
        #: (table, column) -> whether the instance has it; None: could not tell
        self.columns: dict[tuple[str, str], bool | None] = {}
        #: default tables this instance does not have (warned once)
        self.absent: set[str] = set()
        #: side tables this account may not read (warned once)
        self.denied: set[str] = set()

    def streams(self) -> list[StreamSpec]:
        return [
            StreamSpec(t, primary_key="sys_id", cursor_field="sys_updated_on", is_sorted=True)
            for t in self.cfg.tables
        ]

    # -- the client, built on first use --------------------------------------------------------

    def _client(self) -> pysnow.Client:
        if self._snow is None:
            import pysnow

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
        from pysnow.exceptions import PysnowException

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

    def rows(
        self,
        table: str,
        query: str,
        fields: list[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        display_value: bool | str = False,
    ) -> list[dict[str, Any]]:
        return self._page(table, query, fields, limit, offset, display_value).rows

    def _page(
        self,
        table: str,
        query: str,
        fields: list[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        display_value: bool | str = False,
        count: bool = False,
    ) -> _Page:
        """One page, with X-Total-Count when `count` (the matching rows, before row ACLs)."""
        resource = self._client().resource(api_path=f"/table/{table}")
        # lower-case flags as ServiceNow documents them (pysnow would send Python's "True")
        resource.parameters.add_custom(
            {
                "sysparm_display_value": str(display_value).lower(),
                "sysparm_exclude_reference_link": "false",
                "sysparm_suppress_pagination_header": "true",  # we page by key, not by Link
                "sysparm_no_count": "false" if count else "true",  # a COUNT(*) only when asked
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
            total = _int_or_none(response.headers.get("X-Total-Count")) if count else None
        return _Page([r for r in rows if isinstance(r, dict)], total,
                     [r for r in rows if not isinstance(r, dict)])

    def write(
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

    def row(
        self, table: str, sys_id: str, fields: list[str], display_value: bool | str = "all"
    ) -> dict[str, Any] | None:
        """One row by sys_id, None when absent; a row with another sys_id (an instance
        that ignored the condition) is not taken for it."""
        sid = sys_id_value(self.name, sys_id, f"{table} sys_id")
        found = self.rows(
            table, f"sys_id={sid}", list(dict.fromkeys(["sys_id", *fields])), 1, 0, display_value
        )
        return next((r for r in found if field_value(r, "sys_id") == sid), None)

    def count(self, table: str) -> int | None:
        """How many rows of `table` match (X-Total-Count of a one-row page), None when the
        instance sends no count."""
        return self._page(table, "", ["sys_id"], limit=1, count=True).total

    def field_catalogue(self) -> list[FieldInfo] | None:
        """The columns of the configured tables from sys_dictionary, a column of a parent
        table (task) listed under each table that extends it; None when the account may
        not read the dictionary."""
        chains = {table: lineage(table) for table in self.cfg.tables}
        names = sorted({t for chain in chains.values() for t in chain})
        try:
            rows = self.rows("sys_dictionary", f"nameIN{','.join(names)}^elementISNOTEMPTY",
                             ["name", "element", "column_label", "internal_type"], limit=10000)
        except PermissionDenied:
            return None
        found: list[FieldInfo] = []
        for table, chain in chains.items():
            for row in rows:
                element = str(field_value(row, "element") or "")
                if field_value(row, "name") in chain and element:
                    label = str(field_value(row, "column_label") or element)
                    kind = field_value(row, "internal_type")
                    found.append(FieldInfo(element, label, str(kind) if kind else None, table))
        return found

    def probe(
        self,
        pushes: frozenset[str] = frozenset(),
        fields: Mapping[str, Iterable[str]] | None = None,
    ) -> Iterator[Probe]:
        """Reach, count each table, side tables, push targets, and the columns in `fields`
        (table -> names a mapping reads) this instance lacks. Writes nothing."""
        return probe(self, pushes, fields)

    def check(self) -> None:
        table = self.cfg.tables[0] if self.cfg.tables else "sys_user"
        self.rows(table, "", fields=["sys_id"], limit=1)

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
        rows = self._unless_absent(
            stream, self.scan(stream, "sys_updated_on", "", start, fields, display)
        )
        updates = self._records(stream, rows, on_quarantine)
        if stream in self.absent:
            yield from updates
            return
        if start is None or not self.cfg.deletions or stream == "sys_audit_delete":
            yield from updates
            return
        deletes = self._deletions(stream, start, on_quarantine)
        yield from heapq.merge(updates, deletes, key=lambda r: (r.updated, r.key))

    def _unless_absent(self, table: str, rows: Iterator[Any]) -> Iterator[Any]:
        """`rows`, or nothing when `table` is a default table this instance does not have
        (pm_project needs the project portfolio plugin): one warning, and the source goes on.
        A table named in `tables` must exist."""
        if table in self.absent:
            return
        try:
            yield from rows
        except SourceError as exc:
            explicit = "tables" in self.cfg.model_fields_set
            if explicit or "(400)" not in str(exc) or "Invalid table" not in str(exc):
                raise
            self.absent.add(table)
            self.log.warning(
                "%s: the instance has no table %s; that stream is skipped (name the tables to "
                "read in `tables` to leave it out)",
                self.name,
                table,
            )

    def scan(
        self,
        table: str,
        cursor: str,
        where: str,
        start: datetime | None,
        fields: list[str] | None,
        display: bool | str,
    ) -> Iterator[dict[str, Any]]:
        """Keyset pages over (cursor, sys_id), from `start` on, until the query is exhausted.

        Row ACLs apply after the limit, so a page may come back short or empty while more
        rows match: each page asks for X-Total-Count, and an empty page is stepped over by
        offset while the count says rows lie beyond it. A page whose rows all lack a
        readable position (they are quarantined downstream) is stepped over the same way."""
        order = f"^ORDERBY{cursor}^ORDERBYsys_id"
        prefix = f"{where}^" if where else ""
        query = (
            prefix + (f"{cursor}>={format_servicenow_timestamp(start)}" if start else "") + order
        )
        guard = NoProgressGuard(self.name, f"GET /api/now/table/{table}")
        while True:
            last: tuple[str, str] | None = None
            for page, final in self._query_pages(table, query.lstrip("^"), fields, display):
                guard.page(_page_keys(page))
                yield from page
                if final:  # the count says this page held the query's last rows
                    return
                last = _last_position(page, cursor)
                if last is not None:
                    break  # continue by key from here, not by offset
            if last is None:
                return
            stamp, sys_id = last
            while True:  # the rest of the last page's second, past its last sys_id
                drained: str | None = None
                rest = (
                    f"{prefix}{cursor}={query_value(self.name, stamp, cursor)}"
                    f"^sys_id>{query_value(self.name, sys_id, 'sys_id')}^ORDERBYsys_id"
                )
                for page, _ in self._query_pages(table, rest, fields, display):
                    guard.page(_page_keys(page))
                    yield from page
                    position = _last_position(page, cursor, same_second=stamp)
                    if position is not None:
                        drained = position[1]
                        break
                if drained is None:
                    break
                sys_id = drained
            query = f"{prefix}{cursor}>{stamp}{order}"

    def _query_pages(
        self, table: str, query: str, fields: list[str] | None, display: bool | str
    ) -> Iterator[tuple[list[Any], bool]]:
        """The non-empty pages of one query, by offset, until the count says it is done,
        each with whether the count says it is the query's last; entries that are no object
        come last in their page, for `_records` to quarantine.

        Without a count (an instance or proxy that drops the header) an empty page ends it."""
        limit, offset = self.cfg.page_size, 0
        while True:
            page = self._page(
                table, query, fields, offset=offset, display_value=display, count=True
            )
            if self.read_total is None:  # the first count of a read is its whole
                self.read_total = page.total
            final = page.total is not None and page.total <= offset + limit
            if page.rows or page.strays:
                yield [*page.rows, *page.strays], final
            elif page.total is None or final:
                return
            offset += limit

    def _records(
        self,
        stream: str,
        rows: Iterator[Any],
        on_q: QuarantineHandler | None,
    ) -> Iterator[RawRecord]:
        """Rows as RawRecords; a row that is no object, has no usable sys_id, nests too deep
        or has no readable sys_updated_on is quarantined (under a key from its content when
        it has no usable sys_id) and the stream goes on."""
        for row in rows:
            key = self.storable_key(
                on_q, stream, row, field_value(row, "sys_id") if isinstance(row, dict) else None,
                "sys_id")
            if key is None:
                continue
            try:
                updated = parse_servicenow_timestamp(field_value(row, "sys_updated_on"))
            except ValueError as exc:
                self.quarantine(on_q, stream, str(exc), row, key=key, field="sys_updated_on")
                continue
            # checked above (a text key, an object, an aware UTC time): validating again
            # would copy every row's hundred-odd fields
            yield RawRecord.model_construct(
                source=self.name, stream=stream, key=key, updated=updated, payload=row
            )

    def _deletions(
        self, table: str, start: datetime, on_q: QuarantineHandler | None
    ) -> Iterator[RawRecord]:
        """sys_audit_delete rows of `table` since `start`, as deleted RawRecords.

        sys_audit_delete is admin-only on a stock instance: a 403 skips deletions for the
        rest of this connector's run, with one warning naming the grant."""
        if "sys_audit_delete" in self.denied or table in self.absent:
            return
        rows = self.scan(
            "sys_audit_delete",
            "sys_created_on",
            f"tablename={query_value(self.name, table, 'table name')}",
            start,
            ["sys_id", "tablename", "documentkey", "sys_created_on"],
            False,
        )
        try:
            yield from self._deleted_records(table, rows, on_q)
        except PermissionDenied as exc:
            self.side_read_denied(
                "sys_audit_delete",
                "deleted records are not reported this run; grant the integration user read "
                "access to sys_audit_delete (admin-only by default: add a read ACL on "
                "sys_audit_delete for a role it holds)",
                exc,
            )

    def _deleted_records(
        self, table: str, rows: Iterator[Any], on_q: QuarantineHandler | None
    ) -> Iterator[RawRecord]:
        for row in rows:
            if not isinstance(row, dict):
                self.quarantine(on_q, table, f"a sys_audit_delete entry is {kind_of(row)}, not "
                                "an object", {"sys_audit_delete": row}, field="sys_audit_delete")
                continue
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
            if key_problem(key):
                self.quarantine(on_q, table, f"sys_audit_delete.documentkey: {key_problem(key)}",
                                row, field="sys_audit_delete.documentkey")
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

    def side_read_denied(self, table: str, consequence: str, exc: SourceError) -> None:
        """Remember a side table the account may not read; warn once per connector run."""
        if table in self.denied:
            return
        self.denied.add(table)
        self.log.warning("%s: cannot read %s (%s): %s", self.name, table, exc.request, consequence)

    def census(self, stream: str) -> Iterator[str]:
        """Every sys_id of the table, keyset-paged on sys_id alone (cheap: one column)."""
        self.stream(stream)
        last = ""
        guard = NoProgressGuard(self.name, f"GET /api/now/table/{stream} (census)")
        while True:
            after = f"sys_id>{sys_id_value(self.name, last, 'sys_id')}^" if last else ""
            ids: list[str] = []
            pages = self._query_pages(stream, after + "ORDERBYsys_id", ["sys_id"], False)
            for page, _ in self._unless_absent(stream, pages):
                guard.page(_page_keys(page), query=after)
                ids = [str(field_value(r, "sys_id")) for r in page
                       if isinstance(r, dict) and not key_problem(field_value(r, "sys_id"))]
                yield from ids
                # only a real sys_id (32 hex digits) goes back into a query
                ids = [i for i in ids if SYS_ID.match(i)]
                if ids:
                    break
                raise TransientError(f"a census page of {stream} has no sys_id", source=self.name)
            if not ids:
                return
            if last and ids[-1] <= last:  # the server ignored `sys_id>`: the census would loop
                raise SourceError(self.name, f"the census of {stream} made no progress past "
                                  f"sys_id {last}: the server ignores the query filter",
                                  request=f"GET /api/now/table/{stream}")
            last = ids[-1]

    def census_cause(self, stream: str, *, present: int, stored: int, reported: int | None,
                     denied: PermissionDenied | None = None) -> str | None:
        """ServiceNow's count (X-Total-Count) is taken before row ACLs remove rows: a count
        above the rows returned means rows hidden from the account, a count that agrees
        means the table shows the account fewer rows than before (a few rows hidden by ACLs
        in any case: the difference must account for most of what is missing)."""
        if denied is not None:
            return (f"the account may not read table {stream} ({denied.request or 'HTTP 403'}): "
                    f"missing read permission (a table ACL or a role it lost); grant it read "
                    f"access to {stream}, or leave the table out of `tables`")
        if reported is not None and reported - present >= (stored - present) / 2:
            # the rows still exist (counted) but are not returned: most of what is missing
            return (f"ServiceNow counted {reported:,} row(s) in {stream} but returned {present:,} "
                    f"(ACL-trimmed or empty pages): row-level read ACLs hide the rest from the "
                    "account: missing read permission on those records")
        if reported is not None:
            return (f"{stream} counts {reported:,} row(s) (returned {present:,}), where {stored:,} are "
                    "stored: the table's scope was narrowed for the account (a changed role, "
                    "domain or query business rule) or in the source's configuration, "
                    "or the records were really deleted")
        return None

    # -- what the bridge wrote, read back ------------------------------------------------------

    @property
    def integration_user(self) -> str | None:
        """The login the bridge writes as (ServiceNow records it in sys_created_by and
        sys_updated_by); None with a bearer token, whose user the bridge cannot name."""
        auth = self.cfg.auth
        return getattr(auth, "username", None)

    def article_state(self, record: RawRecord) -> ArticleRecord | ArticleApproval | None:
        """A pulled kb_knowledge row as an article, anyone's: the bridge's correlation from
        `correlation_field` or the `meta` marker, the CI it documents (`cmdb_ci`), who
        created and last changed it; or an approved sysapproval_approver row of an article."""
        if record.deleted:
            return None
        if record.stream == APPROVAL_STREAM:
            return article_approval(record.payload, record.updated)
        if record.stream != ARTICLE_STREAM:
            return None
        return article_record(record.payload, record.key, record.updated,
                              self.cfg.correlation_field, self.integration_user)

    def service_facts(self, record: RawRecord) -> ServiceFacts | None:
        """A pulled cmdb_ci_service row: its sys_id, name, aliases and the facts an
        article shows (description, business criticality, support hours, SLA)."""
        if record.stream != SERVICE_STREAM or record.deleted:
            return None
        return service_facts(record.payload)

    # -- pushing --------------------------------------------------------------------------------

    def push_gate_status(
        self,
        project_sys_id: str,
        status_payload: dict[str, Any],
        correlation_key: str,
        comment: str | None = None,
    ) -> PushResult:
        """The gate status on the pm_project: a work note, plus `gate_field` when the
        instance has that column (see connectors/servicenow_push.py)."""
        return push_gate_status(self, project_sys_id, status_payload, correlation_key, comment)

    def push_article(self, article: KnowledgeArticle, correlation_key: str) -> PushResult:
        """Create or update the kb_knowledge article tagged with `correlation_key`."""
        return push_article(self, article, correlation_key)


@dataclass(frozen=True)
class _Page:
    rows: list[dict[str, Any]]
    total: int | None
    #: entries of `result` that are no object: a stream read quarantines them
    strays: list[Any] = field(default_factory=list)


def _page_keys(page: list[Any]) -> list[object]:
    """A page's sys_ids for the no-progress guard (entries that are no object as text)."""
    return [field_value(row, "sys_id") if isinstance(row, dict) else repr(row)[:80] for row in page]


def _int_or_none(text: object) -> int | None:
    try:
        return int(str(text))
    except ValueError:
        return None


def _last_position(
    page: list[dict[str, Any]],
    cursor: str,
    same_second: str | None = None,
) -> tuple[str, str] | None:
    """(cursor value, sys_id) of the last row that has both, in value form."""
    for row in reversed(page):
        if not isinstance(row, dict):
            continue
        stamp, sys_id = field_value(row, cursor), field_value(row, "sys_id")
        # only a real sys_id (32 hex digits) goes back into the next query
        if not isinstance(stamp, str) or not isinstance(sys_id, str) or not SYS_ID.match(sys_id):
            continue
        try:
            parse_servicenow_timestamp(stamp)
        except ValueError:
            continue
        if same_second is None or stamp == same_second:
            return str(stamp), str(sys_id)
    return None


def _vendor_message(response: requests.Response) -> str | None:
    """ServiceNow's `{"error": {"message", "detail"}}`, as one line."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return None
    parts = [str(error.get(k)) for k in ("message", "detail") if error.get(k)]
    return ": ".join(parts) or None
