"""Load-time checks the models cannot make alone: names that refer to other sections,
Jira field names, practice names, the heads of canonical paths. Each finding is an Issue
at the YAML position of the offending value, with a did-you-mean where one is close.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from bridge.errors import Issue
from bridge.models import Project, Ticket
from bridge.yamlfile import PathKey, YamlDocument, did_you_mean
from connectors.base import MappingDialect
from mappings.conditions import AllOf, AnyOf, Check, NotOf
from mappings.gate import (
    AllOfEvidence,
    AnyOfEvidence,
    DeliverableDone,
    FieldSet,
    NoOpenTickets,
    ProjectMatches,
    ReceiversSignoff,
    TicketDone,
    TicketsApproved,
)
from mappings.paths import FieldPath, PathError, parse_path
from mappings.schema import FieldSpec, MappingFile, ProjectRule, TicketRule
from mappings.transforms import LookupTransform, TableTransform

Scope = Literal["raw", "element", "ticket_values", "ticket", "project"]

TICKET_FIELDS = tuple(Ticket.model_fields)
TRANSITION_ROLES = ("service_manager", "project_manager", "resolver_group")
PROJECT_FIELDS = tuple(Project.model_fields)


@dataclass
class Symbols:
    """Names defined anywhere in a source's files (checks run after all files are read)."""

    dialect: MappingDialect
    tables: set[str] = field(default_factory=set)
    lookups: dict[str, str] = field(default_factory=dict)  # name -> stream
    practices: set[str] = field(default_factory=set)
    display_names: set[str] = field(default_factory=set)
    #: roles a gate item may name: the transition's own and the contact roles mapped
    roles: set[str] = field(default_factory=lambda: set(TRANSITION_ROLES))


