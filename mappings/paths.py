"""Field paths: parse `fields.components[0].name` once, then read records with a fast getter.

Grammar (no expressions, nothing evaluated):

    path    := root step*
    root    := NAME | '["' TEXT '"]' | '$stream'
    step    := '.' NAME | '[' INT ']' | '[*]' | '["' TEXT '"]'

`[*]` fans out over a list (results are flattened into one list). A quoted step
`["Go-live date"]` is a *named* step: at bind time it is looked up in the field
catalogue (Jira custom fields by display name) and falls back to the literal key.
`$stream` is the raw record's stream name (e.g. the ServiceNow table).

A getter returns None when any step is missing, the wrong type, null or empty text:
real instances send an unset field as `""` (ServiceNow) or null (Jira), and mapping
treats absent, null and `""` alike, and so do admins. Fan-outs drop empty elements.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Getter = Callable[[Any], Any]

StepKind = Literal["key", "index", "all", "named"]


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    name: str = ""
    index: int = 0

    def __str__(self) -> str:
        if self.kind == "key":
            return self.name
        if self.kind == "index":
            return f"[{self.index}]"
        if self.kind == "all":
            return "[*]"
        return f'["{self.name}"]'


@dataclass(frozen=True, slots=True)
class FieldPath:
    text: str
    steps: tuple[Step, ...]
    special: Literal["stream"] | None = None

    @property
    def head(self) -> str | None:
        """The first key, e.g. `fields` or `raw`; None for `$stream` or a named root."""
        if self.special or not self.steps or self.steps[0].kind != "key":
            return None
        return self.steps[0].name

    @property
    def fans_out(self) -> bool:
        return any(s.kind == "all" for s in self.steps)

    def tail(self, skip: int = 1) -> FieldPath:
        rest = self.steps[skip:]
        return FieldPath("".join(_render(rest)), rest)


class PathError(ValueError):
    pass


_TOKEN = re.compile(
    r"""\.?(?P<name>[^.\[\]"'\s]+)            # .name (or the bare first name)
      | \[(?P<index>-?\d+)\]                  # [3]
      | \[(?P<all>\*)\]                       # [*]
      | \[\s*(?P<q>["'])(?P<quoted>.+?)(?P=q)\s*\]   # ["Display name"]
    """,
    re.VERBOSE,
)


def parse_path(text: str) -> FieldPath:
    """Parse a path; PathError (a ValueError) says where it went wrong."""
    if not isinstance(text, str) or not text.strip():
        raise PathError("empty field path")
    text = text.strip()
    if text == "$stream":
        return FieldPath(text, (), "stream")
    steps: list[Step] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos or (pos == 0 and text[0] == "."):
            raise PathError(f"invalid field path {text!r} at character {pos + 1}")
        if match.group("name") is not None:
            if pos > 0 and text[pos] != ".":
                raise PathError(f"invalid field path {text!r}: missing '.' at character {pos + 1}")
            steps.append(Step("key", match.group("name")))
        elif match.group("index") is not None:
            steps.append(Step("index", index=int(match.group("index"))))
        elif match.group("all") is not None:
            steps.append(Step("all"))
        else:
            steps.append(Step("named", match.group("quoted")))
        pos = match.end()
    return FieldPath(text, tuple(steps))


def named_field_path(name: str, head: str | None) -> FieldPath:
    """`field: NAME`: the field of that display name under the kind's field head (its
    dialect's `field_head`, e.g. `fields`), resolved through the field catalogue."""
    return parse_path(f'{head}["{name}"]' if head else f'["{name}"]')


def _render(steps: tuple[Step, ...]) -> list[str]:
    out: list[str] = []
    for i, step in enumerate(steps):
        out.append(("." if i and step.kind == "key" else "") + str(step))
    return out


def resolve_names(path: FieldPath, catalogue: Mapping[str, str]) -> tuple[Step, ...]:
    """Turn named steps into keys: the catalogue's id for a display name, else the name itself."""
    return tuple(
        Step("key", catalogue.get(s.name, s.name)) if s.kind == "named" else s for s in path.steps
    )


def _unwrap(value: Any) -> Any:
    # ServiceNow display_value=all: {"value", "display_value", "link"?}; a bare path means the value
    if type(value) is dict and "value" in value:
        return value["value"]
    return value


def compile_getter(
    path: FieldPath,
    catalogue: Mapping[str, str] | None = None,
    *,
    unwrap_value: bool = False,
) -> Getter:
    """A function payload -> value (None when absent). Specialised for short key-only paths.

    `$stream` is not handled here: it is a constant per stream, see `values.py`.
    """
    steps = resolve_names(path, catalogue or {})
    if unwrap_value and steps and steps[-1].kind == "key" and steps[-1].name in (
        "value", "display_value", "link",
    ):
        unwrap_value = False  # the admin chose the part explicitly
    if unwrap_value and 1 <= len(steps) <= 2 and all(s.kind == "key" for s in steps):
        return _unwrap_key_getter(tuple(s.name for s in steps))
    getter = _getter(steps)
    if not unwrap_value:
        return getter
    if any(s.kind == "all" for s in steps):
        def fan_unwrap(record: Any) -> Any:
            found = getter(record)
            if type(found) is not list:
                return found
            return [v for v in map(_unwrap, found) if v is not None and v != ""]
        return fan_unwrap

    def unwrapped(record: Any) -> Any:
        value = getter(record)
        if type(value) is dict and "value" in value:
            value = value["value"]
        return None if value == "" else value
    return unwrapped


_MISS = (KeyError, IndexError, TypeError)


def _getter(steps: tuple[Step, ...]) -> Getter:
    if all(s.kind == "key" for s in steps):
        keys = tuple(s.name for s in steps)
        return _key_getter(keys)
    fast = _fan_getter(steps)
    if fast is not None:
        return fast
    if not any(s.kind == "all" for s in steps):
        parts: tuple[str | int, ...] = tuple(s.name if s.kind == "key" else s.index for s in steps)

        def walk(record: Any) -> Any:
            value = record
            try:
                for part in parts:
                    if type(part) is str and type(value) is not dict:
                        return None
                    value = value[part]
            except _MISS:
                return None
            return None if value == "" else value
        return walk

    def fan(record: Any) -> Any:
        current: list[Any] = [record]
        fanned = False
        for step in steps:
            following: list[Any] = []
            for value in current:
                if step.kind == "all":
                    if type(value) is list:
                        following.extend(value)
                    continue
                try:
                    if step.kind == "key":
                        if type(value) is dict:
                            following.append(value[step.name])
                    else:
                        following.append(value[step.index])
                except _MISS:
                    pass
            current = [v for v in following if v is not None and v != ""]
            fanned = fanned or step.kind == "all"
        if fanned:
            return current
        return current[0] if current else None
    return fan


def _fan_getter(steps: tuple[Step, ...]) -> Getter | None:
    """`a.b[*]` and `a.b[*].c`, the common fan-outs (labels, component names), unrolled."""
    kinds = [s.kind for s in steps]
    if kinds.count("all") != 1 or any(k not in ("key", "all") for k in kinds):
        return None
    at = kinds.index("all")
    head = _key_getter(tuple(s.name for s in steps[:at])) if at else (lambda r: r)
    rest = [s.name for s in steps[at + 1:]]
    if not rest:
        def fan0(r: Any) -> Any:
            found = head(r)
            return [v for v in found if v is not None and v != ""] if type(found) is list else []
        return fan0
    if len(rest) == 1:
        key = rest[0]

        def fan1(r: Any) -> Any:
            found = head(r)
            if type(found) is not list:
                return []
            return [v[key] for v in found
                    if type(v) is dict and v.get(key) is not None and v[key] != ""]
        return fan1
    return None


def _unwrap_key_getter(keys: tuple[str, ...]) -> Getter:
    # the ServiceNow hot path: `number`, `assignment_group.display_value`
    if len(keys) == 1:
        (a,) = keys

        def u1(r: Any) -> Any:
            try:
                v = r[a]
            except _MISS:
                return None
            if type(v) is dict:
                v = v.get("value")
            return None if v == "" else v
        return u1
    a, b = keys

    def u2(r: Any) -> Any:
        try:
            v = r[a][b]
        except _MISS:
            return None
        if type(v) is dict:
            v = v.get("value")
        return None if v == "" else v
    return u2


def _key_getter(keys: tuple[str, ...]) -> Getter:
    # unrolled for the common depths: this is the per-record hot path
    if len(keys) == 1:
        (a,) = keys

        def g1(r: Any) -> Any:
            try:
                v = r[a]
            except _MISS:
                return None
            return None if v == "" else v
        return g1
    if len(keys) == 2:
        a, b = keys

        def g2(r: Any) -> Any:
            try:
                v = r[a][b]
            except _MISS:
                return None
            return None if v == "" else v
        return g2
    if len(keys) == 3:
        a, b, c = keys

        def g3(r: Any) -> Any:
            try:
                v = r[a][b][c]
            except _MISS:
                return None
            return None if v == "" else v
        return g3

    def gn(r: Any) -> Any:
        try:
            for k in keys:
                r = r[k]
        except _MISS:
            return None
        return None if r == "" else r
    return gn


def compile_object_getter(path: FieldPath) -> Getter:
    """A getter over canonical objects (Project/Ticket) as well as dicts: attribute, then key."""
    steps = path.steps

    def get(obj: Any) -> Any:
        current: list[Any] = [obj]
        fanned = False
        for step in steps:
            following: list[Any] = []
            for value in current:
                if step.kind == "all":
                    if isinstance(value, list):
                        following.extend(value)
                    continue
                if step.kind in ("key", "named"):
                    if isinstance(value, dict):
                        following.append(value.get(step.name))
                    else:
                        following.append(getattr(value, step.name, None))
                elif isinstance(value, list) and -len(value) <= step.index < len(value):
                    following.append(value[step.index])
            current = [v for v in following if v is not None]
            fanned = fanned or step.kind == "all"
        if fanned:
            return current
        return current[0] if current else None
    return get


#: a projection trie: key -> the parts of its value kept (None: all of it)
_Trie = dict[str, "_Trie | None"]


def projector(paths: list[tuple[Step, ...]]) -> Getter:
    """A function record -> a copy holding only what these (resolved) paths reach, such that
    every getter of one of the paths reads the same from the copy as from the record. Keys
    are followed as far as the path has key steps; below that (an index, a fan-out, the
    path's end) the value is kept whole."""
    trie: _Trie = {}
    for steps in paths:
        keys = []
        for step in steps:
            if step.kind != "key":
                break
            keys.append(step.name)
        if not keys:
            return _whole  # a path starting with an index reads the record itself
        node: _Trie = trie
        for key in keys[:-1]:
            sub = node.setdefault(key, {})
            if sub is None:
                break  # a shorter path keeps this value whole already
            node = sub
        else:
            node[keys[-1]] = None

    def project(record: Any) -> Any:
        return _project(record, trie)
    return project


def _project(value: Any, trie: _Trie) -> Any:
    if type(value) is not dict:
        return value
    out = {}
    for key, sub in trie.items():
        if key in value:
            out[key] = value[key] if sub is None else _project(value[key], sub)
    return out


def _whole(record: Any) -> Any:
    return record
