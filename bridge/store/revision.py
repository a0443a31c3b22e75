"""Schema revisions without importing Alembic: the store's own, read from `alembic_version`,
and the newest this version knows, read from the migration files' headers. Checking a store
this way keeps read-only commands from importing Alembic (a tenth of a second) just to
compare two names; upgrades still go through Alembic."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, inspect, text

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


def stored(conn: Connection) -> str | None:
    """The store's revision; None when it holds no schema yet."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
