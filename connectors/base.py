"""What every connector shares: its config model, the Connector contract, the registry.

Connectors join through the `smo_bridge.connectors` entry-point group (name = the
`kind` used in configuration), so a third-party package adds one without touching
this code.

The contract the engine relies on
---------------------------------
- ``Connector(config)`` only stores the configuration: no network, no client built.
- ``check()`` verifies reachability and credentials and raises ``SourceError`` (fix the
  configuration) or ``TransientError`` (try again later).
- ``streams()`` declares each stream like a Singer stream: name, primary key, cursor
  field, whether records arrive sorted by (cursor, key).
- ``read(stream, since, on_quarantine)`` yields ``RawRecord``s changed at or after
  ``since`` minus the configured overlap. Boundary records may be emitted again: the
  engine owns cursors and drops duplicates by key and content hash. Records that cannot
  be parsed go to ``on_quarantine`` with a reason and the stream goes on; failures are
  raised, never yielded.
- ``census(stream)`` yields every key the source holds now, for deletion reconciliation
  after a *complete* read (never infer a deletion from a failed or partial pull).
- Push operations are idempotent given the same correlation key and return a
  ``PushResult``.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from bridge.errors import BridgeError, ConfigError, PermissionDenied
from connectors.articles import ArticleApproval, ArticleRecord, ServiceFacts
from connectors.records import key_problem, kind_of, storable, storage_problem, synthetic_key

if TYPE_CHECKING:  # the canonical models (pydantic, a tenth of a second): not to check a config
    from bridge.models import RawRecord

ENTRY_POINT_GROUP = "smo_bridge.connectors"
DIALECT_GROUP = "smo_bridge.dialects"
CONFIG_GROUP = "smo_bridge.configs"


class BasicAuth(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["basic"]
    username: str
    password: SecretStr


class BearerAuth(BaseModel):
    """A personal access token (Jira Server/DC) or any bearer token."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["bearer"]
    token: SecretStr


class OAuth2Auth(BaseModel):
    """OAuth 2 password grant, as ServiceNow's OAuth endpoint offers it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["oauth2"]
    client_id: str
    client_secret: SecretStr
    username: str
    password: SecretStr


Auth = Annotated[BasicAuth | BearerAuth | OAuth2Auth, Field(discriminator="kind")]


class RetryConfig(BaseModel):
    """The one retry loop (connectors/http.py): exponential backoff with full jitter."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    max_attempts: int = Field(
        5, ge=1, le=20, description="attempts per request, the first included"
    )
    base_delay: float = Field(1.0, ge=0, le=3600, description="seconds; doubles on every attempt")
    max_delay: float = Field(
        60.0, ge=0, le=3600, description="cap on one wait, Retry-After included"
    )


