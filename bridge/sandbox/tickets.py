"""Tickets at scale, stored as columns of machine integers.

A ticket is a row index into a few `array.array` columns (times in ms or s, small enums),
so 200,000 tickets cost a few megabytes. Text (summaries, comments) is derived from the
row when it is served, never stored. Only rows something writes to are materialised
elsewhere (see the stores).
"""

from __future__ import annotations

import math
import random
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bridge.sandbox.clock import DAY_MS
from bridge.sandbox.org import Org

YEAR_MS = 365 * DAY_MS
PRIORITY_WEIGHTS = (3, 12, 55, 22, 8)  # 1 (highest) .. 5 (lowest)
# Typical hours to resolve by priority: the median of a log-normal spread.
RESOLVE_HOURS = (4.0, 16.0, 72.0, 160.0, 320.0)
SLA_HOURS = (4.0, 24.0, 120.0, 240.0, 480.0)


class Columns:
    """Named typed columns of equal length."""

    def __init__(self, spec: dict[str, str]) -> None:
        self.data: dict[str, array[int]] = {name: array(code) for name, code in spec.items()}
        self.length = 0

    def append(self, **values: int) -> int:
        for name, column in self.data.items():
            column.append(values.get(name, -1))
        self.length += 1
        return self.length - 1

    def __getitem__(self, name: str) -> array[int]:
        return self.data[name]

    def __len__(self) -> int:
        return self.length


@dataclass(frozen=True)
class Life:
    """The times and shape shared by a ticket in either tool."""

    created_ms: int
    updated_ms: int
    resolved_ms: int
    priority: int  # 1..5
    breached: bool
    effort_s: int


def spread_created(rng: random.Random, count: int, start_ms: int, end_ms: int) -> list[int]:
    """`count` creation times over [start, end), sorted, busier on weekdays and office hours."""
    times: list[int] = []
    span = end_ms - start_ms
    while len(times) < count:
        t = start_ms + int(rng.random() * span)
        hour = (t // 3_600_000) % 24
        weekday = (t // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday
        weight = (1.0 if weekday < 5 else 0.25) * (1.0 if 6 <= hour <= 20 else 0.35)
        if rng.random() < weight:
            times.append(t)
    times.sort()
    return times


def life(rng: random.Random, created_ms: int, anchor_ms: int, priority: int) -> Life:
    """When a ticket was resolved and last updated, given when it was opened."""
    hours = RESOLVE_HOURS[priority - 1] * math.exp(rng.gauss(0, 0.9))
    resolve_at = created_ms + int(hours * 3_600_000) + rng.randrange(1000)
    closes = rng.random() < 0.9
    resolved = resolve_at if closes and resolve_at < anchor_ms - 60_000 else 0
    last = resolved or anchor_ms - 60_000
    # Edits after creation: comments, triage, a late field change after resolution.
    edit = created_ms + int((last - created_ms) * rng.random() ** 0.3)
    if resolved and rng.random() < 0.15:
        edit = min(anchor_ms - 60_000, resolved + rng.randrange(1, 14 * DAY_MS))
    updated = max(edit, resolved, created_ms)
    breached = hours > SLA_HOURS[priority - 1] or (
        not resolved and (anchor_ms - created_ms > SLA_HOURS[priority - 1] * 3_600_000)
    )
    effort = int(min(hours, 40.0) * 3600 * rng.uniform(0.05, 0.4)) // 60 * 60
    return Life(created_ms, updated, resolved, priority, breached, effort)


def same_second_moments(rng: random.Random, start_ms: int, end_ms: int, count: int) -> list[int]:
    """Bulk-edit instants (whole seconds) that several tickets share as their `updated`."""
    return sorted(start_ms + rng.randrange(end_ms - start_ms) // 1000 * 1000 for _ in range(count))


def bulk_touch(
    rng: random.Random, created: Sequence[int], updated: array[int], moments: list[int]
) -> None:
    """Move about 2 % of tickets' `updated` onto a shared bulk-edit instant after their creation,
    and at least two onto each instant (when two were last updated before it): a small seed's
    few drawn tickets could otherwise all have later edits, and no instant be shared."""
    if not moments or not updated:
        return
    for i, c in enumerate(created):
        if rng.random() < 0.02:
            later = [m for m in moments[-8:] if m > c] or [m for m in moments if m > c]
            if later:
                updated[i] = max(updated[i], rng.choice(later))
    instants = set(moments)
    sharing = Counter(u for u in updated if u in instants)
    for m in moments:
        for _ in range(64):  # a bounded search: seeding stays linear in the tickets
            if sharing[m] >= 2:
                break
            i = rng.randrange(len(updated))
            if updated[i] < m and created[i] < m and updated[i] not in instants:
                updated[i] = m
                sharing[m] += 1


def weighted(rng: random.Random, weights: tuple[int, ...]) -> int:
    """An index drawn with the given integer weights."""
    roll = rng.randrange(sum(weights))
    for i, w in enumerate(weights):
        if roll < w:
            return i
        roll -= w
    return len(weights) - 1


def pick_member(rng: random.Random, org: Org, group: int) -> int:
    members = org.members(group)
    return rng.choice(members) if members else rng.randrange(len(org.people))
