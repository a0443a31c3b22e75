"""The compiled mapping and its bound, per-record form.

`CompiledMapping` is what the loader produces: validated models, value tables, the
compiled knowledge template. `bind(catalogue)` resolves Jira display names and builds
one mapper per stream whose fields are plain closures; `BoundMapping.map` is the hot
path (no pydantic validation per record: the coercers in `values.py` guarantee types).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import jinja2
import orjson
from pydantic import BaseModel

from bridge.models import (
    Approval,
    Capability,
    Contact,
    Milestone,
    Project,
    RawRecord,
    SourceRef,
    Ticket,
)
from bridge.text import is_plain
from connectors.base import MappingDialect
from mappings import fused
from mappings.conditions import (
    Predicate,
    compile_condition,
    describe,
    iter_tests,
    trace_condition,
)
from mappings.gate import GateDef
from mappings.outcome import Explanation, MapOutcome
from mappings.parsing import map_key
from mappings.paths import FieldPath, Step, compile_getter, parse_path, projector, resolve_names
from mappings.schema import (
    ApprovalList,
    ClassificationRule,
    ContactList,
    Example,
    LookupDef,
    MilestoneList,
    ProjectRule,
    TicketRule,
)
from mappings.transforms import (
    LookupRows,
    LookupTransform,
    TransformContext,
    TransformError,
    ValueTable,
)
from mappings.values import (
    FieldPlan,
    Target,
    ValueEnv,
    compile_field,
    compile_value,
    plan_field,
)

log = logging.getLogger(__name__)
#: the longest lookup entry the state store keeps (lookup_entries.entry)
MAX_ENTRY = 255

T = TypeVar("T")


PROJECT_TARGETS: dict[str, tuple[Target, bool]] = {
    "key": ("str", True), "name": ("str", True), "service": ("str", False),
    "service_aliases": ("list", False), "link_keys": ("list", False), "go_live": ("date", False),
    "live": ("bool", False), "live_since": ("date", False),
    "service_manager": ("str", False), "service_manager_accepted": ("bool", False),
    "project_manager": ("str", False), "phase": ("str", False), "receivers": ("list", False),
    "resolver_group": ("str", False), "updated": ("datetime", False), "url": ("str", False),
}
TICKET_TARGETS: dict[str, tuple[Target, bool]] = {
    "key": ("str", True), "opened": ("datetime", True), "display_key": ("str", False),
    "type": ("str", False),
    "summary": ("str", False), "status": ("str", False), "status_category": ("status_category", False),
    "priority": ("str", False), "team": ("str", False), "project_key": ("str", False),
    "transition_key": ("str", False), "resolved": ("datetime", False),
    "effort_hours": ("float", False), "sla_breached": ("bool", False), "labels": ("list", False),
    "updated": ("datetime", False),
}
ITEM_TARGETS: dict[str, dict[str, tuple[Target, bool]]] = {
    "milestones": {"kind": ("str", True), "name": ("str", True), "due": ("date", False),
                   "done": ("bool", False)},
    "contacts": {"role": ("str", True), "name": ("str", True), "email": ("str", False),
                 "phone": ("str", False)},
    "approvals": {"subject": ("str", True), "approver": ("str", True), "at": ("datetime", False)},
}
_ITEM_MODELS: dict[str, type[Milestone] | type[Contact] | type[Approval]] = {
    "milestones": Milestone, "contacts": Contact, "approvals": Approval,
}
_FALLBACKS: dict[str, Any] = {"service_manager_accepted": False, "live": False, "sla_breached": False,
                              "status_category": "todo", "done": False}
_LIST_FIELDS = {"service_aliases", "link_keys", "receivers", "labels"}


@dataclass(frozen=True)
class Located(Generic[T]):
    """A definition with where it was written: `origin` is `FILE:LINE (section[i])`."""

    item: T
    origin: str


@dataclass
class CompiledKnowledge:
    """The service-desk article template (Jinja2 sandbox, autoescaped) and where it goes."""

    template: jinja2.Template
    template_file: str
    knowledge_base: str | None
    category: str | None
    workflow_state: Literal["draft", "review", "published"]
    #: service name (case-folded) -> the article adopted for it
    articles: dict[str, str] = field(default_factory=dict)
    author: Literal["service_manager", "none"] = "service_manager"

    def render(self, **context: Any) -> str:
        """Render with `transition` (ServiceTransition), `projects` (list[Project]) and any extra."""
        return self.template.render(**context)


@dataclass
class CompiledMapping:
    """A source kind's mapping, validated and compiled; `bind` it before mapping records."""

    kind: str
    dialect: MappingDialect
    files: list[str]
    custom_fields: dict[str, str]
    tables: dict[str, ValueTable]
    lookups: dict[str, LookupDef]
    projects: list[Located[ProjectRule]]
    tickets: list[Located[TicketRule]]
    practices: dict[str, Capability]
    rules: list[Located[ClassificationRule]]
    default_practice: str | None
    teams: ValueTable | None
    gate: GateDef
    knowledge: CompiledKnowledge
    examples: list[Located[Example]] = field(default_factory=list)
    roles: frozenset[str] = frozenset()  # roles a gate item may name (the transition's, contacts')

    @property
    def streams(self) -> set[str]:
        """Streams that give projects or tickets."""
        rules: list[Located[ProjectRule] | Located[TicketRule]] = [*self.projects, *self.tickets]
        return {s for r in rules for s in r.item.streams}

    @property
    def lookup_streams(self) -> set[str]:
        """Streams whose records `BoundMapping.feed` must see before mapping."""
        return {d.stream for d in self.lookups.values()}

    def default_catalogue(self) -> dict[str, str]:
        base = dict(self.dialect.default_catalogue)
        base.update(self.custom_fields)
        return base

    def catalogue_from(self, records: Iterable[RawRecord | Mapping[str, Any]]) -> dict[str, str]:
        """{display name: field id} from the records of the dialect's catalogue stream (Jira:
        `fields`), by the connector's own rule; empty for a kind without one."""
        if self.dialect.catalogue is None:
            return {}
        return self.dialect.catalogue(
            record.payload if isinstance(record, RawRecord) else record for record in records)

    def bind(self, catalogue: Mapping[str, str] | None = None) -> BoundMapping:
        """Resolve display names through `catalogue` ({display name: field id}, from
        `catalogue_from`) by the connector's rule (its dialect's `resolve`), falling back on
        the defaults; build the per-record mappers."""
        return BoundMapping(self, _FieldNames(dict(catalogue or {}), self.default_catalogue(),
                                              self.dialect))


