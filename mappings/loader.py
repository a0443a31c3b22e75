"""Mapping files -> CompiledMapping. Every problem in every file is collected and raised
as one ConfigError whose issues read `FILE:LINE:COL: dotted.path: message`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from bridge.errors import ConfigError, Issue
from bridge.models import Capability
from bridge.yamlfile import PathKey, YamlDocument, did_you_mean, load_yaml, salvage
from connectors.base import MappingDialect, dialects
from mappings.checks import Checker, Symbols
from mappings.compile import (
    CompiledKnowledge,
    CompiledMapping,
    Located,
)
from mappings.extends import resolve_extends
from mappings.gate import GateDef
from mappings.practices import STANDARD_PRACTICES
from mappings.schema import Classification, FieldSpec, KnowledgeDef, MappingFile
from mappings.templates import sample_problem, template_environment
from mappings.transforms import ValueTable

DEFAULTS_DIR = Path(__file__).parent / "defaults"
DEFAULT_TEMPLATE = DEFAULTS_DIR / "knowledge.html.j2"


def known_kinds() -> list[str]:
    """Connector kinds whose records a mapping can read (their dialects are registered)."""
    return sorted(dialects())


def default_path(kind: str) -> Path:
    """The default mapping file of a connector kind: the one its dialect names, else the
    one shipped here."""
    dialect = dialects().get(kind)
    path = dialect.default_mapping if dialect and dialect.default_mapping else None
    path = path or DEFAULTS_DIR / f"{kind}.yaml"
    if not path.exists():
        hint = did_you_mean(kind, known_kinds())
        raise ConfigError(f"no shipped default mapping for kind {kind!r}"
                          + (f"; did you mean {hint!r}?" if hint else ""))
    return path


def default_mapping(kind: str) -> CompiledMapping:
    """The shipped default mapping of `kind` (jira or servicenow), compiled."""
    return load_mapping([default_path(kind)])


@dataclass
class Checked:
    """What checking a source's mapping files found: the compiled mapping when they are
    valid, every issue of every file, and the roles its gate items may name."""

    compiled: CompiledMapping | None
    issues: list[Issue]
    roles: set[str] = field(default_factory=set)


def load_mapping(paths: Sequence[str | Path], kind: str | None = None) -> CompiledMapping:
    """Load, check and compile one source's mapping files (merged in order).

    `kind`, when given, is the source's connector kind: each file's `meta.kind` must match.
    Raises ConfigError carrying every issue of every file.
    """
    checked = check_mapping(paths, kind)
    if checked.issues or checked.compiled is None:
        raise ConfigError(_summary(checked.issues), checked.issues)
    return checked.compiled


def check_mapping(paths: Sequence[str | Path], kind: str | None = None) -> Checked:
    """Every issue of a source's mapping files, in one pass: a part of a file the models
    reject is left out (and reported) while the rest of it, and every other file, still
    goes through the later checks (names, roles, practices, lookups, templates)."""
    if not paths:
        raise ConfigError("no mapping files given")
    issues: list[Issue] = []
    loaded: list[tuple[YamlDocument, MappingFile]] = []
    declared = Declared()
    for path in paths:
        try:
            doc = resolve_extends(load_yaml(path), default_path)
        except ConfigError as exc:
            issues.extend(exc.issues or [Issue(str(path), None, None, "", str(exc))])
            continue
        if not isinstance(doc.data, dict):
            issues.append(doc.issue((), "a mapping file must be a YAML mapping with a 'meta' section"))
            continue
        meta = doc.data.get("meta")
        if kind is None and isinstance(meta, dict) and isinstance(meta.get("kind"), str):
            kind = meta["kind"]  # even when this file is invalid, later files must match it
        found: list[Issue] = []
        model, checked_doc = salvage(MappingFile, doc, found)
        issues.extend(_without_tags(i) for i in found)
        if found:  # what the removed parts define must not read as missing elsewhere
            declared.add(doc.data)
        if model is not None:
            loaded.append((checked_doc, model))
        elif isinstance(meta, dict) and isinstance(meta.get("kind"), str):
            unknown = _unknown_kind(doc, meta["kind"])
            if unknown is not None:
                issues.append(unknown)
    compiled, roles = _compile(loaded, kind, issues, declared) if loaded else (None, set())
    return Checked(None if issues else compiled, _in_order(issues, paths), roles)


@dataclass
class Declared:
    """Names the parts of a file the models rejected define (tables, lookups, practices,
    contact roles, gate item keys): references to them are not reported as unknown."""

    tables: set[str] = field(default_factory=set)
    lookups: dict[str, str] = field(default_factory=dict)
    practices: set[str] = field(default_factory=set)
    roles: set[str] = field(default_factory=set)
    gate_keys: set[str] = field(default_factory=set)

    def add(self, data: dict[str, Any]) -> None:
        known = set(MappingFile.model_fields)
        self._add(data)
        # a misspelt section still defines what it holds
        self._add({did_you_mean(str(k), known) or str(k): v for k, v in data.items()
                   if k not in known})

    def _add(self, data: dict[str, Any]) -> None:
        def named(value: Any) -> list[str]:
            return [str(k) for k in value] if isinstance(value, dict) else []

        self.tables.update(named(data.get("tables")))
        lookups = data.get("lookups")
        for name, lookup in (lookups.items() if isinstance(lookups, dict) else []):
            stream = lookup.get("stream") if isinstance(lookup, dict) else None
            self.lookups[str(name)] = stream if isinstance(stream, str) else ""
        cls = data.get("classification")
        if isinstance(cls, dict):
            self.practices.update(named(cls.get("practices")))
        for rule in _dicts(data.get("projects")):
            fields = rule.get("fields")
            for contacts in _dicts(fields.get("contacts") if isinstance(fields, dict) else None):
                item = contacts.get("fields")
                role = item.get("role") if isinstance(item, dict) else None
                if isinstance(role, dict) and isinstance(role.get("value"), str):
                    self.roles.add(role["value"])
        gate = data.get("gate")
        if isinstance(gate, dict):
            self.gate_keys.update(str(i["key"]) for i in _dicts(gate.get("items")) if "key" in i)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _in_order(issues: list[Issue], paths: Sequence[str | Path]) -> list[Issue]:
    """Each file's issues together, files in the order given, each file's by position."""
    order = {str(p): i for i, p in enumerate(paths)}
    return sorted(issues, key=lambda i: (order.get(i.file, len(order)), i.file, i.line or 0,
                                         i.column or 0))


def validate_files(paths: Sequence[str | Path], kind: str | None = None) -> list[Issue]:
    """Every issue of a source's files (empty when valid)."""
    try:
        return check_mapping(paths, kind).issues
    except ConfigError as exc:
        return exc.issues or [Issue(str(paths[0]) if paths else "", None, None, "", str(exc))]


