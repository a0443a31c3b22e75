"""Mutable Jira state (comments, properties, `updated`) and JQL search over sorted indexes.

Each project keeps its issues' sort keys (`updated_ms << 24 | handle`) in a sorted list, so
`project in (...) AND updated >= X ORDER BY updated, key` is a bisect and a merge, not a
scan, even at 200,000 issues. Other clauses filter the candidates that the index yields.
"""

from __future__ import annotations

import heapq
import random
import threading
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from bridge.sandbox.clock import now_ms
from bridge.sandbox.jira_data import PRIORITIES, STATUS_CATEGORIES, TYPE_NAMES, JiraData
from bridge.sandbox.jql import Bool, Clause, JqlError, Node, Not, Query, Value, date_value_ms

SHIFT = 24
MASK = (1 << SHIFT) - 1
BOT = -1  # the authenticated `sandbox` account


@dataclass
class Comment:
    id: str
    handle: int
    author: int
    body: Any  # plain text, or an ADF document when written through v3
    created_ms: int
    updated_ms: int


@dataclass
class Plan:
    projects: list[int]
    lo: int | None  # updated >= lo (ms)
    hi: int | None  # updated < hi (ms)
    residual: list[Node]
    order: list[tuple[str, bool]]


@dataclass
class Page:
    handles: list[int]
    total: int | None
    next_cursor: int | None  # opaque position for Cloud's nextPageToken


_SEED_COMMENTS = (
    "Picked up, looking into it now.",
    "Reproduced on the test environment; logs attached to the ticket.",
    "Workaround shared with the requester.",
    "Fix deployed, please confirm.",
    "Waiting on the vendor for an update.",
    "Confirmed resolved by the requester.",
)
_ORDER_FIELDS = {
    "updated": "updated",
    "updateddate": "updated",
    "key": "key",
    "issuekey": "key",
    "id": "key",
    "created": "created",
    "createddate": "created",
    "priority": "priority",
    "resolved": "resolved",
    "resolutiondate": "resolved",
}


