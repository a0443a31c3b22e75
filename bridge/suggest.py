"""`smo-bridge mappings suggest`: a draft mapping for one instance, from its own field catalogue.

Starts from the shipped default of the source's kind. Where fields are named by display
name (`meta.custom_fields`, Jira), each is pointed at the instance's field of that name
(the connector's own name rule), else at the instance's closest name with the same value
type, else at nothing (null: the reads stay empty and say so). Where fields are columns of
tables (ServiceNow), each custom column the mapping reads that a table lacks is renamed to
the table's closest custom column of that name, else left to read nothing (the stock field
after it in `first_of` serves). Example records follow the renames; an example that no
longer holds (it needs a field the instance lacks) is dropped with a note, so the draft
validates and passes `mappings test`.
"""

from __future__ import annotations

import difflib
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bridge.errors import ConfigError
from connectors.base import FieldInfo, SourceConfig, connector_for
from mappings import CompiledMapping, load_mapping, run_examples
from mappings.loader import default_path
from mappings.paths import parse_path
from mappings.reads import raw_paths


@dataclass
class Suggestion:
    text: str
    notes: list[str]


def suggest_mapping(source: SourceConfig) -> Suggestion:
    shipped = default_path(source.kind).read_text(encoding="utf-8")
    connector = connector_for(source)
    try:
        catalogue = connector.field_catalogue()
    finally:
        connector.close()
    if catalogue is None:
        return Suggestion(shipped, [f"no field catalogue from this {source.kind} source (not "
                                    "published, or not readable by the account): this is the "
                                    "shipped default, which reads stock fields first"])
    compiled = load_mapping([default_path(source.kind)], source.kind)
    if any(f.table for f in catalogue):
        text, renamed = _rename_columns(shipped, compiled, catalogue)
        text, dropped = _drop_failing_examples(text, source.kind)
        renamed += [f"example {name!r} dropped: it reads fields this instance lacks" for name in dropped]
        return Suggestion(text, renamed)
    wanted = compiled.custom_fields
    chosen: dict[str, str | None] = {}
    notes: list[str] = []
    for name, default_id in wanted.items():
        taken = {f for f in chosen.values() if f}
        found, why = _match(name, default_id, [f for f in catalogue if f.id not in taken])
        chosen[name] = found
        notes.append(f"{name}: {why}")
    text = _rewrite_custom_fields(shipped, chosen)
    text = _rewrite_ids(text, {d: f for n, d in wanted.items() if (f := chosen.get(n)) and f != d})
    text, dropped = _drop_failing_examples(text, source.kind)
    notes += [f"example {name!r} dropped: it reads fields this instance lacks" for name in dropped]
    return Suggestion(text, notes)


def _match(name: str, default_id: str, catalogue: list[FieldInfo]) -> tuple[str | None, str]:
    """The catalogue comes best first among fields sharing a name (the connector's rule)."""
    exact = [f for f in catalogue if f.name == name]
    if not exact:
        exact = [f for f in catalogue if f.name.casefold() == name.casefold()]
    if exact:
        pick = exact[0]
        return pick.id, f"{pick.id} ({pick.name!r}, {pick.type or 'untyped'})"
    wanted_type = next((f.type for f in catalogue if f.id == default_id), None)
    names = [f.name for f in catalogue if wanted_type is None or f.type == wanted_type]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.85)
    if close:
        pick = next(f for f in catalogue if f.name == close[0])
        return pick.id, f"{pick.id}: closest name {pick.name!r} (check it is the same field)"
    return None, "not on this instance (its reads stay empty)"


def _rename_columns(text: str, compiled: CompiledMapping,
                    catalogue: list[FieldInfo]) -> tuple[str, list[str]]:
    custom = compiled.dialect.custom_field
    columns: dict[str, set[str]] = {}
    for info in catalogue:
        if info.table:
            columns.setdefault(info.table, set()).add(info.id)
    renames: dict[str, set[str]] = {}
    notes: list[str] = []
    for stream, reads in sorted(raw_paths(compiled).items()):
        have = columns.get(stream)
        if have is None:
            continue
        read = {parse_path(p).head for group in reads for p in group} - {None}
        own = sorted(c for c in read if c and custom and re.fullmatch(custom, c))
        spare = sorted(c for c in have - read if custom and re.fullmatch(custom, c))
        for column in own:
            if column in have:
                continue
            close = difflib.get_close_matches(column, spare, n=1, cutoff=0.8)
            if close:
                renames.setdefault(column, set()).add(close[0])
                notes.append(f"{stream}.{column}: {close[0]} (closest name; check it is the same)")
            else:
                notes.append(f"{stream}.{column}: not on this instance (read as empty; the "
                             "stock field after it serves)")
    clean = {old: next(iter(new)) for old, new in renames.items() if len(new) == 1}
    for old in sorted(set(renames) - set(clean)):
        notes.append(f"{old}: tables disagree on its new name ({', '.join(sorted(renames[old]))}); "
                     "left as it is")
    if clean:
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, clean)) + r")\b")
        text = pattern.sub(lambda m: clean[m.group(1)], text)
    return text, notes


def _rewrite_custom_fields(text: str, chosen: dict[str, str | None]) -> str:
    def line(match: re.Match[str]) -> str:
        name = match.group(2).strip()
        if name not in chosen:
            return match.group(0)
        value = chosen[name] or "null"
        return f"{match.group(1)}{match.group(2)}: {value}\n"
    block = re.search(r"^  custom_fields:\n((?:    .*\n|\s*#.*\n)+)", text, re.M)
    if block is None:
        raise ConfigError("the shipped mapping has no meta.custom_fields block to rewrite")
    body = re.sub(r"^(    )([^#:\n][^:\n]*): *\S+\n", line, block.group(1), flags=re.M)
    return text[:block.start(1)] + body + text[block.end(1):]


def _rewrite_ids(text: str, renamed: dict[str, str]) -> str:
    """Field ids in example records, all at once (a new id may equal another's old id)."""
    head, sep, examples = text.partition("\nexamples:")
    if not renamed or not sep:
        return text
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, renamed)) + r")\b")
    return head + sep + pattern.sub(lambda m: renamed[m.group(1)], examples)


def _drop_failing_examples(text: str, kind: str) -> tuple[str, list[str]]:
    head, sep, examples = text.partition("\nexamples:\n")
    if not sep:
        return text, []
    chunks = re.split(r"(?m)^(?=  - name: )", examples)
    with tempfile.TemporaryDirectory() as tmp:
        draft = Path(tmp) / f"{kind}.yaml"
        # the template is looked up next to the file: keep `default`, which needs no file
        draft.write_text(text, encoding="utf-8")
        failing = {r.name for r in run_examples(load_mapping([draft], kind)) if not r.ok}
    kept, dropped = [], []
    for chunk in chunks:
        found = re.match(r"  - name: (.+)", chunk)
        name = found.group(1).strip().strip("'\"") if found else None
        if name in failing:
            dropped.append(name)
        else:
            kept.append(chunk)
    return head + sep + "".join(kept), dropped