class SourceConfig(BaseModel):
    """The keys every source has; a connector subclasses this with its own. Numbers are
    finite (`.inf` and `.nan` are refused) and within range."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    #: what the connector can receive, declared here so a configuration is checked without
    #: importing the connector; None: ask the connector class
    push_capabilities: ClassVar[frozenset[str] | None] = None

    name: str = Field(pattern=r"^[a-z0-9-]+$", description="unique source name")
    kind: str = Field(description="connector kind, e.g. jira or servicenow")
    url: str = Field(description="base URL of the instance")
    auth: Auth
    verify_tls: bool = True
    mappings: list[str] = Field(
        default_factory=list,
        description="mapping files for this source; empty means the shipped default",
    )
    max_concurrency: int = Field(4, ge=1, le=64, description="parallel requests to this source")
    timeout: float = Field(30.0, gt=0, le=3600, description="read timeout in seconds")
    connect_timeout: float = Field(10.0, gt=0, le=600, description="connect timeout in seconds")
    retry: RetryConfig = Field(default_factory=RetryConfig)
    overlap_seconds: int = Field(
        300, ge=0, le=7 * 86400, description="incremental reads start this long before the engine's signpost"
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


@dataclass(frozen=True)
class StreamSpec:
    """A stream's declaration, the way Singer SDK streams declare their class attributes.

    `cursor_field` names the payload field behind `RawRecord.updated`; a stream without
    one is read in full every time. `is_sorted` promises records in (cursor, key) order,
    so the engine may checkpoint mid-stream; an unsorted stream is resumable only once
    it completed.

    `identity_field` names a payload field that stays the same when the record's key
    changes (a Jira issue moved to another project keeps its `id`, not its key). A record
    arriving under a new key with an identity stored under another key supersedes that
    key: whoever holds the stored keys (the engine) retires the old one. Within one read
    the connector does it itself, with a deleted record for the old key.
    """

    name: str
    primary_key: str
    cursor_field: str | None = None
    is_sorted: bool = False
    identity_field: str | None = None

    @property
    def incremental(self) -> bool:
        return self.cursor_field is not None


@dataclass(frozen=True)
class Quarantined:
    """A record the connector could not turn into a RawRecord, and why: always under a key
    of its own (its key when usable, else `~sha256:...` of its content), `field` naming
    what was wrong with it, `reason` starting with that field."""

    source: str
    stream: str
    reason: str
    key: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    field: str | None = None


QuarantineHandler = Callable[[Quarantined], None]

@dataclass(frozen=True)
class MappingDialect:
    """What the mapping layer needs to know of one connector kind's records, so that
    `mappings/` holds no vendor names: which streams exist, how field paths are checked,
    how values and display names are read, and where the shipped default mapping is.

    A connector publishes its dialect through the entry-point group `smo_bridge.dialects`
    (name = kind), from a module light enough to load without the vendor's client."""

    kind: str
    label: str  # the vendor's name in messages: "Jira", "ServiceNow"
    default_mapping: Path | None = None
    stream_noun: str = "stream"  # "table" for ServiceNow
    streams: tuple[str, ...] = ()
    #: only `streams` exist (Jira); otherwise other names pass unless they look like a typo
    closed_streams: bool = False
    stream_pattern: str | None = None  # what any stream name must look like
    custom_stream_prefixes: tuple[str, ...] = ()  # names an admin's own tables start with
    #: raw paths `<field_head>.<name>` are checked against `system_fields` and `custom_field`
    field_head: str | None = None
    system_fields: tuple[str, ...] = ()
    custom_field: str | None = None  # regular expression of custom field ids
    #: `fields["Display name"]` steps resolve through the instance's field catalogue
    named_fields: bool = False
    default_catalogue: Mapping[str, str] = field(default_factory=dict)
    catalogue_stream: str | None = None
    catalogue: Callable[[Iterable[Mapping[str, Any]]], dict[str, str]] | None = None
    resolve: Callable[[Mapping[str, str], str], str | None] | None = None
    #: records carry `{value, display_value}` pairs; a bare path reads the value
    unwrap_value: bool = False
    #: where a record's own key is, first found wins (examples and previews need no key)
    record_keys: tuple[str, ...] = ("key", "id")


@cache
def dialects() -> dict[str, MappingDialect]:
    """Mapping dialects by connector kind, from the entry-point group."""
    found: dict[str, MappingDialect] = {}
    for ep in entry_points(group=DIALECT_GROUP):
        found[ep.name] = ep.load()
    return found


@dataclass(frozen=True)
class FieldInfo:
    """One field of an instance's catalogue: its id, display name and value type; `table`
    for tools whose fields are columns of a table (ServiceNow)."""

    id: str
    name: str
    type: str | None = None
    table: str | None = None


ProbeLevel = Literal["ok", "warning", "error"]


@dataclass(frozen=True)
class Probe:
    """One finding of `smo-bridge check`: what was tried, how it went, and what to do.

    `subject` names the thing tried (`connection`, `stream incident`, `push gate_status`,
    `field u_go_live`); `count` is what a read found, where it counted."""

    subject: str
    level: ProbeLevel
    detail: str
    count: int | None = None

PushOutcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class PushResult:
    """What a push did: the remote record it touched and whether it changed anything.

    `note` says whether a comment / work note was added (`"added"`), found from an
    earlier attempt (`"exists"`) or not needed (`None`).
    """

    remote_id: str
    outcome: PushOutcome
    note: Literal["added", "exists"] | None = None