class _FieldNames(Mapping[str, str]):
    """The instance's catalogue, looked up by the dialect's rule, over the default ids."""

    def __init__(self, instance: dict[str, str], defaults: dict[str, str],
                 dialect: MappingDialect) -> None:
        self.instance = instance
        self.defaults = defaults
        self.resolve = dialect.resolve or (lambda catalogue, name: catalogue.get(name))

    def __getitem__(self, name: str) -> str:
        found = self.resolve(self.instance, name)
        if found is None:
            return self.defaults[name]
        return found

    def __iter__(self) -> Iterator[str]:
        return iter({**self.defaults, **self.instance})

    def __len__(self) -> int:
        return len({**self.defaults, **self.instance})


class _ItemPlan:
    def __init__(self, section: str, spec: MilestoneList | ContactList | ApprovalList, env: ValueEnv,
                 index: int) -> None:
        self.section = section
        self.label = f"{section}[{index}]"
        self.each = compile_getter(parse_path(spec.each), env.ctx.catalogue,
                                   unwrap_value=False) if spec.each else None
        self.when = compile_condition(spec.when, env.getter, env.ctx) if spec.when else None
        targets = ITEM_TARGETS[section]
        given = {k: getattr(spec.fields, k) for k in targets if getattr(spec.fields, k) is not None}
        self.plans = [plan_field(k, v, targets[k][0], env) for k, v in given.items()]
        self.required = [k for k, (_, req) in targets.items() if req] + [
            p.name for p in self.plans if p.required]
        self.model = _ITEM_MODELS[section]
        self.defaults = {k: _FALLBACKS.get(k) for k in targets if k not in given}
        # fields no mapping sets (an approval's `ref`) still exist on every item built
        self.defaults.update({name: info.default for name, info in self.model.model_fields.items()
                              if name not in targets})

    def build(self, payload: Any, trace: Explanation | None) -> list[Any]:
        elements = (self.each(payload) or []) if self.each else [payload]
        out = []
        for element in elements:
            if self.when is not None and not self.when(element):
                continue
            read = {}
            for plan in self.plans:
                try:
                    read[plan.name] = plan.read(element)
                except (TransformError, ValueError, TypeError) as exc:
                    raise _Bad(f"{self.label}.{plan.name}", str(exc)) from None
            # a `many` lookup gives lists: one item per element, fields paired by position
            width = max((len(v) for v in read.values() if type(v) is list and len(v) > 1), default=1)
            for index in range(width):
                values = dict(self.defaults)
                for plan in self.plans:
                    value = read[plan.name]
                    if type(value) is list and len(value) > 1:
                        value = value[index] if index < len(value) else None
                    try:
                        values[plan.name] = plan.coerce(value)
                    except (TransformError, ValueError, TypeError) as exc:
                        raise _Bad(f"{self.label}.{plan.name}", str(exc)) from None
                    if values[plan.name] is None:
                        values[plan.name] = _FALLBACKS.get(plan.name)
                lacking = [k for k in self.required if values.get(k) is None]
                if lacking:
                    if trace is not None:
                        trace.dropped.append(f"{self.label}: no {', '.join(lacking)}")
                    continue
                out.append(_construct(self.model, values))  # type: ignore[type-var]
        return out


