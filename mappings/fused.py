"""Readers specialised when a mapping is bound: the common shapes of a field read and
coerced in one call, giving exactly what the general form (`values.compile_value` then the
target's coercer) gives.

Mapping costs a few Python calls per field and record; most fields of the shipped defaults
are a bare path of a few keys, a `first_of` of such paths, or such a path with a transform
or two. Set `ENABLED` false and binding builds the general form everywhere (value tables,
conditions and the classification choice included): tests/mappings/test_specialised_equal.py
maps with both and compares.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mappings.paths import FieldPath, Getter, resolve_names

Fn = Callable[[Any], Any]

ENABLED = True

_MISS = (KeyError, IndexError, TypeError)
_PARTS = ("value", "display_value", "link")


def key_path(path: FieldPath, catalogue: Mapping[str, str], unwrap_value: bool,
             max_keys: int = 3) -> tuple[tuple[Any, ...], bool] | None:
    """(keys, unwrap) when `paths.compile_getter` reads `path` as a plain key getter (up
    to `max_keys` keys, or one or two with the ServiceNow value unwrapped); else None."""
    if not ENABLED or path.special is not None:
        return None
    steps = resolve_names(path, catalogue)
    if not steps or any(s.kind != "key" for s in steps):
        return None
    keys = tuple(s.name for s in steps)
    unwrap = unwrap_value and keys[-1] not in _PARTS
    if len(keys) > (2 if unwrap else max_keys):
        return None
    return keys, unwrap


def read_as_text(keys: tuple[Any, ...], unwrap: bool, finish: Fn) -> Fn:
    """The key getter then the text coercer `finish` (which a non-empty text passes)."""
    if unwrap:
        if len(keys) == 1:
            (a,) = keys

            def tu1(r: Any) -> Any:
                try:
                    v = r[a]
                except _MISS:
                    return None
                if type(v) is dict:
                    v = v.get("value")
                if type(v) is str:
                    return v or None
                return None if v is None else finish(v)
            return tu1
        a, b = keys

        def tu2(r: Any) -> Any:
            try:
                v = r[a][b]
            except _MISS:
                return None
            if type(v) is dict:
                v = v.get("value")
            if type(v) is str:
                return v or None
            return None if v is None else finish(v)
        return tu2
    if len(keys) == 1:
        (a,) = keys

        def t1(r: Any) -> Any:
            try:
                v = r[a]
            except _MISS:
                return None
            if type(v) is str:
                return v or None
            return None if v is None else finish(v)
        return t1
    if len(keys) == 2:
        a, b = keys

        def t2(r: Any) -> Any:
            try:
                v = r[a][b]
            except _MISS:
                return None
            if type(v) is str:
                return v or None
            return None if v is None else finish(v)
        return t2
    a, b, c = keys

    def t3(r: Any) -> Any:
        try:
            v = r[a][b][c]
        except _MISS:
            return None
        if type(v) is str:
            return v or None
        return None if v is None else finish(v)
    return t3


def read_as(keys: tuple[Any, ...], unwrap: bool, finish: Fn) -> Fn:
    """The key getter then `finish` on a present value (a coercer that keeps None as None)."""
    if unwrap:
        if len(keys) == 1:
            (a,) = keys

            def vu1(r: Any) -> Any:
                try:
                    v = r[a]
                except _MISS:
                    return None
                if type(v) is dict:
                    v = v.get("value")
                return None if v is None or v == "" else finish(v)
            return vu1
        a, b = keys

        def vu2(r: Any) -> Any:
            try:
                v = r[a][b]
            except _MISS:
                return None
            if type(v) is dict:
                v = v.get("value")
            return None if v is None or v == "" else finish(v)
        return vu2
    if len(keys) == 1:
        (a,) = keys

        def v1(r: Any) -> Any:
            try:
                v = r[a]
            except _MISS:
                return None
            return None if v is None or v == "" else finish(v)
        return v1
    if len(keys) == 2:
        a, b = keys

        def v2(r: Any) -> Any:
            try:
                v = r[a][b]
            except _MISS:
                return None
            return None if v is None or v == "" else finish(v)
        return v2
    a, b, c = keys

    def v3(r: Any) -> Any:
        try:
            v = r[a][b][c]
        except _MISS:
            return None
        return None if v is None or v == "" else finish(v)
    return v3


def first_present(getters: Sequence[Getter], finish: Fn | None = None, text: bool = False) -> Fn:
    """`first_of` over path getters (which never give `""`), then `finish` on the value
    found (none: the value itself; `text`: a text passes without the call)."""
    if len(getters) == 1:
        (g0,) = getters

        def f1(r: Any) -> Any:
            v = g0(r)
            if v is None or v == []:
                return None
            if finish is None or (text and type(v) is str):
                return v
            return finish(v)
        return f1
    if len(getters) == 2:
        g0, g1 = getters

        def f2(r: Any) -> Any:
            v = g0(r)
            if v is None or v == []:
                v = g1(r)
                if v is None or v == []:
                    return None
            if finish is None or (text and type(v) is str):
                return v
            return finish(v)
        return f2

    def fn(r: Any) -> Any:
        for g in getters:
            v = g(r)
            if v is not None and v != []:
                if finish is None or (text and type(v) is str):
                    return v
                return finish(v)
        return None
    return fn


def read_steps(keys: tuple[Any, ...], unwrap: bool, steps: Sequence[tuple[Fn, bool]],
               finish: Fn | None, drop_empty_list: bool = False, text: bool = False) -> Fn:
    """The key getter, then `transforms.compile_chain`'s steps ((function, per element)),
    then `finish` when given, in one call. `drop_empty_list`: an empty list read counts as
    missing (a `first_of` of this one path); `text`: `finish` is the text coercer."""
    n = len(keys)
    a, b, c, d = (*keys, None, None, None)[:4]
    if len(steps) == 1 and steps[0][1]:
        only = steps[0][0]

        def one(r: Any) -> Any:
            try:
                v = r[a]
                if n > 1:
                    v = v[b]
                    if n > 2:
                        v = v[c]
                        if n > 3:
                            v = v[d]
            except _MISS:
                v = None
            else:
                if unwrap and type(v) is dict:
                    v = v.get("value")
                if v == "" or (drop_empty_list and v == []):
                    v = None
            if v is not None:
                v = [only(x) for x in v if x is not None] if type(v) is list else only(v)
            if finish is None:
                return v
            if text and type(v) is str:
                return v or None
            return finish(v)
        return one

    def chain(r: Any) -> Any:
        try:
            v = r[a]
            if n > 1:
                v = v[b]
                if n > 2:
                    v = v[c]
                    if n > 3:
                        v = v[d]
        except _MISS:
            v = None
        else:
            if unwrap and type(v) is dict:
                v = v.get("value")
            if v == "" or (drop_empty_list and v == []):
                v = None
        for fn, elementwise in steps:
            if not elementwise:
                v = fn(v)
            elif v is None:
                continue
            elif type(v) is list:
                v = [fn(x) for x in v if x is not None]
            else:
                v = fn(v)
        if finish is None:
            return v
        if text and type(v) is str:
            return v or None
        return finish(v)
    return chain


def first_keys(paths: Sequence[tuple[tuple[Any, ...], bool]], finish: Fn | None = None,
               text: bool = False) -> Fn:
    """`first_present` over key paths ((keys, unwrap) of `key_path`), each read inline."""
    parts = [(*(*keys, None, None, None)[:4], len(keys), unwrap) for keys, unwrap in paths]

    def fk(r: Any) -> Any:
        for a, b, c, d, n, unwrap in parts:
            try:
                v = r[a]
                if n > 1:
                    v = v[b]
                    if n > 2:
                        v = v[c]
                        if n > 3:
                            v = v[d]
            except _MISS:
                continue
            if unwrap and type(v) is dict:
                v = v.get("value")
            if v is None or v == "" or v == []:
                continue
            if finish is None or (text and type(v) is str):
                return v
            return finish(v)
        return None
    return fk
