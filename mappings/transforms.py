"""The closed set of transforms, as schema models, and their compiled functions.

A transform is either a bare name (`lower`) or a one-purpose mapping
(`{map: {...}, default: x}`, `{regex: '...'}`, `{split: ','}`...). Scalar transforms
apply to each element when the value is a list (after `[*]` or `split`); list
transforms (`first`, `last`, `unique`, `compact`, `flatten`, `join`, `count`) take
the list as a whole. None passes through every transform except `default`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
)

from bridge.yamlfile import did_you_mean
from connectors.zones import zone_problem
from mappings import fused
from mappings.parsing import map_key, parse_bool, parse_date, parse_datetime, parse_hours
from mappings.paths import FieldPath, Getter, compile_getter, parse_path

Fn = Callable[[Any], Any]

SIMPLE_TRANSFORMS: dict[str, str] = {
    "lower": "lower-case text",
    "upper": "upper-case text",
    "strip": "trim surrounding white space",
    "title": "Title Case text",
    "to_str": "any scalar as text",
    "to_int": "a whole number",
    "to_float": "a number",
    "to_bool": "true/false from true/false, yes/no, y/n, 1/0, on/off",
    "negate": "yes/no value inverted (e.g. made_sla -> breached)",
    "datetime": "a UTC timestamp from any vendor format (Jira, ServiceNow, ISO 8601, epoch ms)",
    "date": "a calendar date (YYYY-MM-DD, or the date part of a timestamp)",
    "hours": "a duration in hours (seconds, ServiceNow 1970-01-01 hh:mm:ss, Jira 2h 30m, PT2H)",
    "first": "the first element of a list",
    "last": "the last element of a list",
    "unique": "a list without duplicates (order kept)",
    "compact": "a list without empty elements",
    "flatten": "a list of lists as one list",
    "count": "the number of elements of a list",
}
_LIST_WISE = frozenset({"first", "last", "unique", "compact", "flatten", "count"})

SimpleName = Literal[
    "lower", "upper", "strip", "title", "to_str", "to_int", "to_float", "to_bool", "negate",
    "datetime", "date", "hours", "first", "last", "unique", "compact", "flatten", "count",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              defer_build=True)  # built on first use: quick CLI start


class MapTransform(_Strict):
    """Value map: `{map: {Highest: critical, High: high}, default: medium}`.

    Keys match the value's text (`true`/`false` for booleans). Without `default`
    an unmapped value passes through unchanged; `default: null` drops it.
    """

    map: dict[str, Any] = Field(description="value -> mapped value")
    default: Any = Field(None, description="for values not in the map; unset: keep the value")
    ignore_case: bool = Field(False, description="match values ignoring letter case")


class RegexTransform(_Strict):
    """Regex extract: the group (default 1, or the whole match without groups); no match gives null."""

    regex: str = Field(description="regular expression, searched in the text")
    group: int | str | None = Field(None, description="the group to keep (number or name); default: the first group, else the whole match")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
        return value


class SplitTransform(_Strict):
    """Split text into a list on a separator; items are stripped, empty ones dropped."""

    split: str = Field(min_length=1, description="separator: a text becomes a list (items stripped, empty ones dropped)")


class JoinTransform(_Strict):
    """Join a list into text."""

    join: str = Field(description="separator: a list becomes one text")


class TableTransform(_Strict):
    """Look the value up in a named table of the `tables:` section."""

    table: str = Field(description="name of a table under `tables:`")


class LookupTransform(_Strict):
    """Use the value as the key of a lookup built from a reference stream (`lookups:`),
    and read `path` from the record found (the whole record without `path`)."""

    lookup: str = Field(description="name of a lookup under `lookups:`; the value is its key")
    path: str | None = Field(None, description="path read from the record found; unset: the whole record")

    @field_validator("path")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse_path(value)
        return value


class DefaultTransform(_Strict):
    """Replace a missing, null, empty text or empty list value by a constant."""

    default: Any = Field(description="the value used when it is missing or empty")


class FormatTransform(_Strict):
    """Put the value into a text: `{format: "jira:{}"}` (each `{}` is the value)."""

    format: str = Field(description="a text with {} where the value goes, e.g. jira:{}")


class DatetimeOptions(_Strict):
    format: str | None = Field(None, description="strptime format, when not a vendor format")
    tz: str = Field("UTC", description="time zone of timestamps that carry none")

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        _zone_of(value)
        return value


class DatetimeTransform(_Strict):
    """Timestamp parsing with options: `{datetime: {format: '%d/%m/%Y %H:%M', tz: Europe/Paris}}`."""

    datetime_: DatetimeOptions = Field(alias="datetime", description="timestamp options: format and time zone")


class DateTransform(_Strict):
    """Date parsing with a strptime format: `{date: {format: '%d/%m/%Y'}}`."""

    date_: DatetimeOptions = Field(alias="date", description="date options: format")


def _zone_of(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC
    zone_problem(name)  # an unknown name: the closest IANA names
    return ZoneInfo(name)


_TAGGED: dict[str, type[_Strict]] = {
    "map": MapTransform,
    "regex": RegexTransform,
    "split": SplitTransform,
    "join": JoinTransform,
    "table": TableTransform,
    "lookup": LookupTransform,
    "format": FormatTransform,
    "datetime": DatetimeTransform,
    "date": DateTransform,
    "default": DefaultTransform,  # last: `default` is also an option of `map`
}
TRANSFORM_NAMES = sorted({*SIMPLE_TRANSFORMS, *_TAGGED})


def _tag(value: Any) -> str | None:
    if isinstance(value, str):
        return "<simple>"
    if isinstance(value, dict):
        found = next((name for name in _TAGGED if name in value), None)
    elif isinstance(value, BaseModel):
        found = next((n for n, m in _TAGGED.items() if isinstance(value, m)), None)
    else:
        found = None
    return f"<{found}>" if found else None


def _check_name(value: Any) -> Any:
    """Name the unknown transform (with a did-you-mean) before pydantic's union error does."""
    if isinstance(value, str) and value not in SIMPLE_TRANSFORMS:
        raise ValueError(_unknown(value))
    if isinstance(value, dict):
        if not value:
            raise ValueError("empty transform")
        if _tag(value) is None:
            raise ValueError(_unknown(str(next(iter(value)))))
        if any(k in value and value[k] is None for k in ("datetime", "date")):
            raise ValueError("use the bare name `datetime`/`date`, or give options")
    elif not isinstance(value, str | BaseModel):
        raise ValueError("a transform is a name or a mapping")
    return value


