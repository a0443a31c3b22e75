"""ServiceNow encoded queries (`sysparm_query`): parsing and evaluation.

`a=1^ORa=2^b>3^NQc=4^ORDERBYDESCsys_updated_on` means ((a=1 OR a=2) AND b>3) OR c=4, sorted
by sys_updated_on descending. Values compare as numbers when both sides are numbers, else as
case-insensitive strings; datetimes are `YYYY-MM-DD HH:MM:SS` in UTC, so they compare as text.

A condition on a field the table lacks follows the instance's
`glide.invalid_query.returns_no_rows`: false (the platform default, `UNKNOWN_IGNORE`) drops
the condition, so it matches every row; true (`UNKNOWN_NO_ROWS`) makes the query match
nothing. `UNKNOWN_ERROR` refuses the query (400). An unknown ORDERBY field is dropped
unless refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bridge.sandbox.clock import parse_sn_datetime, sn_datetime

_OPERATORS = (
    "NOT IN",
    "NOT LIKE",
    "ISNOTEMPTY",
    "ISEMPTY",
    "STARTSWITH",
    "ENDSWITH",
    "LIKE",
    "IN",
    "BETWEEN",
    "ANYTHING",
    "EMPTYSTRING",
    "!=",
    ">=",
    "<=",
    "=",
    ">",
    "<",
)
_CONDITION = re.compile(
    r"^([a-z0-9_]+(?:\.[a-z0-9_]+)*)(" + "|".join(re.escape(op) for op in _OPERATORS) + r")(.*)$",
    re.DOTALL,
)
_DATE_GENERATE = re.compile(
    r"""^javascript:gs\.dateGenerate\(\s*['"](\d{4}-\d{2}-\d{2})['"]\s*,\s*['"]"""
    r"""(\d{2}:\d{2}:\d{2}|start|end)['"]\s*\)$"""
)


UNKNOWN_IGNORE, UNKNOWN_NO_ROWS, UNKNOWN_ERROR = "ignore", "no_rows", "error"
UNKNOWN_FIELD_MODES = (UNKNOWN_IGNORE, UNKNOWN_NO_ROWS, UNKNOWN_ERROR)


class QueryError(ValueError):
    """An encoded query ServiceNow refuses; `str(self)` is its message."""


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: str


@dataclass
class EncodedQuery:
    # OR over groups (^NQ), AND over terms, OR inside a term (^OR)
    groups: list[list[list[Condition]]] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)
    matches_nothing: bool = False  # an unknown field under returns_no_rows=true

    def updated_bounds(self) -> tuple[int | None, int | None, bool]:
        """(lo, hi) seconds for sys_updated_on from plain AND terms, and whether others remain."""
        if len(self.groups) != 1:
            return None, None, bool(self.groups)
        lo: int | None = None
        hi: int | None = None
        residual = False
        for term in self.groups[0]:
            c = term[0]
            seconds = parse_sn_datetime(c.value) if len(term) == 1 else None
            if c.field == "sys_updated_on" and c.op == "=" and seconds is not None:
                # narrows the range to one second; the condition itself is still tested
                lo = seconds if lo is None else max(lo, seconds)
                hi = seconds + 1 if hi is None else min(hi, seconds + 1)
                residual = True
            elif (
                c.field == "sys_updated_on"
                and c.op in (">", ">=", "<", "<=")
                and seconds is not None
            ):
                if c.op in (">", ">="):
                    bound = seconds + (c.op == ">")
                    lo = bound if lo is None else max(lo, bound)
                else:
                    bound = seconds + (c.op == "<=")
                    hi = bound if hi is None else min(hi, bound)
            else:
                residual = True
        return lo, hi, residual


