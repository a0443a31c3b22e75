"""Rewrites bridge/store/sqlite_head.py from the migrations, after one is added:

    .venv/bin/python -m bridge.store.regenerate

The statements are read from a SQLite database Alembic brings to the newest revision.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import create_engine

from bridge.store import sqlite_head
from bridge.store.database import alembic_upgrade
from bridge.store.revision import head

TARGET = Path(sqlite_head.__file__)


def generate() -> str:
    """sqlite_head.py's text for the newest revision: its docstring kept, its data replaced."""
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{Path(folder) / 'head.db'}")
        try:
            with engine.begin() as conn:
                alembic_upgrade(conn)
                rows = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid").scalars().all()
        finally:
            engine.dispose()
    text = TARGET.read_text(encoding="utf-8")
    top = text[:text.index("REVISION = ")]
    body = "".join(f"    {statement!r},\n" for statement in rows)
    return f'{top}REVISION = "{head()}"\nSTATEMENTS: tuple[str, ...] = (\n{body})\n'


def main() -> None:
    TARGET.write_text(generate(), encoding="utf-8")


if __name__ == "__main__":
    main()