class JiraStore:
    def __init__(self, data: JiraData, zone: ZoneInfo) -> None:
        self.data = data
        self.zone = zone
        self.status_categories = True  # False: Server 5.x statuses, without a category
        # a project administrator may edit project properties; the integration user is not one
        self.project_admin = False
        self.lock = threading.RLock()
        self.added_comments: dict[int, list[Comment]] = {}
        self.issue_properties: dict[int, dict[str, Any]] = {}
        self.project_properties: dict[int, dict[str, Any]] = {}
        self._next_comment_id = 50_000_000
        updated = data.cols["updated"]
        self.index: list[list[int]] = [
            sorted((updated[h] << SHIFT) | h for h in range(p.first, p.first + p.count))
            for p in data.projects
        ]

    # -- writes -------------------------------------------------------------------------
    def touch(self, handle: int, ms: int | None = None) -> None:
        """Set an issue's `updated` and keep its project's index sorted."""
        with self.lock:
            updated = self.data.cols["updated"]
            index = self.index[self.data.cols["project"][handle]]
            old = (updated[handle] << SHIFT) | handle
            del index[bisect_left(index, old)]
            updated[handle] = max(ms or now_ms(), updated[handle] + 1)
            insort(index, (updated[handle] << SHIFT) | handle)

    def add_comment(self, handle: int, body: Any, author: int = BOT) -> Comment:
        with self.lock:
            self._next_comment_id += 1
            moment = now_ms()
            comment = Comment(str(self._next_comment_id), handle, author, body, moment, moment)
            self.added_comments.setdefault(handle, []).append(comment)
            self.touch(handle, moment)
            return comment

    # -- reads --------------------------------------------------------------------------
    def comments(self, handle: int) -> list[Comment]:
        return self.seeded_comments(handle) + list(self.added_comments.get(handle, ()))

    def seeded_comments(self, handle: int) -> list[Comment]:
        cols = self.data.cols
        count = cols["comments"][handle]
        if count <= 0:
            return []
        rng = random.Random(f"{self.data.org.seed}:comment:{handle}")
        created, updated = cols["created"][handle], cols["updated"][handle]
        people = len(self.data.org.people)
        out = []
        for j in range(count):
            at = created + int((updated - created) * (j + 1) / (count + 1))
            edited = at + (rng.randrange(60_000, 3_600_000) if rng.random() < 0.2 else 0)
            out.append(
                Comment(
                    str(100_000 + handle * 4 + j),
                    handle,
                    rng.randrange(people),
                    rng.choice(_SEED_COMMENTS),
                    at,
                    min(edited, updated),
                )
            )
        return out

    # -- search -------------------------------------------------------------------------
    def plan(self, query: Query, now: datetime) -> Plan:
        conjuncts: list[Node] = []
        if isinstance(query.where, Bool) and query.where.op == "and":
            conjuncts = list(query.where.children)
        elif query.where is not None:
            conjuncts = [query.where]
        projects = set(range(len(self.data.projects)))
        lo: int | None = None
        hi: int | None = None
        residual: list[Node] = []
        for node in conjuncts:
            if (
                isinstance(node, Clause)
                and node.field.lower() == "project"
                and node.op in ("=", "in")
            ):
                projects &= {self._project_index(v) for v in node.values}
            elif (
                isinstance(node, Clause)
                and node.field.lower() in ("updated", "updateddate")
                and node.op in (">", ">=", "<", "<=")
            ):
                ms = date_value_ms(node.values[0], node.field, self.zone, now)
                if node.op in (">", ">="):
                    bound = ms + (1 if node.op == ">" else 0)
                    lo = bound if lo is None else max(lo, bound)
                else:
                    bound = ms + (1 if node.op == "<=" else 0)
                    hi = bound if hi is None else min(hi, bound)
            else:
                self._validate(node, now)
                residual.append(node)
        order = []
        for name, descending in query.order:
            if name.lower() not in _ORDER_FIELDS:
                raise JqlError(f"Not able to sort using field '{name}'.")
            order.append((_ORDER_FIELDS[name.lower()], descending))
        return Plan(sorted(projects), lo, hi, residual, order or [("key", True)])

    def search(
        self,
        plan: Plan,
        now: datetime,
        start_at: int,
        limit: int,
        cursor: int | None,
        want_total: bool,
    ) -> Page:
        with self.lock:
            keep = self._predicate(plan.residual, now)
            ordered, make_cursor = self._ordered(plan, cursor)
            matches: Iterable[int] = ordered if keep is None else filter(keep, ordered)
            it = iter(matches)
            if start_at:
                next(islice(it, start_at, start_at), None)
            handles = list(islice(it, limit + 1))
            more = len(handles) > limit
            handles = handles[:limit]
            total = None
            if want_total:
                total = (
                    self._count(plan)
                    if keep is None
                    else start_at + len(handles) + (sum(1 for _ in it) + 1 if more else 0)
                )
            next_cursor = make_cursor(handles[-1], start_at + len(handles)) if more else None
            return Page(handles, total, next_cursor)

    def _ordered(
        self, plan: Plan, cursor: int | None
    ) -> tuple[Iterator[int], Callable[[int, int], int]]:
        """Matching handles in the plan's order, resuming after `cursor`."""
        order = plan.order
        descending = order[0][1]
        lo_key = None if plan.lo is None else plan.lo << SHIFT
        hi_key = None if plan.hi is None else plan.hi << SHIFT
        updated = self.data.cols["updated"]
        if order[0][0] == "updated" and all(f == "key" and d == descending for f, d in order[1:]):
            if cursor is not None:
                if descending:
                    hi_key = cursor if hi_key is None else min(hi_key, cursor)
                else:
                    lo_key = cursor + 1 if lo_key is None else max(lo_key, cursor + 1)
            ranges = [self._range(self.index[p], lo_key, hi_key, descending) for p in plan.projects]
            merged = heapq.merge(*ranges, reverse=descending)
            return (k & MASK for k in merged), lambda h, _: (updated[h] << SHIFT) | h
        if order == [("key", descending)]:
            projects = [self.data.projects[p] for p in plan.projects]
            if descending:
                projects.reverse()

            def by_key() -> Iterator[int]:
                for p in projects:
                    handles = range(p.first, p.first + p.count)
                    for h in reversed(handles) if descending else handles:
                        if cursor is not None and (h >= cursor if descending else h <= cursor):
                            continue
                        if (plan.lo is None or updated[h] >= plan.lo) and (
                            plan.hi is None or updated[h] < plan.hi
                        ):
                            yield h

            return by_key(), lambda h, _: h
        # Any other order: collect the candidates and sort them; the cursor is an offset.
        candidates = [
            k & MASK
            for p in plan.projects
            for k in self._range(self.index[p], lo_key, hi_key, False)
        ]
        candidates.sort(key=self._sort_key(order))
        return iter(candidates[cursor or 0 :]), lambda _, offset: (cursor or 0) + offset

    @staticmethod
    def _range(index: list[int], lo: int | None, hi: int | None, reverse: bool) -> Iterator[int]:
        start = 0 if lo is None else bisect_left(index, lo)
        stop = len(index) if hi is None else bisect_left(index, hi)
        positions = range(stop - 1, start - 1, -1) if reverse else range(start, stop)
        return (index[i] for i in positions)

    def _count(self, plan: Plan) -> int:
        lo = None if plan.lo is None else plan.lo << SHIFT
        hi = None if plan.hi is None else plan.hi << SHIFT
        total = 0
        for p in plan.projects:
            index = self.index[p]
            start = 0 if lo is None else bisect_left(index, lo)
            stop = len(index) if hi is None else bisect_left(index, hi)
            total += max(0, stop - start)
        return total

    def _sort_key(self, order: list[tuple[str, bool]]) -> Callable[[int], tuple[int, ...]]:
        cols = self.data.cols
        columns = {
            "updated": cols["updated"],
            "created": cols["created"],
            "resolved": cols["resolved"],
            "priority": cols["priority"],
        }

        def key(h: int) -> tuple[int, ...]:
            parts = []
            for name, descending in order:
                value = h if name == "key" else columns[name][h]
                parts.append(-value if descending else value)
            return tuple(parts)

        return key

    def _project_index(self, value: Value) -> int:
        project = self.data.find_project(value) if isinstance(value, str) else None
        if project is None:
            for candidate in self.data.projects:
                if isinstance(value, str) and candidate.name.lower() == value.lower():
                    return candidate.index
            raise JqlError(f"The value '{value}' does not exist for the field 'project'.")
        return project.index

    # -- residual clauses ---------------------------------------------------------------
    def _validate(self, node: Node, now: datetime) -> None:
        if isinstance(node, Bool):
            for child in node.children:
                self._validate(child, now)
        elif isinstance(node, Not):
            self._validate(node.child, now)
        elif node.field.lower() not in _FIELD_GETTERS:
            raise JqlError(
                f"Field '{node.field}' does not exist or you do not have permission to view it."
            )
        elif node.field.lower() in _DATE_FIELDS:
            for value in node.values:
                if value is not None:
                    date_value_ms(value, node.field, self.zone, now)

    def _predicate(self, nodes: list[Node], now: datetime) -> Callable[[int], bool] | None:
        if not nodes:
            return None
        node = nodes[0] if len(nodes) == 1 else Bool("and", tuple(nodes))
        return lambda h: self._matches(node, h, now)

    def _matches(self, node: Node, h: int, now: datetime) -> bool:
        if isinstance(node, Bool):
            results = (self._matches(c, h, now) for c in node.children)
            return all(results) if node.op == "and" else any(results)
        if isinstance(node, Not):
            return not self._matches(node.child, h, now)
        name = node.field.lower()
        actual = _FIELD_GETTERS[name](self, h)
        if name in _DATE_FIELDS:
            return _compare_dates(node, actual, lambda v: date_value_ms(v, name, self.zone, now))
        return _compare(node, actual)


