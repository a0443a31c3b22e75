"""Opening the store: engine set-up per backend, and in-place schema upgrades."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from bridge.errors import BridgeError, ConfigError, TransientError
from bridge.store import pipelining, revision, sqlite_head
from bridge.store.reader import SQLITE_BUSY_TIMEOUT_MS

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_PAGE_SIZE = 16_384
#: the backends the store's statements are written for (insert-or-update, locks, migrations)
BACKENDS = ("sqlite", "postgresql")


def _alembic_config() -> Config:
    from alembic.config import Config  # upgrades only: reading commands never import Alembic

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    return revision.head()


def alembic_upgrade(conn: Connection) -> None:
    """Every migration the store lacks, through Alembic, in the caller's transaction."""
    from alembic import command

    cfg = _alembic_config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


def _created_from_head(conn: Connection) -> bool:
    """A new SQLite database gets the newest schema from its statements (sqlite_head.py), in
    the caller's transaction: Alembic's import and its replay of every migration were a tenth
    of a second of a first sync. False (nothing done) for any other database."""
    if conn.dialect.name != "sqlite" or revision.head() != sqlite_head.REVISION:
        return False
    if conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar():
        return False
    for statement in sqlite_head.STATEMENTS:
        conn.exec_driver_sql(statement)
    conn.exec_driver_sql("INSERT INTO alembic_version (version_num) VALUES (?)",
                         (sqlite_head.REVISION,))
    return True


