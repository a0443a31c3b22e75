"""Time formats of the two vendors, and the anchor the seeded world is built around."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

DAY_MS = 86_400_000


def anchor_for(now: datetime | None) -> datetime:
    """The seeded world ends at the start of `now`'s UTC day, so a seed gives the same data all day."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def now_ms() -> int:
    return to_ms(datetime.now(UTC))


def jira_timestamp(ms: int, zone: ZoneInfo) -> str:
    """Jira's `2024-03-05T14:02:11.000+1300`: milliseconds and the offset of the user's zone."""
    local = datetime.fromtimestamp(ms / 1000, zone)
    return f"{local:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}{local:%z}"


def jira_date(day: date | None) -> str | None:
    return day.isoformat() if day else None


def sn_datetime(seconds: int) -> str:
    """ServiceNow's internal (value mode) datetime: UTC, no zone marker."""
    if not seconds:
        return ""
    # gmtime is several times faster than datetime here, and this runs for every field
    return "{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}".format(*time.gmtime(seconds)[:6])


def sn_display_datetime(seconds: int, zone: ZoneInfo) -> str:
    if not seconds:
        return ""
    return datetime.fromtimestamp(seconds, zone).strftime("%Y-%m-%d %H:%M:%S")


def parse_sn_datetime(text: str) -> int | None:
    """Seconds since the epoch for `YYYY-MM-DD[ HH:MM:SS]` taken as UTC, else None."""
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return int(datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC).timestamp())
        except ValueError:
            continue
    return None


def sn_duration(seconds: int) -> str:
    """A ServiceNow duration in value mode is a datetime offset from the epoch."""
    return sn_datetime(seconds) if seconds else ""


def sn_duration_display(seconds: int) -> str:
    if not seconds:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    parts = [f"{hours} Hour{'s' if hours != 1 else ''}"] if hours else []
    if minutes:
        parts.append(f"{minutes} Minute{'s' if minutes != 1 else ''}")
    return " ".join(parts) or f"{seconds} Seconds"