_TAG_STEP = re.compile(r"\.?<[a-z_]+>")


def _without_tags(issue: Issue) -> Issue:
    """Drop union tags (`<test>`, `<spec>`...) that pydantic puts in error locations."""
    path = _TAG_STEP.sub("", issue.path)
    return issue if path == issue.path else Issue(issue.file, issue.line, issue.column, path,
                                                  issue.message)


def _summary(issues: list[Issue]) -> str:
    files = sorted({i.file for i in issues})
    return f"{', '.join(files)}: {len(issues)} problem(s) in the mapping"


def _origin(doc: YamlDocument, path: PathKey) -> str:
    """FILE:LINE where a definition was written (the base's file for an inherited one)."""
    where = doc.issue(path, "")
    return f"{where.file}:{where.line}" if where.line else where.file


def _unknown_kind(doc: YamlDocument, kind: str) -> Issue | None:
    if kind in dialects():
        return None
    known = known_kinds()
    hint = did_you_mean(kind, known)
    return doc.issue(("meta", "kind"), f"unknown kind {kind!r}" + (
        f"; did you mean {hint!r}?" if hint else f" (known: {', '.join(known)})"))


def _compile(loaded: list[tuple[YamlDocument, MappingFile]], kind: str | None,
             issues: list[Issue], declared: Declared) -> tuple[CompiledMapping | None, set[str]]:
    first_doc, first = loaded[0]
    source_kind = kind or first.meta.kind
    dialect: MappingDialect | None = dialects().get(source_kind)
    if dialect is None:
        unknown = _unknown_kind(first_doc, source_kind)
        if unknown is not None and unknown not in issues:
            issues.append(unknown)
        # go on with the kind it most likely means, so its other errors show in this run
        close = did_you_mean(source_kind, known_kinds())
        if close is None:
            return None, set()
        source_kind, dialect = close, dialects()[close]
    symbols = Symbols(dialect)
    custom_fields: dict[str, str] = {}
    symbols.display_names.update(dialect.default_catalogue)
    tables: dict[str, ValueTable] = {}
    lookups: dict[str, Any] = {}
    practices: dict[str, Capability] | None = None
    seen: dict[tuple[str, str], str] = {}

    def once(section: str, name: str, doc: YamlDocument, path: PathKey) -> bool:
        where = seen.get((section, name))
        if where is not None:
            issues.append(doc.issue(path, f"{section} {name!r} is already defined at {where}"))
            return False
        seen[(section, name)] = _origin(doc, path)
        return True

    for doc, mf in loaded:
        if mf.meta.kind != source_kind and mf.meta.kind in dialects():
            issues.append(doc.issue(("meta", "kind"), f"kind {mf.meta.kind!r} does not match the "
                                                      f"source's kind {source_kind!r}"))
        elif mf.meta.kind != source_kind:
            unknown = _unknown_kind(doc, mf.meta.kind)
            if unknown is not None and unknown not in issues:
                issues.append(unknown)
        for name, fid in mf.meta.custom_fields.items():
            symbols.display_names.add(name)
            if fid is None:
                continue
            pattern = dialect.custom_field
            if pattern and not re.fullmatch(pattern, fid) and fid not in dialect.system_fields:
                issues.append(doc.issue(("meta", "custom_fields", name),
                                        f"{fid!r} is not a {dialect.label} field id"))
            custom_fields[name] = fid
        for name, table in mf.tables.items():
            if once("table", name, doc, ("tables", name)):
                tables[name] = ValueTable(dict(table.values), "default" in table.model_fields_set,
                                          table.default, table.ignore_case)
        for name, lookup in mf.lookups.items():
            if once("lookup", name, doc, ("lookups", name)):
                lookups[name] = lookup
        cls = mf.classification
        if cls is not None and cls.practices is not None:
            if practices is not None:
                issues.append(doc.issue(("classification", "practices"),
                                        "the practice catalogue is already defined in another file"))
            practices = dict(cls.practices)
    practices = practices if practices is not None else dict(STANDARD_PRACTICES)
    symbols.tables.update(tables)
    symbols.tables.update(declared.tables)
    symbols.lookups.update(declared.lookups)
    symbols.lookups.update({n: d.stream for n, d in lookups.items()})
    symbols.practices.update(practices)
    symbols.practices.update(declared.practices)
    symbols.roles.update(declared.roles)
    for _, mf in loaded:  # contact roles the mapping gives constant values to
        for rule in mf.projects:
            for contacts in rule.fields.contacts:
                role = contacts.fields.role
                if isinstance(role, FieldSpec) and isinstance(role.value, str):
                    symbols.roles.add(role.value)

    for doc, mf in loaded:
        Checker(doc, symbols, issues).check_file(mf)

    classification = _single(loaded, "classification", issues)
    knowledge_at = _single(loaded, "knowledge", issues)
    knowledge = knowledge_for(knowledge_at, issues)
    rules, default_practice, teams = [], None, None
    if classification is not None:
        cdoc, cls_def = classification
        assert isinstance(cls_def, Classification)
        rules = [Located(r, _origin(cdoc, ("classification", "rules", i)))
                 for i, r in enumerate(cls_def.rules)]
        default_practice = cls_def.default
        if cls_def.teams is not None:
            t = cls_def.teams
            teams = ValueTable(dict(t.values), "default" in t.model_fields_set, t.default,
                               t.ignore_case)
    gate_items = [item for _, mf in loaded if mf.gate for item in mf.gate.items]
    accepting = GateDef.model_fields["acceptance"].default
    for doc, mf in loaded:
        if mf.gate is not None and "acceptance" in mf.gate.model_fields_set:
            accepting = mf.gate.acceptance
            keys = [i.key for i in gate_items]
            if accepting is not None and accepting not in keys and accepting not in \
                    declared.gate_keys:
                hint = did_you_mean(accepting, keys)
                issues.append(doc.issue(("gate", "acceptance"), f"no gate item {accepting!r}"
                                        + (f"; did you mean {hint!r}?" if hint else "")))
    if knowledge is None:
        return None, symbols.roles
    return CompiledMapping(
        kind=source_kind,
        dialect=dialect,
        files=[doc.file for doc, _ in loaded],
        custom_fields=custom_fields,
        tables=tables,
        lookups=lookups,
        projects=[Located(r, _origin(doc, ("projects", i)))
                  for doc, mf in loaded for i, r in enumerate(mf.projects)],
        tickets=[Located(r, _origin(doc, ("tickets", i)))
                 for doc, mf in loaded for i, r in enumerate(mf.tickets)],
        practices=practices,
        rules=rules,
        default_practice=default_practice,
        teams=teams,
        gate=GateDef(items=gate_items, acceptance=accepting),
        roles=frozenset(symbols.roles),
        knowledge=knowledge,
        examples=[Located(e, _origin(doc, ("examples", i)))
                  for doc, mf in loaded for i, e in enumerate(mf.examples)],
    ), symbols.roles


