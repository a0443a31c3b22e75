"""Jira Cloud and Server/Data Center, through the `jira` library.

The library builds URLs, authenticates and parses Jira's error bodies; its own retry
loop (ResilientSession) is switched off with `max_retries=0` and our PolicyAdapter is
mounted on its session instead, so there is one loop (connectors/http.py).

Incremental issues: JQL `updated >= "yyyy-MM-dd HH:mm"` is read in the *account's* time
zone at minute precision, so the UTC signpost is converted into the zone /myself reports
and widened by the overlap. Cloud pages with nextPageToken (/search/jql). Server/DC
(/search) re-queries from the minute of the last issue seen and drops what it already
emitted there, so an edit during the read cannot shift an issue past a `startAt`
(see `_server_issues`).

Field names ("Team", "Story Points") are resolved by one rule, `field_catalogue` and
`resolve_field`, which the mappings bind with too.

Projects: Cloud pages /project/search (startAt/maxResults, `isLast`, `values`); the
deprecated unpaged GET /project is kept for Server/DC, which has no /project/search.

Issue keys change when an issue moves to another project (or its project is re-keyed);
the issue `id` does not. The issues stream declares `identity_field="id"` so the engine,
which holds the stored keys, retires the old key, whether the move happened between reads
or during one (the issue then comes twice: under the old key, then the new one).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests

from bridge.errors import BridgeError, SourceError, TransientError
from bridge.models import RawRecord
from connectors.adf import adf_text
from connectors.base import (
    BasicAuth,
    BearerAuth,
    Connector,
    FieldInfo,
    Probe,
    PushResult,
    QuarantineHandler,
    SourceConfig,
    StreamSpec,
)
from connectors.http import (
    HttpPolicy,
    describe,
    failure_from_exception,
    failure_from_response,
    mount_policy,
)
from connectors.jira_config import JiraConfig
from connectors.jira_fields import field_catalogue, field_rank, resolve_field
from connectors.jql_build import AtLeast, Clause, Equals, Grouped, In, jql, segment
from connectors.paging import NoProgressGuard
from connectors.records import key_problem, kind_of, synthetic_key
from connectors.timefmt import account_zone, jql_minute, jql_since, parse_jira_timestamp
from connectors.zones import zone_problem

if TYPE_CHECKING:  # the client library is imported when a client is built, not to validate a config
    from jira import JIRA

_EPOCH_JQL = "1970-01-01 00:00"  # Cloud's /search/jql refuses unbounded queries
_MINUTE_OVERLAP = 10  # issues re-read per page when Server pages inside one minute

#: /project/search returns `projectCategory` unasked; `lead` and `description` need their
#: expand, `projectKeys` lists the keys a re-keyed project had. `insight` (experimental)
#: is left out on purpose: its lastIssueUpdateTime would change the project's payload,
#: and so re-map it, on every issue update.
CLOUD_PROJECT_EXPAND = "description,lead,url,projectKeys"
SERVER_PROJECT_EXPAND = "description,lead,url"
_PROJECT_PAGE_MAX = 100  # /project/search caps maxResults at 100
_KEYS_FILTER_MAX = 50  # /project/search accepts up to 50 `keys`


def _mark(issue: Mapping[str, Any]) -> tuple[str, str]:
    fields = issue.get("fields")
    updated = fields.get("updated") if isinstance(fields, dict) else None
    return (str(issue.get("key")), str(updated))


def _keys(entries: object, field: str = "key") -> list[object]:
    """The keys of a page's entries, for the no-progress guard (odd entries included)."""
    if not isinstance(entries, list):
        return []
    return [i.get(field) if isinstance(i, dict) else repr(i)[:80] for i in entries]


def _minute(issue: Mapping[str, Any], zone: ZoneInfo) -> str | None:
    """The JQL minute of an issue's `updated` in the account's zone; None if unreadable."""
    fields = issue.get("fields")
    try:
        when = parse_jira_timestamp(fields.get("updated") if isinstance(fields, dict) else None)
    except ValueError:
        return None
    return jql_minute(when, zone)


