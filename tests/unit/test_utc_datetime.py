"""UTCDateTime on SQLite writes in one step exactly the text SQLAlchemy's two steps wrote
(stored rows are compared as text), and refuses naive datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite

from bridge.store.schema import UTCDateTime


@pytest.mark.parametrize("value", [
    datetime(2026, 5, 1, 8, 0, tzinfo=UTC),
    datetime(2026, 5, 1, 8, 0, 0, 7, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 30, 59, 999999, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    datetime(2027, 1, 1, 0, 15, tzinfo=timezone(timedelta(hours=13))),
    datetime(999, 3, 4, 5, 6, 7, tzinfo=UTC),
])
def test_the_stored_text_is_sqlalchemys(value: datetime) -> None:
    dialect = sqlite.dialect()
    column = UTCDateTime()
    one_step = column.dialect_impl(dialect).bind_processor(dialect)
    two_steps = column.impl_instance.dialect_impl(dialect).bind_processor(dialect)
    assert one_step is not None and two_steps is not None
    assert one_step(value) == two_steps(column.process_bind_param(value, dialect))
    assert one_step(None) is None


def test_naive_is_refused() -> None:
    dialect = sqlite.dialect()
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    with pytest.raises(ValueError, match="naive"):
        process(datetime(2026, 5, 1, 8, 0))
