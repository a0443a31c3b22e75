"""`extends:` — a mapping file that states only what differs from another (the shipped
default, or a file beside it).

The base is loaded (itself possibly extending another, up to MAX_DEPTH) and the file is
merged over it as data, before validation, so every later check sees one mapping and each
problem is still reported at its own file and line:

- `meta`, `knowledge`: keys of the file replace the base's;
- `tables`, `lookups`: entries by name, the file's replacing the base's;
- `projects`, `tickets`: rules by `name`, replaced in place; new rules after the base's;
- `classification`: `practices` added to the base's catalogue (the standard one when the
  base names none); `rules` by `name`, replaced in place, new rules *before* the base's
  (first match wins, so an added rule takes effect); `default` replaced; `teams.values`
  merged, its other keys replaced;
- `gate`: `items` by `key`, each item's keys merged over the base item's (so
  `{key: sla, enabled: false}` switches one off), new items after; `acceptance` replaced;
- `examples`: the file's own only (the base's describe the base).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bridge.errors import ConfigError, Issue
from bridge.yamlfile import PathKey, YamlDocument, did_you_mean, load_yaml
from connectors.base import dialects

MAX_DEPTH = 5
DEFAULT = "default"


class MergedDocument(YamlDocument):
    """Merged data whose every node still knows the file and position it came from."""

    def __init__(self, file: str, data: Any, origins: dict[PathKey, tuple[YamlDocument, PathKey]]) -> None:
        super().__init__(file, data, {})
        self.origins = origins

    def _source(self, path: PathKey) -> tuple[YamlDocument, PathKey]:
        key = path
        while True:
            if key in self.origins:
                doc, at = self.origins[key]
                return doc, (*at, *path[len(key):])
            if not key:
                raise KeyError(path)
            key = key[:-1]

    def position(self, path: Iterable[str | int]) -> tuple[int | None, int | None]:
        doc, at = self._source(tuple(path))
        return doc.position(at)

    def issue(self, path: Iterable[str | int], message: str) -> Issue:
        """At the file and position the node came from, by its path in that file (what
        the admin sees there, not its place in the merged list)."""
        doc, at = self._source(tuple(path))
        return doc.issue(at, message)


def resolve_extends(doc: YamlDocument, default_for: Any, depth: int = 0,
                    seen: tuple[str, ...] = ()) -> YamlDocument:
    """`doc` merged over what it extends (unchanged without `extends:`). `default_for(kind)`
    gives the shipped default's path for a kind."""
    data = doc.data
    if not isinstance(data, dict) or "extends" not in data:
        return doc
    target = data["extends"]
    if not isinstance(target, str) or not target.strip():
        raise ConfigError(doc.file, [doc.issue(("extends",), "extends names `default` or a "
                                               "mapping file beside this one")])
    if depth >= MAX_DEPTH:
        raise ConfigError(doc.file, [doc.issue(("extends",), f"more than {MAX_DEPTH} files "
                                               "extend one another")])
    meta = data.get("meta")
    kind = meta.get("kind") if isinstance(meta, dict) else None
    if target == DEFAULT:
        if not isinstance(kind, str):
            raise ConfigError(doc.file, [doc.issue(("meta",), "extends: default needs meta.kind "
                                                   "(whose default to extend)")])
        try:
            path = Path(default_for(kind))
        except (ConfigError, KeyError, ValueError):
            # a misspelt kind: extend the kind it most likely means, so the file's other
            # errors still show (the loader names the misspelling)
            close = did_you_mean(kind, sorted(dialects()))
            if close is None:
                raise ConfigError(doc.file, [doc.issue(("meta", "kind"), f"no shipped default "
                                                       f"for kind {kind!r}")]) from None
            path = Path(default_for(close))
    else:
        path = Path(doc.file).parent / target
        if not path.exists():
            hint = "; did you mean 'default'?" if did_you_mean(target, [DEFAULT]) else ""
            raise ConfigError(doc.file, [doc.issue(("extends",), f"no mapping file {target!r} "
                                                   f"beside this one{hint}")])
    if str(path.resolve()) in seen:
        raise ConfigError(doc.file, [doc.issue(("extends",), f"{target!r} extends this file "
                                               "again (a circle)")])
    base = resolve_extends(_load_base(path), default_for, depth + 1,
                           (*seen, str(Path(doc.file).resolve())))
    if not isinstance(base.data, dict):
        raise ConfigError(doc.file, [doc.issue(("extends",), f"{target!r} is not a mapping file")])
    return _merge(base, doc)


_BASES: dict[tuple[str, str], YamlDocument] = {}


def _load_base(path: Path) -> YamlDocument:
    """A base file, parsed once per content (the shipped defaults are extended by every
    source and on every reload); each caller gets its own copy of the data."""
    try:
        raw = path.read_bytes()
    except OSError:
        return load_yaml(path)  # reports it
    key = (str(path), hashlib.sha256(raw).hexdigest())
    doc = _BASES.get(key)
    if doc is None:
        doc = load_yaml(path)
        if len(_BASES) >= 16:
            _BASES.clear()
        _BASES[key] = doc
    return YamlDocument(doc.file, copy.deepcopy(doc.data), doc.positions)