_M = TypeVar("_M", Project, Ticket, Milestone, Contact, Approval, SourceRef)
# BaseModel's own slot and `__dict__` descriptors: setting through them skips the
# attribute lookups `object.__setattr__` makes on a model class (a third of the cost)
_SLOTS = vars(BaseModel)
_set_dict = _SLOTS["__dict__"].__set__
_set_fields_set = _SLOTS["__pydantic_fields_set__"].__set__
_set_extra = _SLOTS["__pydantic_extra__"].__set__
_set_private = _SLOTS["__pydantic_private__"].__set__
_new = object.__new__


def _construct(cls: type[_M], values: dict[str, Any], fields_set: set[str] | None = None) -> _M:
    """`model_construct` without its per-field default handling: `values` already holds
    every field with a correctly typed value (the coercers guarantee it). `fields_set`:
    a fresh set of the keys of `values`, when the caller has one at hand."""
    obj = _new(cls)
    _set_dict(obj, values)
    _set_fields_set(obj, set(values) if fields_set is None else fields_set)
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason


class _Mapper:
    """One rule compiled for one stream."""

    def __init__(self, kind: str, rule: Located[Any], stream: str, bound: BoundMapping) -> None:
        self.kind = kind
        self.origin = rule.origin
        self.spec = rule.item
        env = ValueEnv(bound.ctx, stream)
        spec = rule.item
        self.when: Predicate | None = (compile_condition(spec.when, env.getter, bound.ctx)
                                       if spec.when else None)
        self.when_text = describe(spec.when) if spec.when else ""
        self.env = env
        targets = PROJECT_TARGETS if kind == "project" else TICKET_TARGETS
        fields = spec.fields
        self.plans: list[FieldPlan] = []
        self.fields: list[tuple[str, Callable[[Any], Any], bool, Any]] = []
        for name, (target, model_required) in targets.items():
            value = getattr(fields, name)
            if value is None:
                continue
            plan = plan_field(name, value, target, env, _FALLBACKS.get(name))
            if model_required and not plan.required:
                plan = FieldPlan(plan.name, plan.read, plan.coerce, True, plan.source, plan.fallback)
            self.plans.append(plan)
            # the per-record form: read and coerced in one call
            self.fields.append((name, compile_field(value, target, env), plan.required,
                                plan.fallback))
        self.steps = [(p.name, p.read, p.coerce, p.required, p.fallback, p.source) for p in self.plans]
        self.sources = {p.name: p.source for p in self.plans}
        self.attributes = [plan_field(k, v, "any", env) for k, v in fields.attributes.items()]
        self.attribute_fns = [(k, compile_field(v, "any", env)) for k, v in fields.attributes.items()]
        mapped = {p.name for p in self.plans}
        self.unmapped = [n for n in targets if n not in mapped and n != "updated"]
        self.unmapped_lists = [n for n in self.unmapped if n in _LIST_FIELDS]
        self.sets_updated = "updated" in mapped
        self.items = [
            _ItemPlan(section, item, env, i)
            for section in ("milestones", "contacts", "approvals") if kind == "project"
            for i, item in enumerate(getattr(fields, section))
        ]
        self.bound = bound
        model = Project if kind == "project" else Ticket
        self.template: dict[str, Any] = dict.fromkeys(model.model_fields)
        self.fields_set = set(self.template)  # map_fast fills every field
        for name in self.unmapped:  # each record gets its own list; the rest is immutable
            if name not in _LIST_FIELDS:
                self.template[name] = _FALLBACKS.get(name)

    def why(self, payload: Any) -> str:
        """Why `when` holds or not for this record, with the values it saw (explain only)."""
        if self.spec.when is None:
            return "no `when`: every record of the stream"
        return trace_condition(self.spec.when, self.env.getter, self.bound.ctx, payload)[1]

    def map_fast(self, raw: RawRecord) -> MapOutcome:
        """`map` without an explanation: the per-record hot path, one call per field."""
        payload = raw.payload
        values = self.template.copy()  # every field, in model order (stable dumps and hashes)
        values["ref"] = _construct(SourceRef, {"source": raw.source, "stream": raw.stream,
                                               "key": raw.key})
        name = ""
        try:
            for name, read, required, fallback in self.fields:
                value = read(payload)
                if value is None:
                    if required:
                        return MapOutcome("quarantine", field=name, reason=(
                            f"required value missing (from {self.sources[name]})"))
                    value = fallback
                values[name] = value
        except (TransformError, ValueError, TypeError) as exc:
            return MapOutcome("quarantine", field=name, reason=str(exc))
        attributes: dict[str, Any] = {}
        try:
            for name, read in self.attribute_fns:
                value = read(payload)
                if value is not None:
                    attributes[name] = value
        except (TransformError, ValueError, TypeError) as exc:
            return MapOutcome("quarantine", field=f"attributes.{name}", reason=str(exc))
        values["attributes"] = attributes
        for name in self.unmapped_lists:
            values[name] = []
        if not self.sets_updated:
            values["updated"] = raw.updated
        if self.kind == "project":
            try:
                for item in self.items:
                    if values[item.section] is None:
                        values[item.section] = []
                    values[item.section].extend(item.build(payload, None))
            except _Bad as bad:
                return MapOutcome("quarantine", field=bad.field, reason=bad.reason)
            for section in ("milestones", "contacts", "approvals"):
                if values[section] is None:
                    values[section] = []
            return MapOutcome("project", _construct(Project, values, self.fields_set.copy()))
        self.bound.classify(values, payload, None)
        return MapOutcome("ticket", _construct(Ticket, values, self.fields_set.copy()))

    def map(self, raw: RawRecord, trace: Explanation | None) -> MapOutcome:
        if trace is None:
            return self.map_fast(raw)
        payload = raw.payload
        values = self.template.copy()  # every field, in model order (stable dumps and hashes)
        values["ref"] = _construct(SourceRef, {"source": raw.source, "stream": raw.stream,
                                               "key": raw.key})
        try:
            for name, read, coerce, required, fallback, source in self.steps:
                try:
                    value = coerce(read(payload))
                except (TransformError, ValueError, TypeError) as exc:
                    return MapOutcome("quarantine", field=name, reason=str(exc), explanation=trace)
                if value is None:
                    if required:
                        return MapOutcome("quarantine", field=name,
                                          reason=f"required value missing (from {source})",
                                          explanation=trace)
                    if trace is not None:
                        trace.missing.append(f"{name} (from {source})")
                    value = fallback
                values[name] = value
            attributes: dict[str, Any] = {}
            for plan in self.attributes:
                try:
                    value = plan.coerce(plan.read(payload))
                except (TransformError, ValueError, TypeError) as exc:
                    return MapOutcome("quarantine", field=f"attributes.{plan.name}", reason=str(exc),
                                      explanation=trace)
                if value is not None:
                    attributes[plan.name] = value
                elif trace is not None:
                    trace.missing.append(f"attributes.{plan.name} (from {plan.source})")
            values["attributes"] = attributes
            for item in self.items:
                if values[item.section] is None:
                    values[item.section] = []
                values[item.section].extend(item.build(payload, trace))
        except _Bad as bad:
            return MapOutcome("quarantine", field=bad.field, reason=bad.reason, explanation=trace)
        for name in self.unmapped:
            values[name] = [] if name in _LIST_FIELDS else _FALLBACKS.get(name)
        if not self.sets_updated:
            values["updated"] = raw.updated
        if trace is not None:
            trace.values = {k: v for k, v in values.items() if k != "ref"}
        if self.kind == "project":
            for section in ("milestones", "contacts", "approvals"):
                if values[section] is None:
                    values[section] = []
            return MapOutcome("project", _construct(Project, values), explanation=trace)
        self.bound.classify(values, payload, trace)
        return MapOutcome("ticket", _construct(Ticket, values), explanation=trace)


