"""Declarative conditions: all / any / not over tests, compiled into plain predicates.

A test reads one value (a `path`, or a Jira custom field by display name with `field`),
optionally transforms it, and applies exactly one operator:
`equals`, `in`, `matches` (regex, compiled when the file loads), `exists`,
`gt`/`ge`/`lt`/`le`, `contains`. When the value is a list (a `[*]` path, labels),
`equals`/`in`/`matches`/comparisons hold if any element satisfies them, and
`contains` tests membership; on text `contains` is a substring test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from mappings import fused
from mappings.parsing import map_key, parse_date, parse_datetime
from mappings.paths import FieldPath, Getter, named_field_path, parse_path
from mappings.transforms import Transform, TransformContext, compile_chain

Predicate = Callable[[Any], bool]
GetterFactory = Callable[[FieldPath], Getter]

OPERATORS = ("equals", "in", "matches", "exists", "gt", "ge", "lt", "le", "contains")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              defer_build=True)  # built on first use: quick CLI start


class Check(_Strict):
    """One test on one value: `{path: fields.issuetype.name, in: [Incident, Problem]}`."""

    path: str | None = Field(None, description="field path of the value tested")
    field: str | None = Field(None, description='Jira custom field by display name (= fields["NAME"])')
    transforms: list[Transform] = Field(default_factory=list, description="transforms applied to the value before the test")
    equals: Any = Field(None, description="the value equals this")
    in_: list[Any] | None = Field(None, alias="in", description="the value is one of these")
    matches: str | None = Field(None, description="regular expression, searched anywhere in the text")
    exists: bool | None = Field(None, description="true: the value is present and not empty")
    gt: Any = Field(None, description="the value is greater than this (number, date, timestamp or text)")
    ge: Any = Field(None, description="the value is greater than or equal to this")
    lt: Any = Field(None, description="the value is less than this")
    le: Any = Field(None, description="the value is less than or equal to this")
    contains: Any = Field(None, description="a list holds this element, or a text this substring")
    ignore_case: bool = Field(False, description="equals/in/matches/contains ignore letter case")

    @field_validator("path")
    @classmethod
    def _path_parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse_path(value)
        return value

    @field_validator("matches")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _one_operator(self) -> Check:
        given = [op for op in OPERATORS if _field_name(op) in self.model_fields_set]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(f"a test needs exactly one operator of {', '.join(OPERATORS)} "
                             f"(found: {found})")
        if (self.path is None) == (self.field is None):
            raise ValueError("a test needs exactly one of 'path' or 'field'")
        return self

    @property
    def operator(self) -> str:
        return next(op for op in OPERATORS if _field_name(op) in self.model_fields_set)

    def field_path(self, field_head: str | None = None) -> FieldPath:
        """The value tested: `path`, or `field` under the kind's field head."""
        if self.field is not None:
            return named_field_path(self.field, field_head)
        assert self.path is not None
        return parse_path(self.path)

    def describe(self) -> str:
        operand = getattr(self, _field_name(self.operator))
        return f"{self.path or self.field} {self.operator} {operand!r}"


def _field_name(op: str) -> str:
    return "in_" if op == "in" else op


class AllOf(_Strict):
    """Every condition holds."""

    all: list[Condition] = Field(min_length=1, description="conditions that must all hold")


class AnyOf(_Strict):
    """At least one condition holds."""

    any: list[Condition] = Field(min_length=1, description="conditions of which at least one must hold")


class NotOf(_Strict):
    """The condition does not hold."""

    not_: Condition = Field(alias="not", description="the condition that must not hold")


def _tag(value: Any) -> str:
    # tags are <bracketed>: they cannot be YAML keys, so the loader drops them from paths
    if isinstance(value, dict):
        for key in ("all", "any", "not"):
            if key in value:
                return f"<{key}>"
        return "<test>"
    if isinstance(value, AllOf):
        return "<all>"
    if isinstance(value, AnyOf):
        return "<any>"
    if isinstance(value, NotOf):
        return "<not>"
    return "<test>"


Condition = Annotated[
    Annotated[Check, Tag("<test>")]
    | Annotated[AllOf, Tag("<all>")]
    | Annotated[AnyOf, Tag("<any>")]
    | Annotated[NotOf, Tag("<not>")],
    Discriminator(_tag),
]

AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()


