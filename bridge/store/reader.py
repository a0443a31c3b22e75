"""Reading a store with plain SQL text, through SQLAlchemy or straight through its DB-API
driver (sqlite3, psycopg).

A quick read-only command (`status`) spends more on importing SQLAlchemy than on its
queries. Its queries are written once as SQL text that both backends accept, without
parameters, and run on either kind of connection: a `Reader` gives back the driver's own
values (SQLite: JSON and timestamps as text; PostgreSQL: decoded), which `json_value` and
`timestamp` turn into the same Python values on both.

`open_reader` opens the store only when it can tell cheaply that the store is there and
current; for anything else (a missing file, an older schema, another driver) it returns
None and the caller opens the store the usual way, which names the problem
(bridge.store.database.open_existing_store). A PostgreSQL server that cannot be reached
is reported at once, in the same words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import orjson

from bridge.store import revision

if TYPE_CHECKING:
    from sqlalchemy import Connection

#: how long a SQLite reader or writer waits for another's lock (a writer may hold it a while);
#: here, not in database.py, so that this module's readers need not import SQLAlchemy
SQLITE_BUSY_TIMEOUT_MS = 30_000
_URL = re.compile(r"^(?P<backend>[a-z0-9]+)(?:\+(?P<driver>[a-z0-9_]+))?://(?P<rest>.*)$", re.S)


class Reader(Protocol):
    """Runs SQL text without parameters and gives back the driver's rows."""

    @property
    def dialect(self) -> str: ...

    def rows(self, sql: str) -> Sequence[Sequence[Any]]: ...

    def sqlalchemy(self) -> AbstractContextManager[Connection]:
        """A SQLAlchemy connection on the same store, for the rare reads that need one."""


class AlchemyReader:
    """A Reader over an open SQLAlchemy connection (in its transaction, if any)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    def rows(self, sql: str) -> Sequence[Sequence[Any]]:
        return self.conn.exec_driver_sql(sql).all()

    @contextmanager
    def sqlalchemy(self) -> Iterator[Connection]:
        yield self.conn


class DriverReader:
    """A Reader over a DB-API connection, in one read transaction until `close`."""

    def __init__(self, dialect: str, conn: Any, url: str) -> None:
        self._dialect = dialect
        self.conn = conn
        self.url = url

    @property
    def dialect(self) -> str:
        return self._dialect

    def rows(self, sql: str) -> Sequence[Sequence[Any]]:
        cursor = self.conn.cursor()
        try:
            cursor.execute(sql)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    @contextmanager
    def sqlalchemy(self) -> Iterator[Connection]:
        from bridge.store.database import open_existing_store

        store = open_existing_store(self.url)
        try:
            with store.engine.connect() as conn:
                yield conn
        finally:
            store.close()

    def close(self) -> None:
        try:
            if self._dialect == "sqlite":
                self.conn.execute("ROLLBACK")
        finally:
            self.conn.close()  # psycopg rolls back what it began

    def __enter__(self) -> DriverReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def as_reader(conn: Connection | Reader) -> Reader:
    """A Reader over a SQLAlchemy connection, or the Reader given."""
    if hasattr(conn, "exec_driver_sql"):
        return AlchemyReader(cast("Connection", conn))
    return conn


def open_reader(url: str) -> DriverReader | None:
    """The store at `url` through its driver, when it exists at the current schema and its
    URL is one of the plain forms read here (a SQLite file, PostgreSQL through psycopg);
    else None: open it through SQLAlchemy instead. Nothing is created, locked or upgraded;
    raises TransientError when the PostgreSQL server cannot be reached."""
    match = _URL.match(url)
    if match is None:
        return None
    backend, driver, rest = match["backend"], match["driver"], match["rest"]
    reader: DriverReader | None = None
    if backend == "sqlite" and driver in (None, "pysqlite"):
        reader = _sqlite(rest, url)
    elif backend == "postgresql" and driver == "psycopg":
        reader = _postgresql(rest, url)
    if reader is None:
        return None
    try:
        current = revision.stored_by(reader)
    except Exception:
        reader.conn.close()
        return None
    if current is None or current != revision.head():
        reader.conn.close()
        return None
    return reader


def _sqlite(rest: str, url: str) -> DriverReader | None:
    # `sqlite:///relative.db`, `sqlite:////absolute.db`; query options, escapes and the
    # in-memory database are left to SQLAlchemy's parser
    database = rest[1:] if rest.startswith("/") else ""
    if not database or database == ":memory:" or any(c in database for c in "?%#"):
        return None
    if not Path(database).is_file():  # sqlite3 would create it
        return None
    import sqlite3

    try:
        conn = sqlite3.connect(database, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.execute("BEGIN")  # one snapshot for every query, as the SQLAlchemy path reads
    except sqlite3.Error:
        return None
    return DriverReader("sqlite", conn, url)


def _postgresql(rest: str, url: str) -> DriverReader | None:
    import psycopg

    try:  # libpq reads the same URL form (user, password, host, port, database, options)
        conn = psycopg.connect(f"postgresql://{rest}")
    except psycopg.OperationalError as exc:
        # unreachable, refused, a wrong password: said now, as SQLAlchemy's path says it,
        # rather than waited for a second time through it
        from sqlalchemy.exc import OperationalError

        from bridge.store.database import _unavailable

        raise _unavailable(url, OperationalError(None, None, exc)) from None
    except (psycopg.Error, ValueError):
        return None  # an option libpq does not take: SQLAlchemy's parser may
    conn.read_only = True  # status writes nothing: the server holds it to that
    return DriverReader("postgresql", conn, url)


def json_value(value: Any) -> Any:
    """A JSON column's value: SQLite gives its text, psycopg the decoded value."""
    if isinstance(value, str | bytes):
        return orjson.loads(value)
    return value


def timestamp(value: Any) -> datetime | None:
    """A UTC timestamp column's value, aware: SQLite gives `2026-05-01 08:00:00.000000`
    (UTC, without a zone), PostgreSQL an aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