def _merge(base: YamlDocument, top: YamlDocument) -> MergedDocument:
    origins: dict[PathKey, tuple[YamlDocument, PathKey]] = {(): (top, ())}
    merged: dict[str, Any] = {}
    b, t = base.data, top.data

    def take(doc: YamlDocument, at: PathKey, dest: PathKey, value: Any) -> Any:
        origins[dest] = (doc, at)
        return value

    for section, value in b.items():
        if section == "examples":
            continue
        merged[section] = take(base, (section,), (section,), value)
    for section, value in t.items():
        if section == "extends":
            continue
        old = merged.get(section)
        if section in ("meta", "knowledge", "tables", "lookups") and isinstance(old, dict) \
                and isinstance(value, dict):
            merged[section] = _by_name(base, top, section, old, value, origins)
        elif section in ("projects", "tickets") and isinstance(old, list) and isinstance(value, list):
            merged[section] = _rules(base, top, (section,), old, value, "name", origins, False)
        elif section == "classification" and isinstance(old, dict) and isinstance(value, dict):
            merged[section] = _classification(base, top, old, value, origins)
        elif section == "gate" and isinstance(old, dict) and isinstance(value, dict):
            merged[section] = _gate(base, top, old, value, origins)
        else:
            merged[section] = take(top, (section,), (section,), value)
    return MergedDocument(top.file, merged, origins)


def _inherit(base: YamlDocument, at: PathKey, old: dict[str, Any],
             origins: dict[PathKey, tuple[YamlDocument, PathKey]]) -> dict[str, Any]:
    """A copy of the base's section at `at`, each entry remembered as the base's."""
    origins[at] = (base, at)
    for name in old:
        origins[(*at, name)] = (base, (*at, name))
    return dict(old)


def _by_name(base: YamlDocument, top: YamlDocument, section: str, old: dict[str, Any],
             new: dict[str, Any], origins: dict[PathKey, tuple[YamlDocument, PathKey]],
             prefix: PathKey = ()) -> dict[str, Any]:
    """Entries by key, the top file's replacing the base's."""
    at = (*prefix, section)
    out = _inherit(base, at, old, origins)
    for name, value in new.items():
        out[name] = value
        origins[(*at, name)] = (top, (*at, name))
    return out


def _rules(base: YamlDocument, top: YamlDocument, at: PathKey, old: list[Any], new: list[Any],
           key: str, origins: dict[PathKey, tuple[YamlDocument, PathKey]],
           new_first: bool, merge_items: bool = False) -> list[Any]:
    """List entries matched by `key`: replaced (or merged) in place; the rest added after
    the base's entries, or before them with `new_first`."""
    index = {r.get(key): i for i, r in enumerate(old) if isinstance(r, dict) and r.get(key)}
    placed: list[tuple[YamlDocument, PathKey, Any]] = [(base, (*at, i), r) for i, r in enumerate(old)]
    added: list[tuple[YamlDocument, PathKey, Any]] = []
    for j, rule in enumerate(new):
        name = rule.get(key) if isinstance(rule, dict) else None
        if name is not None and name in index:
            i = index[name]
            if merge_items and isinstance(old[i], dict):
                placed[i] = (top, (*at, j), {**old[i], **rule})
            else:
                placed[i] = (top, (*at, j), rule)
        else:
            added.append((top, (*at, j), rule))
    ordered = [*added, *placed] if new_first else [*placed, *added]
    out = []
    for n, (doc, source_at, value) in enumerate(ordered):
        origins[(*at, n)] = (doc, source_at)
        out.append(value)
    origins[at] = (top, at)
    return out


def _classification(base: YamlDocument, top: YamlDocument, old: dict[str, Any],
                    new: dict[str, Any], origins: dict[PathKey, tuple[YamlDocument, PathKey]]
                    ) -> dict[str, Any]:
    from mappings.practices import CATALOGUE

    at: PathKey = ("classification",)
    out = _inherit(base, at, old, origins)
    for name, value in new.items():
        current = out.get(name)
        if name == "practices" and isinstance(value, dict):
            catalogue = current if isinstance(current, dict) else {
                p.name: p.capability.value for p in CATALOGUE}
            out[name] = _by_name(base, top, "practices", catalogue, value, origins, at)
        elif name == "rules" and isinstance(value, list) and isinstance(current, list):
            out[name] = _rules(base, top, (*at, "rules"), current, value, "name", origins, True)
        elif name == "teams" and isinstance(value, dict) and isinstance(current, dict):
            teams = {**current, **{k: v for k, v in value.items() if k != "values"}}
            origins[(*at, "teams")] = (top, (*at, "teams"))
            if isinstance(value.get("values"), dict) and isinstance(current.get("values"), dict):
                teams["values"] = _by_name(base, top, "values", current["values"], value["values"],
                                           origins, (*at, "teams"))
            elif "values" in current and "values" not in value:
                origins[(*at, "teams", "values")] = (base, (*at, "teams", "values"))
            out[name] = teams
        else:
            out[name] = value
            origins[(*at, name)] = (top, (*at, name))
    return out


def _gate(base: YamlDocument, top: YamlDocument, old: dict[str, Any], new: dict[str, Any],
          origins: dict[PathKey, tuple[YamlDocument, PathKey]]) -> dict[str, Any]:
    at: PathKey = ("gate",)
    out = _inherit(base, at, old, origins)
    for name, value in new.items():
        current = out.get(name)
        if name == "items" and isinstance(value, list) and isinstance(current, list):
            out[name] = _rules(base, top, (*at, "items"), current, value, "key", origins, False,
                               merge_items=True)
        else:
            out[name] = value
            origins[(*at, name)] = (top, (*at, name))
    return out