class Connector(abc.ABC):
    """One external tool: its streams (pull) and its push operations.

    Knows the wire format and nothing else: no state, no retries beyond the shared
    HTTP policy, no scheduling. Constructors never touch the network.
    """

    kind: ClassVar[str]
    config_model: ClassVar[type[SourceConfig]] = SourceConfig
    #: the push targets this connector can serve (`push: {gate_status: [...], knowledge: ...}`)
    push_capabilities: ClassVar[frozenset[str]] = frozenset()
    #: the streams whose pulled records say what became of articles (and their approvals)
    article_streams: ClassVar[tuple[str, ...]] = ()
    #: the stream of the tool's service records (CMDB), read for articles' facts
    service_stream: ClassVar[str | None] = None
    #: how many records the read (or census) under way will yield, when the tool said so
    #: on its first page (a count header); None otherwise. Only progress displays use it.
    read_total: int | None = None

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self.log = logging.getLogger(f"connectors.{self.kind}")

    @property
    def name(self) -> str:
        return self.config.name

    @abc.abstractmethod
    def check(self) -> None:
        """Verify the host answers and the credentials work; raise SourceError otherwise."""

    @abc.abstractmethod
    def streams(self) -> list[StreamSpec]:
        """Every stream this connector can read, as configured."""

    def stream_names(self) -> list[str]:
        return [s.name for s in self.streams()]

    def stream(self, name: str) -> StreamSpec:
        for spec in self.streams():
            if spec.name == name:
                return spec
        raise ConfigError(
            f"source {self.name!r}: no stream {name!r} (streams: {', '.join(self.stream_names())})"
        )

    @abc.abstractmethod
    def read(
        self,
        stream: str,
        since: datetime | None = None,
        on_quarantine: QuarantineHandler | None = None,
    ) -> Iterator[RawRecord]:
        """Yield the stream's records changed since `since` (UTC; all of them without one).

        The connector widens the window by `overlap_seconds` and may re-emit records at
        the boundary; unparsable records go to `on_quarantine` (logged when None).
        """

    def probe_connection(self) -> Probe:
        """The first finding of every probe: `check()` as a Probe."""
        try:
            self.check()
        except BridgeError as exc:
            return Probe("connection", "error", str(exc))
        return Probe("connection", "ok", f"reachable and authenticated at {self.config.url}")

    def probe(self, pushes: frozenset[str] = frozenset()) -> Iterator[Probe]:
        """First contact: reach and authenticate, then try each stream and each push
        target named in `pushes`. Connectors override this to count rows, test write
        permissions and list the fields a mapping reads that the instance lacks; this
        default reads one record of each stream."""
        reached = self.probe_connection()
        yield reached
        if reached.level == "error":
            return
        for spec in self.streams():
            try:
                first = next(iter(self.read(spec.name, None, lambda q: None)), None)
            except PermissionDenied as exc:
                yield Probe(f"stream {spec.name}", "warning", f"not readable, skipped: {exc}")
                continue
            except BridgeError as exc:
                yield Probe(f"stream {spec.name}", "error", str(exc))
                continue
            found = "readable" if first is not None else "readable, empty"
            yield Probe(f"stream {spec.name}", "ok", found)
        for target in sorted(pushes):
            if target in self.push_capabilities:
                yield self.probe_push(target)
            else:
                yield Probe(f"push {target}", "error", f"a {self.kind} source cannot receive {target}")

    def probe_push(self, target: str) -> Probe:
        """Whether a push target can be written, without writing: connectors that can ask
        the tool for the account's permissions override this."""
        return Probe(f"push {target}", "warning", "writability not tested by this connector")

    def article_state(self, record: RawRecord) -> ArticleRecord | ArticleApproval | None:
        """A pulled `article_streams` record as an article (anyone's) or a person's approval
        of one; None for any other record (and for connectors without articles)."""
        return None

    def service_facts(self, record: RawRecord) -> ServiceFacts | None:
        """A pulled `service_stream` record as a service; None for any other record."""
        return None

    def field_catalogue(self) -> list[FieldInfo] | None:
        """The instance's fields a mapping may name (None: the connector has no catalogue)."""
        return None

    @classmethod
    def browse_url(cls, base_url: str, stream: str, key: str) -> str | None:
        """Where a person opens record `key` of `stream` in the tool's own pages; None when
        the connector cannot say (the board then shows the key without a link)."""
        return None

    @classmethod
    def article_url(cls, base_url: str, number: str) -> str | None:
        """Where a person reads knowledge article `number` (e.g. KB0010001); None when the
        tool holds no knowledge base the bridge writes to."""
        return None

    def census(self, stream: str) -> Iterator[str]:
        """Every key the stream holds now. Connectors override this with a cheaper query."""
        for record in self.read(stream, None, lambda q: None):
            yield record.key

    def census_cause(self, stream: str, *, present: int, stored: int, reported: int | None,
                     denied: PermissionDenied | None = None) -> str | None:
        """Why a census of `stream` found `present` keys where `stored` are stored (or was
        `denied`), in the tool's terms; `reported` is the count the tool gave on the census's
        first page. None: this tool has nothing to add to the generic causes."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook, most connectors hold nothing
        """Release sessions and pools."""

    def storable_key(
        self, handler: QuarantineHandler | None, stream: str, payload: object, key: object,
        key_field: str, field_steps: int = 1,
    ) -> str | None:
        """The record's key when the record can be stored as it is; otherwise the record is
        quarantined (an unusable `key_field`, a payload nested too deep) and None returned.
        `field_steps`: how many keys of a path name a field (2 for `fields.description`)."""
        if not isinstance(payload, dict):
            self.quarantine(handler, stream, f"the entry is {kind_of(payload)}, not an object",
                            payload, field="entry")
            return None
        problem = key_problem(key)
        if problem is not None:
            self.quarantine(handler, stream, problem, payload, field=key_field)
            return None
        nested = storage_problem(payload, field_steps=field_steps)  # repairs what it can
        if nested is not None:
            self.quarantine(handler, stream, nested[1], payload, key=key, field=nested[0])
            return None
        assert isinstance(key, str)
        return key

    def quarantine(
        self,
        handler: QuarantineHandler | None,
        stream: str,
        reason: str,
        payload: object,
        key: object = None,
        field: str | None = None,
    ) -> None:
        """Route one unparsable record to the engine's handler (or the log), under its own
        key: an unusable key (absent, not text, too long) gives way to a synthetic one from
        the record's content, so no two bad records share a row. The payload is made
        storable (a non-object wrapped, a depth bomb pruned)."""
        if key_problem(key) is not None:
            key = synthetic_key(payload)
        if field and not reason.startswith(f"{field}:"):
            reason = f"{field}: {reason}"
        if len(reason) > 500:  # a value quoted in a reason may be megabytes long
            reason = reason[:500] + "..."
        item = Quarantined(source=self.name, stream=stream, reason=reason, key=str(key),
                           payload=storable(payload), field=field)
        if handler is None:
            self.log.warning("%s/%s: quarantined %s: %s", self.name, stream, item.key, reason)
        else:
            handler(item)


@cache
def registry() -> dict[str, type[Connector]]:
    """Connector classes by kind, from the entry-point group."""
    found: dict[str, type[Connector]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep.load()
    return found


@cache
def connector_class(kind: str) -> type[Connector]:
    """The connector class of one kind, importing no other connector (a vendor's client
    library takes a tenth of a second to import)."""
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=kind):
        found: type[Connector] = ep.load()
        return found
    raise KeyError(kind)


@cache
def config_models() -> dict[str, type[SourceConfig]]:
    """Configuration models by connector kind: from their own light entry points where a
    connector declares one (checking a configuration then imports no connector), else
    from the connector class."""
    known = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    found: dict[str, type[SourceConfig]] = {}
    for ep in entry_points(group=CONFIG_GROUP):
        if ep.name in known:  # a kind is the connector's: no connector, no kind
            found[ep.name] = ep.load()
    if known - set(found):
        classes = registry()
        found.update({kind: classes[kind].config_model for kind in known - set(found)})
    return found


def push_capabilities(kind: str) -> frozenset[str]:
    """What a source of this (known) kind can receive."""
    declared = config_models()[kind].push_capabilities
    return declared if declared is not None else connector_class(kind).push_capabilities


def connector_for(source: SourceConfig) -> Connector:
    """The connector of a configured source (its kind is known: configuration checked it)."""
    return connector_class(source.kind)(source)
