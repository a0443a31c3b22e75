"""Value parsers for everything the vendors send: timestamps, dates, durations, booleans.

Each raises ValueError with a short reason; the mapping turns that into a quarantine.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
# epoch numbers above this are milliseconds (1e11 s is the year 5138)
_MS_THRESHOLD = 100_000_000_000


def parse_datetime(value: Any, zone: tzinfo = UTC, fmt: str | None = None) -> datetime:
    """An aware UTC datetime from any vendor form.

    Jira `2024-03-05T14:02:11.000+1300`, ServiceNow `2024-03-05 14:02:11` (UTC, or
    `zone` when given), ISO 8601 with `Z`, a bare date (midnight), epoch seconds or
    milliseconds (number or digit string). With `fmt`, strptime is used instead.
    """
    if type(value) is str and fmt is None and not value.isdigit():
        # the hot path; `replace(tzinfo=...)` costs several parses, so re-parse with an offset
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None  # fall through to the slower forms
        if parsed is not None:
            offset_zone = parsed.tzinfo
            if offset_zone is UTC:
                return parsed
            if offset_zone is not None:
                return parsed.astimezone(UTC)
            if zone is UTC and len(value) > 10:
                try:
                    return datetime.fromisoformat(value + "+00:00")
                except ValueError:
                    pass
            return parsed.replace(tzinfo=zone).astimezone(UTC)
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    elif isinstance(value, int | float):
        return _from_epoch(value)
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if fmt is not None:
            try:
                parsed = datetime.strptime(text, fmt)
            except ValueError:
                raise ValueError(f"{value!r} does not match the format {fmt!r}") from None
        elif text.isdigit():
            return _from_epoch(int(text))
        else:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"not a timestamp: {value!r}") from None
    else:
        raise ValueError(f"not a timestamp: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def _from_epoch(number: float) -> datetime:
    seconds = number / 1000 if abs(number) >= _MS_THRESHOLD else number
    try:
        return _EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"epoch value out of range: {number!r}") from None


def parse_date(value: Any, fmt: str | None = None) -> date:
    """A calendar date: the date as written (a timestamp keeps its own local day, not UTC's)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if fmt is not None:
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                raise ValueError(f"{value!r} does not match the format {fmt!r}") from None
        if len(text) == 10:
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"not a date: {value!r}") from None
        if text.isdigit():
            return _from_epoch(int(text)).date()
        try:
            return datetime.fromisoformat(text).date()
        except ValueError:
            raise ValueError(f"not a date: {value!r}") from None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(value).date()
    raise ValueError(f"not a date: {value!r}")


_UNIT_HOURS = {"w": 40.0, "d": 8.0, "h": 1.0, "m": 1 / 60, "s": 1 / 3600}
_JIRA_DURATION = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[wdhms]\s*)+$")
_JIRA_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])")
_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


_HOURS_CACHE: dict[str, float] = {}


def parse_hours(value: Any) -> float:
    """A duration in hours (see `_parse_hours`); texts are cached, they repeat a lot."""
    if type(value) is str:
        hours = _HOURS_CACHE.get(value)
        if hours is None:
            hours = _parse_hours(value)
            if len(_HOURS_CACHE) > 4096:
                _HOURS_CACHE.clear()
            _HOURS_CACHE[value] = hours
        return hours
    return _parse_hours(value)


def _parse_hours(value: Any) -> float:
    """A duration in hours.

    Numbers are seconds (Jira `timespent`); ServiceNow durations are timestamps after
    the epoch (`1970-01-01 02:30:00`); Jira text `1w 2d 3h 30m` uses Jira's default
    working time (1w = 5d, 1d = 8h); ISO 8601 `PT2H30M` (a day is 24h there).
    """
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        return float(value) / 3600.0
    if isinstance(value, timedelta):
        return value.total_seconds() / 3600.0
    if not isinstance(value, str):
        raise ValueError(f"not a duration: {value!r}")
    text = value.strip()
    if not text:
        raise ValueError("empty duration")
    try:
        return float(text) / 3600.0
    except ValueError:
        pass
    if len(text) == 19 and text.startswith("1970-01-") and text[10] == " ":
        try:  # the ServiceNow duration form, parsed by hand: it is on the hot path
            return ((int(text[8:10]) - 1) * 24 + int(text[11:13]) + int(text[14:16]) / 60
                    + int(text[17:19]) / 3600)
        except ValueError:
            raise ValueError(f"not a duration: {value!r}") from None
    if text.startswith(("1970-01-", "1970-02-")):
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a duration: {value!r}") from None
        return (stamp.replace(tzinfo=None) - _NAIVE_EPOCH).total_seconds() / 3600.0
    if _JIRA_DURATION.match(text):
        return sum(float(n) * _UNIT_HOURS[u] for n, u in _JIRA_PART.findall(text))
    iso = _ISO_DURATION.match(text)
    if iso and any(iso.groupdict().values()):
        parts = {k: float(v) if v else 0.0 for k, v in iso.groupdict().items()}
        return parts["d"] * 24 + parts["h"] + parts["m"] / 60 + parts["s"] / 3600
    raise ValueError(f"not a duration: {value!r}")


_TRUE = frozenset({"true", "yes", "y", "1", "on", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "f", ""})


def parse_bool(value: Any) -> bool:
    """true/false, yes/no, y/n, 1/0, on/off (any case); numbers by their truth."""
    if isinstance(value, str):  # the common case first
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"not a yes/no value: {value!r}")
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    raise ValueError(f"not a yes/no value: {value!r}")


def map_key(value: Any) -> str:
    """The text a value is matched by in value maps: booleans as `true`/`false`, numbers plainly."""
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)
