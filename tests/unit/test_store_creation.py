"""A new SQLite store is created from the newest schema's statements (sqlite_head.py), not by
replaying every migration: both must give the very same schema."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import Connection, create_engine

from bridge.store import open_store, sqlite_head
from bridge.store.database import alembic_upgrade, head_revision


def _schema(conn: Connection) -> list[tuple[str, str, str, str | None]]:
    rows = conn.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_the_statements_are_those_of_the_newest_migration() -> None:
    assert head_revision() == sqlite_head.REVISION, (
        "a migration was added: regenerate bridge/store/sqlite_head.py with "
        '.venv/bin/python -m bridge.store.regenerate')


def test_a_new_store_has_the_schema_the_migrations_give(tmp_path: Path) -> None:
    migrated = create_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    try:
        with migrated.begin() as conn:
            alembic_upgrade(conn)
        with migrated.connect() as conn:
            expected = _schema(conn)
            expected_version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    finally:
        migrated.dispose()
    store = open_store(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        with store.engine.connect() as conn:
            assert _schema(conn) == expected
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").all() == expected_version
        assert store.current_revision() == head_revision()
    finally:
        store.close()


def test_a_new_or_current_sqlite_store_does_not_import_alembic(tmp_path: Path) -> None:
    """Its import and its replay of every migration were a tenth of a second of a first
    sync, and its import alone of every later start."""
    import subprocess

    url = f"sqlite:///{tmp_path / 's.db'}"
    code = ("import sys; from bridge.store import open_store; "
            f"open_store({url!r}).close(); print('alembic' in sys.modules)")
    for opening in ("new", "current"):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True)
        assert done.stdout.strip() == "False", opening


def test_the_module_is_what_its_generator_writes() -> None:
    from bridge.store import regenerate

    assert regenerate.generate() == regenerate.TARGET.read_text(encoding="utf-8"), (
        "bridge/store/sqlite_head.py differs from the migrations: .venv/bin/python -m "
        "bridge.store.regenerate")


def test_a_page_stored_in_sqlite_imports_no_postgresql_driver(tmp_path: Path) -> None:
    """Only PostgreSQL sends a page without waiting: its driver is no part of a SQLite sync."""
    import subprocess

    url = f"sqlite:///{tmp_path / 's.db'}"
    code = ("import sys; from bridge.store import open_store; from bridge.store import repository; "
            "from bridge.models import RawRecord; "
            f"store = open_store({url!r}); conn = store.engine.connect(); "
            "repository.store_raw(conn, [RawRecord(source='j', stream='s', key='k', payload={})]); "
            "conn.commit(); print('psycopg' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
