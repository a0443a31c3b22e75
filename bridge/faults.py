"""Named crash points, for proving that a process killed anywhere loses and duplicates nothing.

`SMO_BRIDGE_CRASH_AT=POINT:N` (several joined by commas) makes the process kill itself with
SIGKILL the N-th time it reaches POINT: no `finally`, no `atexit`, no flush, exactly what
the OOM killer or a pulled plug does. Without the variable (production) a crash point is one
attribute test. The points:

- `page`: a page of raw records, its entities and its cursor have just committed;
- `derive`: in the middle of the derivation transaction, after a transition was saved;
- `derived`: the derived state and its outbox rows have just committed, nothing pushed yet;
- `push`: a push's remote call has returned, before it is marked delivered;
- `delivered`: a push has just been marked delivered.

tests/integration/test_crash.py drives them.
"""

from __future__ import annotations

import os
import signal
import threading

CRASH_ENV = "SMO_BRIDGE_CRASH_AT"
POINTS = frozenset({"page", "derive", "derived", "push", "delivered"})


def parse_plan(spec: str | None) -> dict[str, int]:
    """`"page:3,push:1"` -> {"page": 3, "push": 1}; a malformed spec is an error, not ignored."""
    plan: dict[str, int] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        point, _, count = part.strip().partition(":")
        if point not in POINTS or not count.isdigit() or int(count) < 1:
            raise ValueError(f"{CRASH_ENV}: {part!r} is not POINT:N with POINT one of "
                             f"{', '.join(sorted(POINTS))} and N >= 1")
        plan[point] = int(count)
    return plan


_plan = parse_plan(os.environ.get(CRASH_ENV))
_passed: dict[str, int] = {}
_guard = threading.Lock()  # the daemon reaches points from several job threads


def crash_point(point: str) -> None:
    """Die here by SIGKILL when the crash plan says so; otherwise do nothing."""
    if not _plan:
        return
    with _guard:
        _passed[point] = _passed.get(point, 0) + 1
        if _passed[point] == _plan.get(point):
            os.kill(os.getpid(), signal.SIGKILL)