def _single(loaded: list[tuple[YamlDocument, MappingFile]], section: str,
            issues: list[Issue]) -> tuple[YamlDocument, Any] | None:
    """A section that may appear in one file only."""
    found: tuple[YamlDocument, Any] | None = None
    for doc, mf in loaded:
        value = getattr(mf, section)
        if value is None:
            continue
        if found is not None:
            issues.append(doc.issue((section,), f"{section} is already defined in {found[0].file}"))
            continue
        found = (doc, value)
    return found


MAX_TEMPLATE_BYTES = 1024 * 1024


def knowledge_for(found: tuple[YamlDocument, Any] | None, issues: list[Issue]) -> CompiledKnowledge | None:
    definition: KnowledgeDef = found[1] if found else KnowledgeDef()
    if definition.template == "default":
        template_path = DEFAULT_TEMPLATE
    else:
        assert found is not None
        template_path = Path(found[0].file).parent / definition.template
    try:
        with template_path.open("rb") as handle:
            raw = handle.read(MAX_TEMPLATE_BYTES + 1)
    except OSError:
        doc = found[0] if found else None
        message = f"template file {definition.template!r} not found"
        issues.append(doc.issue(("knowledge", "template"), message) if doc else
                      Issue(str(template_path), None, None, "knowledge.template", message))
        return None
    where = str(template_path)
    if len(raw) > MAX_TEMPLATE_BYTES:
        issues.append(Issue(where, None, None, "knowledge.template",
                            f"template larger than {MAX_TEMPLATE_BYTES:,} bytes"))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        issues.append(Issue(where, raw.count(b"\n", 0, exc.start) + 1,
                            exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1,
                            "knowledge.template", "template is not UTF-8 text"))
        return None
    try:
        template = template_environment().from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        issues.append(Issue(where, exc.lineno, 1, "knowledge.template",
                            f"template syntax error: {exc.message}"))
        return None
    except (RecursionError, jinja2.TemplateError) as exc:
        issues.append(Issue(where, None, None, "knowledge.template",
                            f"template cannot be compiled: {type(exc).__name__}: {exc}"[:300]))
        return None
    problem = sample_problem(template)
    if problem is not None:
        line, why = problem
        issues.append(Issue(where, line, 1 if line else None, "knowledge.template", why))
        return None
    return CompiledKnowledge(template, str(template_path), definition.knowledge_base,
                             definition.category, definition.workflow_state,
                             {k.casefold(): v for k, v in definition.articles.items()},
                             definition.author)
