"""The state store: SQLite by default, PostgreSQL for shared state, schema versioned by Alembic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.store.database import Store, open_store

__all__ = ["Store", "open_store"]


def __getattr__(name: str) -> Any:
    # imported on first use: `status` reads a store through its driver, without SQLAlchemy
    if name in __all__:
        from bridge.store import database

        return getattr(database, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
