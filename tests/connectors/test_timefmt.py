"""ServiceNow's value-mode timestamps: the usual shape and the ones only strptime reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.timefmt import parse_servicenow_timestamp


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-03-05 14:02:11", datetime(2024, 3, 5, 14, 2, 11, tzinfo=UTC)),
    ("  2024-03-05 14:02:11\n", datetime(2024, 3, 5, 14, 2, 11, tzinfo=UTC)),
    ("2024-3-5 1:2:3", datetime(2024, 3, 5, 1, 2, 3, tzinfo=UTC)),  # strptime's leniency kept
])
def test_readable(text: str, expected: datetime) -> None:
    assert parse_servicenow_timestamp(text) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("2024-02-30 10:00:00", "day is out of range for month"),
    ("2024-13-05 14:02:11", "does not match format"),
    ("2024-03-05T14:02:11", "does not match format"),  # ISO, but not ServiceNow's shape
    ("2024-03-05 14:02:11+01:00", "unconverted data remains"),
    ("", "not a timestamp"),
    (None, "not a timestamp"),
])
def test_unreadable(text: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_servicenow_timestamp(text)
