"""The state store's tables (SQLAlchemy Core). Changes go through a new migration in migrations/versions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; gives back aware UTC datetimes on every backend (SQLite has no zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused by the state store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        #: the last value converted and its text: a page's rows share one `now` (first_seen,
        #: last_seen, updated_at), converted once. Read and replaced as one pair, so threads
        #: sharing this processor always see a value with its own text.
        last: list[tuple[object, str | None]] = [(None, None)]

        def process(value: datetime | None) -> str | None:
            # SQLAlchemy's SQLite DATETIME text (`2026-05-01 08:00:00.000000`) in one step:
            # stores hold millions of these, and the two-step conversion was a sync's hot spot
            if value is None:
                return None
            seen = last[0]
            if seen[0] is value:
                return seen[1]
            if value.tzinfo is None:
                raise ValueError("naive datetime refused by the state store")
            text = value.astimezone(UTC).isoformat(" ", "microseconds")[:26]
            last[0] = (value, text)
            return text
        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json() -> Any:
    return JSON().with_variant(JSON(none_as_null=True), "postgresql")


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

raw_records = Table(
    "raw_records", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False),
    Column("stream", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("updated", UTCDateTime()),
    Column("payload", _json(), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("first_seen", UTCDateTime(), nullable=False),
    Column("last_seen", UTCDateTime(), nullable=False),
    # what survives a key change (a Jira issue moved to another project keeps its id)
    Column("identity", String(255)),
    UniqueConstraint("source", "stream", "key"),
    # led by the identity: a lookup by key must find only the unique index (a PostgreSQL
    # table not yet analysed would otherwise scan a whole stream through this one)
    Index(None, "identity", "source", "stream"),
    Index(None, "source", "deleted"),  # status counts live records per source from it alone
)

# lookups that mappings build from reference records, saved so a cycle need not re-read them
lookup_entries = Table(
    "lookup_entries", metadata,
    Column("source", String(64), primary_key=True),
    Column("lookup", String(64), primary_key=True),
    Column("entry", String(255), primary_key=True),
    Column("record_key", String(255), nullable=False),
    Column("payload", _json(), nullable=False),
)

cursors = Table(
    "cursors", metadata,
    Column("source", String(64), primary_key=True),
    Column("stream", String(64), primary_key=True),
    Column("value", _json(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

projects = Table(
    "projects", metadata,
    Column("source", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("service", String(255)),
    Column("payload", _json(), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

tickets = Table(
    "tickets", metadata,
    Column("source", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("practice", String(64)),
    Column("capability", String(16)),
    Column("team", String(255)),
    Column("status_category", String(16), nullable=False),
    Column("priority", String(64)),
    Column("project_key", String(255)),
    Column("transition_key", String(255)),
    Column("opened", UTCDateTime(), nullable=False),
    Column("resolved", UTCDateTime()),
    Column("effort_hours", Float),
    Column("sla_breached", Boolean, nullable=False, default=False),
    Column("payload", _json(), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index(None, "capability", "practice", "team"),
    Index(None, "transition_key"),
    Index(None, "project_key"),
)

transitions = Table(
    "transitions", metadata,
    Column("id", String(255), primary_key=True),
    Column("service", String(255), nullable=False),
    Column("go_live", Date),
    Column("gate_status", String(32), nullable=False),
    Column("payload", _json(), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # a digest of everything the transition was derived from: equal inputs, no re-derivation
    Column("inputs_hash", String(64)),
)

knowledge_articles = Table(
    "knowledge_articles", metadata,
    Column("transition_id", String(255), primary_key=True),
    Column("content_hash", String(64), nullable=False),
    Column("payload", _json(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

workload_cells = Table(
    "workload_cells", metadata,
    Column("capability", String(16), primary_key=True),
    Column("practice", String(64), primary_key=True),
    Column("team", String(255), primary_key=True),
    Column("period_kind", String(8), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("period_start", Date, nullable=False),
    Column("opened", Integer, nullable=False, default=0),
    Column("closed", Integer, nullable=False, default=0),
    Column("open_backlog", Integer, nullable=False, default=0),
    Column("median_age_days", Float),
    Column("effort_hours", Float, nullable=False, default=0.0),
    Column("sla_breaches", Integer, nullable=False, default=0),
)

#: what a derivation computed for readers that must not recompute it (`status`, the
#: daemon's metrics): one row per kind, replaced whole by each derivation
snapshots = Table(
    "snapshots", metadata,
    Column("name", String(64), primary_key=True),
    Column("taken_at", UTCDateTime(), nullable=False),
    Column("payload", _json(), nullable=False),
)

#: the daemons sharing this store: each renews its row; times are the database's clock
daemon_members = Table(
    "daemon_members", metadata,
    Column("id", String(255), primary_key=True),
    Column("started_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(255), nullable=False, unique=True),
    Column("target", String(64), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("payload", _json(), nullable=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime()),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime()),
    Column("remote_id", String(255)),
    Index(None, "status", "next_attempt_at"),
)

quarantine = Table(
    "quarantine", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False),
    Column("stream", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("field", String(255)),
    Column("reason", Text, nullable=False),
    Column("payload", _json()),
    Column("at", UTCDateTime(), nullable=False),
    UniqueConstraint("source", "stream", "key"),
)

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("source", String(64)),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("status", String(16), nullable=False, default="running"),
    Column("counts", _json()),
    Column("error", Text),
    Index(None, "source", "status", "finished_at"),
)