def _compare_dates(node: Clause, actual: Any, to_ms: Callable[[Value], int]) -> bool:
    if node.op in ("is", "is not"):
        return (actual is None) == (node.op == "is")
    if actual is None:
        return False
    target = to_ms(node.values[0])
    return {
        "=": actual == target,
        "!=": actual != target,
        ">": actual > target,
        ">=": actual >= target,
        "<": actual < target,
        "<=": actual <= target,
    }.get(node.op, False)


def _compare(node: Clause, actual: Any) -> bool:
    values = [v.lower() if isinstance(v, str) else v for v in node.values]
    found = (
        [a.lower() for a in actual]
        if isinstance(actual, list)
        else ([] if actual is None else [str(actual).lower()])
    )
    if node.op in ("is", "is not"):
        return (not found) == (node.op == "is")
    if node.op in ("=", "in"):
        return any(v in found for v in values)
    if node.op in ("!=", "not in"):
        return bool(found) and not any(v in found for v in values)
    if node.op in ("~", "!~"):
        hit = any(isinstance(v, str) and v.strip("*") in f for v in values for f in found)
        return hit == (node.op == "~")
    raise JqlError(f"The operator '{node.op}' is not supported by the '{node.field}' field.")


def _labels(store: JiraStore, h: int) -> list[str]:
    extra = store.data.extra.get(h)
    return list(extra.labels) if extra else []


def _resolved(store: JiraStore, h: int) -> int | None:
    return store.data.cols["resolved"][h] or None


_FIELD_GETTERS: dict[str, Callable[[JiraStore, int], Any]] = {
    "project": lambda s, h: [s.data.project_of(h).key, s.data.project_of(h).id],
    "key": lambda s, h: s.data.key_of(h),
    "issuekey": lambda s, h: s.data.key_of(h),
    "id": lambda s, h: str(10000 + h),
    "issuetype": lambda s, h: TYPE_NAMES[s.data.cols["type"][h]],
    "type": lambda s, h: TYPE_NAMES[s.data.cols["type"][h]],
    "status": lambda s, h: s.data.status(h)[1],
    "statuscategory": lambda s, h: STATUS_CATEGORIES[s.data.status(h)[2]][1],
    "priority": lambda s, h: PRIORITIES[s.data.cols["priority"][h]],
    "labels": _labels,
    "resolution": lambda s, h: None if s.data.cols["resolution"][h] < 0 else "resolved",
    "created": lambda s, h: s.data.cols["created"][h],
    "createddate": lambda s, h: s.data.cols["created"][h],
    "updated": lambda s, h: s.data.cols["updated"][h],
    "updateddate": lambda s, h: s.data.cols["updated"][h],
    "resolved": _resolved,
    "resolutiondate": _resolved,
}
_DATE_FIELDS = {"created", "createddate", "updated", "updateddate", "resolved", "resolutiondate"}