def parse(
    text: str,
    known: Callable[[str], bool],
    table: str,
    zone: ZoneInfo,
    unknown: str = UNKNOWN_ERROR,
) -> EncodedQuery:
    query = EncodedQuery()
    group: list[list[Condition]] = []
    dropped = False  # the current group lost a condition on an unknown field
    lost_term = False  # ...and that was the last term's first condition
    for raw in text.split("^"):
        term = raw.strip()
        if not term or term == "EQ":
            continue
        if term.startswith("NQ"):
            if group or dropped:
                query.groups.append(group)
            group, dropped, lost_term = [], False, False
            term = term[2:]
            if not term:
                continue
        if term.startswith("ORDERBY"):
            descending = term.startswith("ORDERBYDESC")
            name = term[11:] if descending else term[7:]
            if known(name):
                query.order.append((name, descending))
            elif unknown == UNKNOWN_ERROR:
                raise _unknown(name, table)
            continue
        if term.startswith("GROUPBY"):
            continue
        alternative = (
            term.startswith("OR")
            and bool(group or lost_term)
            and _CONDITION.match(term[2:]) is not None
        )
        condition = _condition(term[2:] if alternative else term, table, zone)
        if not known(condition.field):
            if unknown == UNKNOWN_ERROR:
                raise _unknown(condition.field, table)
            if unknown == UNKNOWN_NO_ROWS:
                query.matches_nothing = True
            dropped = True
            lost_term = lost_term if alternative else True
            continue
        if alternative and not lost_term:
            group[-1].append(condition)
        else:  # a term, or what is left of one whose first condition was dropped
            group.append([condition])
        lost_term = False
    if group or dropped:
        query.groups.append(group)
    return query


def _unknown(name: str, table: str) -> QueryError:
    return QueryError(
        f"Invalid query detected, please check logs for details [Unknown field "
        f"{name} in table {table}]"
    )


def _condition(term: str, table: str, zone: ZoneInfo) -> Condition:
    match = _CONDITION.match(term)
    if match is None:
        raise QueryError(
            f"Invalid query detected, please check logs for details [Invalid "
            f"condition {term} in table {table}]"
        )
    name, op, value = match.groups()
    return Condition(name, op, _resolve_date(value, zone))


def _resolve_date(value: str, zone: ZoneInfo) -> str:
    """`javascript:gs.dateGenerate('2024-01-31','13:00:00')` is the user's wall clock."""
    parts = [_DATE_GENERATE.match(v.strip()) for v in value.split("@")]
    if not any(parts):
        return value
    out = []
    for raw, match in zip(value.split("@"), parts, strict=True):
        if match is None:
            out.append(raw)
            continue
        day, clock = match.groups()
        clock = {"start": "00:00:00", "end": "23:59:59"}.get(clock, clock)
        local = datetime.strptime(f"{day} {clock}", "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)
        out.append(sn_datetime(int(local.timestamp())))
    return "@".join(out)


def matches(query: EncodedQuery, value: Callable[[str], str]) -> bool:
    if not query.groups:
        return True
    return any(
        all(any(_test(c, value(c.field)) for c in term) for term in group) for group in query.groups
    )


def sys_id_start(
    query: EncodedQuery, numeric_ids: bool, descending: bool
) -> tuple[str, bool] | None:
    """(text, inclusive) of a plain `sys_id>X` or `>=` term (`<`, `<=` when descending) that
    a sys_id order can start from; None when there is none or it might compare as numbers."""
    if len(query.groups) != 1:
        return None
    wanted = ("<", "<=") if descending else (">", ">=")
    for term in query.groups[0]:
        c = term[0]
        if len(term) == 1 and c.field == "sys_id" and c.op in wanted:
            if numeric_ids and _number(c.value) is not None:
                continue
            return c.value, c.op.endswith("=")
    return None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _compare(actual: str, expected: str) -> int:
    a, b = _number(actual), _number(expected)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    x, y = actual.lower(), expected.lower()
    return (x > y) - (x < y)


def _test(c: Condition, actual: str) -> bool:
    op, expected = c.op, c.value
    if op == "=":
        return _compare(actual, expected) == 0
    if op == "!=":
        return _compare(actual, expected) != 0
    if op in (">", ">=", "<", "<="):
        if actual == "":
            return False
        result = _compare(actual, expected)
        return {">": result > 0, ">=": result >= 0, "<": result < 0, "<=": result <= 0}[op]
    if op in ("IN", "NOT IN"):
        found = any(_compare(actual, v.strip()) == 0 for v in expected.split(","))
        return found == (op == "IN")
    if op in ("LIKE", "NOT LIKE"):
        return (expected.lower() in actual.lower()) == (op == "LIKE")
    if op == "STARTSWITH":
        return actual.lower().startswith(expected.lower())
    if op == "ENDSWITH":
        return actual.lower().endswith(expected.lower())
    if op in ("ISEMPTY", "EMPTYSTRING"):
        return actual == ""
    if op == "ISNOTEMPTY":
        return actual != ""
    if op == "BETWEEN":
        low, _, high = expected.partition("@")
        return actual != "" and _compare(actual, low) >= 0 and _compare(actual, high) <= 0
    return op == "ANYTHING"