_MANY_KEY = "*"  # the saved entry of a `many` lookup holds every record, keyed by record key


class BoundMapping:
    """A compiled mapping bound to a field catalogue: feed reference records, map records.

    Engine order: `feed` every record of `lookup_streams` (from the store) first, then
    `map`. When a record of a lookup stream changes, re-map `dependent_streams(stream)`.
    """

    def __init__(self, compiled: CompiledMapping, catalogue: Mapping[str, str]) -> None:
        self.compiled = compiled
        self.catalogue = catalogue
        self.lookup_tables: dict[str, dict[str, Any]] = {name: {} for name in compiled.lookups}
        self._lookup_owners: dict[str, dict[str, str]] = {}  # lookup -> entry -> raw record key
        self._readers: dict[str, set[str]] | None = None
        self._projections: dict[str, list[Any] | None] | None = None
        self._projector_fns: dict[str, Callable[[Any], Any]] | None = None
        # (lookup, entry, record key or None when removed, record) changed by `feed`: the
        # engine saves them beside the page, and drains the list
        self.changes: list[tuple[str, str, str | None, Any]] = []
        self.ctx = TransformContext(compiled.tables, self.lookup_tables, catalogue,
                                    unwrap_value=compiled.dialect.unwrap_value,
                                    field_head=compiled.dialect.field_head)
        self._feeders: dict[str, list[tuple[str, Any, Predicate | None]]] = {}
        self._many = {name for name, lookup in compiled.lookups.items() if lookup.many}
        for name, lookup in compiled.lookups.items():
            env = ValueEnv(self.ctx, lookup.stream)
            key = compile_value(lookup.key, env)
            when = compile_condition(lookup.when, env.getter, self.ctx) if lookup.when else None
            self._feeders.setdefault(lookup.stream, []).append((name, key, when))
        self._classifiers = [
            (compile_condition(r.item.when, self._classification_getter, self.ctx),
             r.item.practice, compiled.practices[r.item.practice], r.item.team,
             f"classification.rules[{i}]{f' ({r.item.name})' if r.item.name else ''} "
             f"{r.origin}: {describe(r.item.when)} -> {r.item.practice}")
            for i, r in enumerate(compiled.rules)
        ]
        self._team_of = compiled.teams.getter() if compiled.teams is not None else None
        self._inputs = _classification_inputs(compiled, self._classification_getter)
        self._chosen: dict[tuple[Any, ...], Any] = {}  # inputs -> the classifier they choose
        self._mappers: dict[str, list[_Mapper]] = {}
        for kind, rules in (("project", compiled.projects), ("ticket", compiled.tickets)):
            for located in rules:
                for stream in located.item.streams:
                    self._mappers.setdefault(stream, []).append(_Mapper(kind, located, stream, self))

    @property
    def lookup_streams(self) -> set[str]:
        return set(self._feeders)

    def dependent_streams(self, stream: str) -> set[str]:
        """Streams to re-map when a record of `stream` changes: those whose rules (or the
        classification, for ticket streams) read a lookup that `stream` feeds."""
        fed = {name for name, _, _ in self._feeders.get(stream, [])}
        if not fed:
            return set()
        if self._readers is None:
            self._readers = self._lookup_readers()
        return {s for s, used in self._readers.items() if used & fed}

    def _lookup_readers(self) -> dict[str, set[str]]:
        """For each mapped stream, the lookups its rules read (directly or in classification)."""
        classification = _lookups_in([r.item for r in self.compiled.rules])
        readers: dict[str, set[str]] = {}
        for stream, mappers in self._mappers.items():
            used = _lookups_in([m.spec for m in mappers])
            if any(m.kind == "ticket" for m in mappers):
                used |= classification
            readers[stream] = used
        return readers

    def _classification_getter(self, path: FieldPath) -> Any:
        # `raw.` reaches the vendor record (with the kind's value rules); else ticket fields
        return compile_getter(path, self.catalogue, unwrap_value=self.ctx.unwrap_value
                              and path.head == "raw")

    def feed(self, raw: RawRecord) -> bool:
        """Add (or, when deleted, remove) a reference record in the lookups built from its
        stream; True when what the rules read through a lookup changed (a new entry, a
        removed one, or a changed value at a path the rules read), so dependents need
        re-mapping. A change the rules never read (say a status field smo-bridge itself
        pushed) is taken silently."""
        feeders = self._feeders.get(raw.stream)
        if not feeders:
            return False
        if self._projections is None:
            self._projections = self._lookup_projections()
        changed = False
        projectors = self._projectors()
        for name, key_fn, when in feeders:
            try:
                key = key_fn(raw.payload)
            except (TransformError, ValueError, TypeError):
                continue
            if key is None or key == "":
                continue
            entry = map_key(key)
            if len(entry) > MAX_ENTRY or not is_plain(entry):
                # no entry the store could keep (PostgreSQL would refuse the page): the
                # record is no reference to look up, and every read of it agrees
                log.warning("%s/%s %s: not in lookup %s: its key is %s", raw.source, raw.stream,
                            raw.key, name, f"{len(entry):,} characters long (at most {MAX_ENTRY})"
                            if len(entry) > MAX_ENTRY else "text no store holds (NUL, half a pair)")
                continue
            project = projectors.get(name)
            kept = not raw.deleted and (when is None or when(raw.payload))
            # projected only when kept: most records of a stream (an issue that is no epic)
            # never enter its lookup
            payload = raw.payload if project is None or not kept else project(raw.payload)
            if name in self._many:
                changed = self._feed_many(name, entry, raw, payload, kept) or changed
                continue
            table = self.lookup_tables[name]
            owners = self._lookup_owners.setdefault(name, {})
            if not kept:
                # only the record that filled an entry may empty it: many issues share a project key
                if owners.get(entry) == raw.key:
                    table.pop(entry, None)
                    owners.pop(entry, None)
                    self.changes.append((name, entry, None, None))
                    changed = True
                continue
            old = table.get(entry)
            table[entry] = payload
            owners[entry] = raw.key
            if self._reads_changed(name, old, payload):
                self.changes.append((name, entry, raw.key, payload))
                changed = True
        return changed

    def _feed_many(self, name: str, entry: str, raw: RawRecord, payload: Any, kept: bool) -> bool:
        """A `many` lookup keeps each matching record of an entry; the whole entry is saved."""
        table = self.lookup_tables[name]
        rows = table.get(entry)
        if not kept:
            if rows is None or raw.key not in rows:
                return False
            del rows[raw.key]
        else:
            if rows is None:
                rows = table[entry] = LookupRows()
            old = rows.get(raw.key)
            rows[raw.key] = payload
            if not self._reads_changed(name, old, payload):
                return False
        if not rows:
            table.pop(entry, None)
            self.changes.append((name, entry, None, None))
        else:
            self.changes.append((name, entry, _MANY_KEY, dict(rows)))
        return True

    def _reads_changed(self, name: str, old: Any, new: Any) -> bool:
        read = (self._projections or {}).get(name)
        return old is None or read is None or any(get(old) != get(new) for get in read)

    def load_entries(self, name: str, entries: Iterable[tuple[str, str, Any]]) -> None:
        """Fill a lookup from saved (entry, record key, record) triples instead of feeding it."""
        table = self.lookup_tables[name]
        owners = self._lookup_owners.setdefault(name, {})
        project = self._projectors().get(name)
        for entry, record_key, payload in entries:
            if name in self._many:
                rows = payload if record_key == _MANY_KEY else {}
                table[entry] = LookupRows(rows if project is None else
                                          {k: project(v) for k, v in rows.items()})
                continue
            table[entry] = payload if project is None else project(payload)
            owners[entry] = record_key

    def entries(self) -> Iterable[tuple[str, str, str, Any]]:
        """Every (lookup, entry, record key, record) held now."""
        for name, table in self.lookup_tables.items():
            owners = self._lookup_owners.get(name, {})
            for entry, payload in table.items():
                if type(payload) is LookupRows:
                    yield name, entry, _MANY_KEY, dict(payload)
                else:
                    yield name, entry, owners.get(entry, ""), payload

    def lookup_reads(self) -> dict[str, list[str] | None]:
        """Per lookup read by the rules, the paths they read from its records (resolved
        through the field catalogue); None where a rule takes the whole record. A lookup
        keeps only these parts of its records: what it holds grows with what is read."""
        paths, whole = self._read_paths()
        reads: dict[str, list[str] | None] = {name: None for name in whole}
        for name, found in paths.items():
            if name not in whole:
                reads[name] = sorted({".".join(map(str, steps)) for steps in found})
        return reads

    def _read_paths(self) -> tuple[dict[str, list[tuple[Step, ...]]], set[str]]:
        """(lookup -> resolved paths read from it, lookups read whole)."""
        paths: dict[str, list[tuple[Step, ...]]] = {}
        whole: set[str] = set()
        for spec in _lookup_transforms(self._lookup_readers_defs()):
            if spec.path is None:
                whole.add(spec.lookup)
            else:
                paths.setdefault(spec.lookup, []).append(
                    resolve_names(parse_path(spec.path), self.catalogue))
        return paths, whole

    def _lookup_readers_defs(self) -> list[Any]:
        return [*(r.item for r in self.compiled.projects), *(r.item for r in self.compiled.tickets),
                *(r.item for r in self.compiled.rules)]

    def _projectors(self) -> dict[str, Callable[[Any], Any]]:
        """Per lookup read at known paths, a function record -> the parts of it read."""
        if self._projector_fns is None:
            paths, whole = self._read_paths()
            shared: dict[bytes, Any] = {}
            self._projector_fns = {name: _sharing(projector(found), shared)
                                   for name, found in paths.items() if name not in whole}
        return self._projector_fns

    def _lookup_projections(self) -> dict[str, list[Any] | None]:
        """Per lookup, getters of the paths the rules read from its records; None where a
        rule takes the whole record."""
        specs = _lookup_transforms(self._lookup_readers_defs())
        out: dict[str, list[Any] | None] = {}
        for spec in specs:
            if spec.path is None:
                out[spec.lookup] = None
                continue
            getters = out.setdefault(spec.lookup, [])
            if getters is not None:
                getters.append(compile_getter(parse_path(spec.path), self.catalogue,
                                              unwrap_value=self.ctx.unwrap_value))
        return out

    def classify(self, values: dict[str, Any], payload: Any, trace: Explanation | None) -> None:
        """Set practice, capability and the specialist team on mapped ticket values."""
        teams = self.compiled.teams
        group = values.get("team")
        if teams is not None and group is not None and self._team_of is not None:
            values["team"] = self._team_of(group)
            if values["team"] != group:  # keep what the tool called it: `unmapped` needs a name
                values.setdefault("attributes", {})["group"] = group
            if trace is not None:
                trace.team = (f"team {group!r} -> {values['team']!r} (classification.teams)"
                              if _in_table(teams, group) else
                              f"team {group!r} is not in classification.teams: {values['team']!r}")
        values["raw"] = payload  # conditions read ticket fields and raw.PATH from one dict
        chosen = None
        try:
            if trace is None:
                chosen = self._choose(values)
            else:
                for i, classifier in enumerate(self._classifiers):
                    if classifier[0](values):
                        chosen = classifier
                        break
                    trace.unclassified.append(f"{classifier[4].split(': ', 1)[0]}: " + trace_condition(
                        self.compiled.rules[i].item.when, self._classification_getter, self.ctx,
                        values)[1])
        finally:
            del values["raw"]
        if chosen is not None:
            _, practice, capability, team, text = chosen
            values["practice"], values["capability"] = practice, capability
            if team is not None:
                values["team"] = team
            if trace is not None:
                trace.classification = text
            return
        default = self.compiled.default_practice
        values["practice"] = default
        values["capability"] = self.compiled.practices.get(default) if default else None
        if trace is not None:
            trace.classification = f"classification.default ({default})" if default else "none"

    def _choose(self, values: dict[str, Any]) -> Any:
        """The first classifier whose condition holds, or None. The conditions are pure
        functions of the values they read: when those are texts (or lists of texts), the
        choice is remembered by them (a few types, labels and project kinds recur)."""
        key: tuple[Any, ...] | None = None
        if self._inputs is not None:
            parts: list[Any] = []
            for get in self._inputs:
                value = get(values)
                if value is None or type(value) is str:
                    parts.append(value)
                    continue
                if type(value) is not list:
                    break
                for x in value:
                    if type(x) is not str:
                        break
                else:
                    parts.append(tuple(value))
                    continue
                break
            else:
                key = tuple(parts)
                found = self._chosen.get(key, _UNSEEN)
                if found is not _UNSEEN:
                    return found
        chosen = None
        for classifier in self._classifiers:
            if classifier[0](values):
                chosen = classifier
                break
        if key is not None:
            if len(self._chosen) >= _CHOSEN_MAX:
                self._chosen.clear()
            self._chosen[key] = chosen
        return chosen

    def map(self, raw: RawRecord) -> MapOutcome:
        """Map one record: a project, a ticket, a skip, or a quarantine. Never raises for
        bad data; the failing field and reason travel in the outcome."""
        mappers = None if raw.deleted else self._mappers.get(raw.stream)
        if mappers is None:
            return self._map(raw, None)
        payload = raw.payload
        for mapper in mappers:
            if mapper.when is None or mapper.when(payload):
                return mapper.map_fast(raw)
        return MapOutcome("skip", reason="no rule selected the record")

    def explain(self, raw: RawRecord) -> MapOutcome:
        """As `map`, with `outcome.explanation` filled (slower: for preview and tests)."""
        return self._map(raw, Explanation())

    def _map(self, raw: RawRecord, trace: Explanation | None) -> MapOutcome:
        if raw.deleted:
            return MapOutcome("skip", reason="record deleted", explanation=trace)
        mappers = self._mappers.get(raw.stream)
        if mappers is None:
            why = ("reference stream (read by lookups)" if raw.stream in self._feeders
                   else f"stream {raw.stream!r} is not mapped")
            return MapOutcome("skip", reason=why, explanation=trace)
        payload = raw.payload
        for mapper in mappers:
            if mapper.when is None or mapper.when(payload):
                if trace is not None:
                    trace.rule = f"{mapper.kind} rule {mapper.origin}: {mapper.why(payload)}"
                return mapper.map(raw, trace)
            if trace is not None:
                trace.not_selected.append(f"{mapper.kind} rule {mapper.origin}: {mapper.why(payload)}")
        return MapOutcome("skip", reason="no rule selected the record", explanation=trace)