def _unknown(name: str) -> str:
    hint = did_you_mean(name, TRANSFORM_NAMES)
    return f"unknown transform {name!r}" + (
        f"; did you mean {hint!r}?" if hint else f" (known: {', '.join(TRANSFORM_NAMES)})"
    )


Transform = Annotated[
    Annotated[SimpleName, Tag("<simple>")]
    | Annotated[MapTransform, Tag("<map>")]
    | Annotated[RegexTransform, Tag("<regex>")]
    | Annotated[SplitTransform, Tag("<split>")]
    | Annotated[JoinTransform, Tag("<join>")]
    | Annotated[TableTransform, Tag("<table>")]
    | Annotated[LookupTransform, Tag("<lookup>")]
    | Annotated[FormatTransform, Tag("<format>")]
    | Annotated[DatetimeTransform, Tag("<datetime>")]
    | Annotated[DateTransform, Tag("<date>")]
    | Annotated[DefaultTransform, Tag("<default>")],
    Discriminator(_tag),
    BeforeValidator(_check_name),
]


# ---- compiled form ---------------------------------------------------------------


class TransformError(ValueError):
    """A value a transform cannot handle; the record is quarantined with this reason.
    (The parsers raise plain ValueError; callers catch ValueError, which covers both.)"""


_ABSENT = object()
_SEEN_MAX = 4096  # texts a regex transform remembers; then it starts over


@dataclass
class ValueTable:
    """A compiled value map (a `map` transform or a named table)."""

    values: dict[str, Any]
    has_default: bool = False
    default: Any = None
    ignore_case: bool = False

    def __post_init__(self) -> None:
        if self.ignore_case:
            self.values = {k.lower(): v for k, v in self.values.items()}

    def get(self, value: Any) -> Any:
        key = value if type(value) is str else map_key(value)
        if self.ignore_case:
            key = key.lower()
        try:
            return self.values[key]
        except KeyError:
            return self.default if self.has_default else value

    def getter(self) -> Callable[[Any], Any]:
        """`get` as a closure over the table's parts (the per-record form); the table is
        not changed once compiled."""
        if not fused.ENABLED:
            return self.get
        values, fold, has_default, default = (self.values, self.ignore_case, self.has_default,
                                              self.default)

        def get(value: Any) -> Any:
            key = value if type(value) is str else map_key(value)
            found = values.get(key.lower() if fold else key, _ABSENT)
            if found is _ABSENT:
                return default if has_default else value
            return found
        return get