def iter_tests(cond: Any) -> list[Check]:
    """Every test inside a condition, for load-time checks."""
    if isinstance(cond, Check):
        return [cond]
    if isinstance(cond, AllOf):
        return [t for c in cond.all for t in iter_tests(c)]
    if isinstance(cond, AnyOf):
        return [t for c in cond.any for t in iter_tests(c)]
    if isinstance(cond, NotOf):
        return iter_tests(cond.not_)
    return []


def describe(cond: Any) -> str:
    if isinstance(cond, Check):
        return cond.describe()
    if isinstance(cond, AllOf):
        return "all(" + "; ".join(describe(c) for c in cond.all) + ")"
    if isinstance(cond, AnyOf):
        return "any(" + "; ".join(describe(c) for c in cond.any) + ")"
    if isinstance(cond, NotOf):
        return "not(" + describe(cond.not_) + ")"
    return "?"


# ---- compiled form ---------------------------------------------------------------


def compile_condition(cond: Any, getter_for: GetterFactory, ctx: TransformContext | None = None
                      ) -> Predicate:
    """A predicate over whatever `getter_for`'s getters read (raw payloads or canonical objects).

    A transform that fails inside a condition makes the test false, not the record bad.
    """
    ctx = ctx or TransformContext()
    if isinstance(cond, AllOf):
        parts = [compile_condition(c, getter_for, ctx) for c in cond.all]
        return _every(parts) if fused.ENABLED else lambda r: all(p(r) for p in parts)
    if isinstance(cond, AnyOf):
        parts = [compile_condition(c, getter_for, ctx) for c in cond.any]
        return _some(parts) if fused.ENABLED else lambda r: any(p(r) for p in parts)
    if isinstance(cond, NotOf):
        inner = compile_condition(cond.not_, getter_for, ctx)
        return lambda r: not inner(r)
    assert isinstance(cond, Check)
    getter = getter_for(cond.field_path(ctx.field_head if ctx else None))
    test = _operator(cond)
    if not cond.transforms:
        fast = _fast_test(cond, getter, test) if fused.ENABLED else None
        return fast or (lambda r: test(getter(r)))
    read = compile_chain(list(cond.transforms), ctx, getter)
    assert read is not None

    def transformed(record: Any) -> bool:
        try:
            return test(read(record))
        except (ValueError, TypeError):  # TransformError included
            return False
    return transformed


def _every(parts: list[Predicate]) -> Predicate:
    """`all` of predicates (each gives a bool) without a generator per record."""
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        p0, p1 = parts
        return lambda r: p0(r) and p1(r)

    def every(r: Any) -> bool:
        for p in parts:  # noqa: SIM110 - a loop: no generator per record
            if not p(r):
                return False
        return True
    return every


def _some(parts: list[Predicate]) -> Predicate:
    """`any` of predicates (each gives a bool) without a generator per record."""
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        p0, p1 = parts
        return lambda r: p0(r) or p1(r)

    def some(r: Any) -> bool:
        for p in parts:  # noqa: SIM110 - a loop: no generator per record
            if p(r):
                return True
        return False
    return some