class Store:
    """A handle on the state database; `engine` is a plain SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return revision.stored(conn)

    def upgrade(self) -> None:
        """Bring the schema to the newest revision, in place; a no-op when current.

        Under the `schema` lock: processes started together on an empty database would
        otherwise all create the tables, and all but one fail.
        """
        from bridge.store.locks import SCHEMA_LOCK_WAIT, waiting_lock  # locks build on Store

        with waiting_lock(self, "schema", SCHEMA_LOCK_WAIT), self.engine.begin() as conn:
            if revision.stored(conn) == revision.head():
                return  # current: no Alembic import (a tenth of a second of every start)
            if not _created_from_head(conn):
                alembic_upgrade(conn)

    def close(self) -> None:
        self.engine.dispose()


def redacted_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def _parsed(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise ConfigError(f"state: not a database URL: {url!r}") from None


def create_store_engine(url: str, *, create: bool = False, read_only: bool = False,
                        make_folder: bool = True) -> Engine:
    """An engine for `url`; with `create`, a new SQLite file (and its folder, unless not
    `make_folder`: then a missing folder is an error) is made, the file readable by its
    owner only: it holds people's names and addresses."""
    parsed = _parsed(url)
    if parsed.get_backend_name() not in BACKENDS:
        raise ConfigError(f"state: {redacted_url(url)}: a store is SQLite or PostgreSQL "
                          "(sqlite:///FILE or postgresql+psycopg://...)")
    # payloads are large JSON documents: orjson is several times faster than json; statement
    # parameters are records (people's addresses): never in an error message or a log line
    kwargs: dict[str, Any] = {"json_serializer": _dumps, "json_deserializer": orjson.loads,
                              "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        if create and parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)
            if not make_folder and not path.parent.is_dir():
                raise ConfigError(f"{redacted_url(url)}: folder {str(path.parent)!r} does not exist; "
                                  "create it first (no folder is created for you)")
            path.parent.mkdir(parents=True, exist_ok=True)
            # SQLite gives its -wal and -shm files the database file's mode
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, ModuleNotFoundError) as exc:
        raise ConfigError(f"state: cannot use {redacted_url(url)}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling breaks SAVEPOINT (dry runs roll back through
        # them): let SQLAlchemy emit BEGIN itself, as its documentation recommends. Writers
        # take the write lock when they begin: a deferred transaction that reads and then
        # writes fails at once with "database is locked" when another thread wrote
        # meanwhile (the busy timeout cannot help it); readers in WAL mode need no lock.
        begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
    else:
        event.listen(engine, "connect", _postgres_session)
        # a write sent without waiting (pipelining.send_many) is answered before anything else
        event.listen(engine, "before_cursor_execute", pipelining.settle_before_statement)
        event.listen(engine, "commit", pipelining.settle)
        event.listen(engine, "rollback", pipelining.settle_before_rollback)
    return engine


#: on when the server offers it (PostgreSQL 14+ built with lz4, as Debian's): payloads of a
#: few KB are compressed when stored, and lz4 costs the server a fraction of pglz's CPU
_LZ4 = ("SELECT 'lz4' = ANY(enumvals) FROM pg_catalog.pg_settings "
        "WHERE name = 'default_toast_compression'")


def _postgres_session(dbapi_conn: Any, _record: Any) -> None:
    """This session's own settings (any role may set them; nothing outside it changes)."""
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    try:
        cursor = dbapi_conn.cursor()
        try:
            row = cursor.execute(_LZ4).fetchone()
            if row is not None and row[0]:
                cursor.execute("SET default_toast_compression = lz4")
        finally:
            cursor.close()
    finally:
        dbapi_conn.autocommit = autocommit


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    # a new database only (a no-op once it holds anything): stored payloads are 1-6 KB of
    # JSON, which 4 KB pages hold one to a page with the rest left empty or spilt over
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_store(url: str, *, upgrade: bool = True, create_only: bool = False,
               make_folder: bool = True) -> Store:
    """Open the store at `url`, creating it when new and by default upgrading it in place.
    With `create_only`, an existing store whose schema is not current is an error naming
    the upgrade command: schema changes stay an operator's explicit step."""
    store = Store(create_store_engine(url, create=True, make_folder=make_folder))
    try:
        if create_only:
            current = store.current_revision()
            if current is not None and current != head_revision():
                raise _not_current(url, current)
        if upgrade:
            store.upgrade()
    except OperationalError as exc:
        store.close()
        raise _unavailable(url, exc) from None
    except ConfigError:
        store.close()
        raise
    return store


def open_existing_store(url: str) -> Store:
    """Open a store that must already exist at the current schema, for reading: nothing is
    created, locked or upgraded (a missing store is an error naming the URL)."""
    parsed = _parsed(url)
    database = parsed.database
    if (parsed.get_backend_name() == "sqlite" and database and database != ":memory:"
            and not Path(database).exists()):
        raise BridgeError(f"no state store at {redacted_url(url)}: nothing has been synced "
                          "here yet (`smo-bridge sync --once` creates it)")
    store = Store(create_store_engine(url, read_only=True))
    try:
        current = store.current_revision()
    except OperationalError as exc:
        store.close()
        raise _unavailable(url, exc) from None
    if current is None:
        store.close()
        raise BridgeError(f"no state store at {redacted_url(url)}: the database holds no "
                          "smo-bridge tables (`smo-bridge sync --once` creates them)")
    if current != head_revision():
        store.close()
        raise _not_current(url, current)
    return store


def store_exists(url: str) -> bool:
    """Whether `url` already holds a store (its tables), without creating anything."""
    parsed = _parsed(url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite":
        if not database or database == ":memory:":
            return False
        if not Path(database).exists():
            return False
    store = Store(create_store_engine(url))
    try:
        return store.current_revision() is not None
    except OperationalError as exc:
        raise _unavailable(url, exc) from None
    finally:
        store.close()


def _unavailable(url: str, exc: OperationalError) -> TransientError:
    reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
    return TransientError(f"state store {redacted_url(url)} unavailable: {reason}")


def _not_current(url: str, current: str) -> ConfigError:
    head = head_revision()
    known = set(revision.revisions())
    if current not in known:
        return ConfigError(f"state store {redacted_url(url)} has schema {current}, written by a "
                           f"newer smo-bridge (this one knows up to {head}): upgrade smo-bridge")
    return ConfigError(f"state store {redacted_url(url)} has schema {current}, this version "
                       f"needs {head}: back it up, then run `smo-bridge db upgrade`")
