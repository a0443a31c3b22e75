"""Opening the store: engine set-up per backend, and in-place schema upgrades."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from bridge.errors import ConfigError, TransientError

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


class Store:
    """A handle on the state database; `engine` is a plain SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def upgrade(self) -> None:
        """Bring the schema to the newest revision, in place; a no-op when current.

        Under the `schema` lock: processes started together on an empty database would
        otherwise all create the tables, and all but one fail.
        """
        from bridge.store.locks import SCHEMA_LOCK_WAIT, waiting_lock  # locks build on Store

        cfg = _alembic_config()
        with waiting_lock(self, "schema", SCHEMA_LOCK_WAIT), self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def close(self) -> None:
        self.engine.dispose()


def redacted_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def create_store_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"state: not a database URL: {url!r}") from None
    # payloads are large JSON documents: orjson is several times faster than json
    kwargs: dict[str, Any] = {"json_serializer": _dumps, "json_deserializer": orjson.loads}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
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
        # them): let SQLAlchemy emit BEGIN itself, as its documentation recommends
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
    return engine


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_store(url: str, *, upgrade: bool = True) -> Store:
    """Open (and by default create or upgrade) the store at `url`."""
    store = Store(create_store_engine(url))
    if upgrade:
        try:
            store.upgrade()
        except OperationalError as exc:
            store.close()
            reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
            raise TransientError(f"state store {redacted_url(url)} unavailable: {reason}") from None
    return store