class Checker:
    def __init__(self, doc: YamlDocument, symbols: Symbols, issues: list[Issue]) -> None:
        self.doc = doc
        self.sym = symbols
        self.issues = issues

    def error(self, path: PathKey, message: str) -> None:
        self.issues.append(self.doc.issue(path, message))

    def unknown(self, path: PathKey, what: str, name: str, choices: Iterable[str]) -> None:
        options = sorted(set(choices))
        hint = did_you_mean(name, options)
        message = f"unknown {what} {name!r}"
        if hint:
            message += f"; did you mean {hint!r}?"
        elif options and len(options) <= 20:
            message += f" (known: {', '.join(options)})"
        self.error(path, message)

    # ---- the file ----------------------------------------------------------------

    def check_file(self, mf: MappingFile) -> None:
        for name, lookup in mf.lookups.items():
            where = ("lookups", name)
            self.stream(lookup.stream, (*where, "stream"))
            self.path_text(lookup.key, (*where, "key"), "raw")
            if lookup.when is not None:
                self.condition(lookup.when, (*where, "when"), "raw")
        rules: list[tuple[str, int, ProjectRule | TicketRule]] = [
            *(("projects", i, r) for i, r in enumerate(mf.projects)),
            *(("tickets", i, r) for i, r in enumerate(mf.tickets)),
        ]
        for section, i, rule in rules:
            at: PathKey = (section, i)
            for j, stream in enumerate(rule.streams):
                self.stream(stream, (*at, "stream") if isinstance(rule.stream, str)
                            else (*at, "stream", j))
            if rule.when is not None:
                self.condition(rule.when, (*at, "when"), "raw")
            self.fields(rule.fields, (*at, "fields"))
        if mf.classification is not None:
            self.classification(mf)
        if mf.gate is not None:
            self.check_gate(mf.gate)
            if mf.projects and not any(r.fields.receivers for r in mf.projects):
                for i, item in enumerate(mf.gate.items):
                    evidence = item.evidence
                    if isinstance(evidence, ReceiversSignoff) and evidence.receivers is None:
                        self.error(("gate", "items", i, "evidence"),
                                   "receivers_signoff reads the projects' receivers, which no "
                                   "project rule maps; map `receivers` or name receiver roles")
        for i, example in enumerate(mf.examples):
            self.stream(example.stream, ("examples", i, "stream"))

    def classification(self, mf: MappingFile) -> None:
        cls = mf.classification
        assert cls is not None
        for i, rule in enumerate(cls.rules):
            where = ("classification", "rules", i)
            self.condition(rule.when, (*where, "when"), "ticket_values")
            if rule.practice not in self.sym.practices:
                self.practice(rule.practice, (*where, "practice"))
        if cls.default is not None and cls.default not in self.sym.practices:
            self.practice(cls.default, ("classification", "default"))

    def practice(self, name: str, where: PathKey) -> None:
        """An unknown practice; a standard one the file's own catalogue left out is said so
        (a did-you-mean to another practice would mislead)."""
        from mappings.practices import STANDARD_PRACTICES

        if name in STANDARD_PRACTICES:
            self.error(where, f"practice {name!r} is not in this mapping's catalogue: its "
                              "classification.practices replaces the standard one (add it there, "
                              "or use `extends: default`, whose practices add to it)")
            return
        self.unknown(where, "practice", name, self.sym.practices)

    def fields(self, fields: Any, where: PathKey) -> None:
        for name in type(fields).model_fields:
            value = getattr(fields, name)
            if name == "attributes":
                for key, spec in value.items():
                    self.value(spec, (*where, "attributes", key), "raw")
            elif name in ("milestones", "contacts", "approvals"):
                for i, item in enumerate(value):
                    item_where = (*where, name, i)
                    scope: Scope = "element" if item.each else "raw"
                    if item.each:
                        self.path_text(item.each, (*item_where, "each"), "raw")
                    if item.when is not None:
                        self.condition(item.when, (*item_where, "when"), scope)
                    for sub in type(item.fields).model_fields:
                        spec = getattr(item.fields, sub)
                        if spec is not None:
                            self.value(spec, (*item_where, "fields", sub), scope)
            elif value is not None:
                self.value(value, (*where, name), "raw")

    def value(self, spec: Any, where: PathKey, scope: Scope) -> None:
        if isinstance(spec, str):
            self.path_text(spec, where, scope)
            return
        assert isinstance(spec, FieldSpec)
        if spec.path is not None:
            self.path_text(spec.path, (*where, "path"), scope)
        if spec.field is not None:
            self.display_name(spec.field, (*where, "field"))
        for key in ("first_of", "concat"):
            for i, sub in enumerate(getattr(spec, key) or []):
                self.value(sub, (*where, key, i), scope)
        self.transforms(spec.transforms, (*where, "transforms"))

    def transforms(self, transforms: list[Any], where: PathKey) -> None:
        for i, t in enumerate(transforms):
            if isinstance(t, TableTransform) and t.table not in self.sym.tables:
                self.unknown((*where, i, "table"), "table", t.table, self.sym.tables)
            if isinstance(t, LookupTransform):
                if t.lookup not in self.sym.lookups:
                    self.unknown((*where, i, "lookup"), "lookup", t.lookup, self.sym.lookups)
                if t.path is not None:
                    self.path_text(t.path, (*where, i, "path"), "raw")

    def condition(self, cond: Any, where: PathKey, scope: Scope) -> None:
        if isinstance(cond, AllOf | AnyOf):
            key = "all" if isinstance(cond, AllOf) else "any"
            for i, sub in enumerate(cond.all if isinstance(cond, AllOf) else cond.any):
                self.condition(sub, (*where, key, i), scope)
        elif isinstance(cond, NotOf):
            self.condition(cond.not_, (*where, "not"), scope)
        elif isinstance(cond, Check):
            if cond.path is not None:
                self.path_text(cond.path, (*where, "path"), scope)
            else:
                assert cond.field is not None
                self.display_name(cond.field, (*where, "field"))
            self.transforms(cond.transforms, (*where, "transforms"))

    def evidence(self, rule: Any, where: PathKey) -> None:
        if isinstance(rule, AllOfEvidence | AnyOfEvidence):
            for i, sub in enumerate(rule.rules):
                self.evidence(sub, (*where, "rules", i))
        elif isinstance(rule, FieldSet):
            self.path_text(rule.field, (*where, "field"), "project")
        elif isinstance(rule, ProjectMatches):
            self.condition(rule.when, (*where, "when"), "project")
        elif isinstance(rule, DeliverableDone):
            for i, path in enumerate(rule.approved_by_fields):
                self.path_text(path, (*where, "approved_by_fields", i), "ticket")
            if rule.approver_field is not None:
                self.path_text(rule.approver_field, (*where, "approver_field"), "ticket")
        elif isinstance(rule, ReceiversSignoff):
            self.path_text(rule.team_field, (*where, "team_field"), "ticket")
            for i, role in enumerate(rule.receivers or []):
                self.role(role, (*where, "receivers", i))
        elif isinstance(rule, TicketDone | TicketsApproved | NoOpenTickets):
            self.condition(rule.when, (*where, "when"), "ticket")
            for key in ("approved_by_field", "approver_field"):
                if hasattr(rule, key):
                    self.path_text(getattr(rule, key), (*where, key), "ticket")

    # ---- names -------------------------------------------------------------------

    def stream(self, stream: str, where: PathKey) -> None:
        d = self.sym.dialect
        noun = f"{d.label} {d.stream_noun}"
        if d.closed_streams:
            if stream not in d.streams:
                self.unknown(where, noun, stream, d.streams)
        elif d.stream_pattern and not re.fullmatch(d.stream_pattern, stream):
            self.error(where, f"{stream!r} is not a {noun} name")
        elif stream not in d.streams and not (
                d.custom_stream_prefixes and stream.startswith(d.custom_stream_prefixes)):
            close = did_you_mean(stream, d.streams)
            if close:  # likely a typo; an admin's own streams have their own prefixes
                self.error(where, f"unknown {noun} {stream!r}; did you mean {close!r}?")

    def check_gate(self, gate: Any) -> None:
        """Item keys once, evidence paths, and roles that resolve to someone."""
        keys: dict[str, int] = {}
        for i, item in enumerate(gate.items):
            if item.key in keys:
                self.error(("gate", "items", i, "key"),
                           f"duplicate gate item key {item.key!r} (first at items[{keys[item.key]}])")
            keys.setdefault(item.key, i)
            self.evidence(item.evidence, ("gate", "items", i, "evidence"))
            if item.responsible is not None:
                self.role(item.responsible, ("gate", "items", i, "responsible"))
            if item.approver is not None and item.approver.role is not None:
                self.role(item.approver.role, ("gate", "items", i, "approver", "role"))

    def role(self, role: str, where: PathKey) -> None:
        """A role resolves to a person only if the transition has it or a contact is mapped
        with it; otherwise the item would name nobody."""
        if role not in self.sym.roles:
            hint = did_you_mean(role, self.sym.roles)
            self.error(where, f"role {role!r} resolves to nobody (roles: "
                              f"{', '.join(sorted(self.sym.roles))})"
                              + (f"; did you mean {hint!r}?" if hint else ""))

    def display_name(self, name: str, where: PathKey) -> None:
        d = self.sym.dialect
        if not d.named_fields and where and where[-1] == "field":
            self.error(where, f"a {d.label} record has no fields by display name: "
                              "read it with `path`")
            return
        if d.named_fields and name not in self.sym.display_names:
            hint = did_you_mean(name, self.sym.display_names)
            message = f"unknown {d.label} field {name!r}"
            message += f"; did you mean {hint!r}?" if hint else (
                " (declare it in meta.custom_fields)")
            self.error(where, message)

    def path_text(self, text: str, where: PathKey, scope: Scope) -> None:
        try:
            path = parse_path(text)
        except PathError as exc:
            self.error(where, str(exc))
            return
        self.path(path, where, scope)

    def path(self, path: FieldPath, where: PathKey, scope: Scope) -> None:
        if path.special:
            if scope not in ("raw", "element"):
                self.error(where, f"{path.text} is only available in raw record paths")
            return
        head = path.head
        if scope == "ticket_values":
            if head == "raw":
                self.path(path.tail(), where, "raw")
            elif head is not None and head not in TICKET_FIELDS:
                self.unknown(where, "ticket field", head, (*TICKET_FIELDS, "raw"))
            return
        if scope in ("ticket", "project"):
            known = TICKET_FIELDS if scope == "ticket" else PROJECT_FIELDS
            if head is not None and head not in known:
                self.unknown(where, f"{scope} field", head, known)
            return
        for step in path.steps:
            if step.kind == "named":
                self.display_name(step.name, where)
        d = self.sym.dialect
        if scope == "raw" and d.field_head and head == d.field_head and len(path.steps) > 1:
            second = path.steps[1]
            custom = d.custom_field and re.fullmatch(d.custom_field, second.name)
            if second.kind == "key" and not custom and second.name not in d.system_fields:
                hint = did_you_mean(second.name, [*d.system_fields, *self.sym.display_names])
                if hint in self.sym.display_names:
                    self.error(where, f"unknown {d.label} field {second.name!r}; did you mean "
                                      f'{d.field_head}["{hint}"]?')
                else:
                    self.unknown(where, f"{d.label} field", second.name, d.system_fields)