#: projected lookup values up to this size (as JSON) are one object for all equal ones: a
#: lookup keyed by ticket (an SLA breached flag) holds the same few values many times
_SHARED_MAX = 256
_SHARED_VALUES = 1_000  # distinct values kept for sharing; later ones are kept as they come


def _sharing(project: Callable[[Any], Any], shared: dict[bytes, Any]) -> Callable[[Any], Any]:
    def share(record: Any) -> Any:
        value = project(record)
        try:
            token = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            return value
        if len(token) > _SHARED_MAX:
            return value
        found = shared.get(token)
        if found is not None:
            return found
        if len(shared) < _SHARED_VALUES:
            shared[token] = value
        return value
    return share


_UNSEEN = object()
_CHOSEN_MAX = 4096  # distinct classification inputs remembered; then it starts over


def _classification_inputs(compiled: CompiledMapping, getter_for: Callable[[FieldPath], Any]
                           ) -> list[Any] | None:
    """Getters of every value the classification rules test, when the choice is a function
    of those values alone (no transforms: those may read lookups); None otherwise or when
    not specialising."""
    if not fused.ENABLED:
        return None
    tests = [t for r in compiled.rules for t in iter_tests(r.item.when)]
    if any(t.transforms for t in tests):
        return None
    paths = {t.field_path(compiled.dialect.field_head).text: t.field_path(
        compiled.dialect.field_head) for t in tests}
    return [getter_for(path) for path in paths.values()]


def _in_table(table: ValueTable, value: Any) -> bool:
    key = value if type(value) is str else map_key(value)
    return (key.lower() if table.ignore_case else key) in table.values


def _lookups_in(items: Iterable[Any]) -> set[str]:
    """The lookup names any LookupTransform inside these definitions refers to."""
    return {spec.lookup for spec in _lookup_transforms(items)}


def _lookup_transforms(items: Iterable[Any]) -> list[LookupTransform]:
    """Every LookupTransform inside these definitions."""
    found: list[LookupTransform] = []
    stack: list[Any] = list(items)
    while stack:
        node = stack.pop()
        if isinstance(node, LookupTransform):
            found.append(node)
        elif isinstance(node, BaseModel):
            stack.extend(getattr(node, name) for name in type(node).model_fields)
        elif isinstance(node, list | tuple):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
    return found
