"""Time zone names as configuration gives them: an IANA name, or an error with a
did-you-mean (a wrong name must not silently become UTC)."""

from __future__ import annotations

import difflib
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


@cache
def _known() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def zone_problem(name: str) -> None:
    """Raise ValueError naming the closest IANA zones unless `name` is one."""
    try:
        if name.strip() == name and name:
            ZoneInfo(name)
            return
    except (ZoneInfoNotFoundError, ValueError):
        pass
    except OSError:  # a name the OS cannot open as a file (too long, odd characters)
        pass
    exact = _known().get(name.strip().lower())
    close = [exact] if exact else [
        _known()[m] for m in difflib.get_close_matches(name.strip().lower(), list(_known()), n=3)]
    hint = f" (did you mean {', '.join(close)}?)" if close else " (an IANA name such as Europe/Berlin)"
    raise ValueError(f"unknown time zone {name[:80]!r}{hint}")
