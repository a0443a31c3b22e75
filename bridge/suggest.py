"""`smo-bridge mappings suggest`: a draft mapping for one instance, from its own field catalogue.

Starts from the shipped default of the source's kind and points each custom field the
mapping reads by display name (`meta.custom_fields`) at the instance's field of that name
(the connector's own name rule), else at the instance's closest name with the same value
type, else at nothing (null: the reads stay empty and say so). Example records are
rewritten to the chosen ids; an example that no longer holds (it needs a field the instance
lacks) is dropped with a comment, so the draft validates and passes `mappings test`.
"""

from __future__ import annotations

import difflib
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bridge.errors import ConfigError
from connectors.base import FieldInfo, SourceConfig, connector_for
from mappings import load_mapping, run_examples
from mappings.loader import default_path


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
        return Suggestion(shipped, [f"a {source.kind} source publishes no field catalogue: this is "
                                    "the shipped default, which reads stock fields first"])
    wanted = load_mapping([default_path(source.kind)], source.kind).custom_fields
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
