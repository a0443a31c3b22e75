"""The SQLite text of stored instants: one conversion per value, however often it repeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite

from bridge.store.schema import UTCDateTime


def test_a_repeated_instant_and_a_new_one_each_get_their_own_text() -> None:
    process = UTCDateTime().bind_processor(sqlite.dialect())
    assert process is not None
    now = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    later = datetime(2026, 5, 1, 10, 30, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    assert [process(v) for v in (now, now, later, later, now, None)] == [
        "2026-05-01 08:00:00.000000", "2026-05-01 08:00:00.000000",
        "2026-05-01 08:30:00.000005", "2026-05-01 08:30:00.000005",
        "2026-05-01 08:00:00.000000", None]
    with pytest.raises(ValueError, match="naive"):
        process(datetime(2026, 5, 1, 8, 0))