def _fast_test(cond: Check, getter: Getter, slow: Callable[[Any], bool]) -> Predicate | None:
    """The tests of the classification hot path on the values they mostly see (a text, a
    list of texts) without the generic layers; any other value takes `slow`, the same test."""
    op, fold = cond.operator, cond.ignore_case
    if op == "exists":
        wanted = bool(cond.exists)

        def exists(record: Any) -> bool:
            value = getter(record)
            return (value is not None and value != "" and value != [] and value != {}) is wanted
        return exists
    if op == "matches":
        search = re.compile(cond.matches or "", re.IGNORECASE if fold else 0).search

        def matches(record: Any) -> bool:
            value = getter(record)
            if type(value) is str:
                return search(value) is not None
            if type(value) is list:
                for x in value:
                    if x is not None and search(x if type(x) is str else map_key(x)) is not None:
                        return True
                return False
            return slow(value)
        return matches
    if op == "contains":
        if fold or type(cond.contains) is not str:
            return None
        needle = cond.contains

        def contains(record: Any) -> bool:
            value = getter(record)
            if type(value) is list:
                if needle in value:
                    return True
                return any(type(x) is not str and _norm(x, False) == needle for x in value)
            return slow(value)
        return contains
    if op == "equals":
        if type(cond.equals) is not str:
            return None
        target = cond.equals.lower() if fold else cond.equals
        if fold:
            def equals_folded(record: Any) -> bool:
                value = getter(record)
                if type(value) is str:
                    return value.lower() == target
                return slow(value)
            return equals_folded

        def equals(record: Any) -> bool:
            value = getter(record)
            if type(value) is str:
                return value == target
            return slow(value)
        return equals
    if op != "in" or not all(type(x) is str for x in cond.in_ or []):
        return None
    options = frozenset(x.lower() if fold else x for x in cond.in_ or [])
    if fold:
        def member_folded(record: Any) -> bool:
            value = getter(record)
            if type(value) is str:
                return value.lower() in options
            return slow(value)
        return member_folded

    def member(record: Any) -> bool:
        value = getter(record)
        if type(value) is str:
            return value in options
        return slow(value)
    return member


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _operator(t: Check) -> Callable[[Any], bool]:
    op = t.operator
    fold = t.ignore_case
    if op == "exists":
        wanted = bool(t.exists)
        return lambda v: (not _empty(v)) is wanted
    if op == "contains":
        needle = _norm(t.contains, fold)

        def contains(v: Any) -> bool:
            if isinstance(v, list):
                return any(_norm(x, fold) == needle for x in v)
            if isinstance(v, str) and isinstance(needle, str):
                return needle in (v.lower() if fold else v)
            return False
        return contains
    if op == "equals":
        target = _norm(t.equals, fold)
        return _any_element(lambda x: _norm(x, fold) == target, allow_none=t.equals is None)
    if op == "in":
        options = {_norm(x, fold) for x in (t.in_ or [])}
        return _any_element(lambda x: _norm(x, fold) in options, allow_none=None in options)
    if op == "matches":
        pattern = re.compile(t.matches or "", re.IGNORECASE if fold else 0)
        return _any_element(lambda x: pattern.search(map_key(x)) is not None)
    return _any_element(_comparison(op, getattr(t, op)))


def _norm(value: Any, fold: bool) -> Any:
    if type(value) is str:
        return value.lower() if fold else value
    if value is None or isinstance(value, dict | list):
        return value
    text = map_key(value) if not isinstance(value, date) else value.isoformat()
    return text.lower() if fold else text


def _any_element(test: Callable[[Any], bool], allow_none: bool = False) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if value is None:
            return allow_none
        if type(value) is list:
            return any(test(x) for x in value if x is not None)
        return test(value)
    return check


def _comparison(op: str, operand: Any) -> Callable[[Any], bool]:
    convert: Callable[[Any], Any]
    if isinstance(operand, datetime):
        convert = parse_datetime
        operand = parse_datetime(operand)
    elif isinstance(operand, date):
        convert = parse_date
    elif isinstance(operand, int | float) and not isinstance(operand, bool):
        convert = float
    else:
        convert = map_key
        operand = map_key(operand)

    def compare(value: Any) -> bool:
        try:
            left = convert(value)
        except (ValueError, TypeError):
            return False
        if op == "gt":
            return bool(left > operand)
        if op == "ge":
            return bool(left >= operand)
        if op == "lt":
            return bool(left < operand)
        return bool(left <= operand)
    return compare


def trace_condition(cond: Any, getter_for: GetterFactory, ctx: TransformContext | None,
                    record: Any) -> tuple[bool, str]:
    """Evaluate `cond` on `record` as `compile_condition` does, and say why it held or not:
    the test that decided, with the value it saw (for `mappings preview`; slow)."""
    ctx = ctx or TransformContext()
    if isinstance(cond, AllOf | AnyOf):
        parts = cond.all if isinstance(cond, AllOf) else cond.any
        results = [trace_condition(c, getter_for, ctx, record) for c in parts]
        if isinstance(cond, AllOf):
            failed = [why for ok, why in results if not ok]
            return (not failed, failed[0] if failed else "; ".join(why for _, why in results))
        held = [why for ok, why in results if ok]
        return (bool(held), held[0] if held else "none held: " + "; ".join(w for _, w in results))
    if isinstance(cond, NotOf):
        ok, why = trace_condition(cond.not_, getter_for, ctx, record)
        return not ok, f"not({why})"
    assert isinstance(cond, Check)
    ok = compile_condition(cond, getter_for, ctx)(record)
    getter = getter_for(cond.field_path(ctx.field_head))
    try:
        seen: Any = getter(record)
        if cond.transforms:
            read = compile_chain(list(cond.transforms), ctx, getter)
            seen = read(record) if read is not None else seen
    except (ValueError, TypeError) as exc:  # TransformError included
        seen = f"<{exc}>"
    shown = repr(seen)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return ok, f"{cond.describe()} {'held' if ok else 'failed'}: saw {shown}"