@dataclass
class TransformContext:
    """What compiled transforms may refer to: named tables and lookups, the path rules of the kind."""

    tables: Mapping[str, ValueTable] = field(default_factory=dict)
    lookups: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    catalogue: Mapping[str, str] = field(default_factory=dict)
    unwrap_value: bool = False
    field_head: str | None = None  # where `field: NAME` looks (the dialect's field_head)


def _elementwise(fn: Fn) -> Fn:
    def apply(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is list:
            return [fn(v) for v in value if v is not None]
        return fn(value)
    return apply


def _to_str(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, dict | list):
        raise TransformError(f"expected a text, got {type(value).__name__}")
    return map_key(value)


def _to_int(value: Any) -> int:
    try:
        return int(value) if not isinstance(value, str) else int(float(value.strip()))
    except (ValueError, TypeError):
        raise TransformError(f"not a whole number: {value!r}") from None


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except (ValueError, TypeError):
        raise TransformError(f"not a number: {value!r}") from None


def _text(fn: Callable[[str], str]) -> Fn:
    def apply(value: Any) -> Any:
        return fn(value) if isinstance(value, str) else value
    return apply


def _negate(value: Any) -> bool:
    return not parse_bool(value)


_SCALAR: dict[str, Fn] = {
    "lower": _text(str.lower),
    "upper": _text(str.upper),
    "strip": _text(str.strip),
    "title": _text(str.title),
    "to_str": _to_str,
    "to_int": _to_int,
    "to_float": _to_float,
    "to_bool": parse_bool,
    "negate": _negate,
    "datetime": parse_datetime,
    "date": parse_date,
    "hours": parse_hours,
}


def _unique(value: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in value:
        if v not in seen:
            seen.append(v)
    return seen


def _flatten(value: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in value:
        out.extend(v if isinstance(v, list) else [v])
    return out


_LIST: dict[str, Callable[[list[Any]], Any]] = {
    "first": lambda v: v[0] if v else None,
    "last": lambda v: v[-1] if v else None,
    "unique": _unique,
    "compact": lambda v: [x for x in v if x not in (None, "", [])],
    "flatten": _flatten,
    "count": len,
}


def _list_wise(name: str) -> Fn:
    fn = _LIST[name]

    def apply(value: Any) -> Any:
        if value is None:
            return 0 if name == "count" else None
        return fn(value if type(value) is list else [value])
    return apply


Step = tuple[Fn, bool]
"""A compiled transform and whether it applies per element (True) or to the whole value."""


def compile_step(spec: Any, ctx: TransformContext) -> Step:
    """One transform model -> (function, elementwise); references must exist in ctx."""
    if isinstance(spec, str):
        if spec in _LIST_WISE:
            return _list_wise(spec), False
        return _SCALAR[spec], True
    if isinstance(spec, MapTransform):
        table = ValueTable(dict(spec.map), "default" in spec.model_fields_set, spec.default,
                           spec.ignore_case)
        return table.getter(), True
    if isinstance(spec, RegexTransform):
        return _regex(spec), True
    if isinstance(spec, SplitTransform):
        sep = spec.split

        def split(value: Any) -> Any:
            if value is None:
                return None
            items = value if type(value) is list else [value]
            return [p.strip() for item in items for p in str(item).split(sep) if p.strip()]
        return split, False
    if isinstance(spec, JoinTransform):
        sep = spec.join
        return (lambda v: None if v is None else sep.join(
            map_key(x) for x in (v if type(v) is list else [v]) if x is not None)), False
    if isinstance(spec, TableTransform):
        return ctx.tables[spec.table].getter(), True
    if isinstance(spec, LookupTransform):
        return _lookup(spec, ctx), True
    if isinstance(spec, FormatTransform):
        template = spec.format
        return (lambda v: template.replace("{}", map_key(v))), True
    if isinstance(spec, DatetimeTransform):
        zone, fmt = _zone_of(spec.datetime_.tz), spec.datetime_.format
        return (lambda v: parse_datetime(v, zone, fmt)), True
    if isinstance(spec, DateTransform):
        date_fmt = spec.date_.format
        return (lambda v: parse_date(v, date_fmt)), True
    if isinstance(spec, DefaultTransform):
        fallback = spec.default
        return (lambda v: fallback if v is None or v == "" or v == [] else v), False
    raise TypeError(f"unknown transform model {spec!r}")  # pragma: no cover - schema forbids


def compile_transform(spec: Any, ctx: TransformContext) -> Fn:
    """One transform as a function of the whole value."""
    fn, elementwise = compile_step(spec, ctx)
    return _elementwise(fn) if elementwise else fn


def _regex(spec: RegexTransform) -> Fn:
    pattern = re.compile(spec.regex)
    group: int | str = spec.group if spec.group is not None else (1 if pattern.groups else 0)

    def extract(value: Any) -> Any:
        match = pattern.search(value if type(value) is str else map_key(value))
        if match is None:
            return None
        try:
            return match.group(group)
        except IndexError:
            raise TransformError(f"the regex has no group {group!r}") from None
    if not fused.ENABLED:
        return extract
    seen: dict[str, Any] = {}  # texts repeat (a priority's few forms): each searched once

    def extract_seen(value: Any) -> Any:
        if type(value) is not str:
            return extract(value)
        found = seen.get(value, _ABSENT)
        if found is _ABSENT:
            found = extract(value)
            if len(seen) >= _SEEN_MAX:
                seen.clear()
            seen[value] = found
        return found
    return extract_seen


class LookupRows(dict[str, Any]):
    """The entry of a `many` lookup: record key -> record, every one that matched."""

    def read(self, getter: Getter | None) -> Any:
        """Each record (or the value at a path of each), in record-key order: a list when
        more than one has a value, the value itself when one does, else None."""
        rows = [self[k] for k in sorted(self)]
        values = rows if getter is None else [v for v in map(getter, rows) if v not in (None, "")]
        if len(values) > 1:
            return values
        return values[0] if values else None


def _lookup(spec: LookupTransform, ctx: TransformContext) -> Fn:
    table = ctx.lookups[spec.lookup]  # the live dict: filled by BoundMapping.feed
    getter: Getter | None = None
    if spec.path is not None:
        getter = compile_getter(parse_path(spec.path), ctx.catalogue, unwrap_value=ctx.unwrap_value)

    def look(value: Any) -> Any:
        found = table.get(map_key(value))
        if type(found) is LookupRows:
            return found.read(getter)
        if found is None or getter is None:
            return found
        return getter(found)
    return look


def compile_chain(specs: list[Any], ctx: TransformContext, base: Fn | None = None,
                  finish: Fn | None = None) -> Fn | None:
    """All transforms of a field as one function (None when there are none and no base).

    With `base` (a getter) the read is fused in: one call per field on the hot path; with
    `finish` (a coercer, given only with transforms) the result is finish(value).
    """
    steps = tuple(compile_step(s, ctx) for s in specs)
    if not steps:
        return base
    if base is None:
        base = _identity
    if len(steps) == 1 and steps[0][1]:
        only = steps[0][0]
        if finish is not None:
            def one_then(payload: Any) -> Any:
                value = base(payload)
                if value is None:
                    return finish(None)
                if type(value) is list:
                    return finish([only(v) for v in value if v is not None])
                return finish(only(value))
            return one_then

        def one(payload: Any) -> Any:
            value = base(payload)
            if value is None:
                return None
            if type(value) is list:
                return [only(v) for v in value if v is not None]
            return only(value)
        return one
    if finish is not None:
        def chain_then(payload: Any) -> Any:
            value = base(payload)
            for fn, elementwise in steps:
                if not elementwise:
                    value = fn(value)
                elif value is None:
                    continue
                elif type(value) is list:
                    value = [fn(v) for v in value if v is not None]
                else:
                    value = fn(value)
            return finish(value)
        return chain_then

    def chain(payload: Any) -> Any:
        value = base(payload)
        for fn, elementwise in steps:
            if not elementwise:
                value = fn(value)
            elif value is None:
                continue
            elif type(value) is list:
                value = [fn(v) for v in value if v is not None]
            else:
                value = fn(value)
        return value
    return chain


def _identity(value: Any) -> Any:
    return value


def lookup_path(spec: LookupTransform) -> FieldPath | None:
    return parse_path(spec.path) if spec.path is not None else None
