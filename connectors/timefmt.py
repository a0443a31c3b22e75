"""The vendors' timestamp formats, to and from aware UTC datetimes.

Jira sends `2024-03-05T14:02:11.000+1300` and reads JQL dates as wall-clock minutes in
the *account's* time zone; ServiceNow sends and reads `2024-03-05 14:02:11` in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_JIRA_TS = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)\s*(Z|[+-]\d{2}:?\d{2})?$"
)

_SN_TS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\Z")


def parse_jira_timestamp(text: object) -> datetime:
    """`2024-03-05T14:02:11.000+1300` -> aware UTC datetime; ValueError if unreadable."""
    if not isinstance(text, str):
        raise ValueError(f"not a timestamp: {text!r}")
    match = _JIRA_TS.match(text.strip())
    if not match:
        raise ValueError(f"unreadable timestamp {text!r}")
    day, clock, zone = match.groups()
    if zone is None:
        raise ValueError(f"timestamp without a zone {text!r}")
    if zone == "Z":
        zone = "+00:00"
    elif ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    return datetime.fromisoformat(f"{day}T{clock}{zone}").astimezone(UTC)


def parse_servicenow_timestamp(text: object) -> datetime:
    """Value-mode `2024-03-05 14:02:11` (UTC) -> aware UTC datetime; ValueError if unreadable."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"not a timestamp: {text!r}")
    text = text.strip()
    if _SN_TS.match(text):  # the usual shape: fromisoformat is many times cheaper than strptime
        try:
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:
            pass  # strptime says what is wrong, in its words
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def format_servicenow_timestamp(when: datetime) -> str:
    """Encoded-query text values are read as UTC (ServiceNow KB0534905)."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def account_zone(name: str | None) -> ZoneInfo:
    """The zone Jira reads JQL dates in; UTC when the account does not say."""
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def jql_minute(when: datetime, zone: ZoneInfo) -> str:
    """`when` as a JQL wall-clock minute (`yyyy-MM-dd HH:mm`) in `zone`, never later than
    `when`. A minute the zone lives twice (clocks going back) may be read by Jira as
    either occurrence, so such a minute is replaced by the wall clock before the
    repeated hour: an earlier bound only repeats records, which are dropped by key."""
    if when.tzinfo is None:
        raise ValueError("the time must be timezone-aware")
    local = when.astimezone(zone)
    while True:
        other = local.replace(fold=1 - local.fold)
        offset, other_offset = local.utcoffset(), other.utcoffset()
        if offset is None or other_offset is None or offset == other_offset:
            return local.strftime("%Y-%m-%d %H:%M")
        local = (local - abs(offset - other_offset)).astimezone(UTC).astimezone(zone)


def jql_since(since: datetime, zone: ZoneInfo, overlap: timedelta) -> str:
    """The JQL literal for `updated >= ...`: the signpost minus the overlap, as a
    wall-clock minute in the account's zone, rounded down so nothing is lost."""
    if since.tzinfo is None:
        raise ValueError("the signpost must be timezone-aware")
    return jql_minute(since - overlap, zone)
