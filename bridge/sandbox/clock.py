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
    seconds, millis = divmod(ms, 1000)
    offset = utc_offset(seconds, zone)
    local = seconds + offset
    day, rest = divmod(local, 86400)
    hour, rest = divmod(rest, 3600)
    sign, size = ("+", offset) if offset >= 0 else ("-", -offset)
    return (
        f"{_day(day, 'T')}{_HOURS[hour]}{_MINUTE_SECONDS[rest]}.{millis:03d}"
        f"{sign}{size // 3600:02d}{size % 3600 // 60:02d}"
    )


def jira_date(day: date | None) -> str | None:
    return day.isoformat() if day else None


# Formatting runs for every datetime field of every served record, so it is table lookups:
# the date part of each day met so far, and the fixed `HH:` and `MM:SS` parts.
_DAYS: dict[tuple[int, str], str] = {}
_HOURS = [f"{h:02d}:" for h in range(24)]
_MINUTE_SECONDS = [f"{m:02d}:{s:02d}" for m in range(60) for s in range(60)]
_OFFSETS: dict[tuple[str, int], int] = {}


def _day(day: int, separator: str) -> str:
    text = _DAYS.get((day, separator))
    if text is None:
        year, month, mday = time.gmtime(day * 86400)[:3]
        text = _DAYS[(day, separator)] = f"{year:04d}-{month:02d}-{mday:02d}{separator}"
    return text


_UTC_DAYS: dict[int, str] = {}  # `YYYY-MM-DD ` by day number, the hottest of these tables


def _utc_format(seconds: int) -> str:
    day, rest = divmod(seconds, 86400)
    text = _UTC_DAYS.get(day)
    if text is None:
        text = _UTC_DAYS[day] = _day(day, " ")
    return text + _HOURS[rest // 3600] + _MINUTE_SECONDS[rest % 3600]


def utc_offset(seconds: int, zone: ZoneInfo) -> int:
    """The zone's UTC offset (seconds) at an instant; cached per hour without a transition."""
    key = (zone.key, seconds // 3600)
    offset = _OFFSETS.get(key)
    if offset is None:
        start = key[1] * 3600
        first = _offset_at(start, zone)
        if first != _offset_at(start + 3599, zone):  # a transition inside this hour
            return _offset_at(seconds, zone)
        offset = _OFFSETS[key] = first
    return offset


def _offset_at(seconds: int, zone: ZoneInfo) -> int:
    delta = datetime.fromtimestamp(seconds, zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def sn_datetime(seconds: int) -> str:
    """ServiceNow's internal (value mode) datetime: UTC, no zone marker."""
    if not seconds:
        return ""
    return _utc_format(seconds)


def sn_display_datetime(seconds: int, zone: ZoneInfo) -> str:
    if not seconds:
        return ""
    return _utc_format(seconds + utc_offset(seconds, zone))


_TAILS = frozenset(f":{m:02d}:{s:02d}" for m in range(60) for s in range(60))  # `:MM:SS`
_LOCAL_HOURS: dict[str, dict[str, str | None]] = {}  # zone -> UTC `YYYY-MM-DD HH` -> local


def sn_display_of_value(raw: str, zone: ZoneInfo) -> str:
    """The display value of a value-mode datetime (`raw` itself when it is not one).

    Served for every datetime of every record in display mode, so the local `YYYY-MM-DD HH`
    of each UTC hour is remembered (hours whose offset is whole and constant), and the
    minutes and seconds are carried over as they are."""
    tail = raw[13:]
    if len(raw) == 19 and tail in _TAILS:
        hours = _LOCAL_HOURS.get(zone.key)
        if hours is None:
            hours = _LOCAL_HOURS[zone.key] = {}
        hour = raw[:13]
        try:
            prefix = hours[hour]
        except KeyError:
            prefix = hours[hour] = _local_hour(hour, zone)
        if prefix is not None:
            return prefix + tail
    seconds = parse_sn_datetime(raw)
    return sn_display_datetime(seconds, zone) if seconds else raw


def _local_hour(hour: str, zone: ZoneInfo) -> str | None:
    start = parse_sn_datetime(hour + ":00:00")
    if not start:
        return None
    offset = _offset_at(start, zone)
    if offset % 3600 or offset != _offset_at(start + 3599, zone):
        return None
    return _utc_format(start + offset)[:13]


def parse_sn_datetime(text: str) -> int | None:
    """Seconds since the epoch for `YYYY-MM-DD[ HH:MM:SS]` taken as UTC, else None."""
    if (
        len(text) == 19
        and text[4] == text[7] == "-"
        and text[10] == " "
        and text[13] == text[16] == ":"
        and text.isascii()
    ):  # the common case, without strptime
        parts = (text[0:4], text[5:7], text[8:10], text[11:13], text[14:16], text[17:19])
        if all(part.isdigit() for part in parts):
            year, month, day, hour, minute, second = (int(part) for part in parts)
            try:
                moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except ValueError:
                pass
            else:
                return int(moment.timestamp())
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