class JiraConnector(Connector):
    kind = "jira"
    config_model = JiraConfig
    push_capabilities = JiraConfig.push_capabilities

    @classmethod
    def browse_url(cls, base_url: str, stream: str, key: str) -> str | None:
        # /browse/ opens an issue by key, and a project by its key
        if stream not in ("projects", "issues") or key.startswith("~"):
            return None
        return f"{base_url}/browse/{quote(key, safe='')}"

    def __init__(self, config: SourceConfig) -> None:
        super().__init__(config)
        assert isinstance(config, JiraConfig)
        self.cfg: JiraConfig = config
        self._jira: JIRA | None = None
        self._cloud: bool | None = None
        self._zone: ZoneInfo | None = None
        self._field_ids: list[str] | None = None
        self._fields: Any = None  # /field, read once while the connector is open

    # -- declaration ---------------------------------------------------------------------

    def streams(self) -> list[StreamSpec]:
        specs = [
            # fields first: mappings resolve custom fields by name through it
            StreamSpec("fields", primary_key="id"),
            StreamSpec("projects", primary_key="key"),
            StreamSpec(
                "issues",
                primary_key="key",
                cursor_field="updated",
                is_sorted=True,
                identity_field="id",
            ),
        ]
        if self.cfg.comments:
            specs.append(StreamSpec("comments", primary_key="id", cursor_field="updated"))
        if self.cfg.worklogs:
            specs.append(StreamSpec("worklogs", primary_key="id", cursor_field="updated"))
        return specs

    # -- the client, built on first use -------------------------------------------------------

    def _client(self) -> JIRA:
        if self._jira is None:
            from jira import JIRA

            cfg = self.cfg
            auth: dict[str, Any] = {}
            if isinstance(cfg.auth, BasicAuth):
                auth["basic_auth"] = (cfg.auth.username, cfg.auth.password.get_secret_value())
            elif isinstance(cfg.auth, BearerAuth):
                auth["token_auth"] = cfg.auth.token.get_secret_value()
            client = JIRA(
                options={
                    "server": cfg.url,
                    "verify": cfg.verify_tls,
                    "rest_api_version": str(cfg.api_version),
                },
                get_server_info=False,
                max_retries=0,
                logging=False,
                timeout=(cfg.connect_timeout, cfg.timeout),
                **auth,
            )
            # One retry loop: the library's is off (max_retries=0), ours is mounted here.
            mount_policy(client._session, HttpPolicy(cfg, self.kind))
            self._jira = client
        return self._jira

    @contextmanager
    def _errors(self, request: str) -> Iterator[None]:
        """Library exceptions -> SourceError / TransientError naming the request."""
        from jira import JIRAError

        try:
            yield
        except JIRAError as exc:
            if exc.response is not None and exc.status_code:
                raise failure_from_response(self.name, exc.response, exc.text or None) from None
            raise TransientError(
                f"{exc.text or 'no response'} ({request})", source=self.name
            ) from None
        except requests.RequestException as exc:
            raise failure_from_exception(self.name, exc, request) from None
        except ValueError:
            raise TransientError(f"malformed response body ({request})", source=self.name) from None

    def _get(
        self, path: str, params: dict[str, Any] | None = None, *, missing_ok: bool = False
    ) -> Any:
        """GET a JSON document; with `missing_ok`, a 404 is None instead of an error."""
        from jira import JIRAError

        client = self._client()
        with self._errors(f"GET /rest/api/{self.cfg.api_version}/{path}"):
            try:
                return client._get_json(path, params=params)
            except JIRAError as exc:
                if missing_ok and exc.status_code == 404:
                    return None
                raise

    def _is_cloud(self) -> bool:
        if self._cloud is None:
            if self.cfg.deployment != "auto":
                self._cloud = self.cfg.deployment == "cloud"
            else:
                info = self._get("serverInfo")
                self._cloud = str(info.get("deploymentType", "")).lower() == "cloud"
            # the library's @cloud_api methods look at this attribute
            self._client().deploymentType = "Cloud" if self._cloud else "Server"
        return self._cloud

    def _account_zone(self) -> ZoneInfo:
        if self._zone is None:
            if self.cfg.time_zone:
                self._zone = account_zone(self.cfg.time_zone)
            else:
                me = self._get("myself")
                named = me.get("timeZone")
                known = isinstance(named, str)
                try:
                    zone_problem(str(named))
                except ValueError:
                    known = False
                if not known:
                    self.log.warning("%s: /myself has no usable timeZone (%r); reading JQL dates "
                                     "as UTC (set time_zone in the source)", self.name, named)
                self._zone = account_zone(me.get("timeZone"))
        return self._zone

    def check(self) -> None:
        self._is_cloud()
        me = self._get("myself")
        if not isinstance(me, dict) or not (me.get("accountId") or me.get("name") or me.get("key")):
            raise SourceError(
                self.name,
                "authentication failed: check the username and password/token",
                request=describe("GET", f"/rest/api/{self.cfg.api_version}/myself"),
            )

    def close(self) -> None:
        self._fields = None
        if self._jira is not None:
            self._jira.close()
            self._jira = None

    def _field_list(self) -> Any:
        """/field as the server sent it (the caller checks each entry): the fields stream
        and the issue field ids of one cycle share one request."""
        if self._fields is None:
            self._fields = self._get("field") or []
        return self._fields

    # -- reading -------------------------------------------------------------------------------

    def read(
        self,
        stream: str,
        since: datetime | None = None,
        on_quarantine: QuarantineHandler | None = None,
    ) -> Iterator[RawRecord]:
        self.stream(stream)  # unknown names are configuration errors
        if stream == "projects":
            yield from self._read_projects(on_quarantine)
        elif stream == "fields":
            for raw in self._field_list():
                key = raw.get("id") if isinstance(raw, dict) else None
                checked = self.storable_key(on_quarantine, "fields", raw, key, "id")
                if checked is not None:
                    yield RawRecord(source=self.name, stream="fields", key=checked, payload=raw)
        elif stream == "issues":
            yield from self._read_issues(since, on_quarantine)
        else:
            yield from self._read_children(stream, since, on_quarantine)

    def _read_projects(self, on_q: QuarantineHandler | None) -> Iterator[RawRecord]:
        wanted = set(self.cfg.projects)
        for raw in self.project_list():
            key = raw.get("key") if isinstance(raw, dict) else None
            checked = self.storable_key(on_q, "projects", raw, key, "key")
            if checked is None or (wanted and key not in wanted):
                continue
            payload = dict(raw)
            payload["versions"] = self._get(f"project/{segment(checked)}/versions")
            # the versions came after the check: the record as stored is checked again
            if self.storable_key(on_q, "projects", payload, key, "key") is None:
                continue
            yield RawRecord(source=self.name, stream="projects", key=str(key), payload=payload)

    def project_list(self) -> Iterator[Any]:
        """Every visible project (only the configured ones when at most 50 are named), as
        the server sent each entry: the caller quarantines what is not a project object."""
        if not self._is_cloud():
            yield from self._get("project", {"expand": SERVER_PROJECT_EXPAND}) or []
            return
        size = min(self.cfg.page_size, _PROJECT_PAGE_MAX)
        params: dict[str, Any] = {
            "expand": CLOUD_PROJECT_EXPAND,
            "orderBy": "key",
            "maxResults": size,
        }
        if 0 < len(self.cfg.projects) <= _KEYS_FILTER_MAX:
            params["keys"] = sorted(set(self.cfg.projects))
        start = 0
        guard = NoProgressGuard(self.name, f"GET /rest/api/{self.cfg.api_version}/project/search")
        while True:
            page = self._get("project/search", {**params, "startAt": start}) or {}
            values = page.get("values") or []
            guard.page(_keys(values))
            yield from values
            start += len(values)
            last = page.get("isLast")
            if not isinstance(last, bool):  # older responses: fall back on total
                total = page.get("total")
                last = not isinstance(total, int) or start >= total
            if last or not values:
                return

    def issue_field_ids(self) -> list[str]:
        """The configured issue fields as ids; names are resolved through /field by
        `field_catalogue` and `resolve_field`, the rule the mappings bind with."""
        if self._field_ids is None:
            fields = [f for f in self._field_list() if isinstance(f, dict) and "id" in f]
            by_id = {str(f["id"]): f for f in fields}
            catalogue = field_catalogue(fields)
            ids: list[str] = []
            for wanted in self.cfg.issue_fields:
                found = wanted if wanted in by_id else resolve_field(catalogue, wanted)
                if found is None and wanted.startswith("customfield_"):
                    found = wanted
                if found is None:
                    # the defaults name optional fields a stock instance lacks: only the
                    # admin's own list deserves a warning
                    log = self.log.warning if "issue_fields" in self.cfg.model_fields_set else self.log.info
                    log(
                        "%s: no issue field named %r; not requested", self.name, wanted
                    )
                elif found not in ids:
                    ids.append(found)
            for required in ("updated", "created"):
                if required not in ids:
                    ids.append(required)
            self._field_ids = ids
            # The library translates field names through a cache it fills with a second
            # GET /field; hand it what we already have.
            cache = {fid: fid for fid in by_id}
            for f in by_id.values():
                cache.update({name: str(f["id"]) for name in f.get("clauseNames", [])})
            self._client()._fields_cache_value = cache
        return self._field_ids

    def issue_jql(self, since: datetime | None) -> str:
        return self._ordered(self._issue_filters(), self._issue_lower_bound(since))

    def _issue_filters(self) -> list[Clause]:
        clauses: list[Clause] = []
        if self.cfg.projects:
            clauses.append(In("project", tuple(self.cfg.projects)))
        if self.cfg.jql:
            clauses.append(Grouped(self.cfg.jql))
        return clauses

    def _issue_lower_bound(self, since: datetime | None) -> str:
        if since is None:
            return _EPOCH_JQL
        overlap = timedelta(seconds=self.cfg.overlap_seconds)
        return jql_since(since, self._account_zone(), overlap)

    @staticmethod
    def _ordered(filters: list[Clause], lower: str) -> str:
        return jql([*filters, AtLeast("updated", lower)], [("updated", "ASC"), ("key", "ASC")])

    def issues(self, since: datetime | None, fields: list[str]) -> Iterator[Any]:
        """The issues updated since the signpost, in (updated, key) order: Cloud through
        nextPageToken, Server/DC by `_server_issues`."""
        if self._is_cloud():
            yield from self.search(self.issue_jql(since), fields)
        else:
            yield from self._server_issues(self._issue_lower_bound(since), fields)

    def _server_issues(self, lower: str, fields: list[str]) -> Iterator[Any]:
        """Server/DC pages by `startAt`, which an edit during the read defeats: the edited
        issue moves to the end, everything after it shifts back one place, and the issue
        that slides over the page boundary is never seen. So every page is a fresh query,
        `updated >= <the minute of the last issue seen>` from startAt 0, and the issues
        already emitted in that minute (same key and `updated`) are dropped. An edited
        issue is emitted again later, with its new `updated`.

        Only when one minute (JQL's precision) holds more than a page does this page by
        `startAt` inside that minute; each such page re-reads `_MINUTE_OVERLAP` issues
        already emitted. Edits only move issues to the end, so up to that many edits
        between two pages shift nothing past the overlap; more are noticed (the first
        issue of the page was never emitted) and the minute is read again from its start.

        Residual edges: the minute bound is written in the account's zone, like the
        signpost, so a `time_zone` other than the one Jira reads JQL in can skip issues;
        and a minute edited faster than it can be paged is read again and again (the
        read ends once the edits pause). Repeated issues are left to the engine, which
        drops unchanged records by content hash.
        """
        wanted = list(fields) if "updated" in fields else [*fields, "updated"]
        filters = self._issue_filters()
        seen: set[tuple[str, str]] = set()  # (key, updated) emitted within minute `lower`
        strays: set[str] = set()  # entries that are no issue object, passed on once each
        start = 0
        guard = NoProgressGuard(self.name, f"GET /rest/api/{self.cfg.api_version}/search")
        while True:
            page = self._server_page(self._ordered(filters, lower), start, wanted)
            if self.read_total is None and isinstance(page.get("total"), int):
                self.read_total = page["total"]  # the first query's count covers the read
            entries = page.get("issues") or []
            issues = [i for i in entries if isinstance(i, dict)]
            guard.page((_mark(i) for i in issues), query=lower)
            if start and issues and _mark(issues[0]) not in seen:
                start = 0  # shifted by more than the overlap: this minute from its start
                continue
            for entry in entries:
                if not isinstance(entry, dict):
                    if synthetic_key(entry) not in strays:
                        strays.add(synthetic_key(entry))
                        yield entry  # for the caller to quarantine
                elif _mark(entry) not in seen:
                    yield entry
            total = page.get("total")
            if not entries or (isinstance(total, int) and start + len(entries) >= total):
                return
            if not issues:  # a page of strays only: step over it
                start += len(entries)
                continue
            zone = self._account_zone()
            minute = _minute(issues[-1], zone)
            if minute is not None and minute > lower:  # never backwards (a wrong zone)
                lower, start = minute, 0
                seen = {_mark(i) for i in issues if _minute(i, zone) == minute}
            else:  # the whole page is one minute (or unreadable): offsets inside it
                seen.update(_mark(i) for i in issues)
                start += len(entries) - min(_MINUTE_OVERLAP, len(issues) - 1)

    def _server_page(self, jql: str, start: int, fields: list[str]) -> dict[str, Any]:
        with self._errors(f"GET /rest/api/{self.cfg.api_version}/search"):
            page = self._client().search_issues(
                jql, startAt=start, maxResults=self.cfg.page_size, fields=fields, json_result=True
            )
        assert isinstance(page, dict)
        return page

    def search(self, jql: str, fields: list[str]) -> Iterator[Any]:
        """Every issue the JQL matches, page by page, in the server's order (entries that
        are no object included: the caller quarantines them)."""
        client = self._client()
        size = self.cfg.page_size
        guard = NoProgressGuard(self.name, f"GET /rest/api/{self.cfg.api_version}/search")
        if self._is_cloud():
            token: str | None = None
            while True:
                with self._errors(f"GET /rest/api/{self.cfg.api_version}/search/jql"):
                    page = client.enhanced_search_issues(
                        jql,
                        nextPageToken=token,
                        maxResults=size,
                        fields=list(fields),
                        json_result=True,
                    )
                assert isinstance(page, dict)
                token = page.get("nextPageToken")
                guard.page(_keys(page.get("issues")), token)
                yield from page.get("issues") or []
                if page.get("isLast", token is None) or not token or not page.get("issues"):
                    return
        start = 0
        while True:
            page = self._server_page(jql, start, list(fields))
            issues = page.get("issues") or []
            guard.page(_keys(issues))
            yield from issues
            start += len(issues)
            total = page.get("total")
            if not issues or (isinstance(total, int) and start >= total):
                return

    def _read_issues(
        self, since: datetime | None, on_q: QuarantineHandler | None
    ) -> Iterator[RawRecord]:
        """Issues in (updated, key) order. An issue moved while we page shows up twice, by
        its stable `id`: under the old key, then (its `updated` bumped) under the new one;
        the engine retires the old key by that id (`identity_field`), so this read keeps
        nothing per issue: its memory does not grow with the project."""
        for raw in self.issues(since, self.issue_field_ids()):
            if (isinstance(raw, dict) and not key_problem(raw.get("key"))
                    and self._wants_done_transition(raw)):
                raw = self._with_done_transition(raw)
            record = self._issue_record(raw, on_q)
            if record is not None:
                yield record

    def _wants_done_transition(self, issue: Mapping[str, Any]) -> bool:
        """Only done issues carrying a configured label: the changelog costs one call each."""
        fields = issue.get("fields")
        if not self.cfg.done_transition_labels or not isinstance(fields, dict):
            return False
        status = fields.get("status")
        category = status.get("statusCategory") if isinstance(status, dict) else None
        if not isinstance(category, dict) or category.get("key") != "done":
            return False
        labels = fields.get("labels") or []
        return any(str(label).startswith(tuple(self.cfg.done_transition_labels))
                   for label in labels)

    def _with_done_transition(self, issue: dict[str, Any]) -> dict[str, Any]:
        """The issue with `doneTransition`: the changelog history that moved it into its
        current status (author, created, toString), read from `expand=changelog`."""
        changelog = issue.get("changelog")
        if not isinstance(changelog, dict):
            full = self._get(f"issue/{quote(str(issue.get('key')), safe='')}",
                             {"fields": "status", "expand": "changelog"}, missing_ok=True)
            changelog = full.get("changelog") if isinstance(full, dict) else None
        found = done_transition(issue, changelog)
        return {**issue, "doneTransition": found} if found else issue

    def _read_children(
        self,
        stream: str,
        since: datetime | None,
        on_q: QuarantineHandler | None,
    ) -> Iterator[RawRecord]:
        """Comments or worklogs of the issues updated since the signpost (adding or editing
        a comment, or logging work, bumps its issue's `updated`), so the window is the
        issues' window, and every comment/worklog of such an issue is read again: the
        engine drops the unchanged ones by content hash, and a moved issue's comments
        arrive with their new `issueKey`. Items of issues not updated are not re-read.

        Each payload gains `issueId`, `issueKey` and the body as plain text (`bodyText` for
        comments, `commentText` for worklogs; Cloud v3 sends ADF, Server/v2 a string)."""
        path, items_key, text_in, text_out = (
            ("comment", "comments", "body", "bodyText")
            if stream == "comments"
            else ("worklog", "worklogs", "comment", "commentText")
        )
        for issue in self.issues(since, ["updated"]):
            # an unusable issue is quarantined by the issues stream, not once per child stream
            if not isinstance(issue, dict) or key_problem(issue.get("key")):
                continue
            issue_key, issue_id = issue["key"], issue.get("id")
            for item in self._paged(f"issue/{segment(issue_key)}/{path}", items_key):
                if not isinstance(item, dict):
                    self.quarantine(on_q, stream, f"the entry is {kind_of(item)}, not an object",
                                    {"issueKey": issue_key, "entry": item}, field="entry")
                    continue
                payload = dict(item, issueKey=str(issue_key))
                if issue_id:
                    payload["issueId"] = str(issue_id)
                if text_in in item:
                    payload[text_out] = adf_text(item.get(text_in))
                key = self.storable_key(on_q, stream, payload, item.get("id"), "id")
                if key is None:
                    continue
                try:
                    parse_jira_timestamp(item.get("created"))
                except ValueError as exc:
                    self.quarantine(on_q, stream, str(exc), payload, key=key, field="created")
                    continue
                record = self._dated(stream, payload, key, item.get("updated"), on_q)
                if record is not None:
                    yield record

    def _paged(self, path: str, items_key: str) -> Iterator[Any]:
        """An offset-paged list (`startAt`, `maxResults`, `total`), until `total` or an
        empty page; every entry as sent (the caller judges those that are no object)."""
        start = 0
        guard = NoProgressGuard(self.name, f"GET /rest/api/{self.cfg.api_version}/{path}")
        while True:
            page = self._get(path, {"startAt": start, "maxResults": self.cfg.page_size}) or {}
            items = page.get(items_key) or []
            guard.page(_keys(items, "id"))
            yield from items
            start += len(items)
            total = page.get("total")
            if not items or not isinstance(total, int) or start >= total:
                return

    def _issue_record(self, raw: object, on_q: QuarantineHandler | None) -> RawRecord | None:
        """An issue as a RawRecord, or None when it was quarantined: no object, no usable
        key, `fields` no object, an unusable `id`, nested too deep, `updated` unreadable."""
        key = self.storable_key(on_q, "issues", raw, raw.get("key") if isinstance(raw, dict) else None,
                                "key", field_steps=2)
        if key is None:
            return None
        assert isinstance(raw, dict)
        fields = raw.get("fields")
        if not isinstance(fields, dict):
            self.quarantine(on_q, "issues", f"is {kind_of(fields)}, not an object", raw, key=key,
                            field="fields")
            return None
        issue_id = raw.get("id")
        if issue_id not in (None, "") and key_problem(issue_id):
            self.quarantine(on_q, "issues", str(key_problem(issue_id)), raw, key=key, field="id")
            return None
        return self._dated("issues", raw, key, fields.get("updated"), on_q)

    def _dated(
        self,
        stream: str,
        payload: dict[str, Any],
        key: str,
        updated: object,
        on_q: QuarantineHandler | None,
    ) -> RawRecord | None:
        try:
            when = parse_jira_timestamp(updated)
        except ValueError as exc:
            self.quarantine(on_q, stream, str(exc), payload, key=key, field="updated")
            return None
        # checked already (an object, a text key by storable_key, an aware UTC time):
        # validating again would copy every issue's top level
        return RawRecord.model_construct(source=self.name, stream=stream, key=key, updated=when,
                                         payload=payload)

    #: what the gate push needs: a property and a comment on the transition's epic
    GATE_PERMISSIONS = ("EDIT_ISSUES", "ADD_COMMENTS")

    def probe_push(self, target: str) -> Probe:
        """The account's permissions, from GET mypermissions (nothing is written)."""
        subject = f"push {target}"
        wanted = ",".join(self.GATE_PERMISSIONS)
        try:
            found = self._get("mypermissions", {"permissions": wanted}) or {}
        except BridgeError as exc:
            return Probe(subject, "warning", f"permissions not readable: {exc}")
        held = found.get("permissions") if isinstance(found, dict) else None
        held = held if isinstance(held, dict) else {}
        missing = [p for p in self.GATE_PERMISSIONS
                   if not (isinstance(held.get(p), dict) and held[p].get("havePermission"))]
        if missing:
            return Probe(subject, "error", f"the account lacks {', '.join(missing)} (the gate status "
                                           "is a property and a comment on each transition's epic)")
        return Probe(subject, "ok", "a property and a comment on each transition's epic "
                                    f"({wanted} held in at least one project)")

    def field_catalogue(self) -> list[FieldInfo]:
        """Every field of /field: id, name and schema type, the field the name rule prefers
        first among fields of one name (`jira_fields.field_rank`)."""
        fields = [f for f in self._field_list()
                  if isinstance(f, dict) and isinstance(f.get("id"), str) and f.get("name")]
        found: list[FieldInfo] = []
        for raw in sorted(fields, key=field_rank):
            schema = raw.get("schema")
            kind = schema.get("type") if isinstance(schema, dict) else None
            found.append(FieldInfo(str(raw["id"]), str(raw["name"]), kind))
        return found

    def census(self, stream: str) -> Iterator[str]:
        if stream != "issues":
            yield from super().census(stream)
            return
        for raw in self.issues(None, ["updated"]):
            if isinstance(raw, dict) and not key_problem(raw.get("key")):
                yield str(raw["key"])

    # -- pushing ---------------------------------------------------------------------------

    def push_gate_status(
        self,
        project_key: str,
        status_payload: dict[str, Any],
        correlation_key: str,
        comment: str | None = None,
        *,
        issue_key: str | None = None,
    ) -> PushResult:
        """Write the gate status as an entity property (`gate_property`) of the transition's
        epic (`issue_key`, else the project's first Epic).

        An issue property needs Edit Issues; a project property would need Administer
        Projects, which an integration user should not hold. When the status or an item
        changed and a comment is given, the epic gets a comment carrying the correlation key, looked up
        before it is added and written before the property: a retry after any partial
        failure adds no second comment. The property is read back after it is written.
        """
        target = issue_key or self._first_epic(project_key)
        if target is None:
            raise SourceError(self.name, f"project {project_key} has no Epic to hold the gate "
                                         "status: create one (issue type Epic)")
        current = self.issue_gate_property(target)
        if current == status_payload:
            return PushResult(target, "unchanged")
        note: Literal["added", "exists"] | None = None
        # a person reads the epic's comments: one whenever the status or an item changed
        seen = current if isinstance(current, dict) else {}
        changed = any(seen.get(k) != status_payload.get(k) for k in ("status", "items"))
        if comment and (current is None or changed):
            note = self.comment_once(target, comment, correlation_key)
        path = f"issue/{segment(target)}/properties/{segment(self.cfg.gate_property)}"
        request = f"PUT /rest/api/{self.cfg.api_version}/{path}"
        client = self._client()
        with self._errors(request):
            client._session.put(client._get_url(path), data=json.dumps(status_payload))
        if self.issue_gate_property(target) != status_payload:
            raise SourceError(self.name, f"the gate status written to {target} did not read back",
                              request=request)
        return PushResult(target, "created" if current is None else "updated", note)

    def issue_gate_property(self, issue_key: str) -> Any:
        """The gate status stored on an issue, None when it was never written."""
        path = f"issue/{segment(issue_key)}/properties/{segment(self.cfg.gate_property)}"
        found = self._get(path, missing_ok=True)
        return found.get("value") if isinstance(found, dict) else None

    def gate_property(self, project_key: str) -> Any:
        """The gate status on a project's first Epic (None: never written, or no Epic)."""
        target = self._first_epic(project_key)
        return None if target is None else self.issue_gate_property(target)

    def _first_epic(self, project_key: str) -> str | None:
        query = jql([Equals("project", project_key), Equals("issuetype", "Epic")],
                    [("created", "ASC"), ("key", "ASC")])
        for raw in self.search(query, ["summary"]):
            if isinstance(raw, dict) and not key_problem(raw.get("key")):
                return str(raw["key"])
        return None

    def comment_once(
        self, issue_key: str, text: str, correlation_key: str
    ) -> Literal["added", "exists"]:
        """Add `text` tagged with the correlation key unless a comment already carries it."""
        tag = f"[smo-bridge:{correlation_key}]"
        for existing in self._paged(f"issue/{segment(issue_key)}/comment", "comments"):
            if isinstance(existing, dict) and tag in adf_text(existing.get("body")):
                return "exists"
        body: Any = f"{text}\n\n{tag}"
        if self.cfg.api_version == 3:
            body = {
                "type": "doc",
                "version": 1,
                "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": part}]}
                    for part in (text, tag)
                ],
            }
        path = f"issue/{segment(issue_key)}/comment"
        client = self._client()
        with self._errors(f"POST /rest/api/{self.cfg.api_version}/{path}"):
            client._session.post(client._get_url(path), data=json.dumps({"body": body}))
        return "added"


def done_transition(issue: Mapping[str, Any], changelog: Any) -> dict[str, Any] | None:
    """The latest changelog history that set the issue's current status: who made the
    transition and when. Cloud lists histories newest first, Server oldest first, so the
    latest is chosen by its `created` time, not its place."""
    fields = issue.get("fields")
    status = fields.get("status") if isinstance(fields, dict) else None
    if not isinstance(status, dict) or not isinstance(changelog, dict):
        return None
    status_id, status_name = str(status.get("id") or ""), str(status.get("name") or "")
    best: tuple[datetime, dict[str, Any]] | None = None
    for history in changelog.get("histories") or []:
        if not isinstance(history, dict):
            continue
        for item in history.get("items") or []:
            if not isinstance(item, dict) or item.get("field") != "status":
                continue
            to_id, to_name = str(item.get("to") or ""), str(item.get("toString") or "")
            if (status_id and to_id == status_id) or (not status_id and to_name == status_name):
                try:
                    at = parse_jira_timestamp(history.get("created"))
                except ValueError:
                    continue
                if best is None or at > best[0]:
                    best = (at, {"author": history.get("author"), "created": history.get("created"),
                                 "toString": to_name})
    return best[1] if best else None
