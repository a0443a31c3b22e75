"""Schema revisions without importing Alembic: the store's own, read from `alembic_version`,
and the newest this version knows, read from the migration files' headers. Checking a store
this way keeps read-only commands from importing Alembic (a tenth of a second) just to
compare two names; upgrades still go through Alembic."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from bridge.store.reader import Reader

VERSIONS = Path(__file__).with_name("migrations") / "versions"
_HEADER = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*['\"]?([\w-]+)['\"]?", re.M)


@cache
def revisions() -> dict[str, str | None]:
    """Every revision the migrations define -> the revision it follows (None for the first)."""
    found: dict[str, str | None] = {}
    for path in VERSIONS.glob("*.py"):
        header = dict(_HEADER.findall(path.read_text(encoding="utf-8")))
        if "revision" in header:
            down = header.get("down_revision")
            found[header["revision"]] = None if down in (None, "None") else down
    return found


def head() -> str | None:
    """The newest revision: the one no other revision follows."""
    known = revisions()
    followed = set(known.values())
    heads = sorted(r for r in known if r not in followed)
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have several heads: {', '.join(heads)}")
    return heads[0] if heads else None


STORED = "SELECT version_num FROM alembic_version"
#: whether the version table is there, per dialect (as SQLAlchemy's inspector asks)
HAS_VERSION_TABLE = {
    "sqlite": "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'",
    "postgresql": "SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relname = 'alembic_version' "
                  "AND c.relkind IN ('r', 'p') AND pg_catalog.pg_table_is_visible(c.oid)",
}


def stored(conn: Connection) -> str | None:
    """The store's revision; None when it holds no schema yet."""
    from sqlalchemy import inspect

    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.exec_driver_sql(STORED).scalar()


def stored_by(reader: Reader) -> str | None:
    """The store's revision read through a Reader (SQLite and PostgreSQL)."""
    if not reader.rows(HAS_VERSION_TABLE[reader.dialect])[0][0]:
        return None
    found = reader.rows(STORED)
    return str(found[0][0]) if found else None
