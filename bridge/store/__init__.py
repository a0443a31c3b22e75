"""The state store: SQLite by default, PostgreSQL for shared state, schema versioned by Alembic."""

from __future__ import annotations

from bridge.store.database import Store, open_store

__all__ = ["Store", "open_store"]
