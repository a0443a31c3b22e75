"""Which raw fields a mapping reads, per stream: what `smo-bridge check` compares with the
fields an instance actually has. Only the record's own fields count: paths inside `each`
lists are relative to an element, and lookup paths read another stream's records.

Reads come in groups of alternatives: the paths of one `first_of` are one group, since a
field missing there is fine while another alternative is present."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel

from mappings.compile import CompiledMapping
from mappings.conditions import AllOf, AnyOf, Check, NotOf
from mappings.paths import named_field_path
from mappings.schema import FieldSpec, ProjectRule, TicketRule, _Fields, _ItemList

Reads = tuple[str, ...]
"""One read: a path, or the alternatives of a `first_of`."""


def raw_paths(compiled: CompiledMapping) -> dict[str, set[Reads]]:
    """stream -> the reads its project and ticket rules make of raw records."""
    head = compiled.dialect.field_head
    found = _per_stream(compiled, lambda rule: [*_condition_reads(rule.when, head),
                                                *_fields_paths(rule.fields, head)])
    for definition in compiled.lookups.values():
        found.setdefault(definition.stream, set()).add((definition.key,))
    return found


def needed_paths(compiled: CompiledMapping) -> dict[str, set[Reads]]:
    """stream -> the reads a record cannot be mapped without: rule conditions and required
    fields (the key, a ticket's opening time, a project's name). A lookup key missing only
    leaves that lookup empty."""
    head = compiled.dialect.field_head

    def needed(rule: ProjectRule | TicketRule) -> list[Reads]:
        reads = list(_condition_reads(rule.when, head))
        for name in type(rule.fields).model_fields:
            value = getattr(rule.fields, name)
            if name in ("key", "name", "opened") or (isinstance(value, FieldSpec) and value.required):
                reads += _value_paths(value, head)
        return reads
    return _per_stream(compiled, needed)


def _per_stream(compiled: CompiledMapping,
                reads_of: Callable[[ProjectRule | TicketRule], Iterable[Reads]]) -> dict[str, set[Reads]]:
    """Each project and ticket rule's reads, under each stream it reads (`$stream` is no field)."""
    found: dict[str, set[Reads]] = {}
    rules: list[ProjectRule | TicketRule] = [located.item for located in compiled.projects]
    rules += [located.item for located in compiled.tickets]
    for rule in rules:
        reads = {tuple(p for p in group if not p.startswith("$")) for group in reads_of(rule)}
        for stream in rule.streams:
            found.setdefault(stream, set()).update(group for group in reads if group)
    return found


def _fields_paths(fields: _Fields, head: str | None) -> Iterable[Reads]:
    for name in type(fields).model_fields:
        value = getattr(fields, name)
        if isinstance(value, list) and value and isinstance(value[0], _ItemList):
            for item_list in value:
                yield from _item_list_paths(item_list, head)
        elif isinstance(value, dict):
            for item in value.values():
                yield from _value_paths(item, head)
        else:
            yield from _value_paths(value, head)


def _item_list_paths(item_list: _ItemList, head: str | None) -> Iterable[Reads]:
    if item_list.each is not None:
        yield (item_list.each.split("[*]", 1)[0],)
        return
    yield from _condition_reads(item_list.when, head)
    yield from _fields_paths(item_list.fields, head)  # type: ignore[attr-defined]


def _value_paths(value: Any, head: str | None) -> Iterable[Reads]:
    if isinstance(value, str):
        yield (value,)
    elif isinstance(value, FieldSpec):
        if value.path is not None:
            yield (value.path,)
        if value.field is not None:
            yield (named_field_path(value.field, head).text,)
        if value.first_of:
            yield tuple(p for part in value.first_of for group in _value_paths(part, head)
                        for p in group)
        for part in value.concat or []:
            yield from _value_paths(part, head)


def _condition_reads(condition: BaseModel | None, head: str | None) -> Iterable[Reads]:
    """All parts of an `all` are read; the parts of an `any` are alternatives."""
    if isinstance(condition, AnyOf):
        yield tuple(p for part in condition.any for p in _condition_paths(part, head))
    elif isinstance(condition, AllOf):
        for part in condition.all:
            yield from _condition_reads(part, head)
    else:
        yield from ((p,) for p in _condition_paths(condition, head))


def _condition_paths(condition: BaseModel | None, head: str | None) -> Iterable[str]:
    if isinstance(condition, Check):
        yield condition.field_path(head).text
    elif isinstance(condition, AllOf | AnyOf):
        for part in condition.all if isinstance(condition, AllOf) else condition.any:
            yield from _condition_paths(part, head)
    elif isinstance(condition, NotOf):
        yield from _condition_paths(condition.not_, head)
