"""Field values: a FieldValue spec compiled into `payload -> value`, and the coercion of that
value into the canonical field's type.

The compiled mapping guarantees each canonical field's type through these coercers, which
is why `compile.py` may build models with `model_construct` instead of validating each one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from mappings import fused
from mappings.parsing import map_key, parse_bool, parse_date, parse_datetime
from mappings.paths import (
    FieldPath,
    Getter,
    Step,
    compile_getter,
    named_field_path,
    parse_path,
    resolve_names,
)
from mappings.schema import FieldSpec, FieldValue
from mappings.transforms import (
    LookupTransform,
    TransformContext,
    TransformError,
    compile_chain,
    compile_step,
)

Fn = Callable[[Any], Any]
Target = Literal["str", "list", "date", "datetime", "float", "bool", "status_category", "any"]

STATUS_CATEGORIES = ("todo", "in_progress", "done")
_fromisoformat = datetime.fromisoformat


@dataclass
class ValueEnv:
    """What a value compiles against: the transform context and the stream (for `$stream`)."""

    ctx: TransformContext
    stream: str

    def getter(self, path: FieldPath) -> Getter:
        if path.special == "stream":
            stream = self.stream
            return lambda _r: stream
        return compile_getter(path, self.ctx.catalogue, unwrap_value=self.ctx.unwrap_value)


def spec_path(spec: FieldSpec, field_head: str | None) -> FieldPath:
    if spec.field is not None:
        return named_field_path(spec.field, field_head)
    assert spec.path is not None
    return parse_path(spec.path)


def describe_value(spec: FieldValue) -> str:
    """A short text of where a value comes from, for explanations."""
    if isinstance(spec, str):
        return spec
    if spec.path is not None:
        return spec.path
    if spec.field is not None:
        return f"field {spec.field!r}"
    if spec.first_of is not None:
        return "first_of(" + ", ".join(describe_value(s) for s in spec.first_of) + ")"
    if spec.concat is not None:
        return "concat(" + ", ".join(describe_value(s) for s in spec.concat) + ")"
    return f"value {spec.value!r}"


def _bare_path(spec: FieldValue, env: ValueEnv) -> FieldPath | None:
    """The path of a value that is only a path (no transforms, no default); else None."""
    if isinstance(spec, str):
        return parse_path(spec)
    if (spec.path is None and spec.field is None) or spec.transforms or (
            "default" in spec.model_fields_set):
        return None
    return spec_path(spec, env.ctx.field_head)


def _plain_paths(specs: list[FieldValue], env: ValueEnv) -> list[FieldPath] | None:
    """The paths of `first_of` parts that are all bare paths of key steps (whose getters
    never give `""`), when specialising; else None."""
    paths = [_bare_path(s, env) for s in specs]
    if not fused.ENABLED or any(p is None or p.special is not None or p.fans_out for p in paths):
        return None
    return paths  # type: ignore[return-value]


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != []


def compile_value(spec: FieldValue, env: ValueEnv, finish: Fn | None = None) -> Fn:
    """payload -> value after transforms and default; None means missing. With `finish`
    (a coercer): payload -> finish(value), folded into the last step where it can be."""
    if isinstance(spec, str):
        return _then(env.getter(parse_path(spec)), finish)
    stream_constant = spec.path is not None and parse_path(spec.path).special == "stream" and (
        not any(isinstance(t, LookupTransform) for t in spec.transforms))
    has_default = "default" in spec.model_fields_set
    last = None if stream_constant or has_default else finish  # the transforms' or the base's
    base: Fn
    if spec.path is not None or spec.field is not None:
        base = env.getter(spec_path(spec, env.ctx.field_head))
    elif spec.first_of is not None and (paths := _plain_paths(spec.first_of, env)) is not None:
        base = _first_present(paths, env)
        if not spec.transforms and last is not None and last is not as_list:
            base, last = _first_present(paths, env, last), None
    elif spec.first_of is not None:
        parts = [compile_value(s, env) for s in spec.first_of]
        if not spec.transforms and last is not None and fused.ENABLED:
            base, last = _first_of_then(parts, last), None
        else:
            def first_of(payload: Any) -> Any:
                for part in parts:
                    value = part(payload)
                    if value is not None and value != "" and value != []:
                        return value
                return None
            base = first_of
    elif spec.concat is not None:
        parts = [compile_value(s, env) for s in spec.concat]

        def concat(payload: Any) -> Any:
            out: list[Any] = []
            for part in parts:
                value = part(payload)
                if type(value) is list:
                    out.extend(v for v in value if _present(v))
                elif _present(value):
                    out.append(value)
            return out
        base = concat
    else:
        constant = spec.value
        base = lambda _payload: constant  # noqa: E731 - a constant needs no def
    if not spec.transforms:
        read = _then(base, last)
    elif (steps := _path_steps(spec, env, last)) is not None:
        read = steps
    else:
        chained = compile_chain(list(spec.transforms), env.ctx, base, last)
        assert chained is not None
        read = chained
    if stream_constant:
        # `$stream` is constant per compiled stream: transform it once, at bind time
        try:
            constant = read(None)
        except (ValueError, TypeError):
            pass
        else:
            read = lambda _payload: constant  # noqa: E731
        if not has_default:
            return _then_constant(read, finish)
    if has_default:
        fallback, plain = spec.default, read
        if finish is None:
            def with_default(payload: Any) -> Any:
                value = plain(payload)
                return value if _present(value) else fallback
            read = with_default
        else:
            def with_default_then(payload: Any) -> Any:
                value = plain(payload)
                return finish(value if _present(value) else fallback)
            read = with_default_then
    if spec.first_of is not None or spec.concat is not None:
        return _absent_guard(spec, read, env)
    return read


def _absent_guard(spec: FieldSpec, read: Fn, env: ValueEnv) -> Fn:
    """A `first_of`/`concat` whose sources all lie under one object (say a Jira SLA field
    an instance without Service Management lacks): when that object is absent, the value is
    the one computed once for a record without it, if that is a constant."""
    if not fused.ENABLED:
        return read
    leaves = _leaf_paths(spec, env)
    if not leaves:
        return read
    resolved = [resolve_names(p, env.ctx.catalogue) for p in leaves]
    prefix: list[Step] = []
    for steps in zip(*resolved, strict=False):
        if steps[0].kind != "key" or any(s != steps[0] for s in steps):
            break
        prefix.append(steps[0])
    if len(prefix) < 2 or not any(s.kind == "named" for s in leaves[0].steps[:len(prefix)]):
        return read  # only a field by name (a custom field) is absent often enough to pay
    try:
        absent = read({})
    except (ValueError, TypeError):
        return read
    if absent is not None and type(absent) not in (str, bool, int, float):
        return read
    holder = compile_getter(FieldPath("", tuple(prefix)))

    def guarded(payload: Any) -> Any:
        if holder(payload) is None:
            return absent
        return read(payload)
    return guarded


def _leaf_paths(spec: FieldValue, env: ValueEnv) -> list[FieldPath] | None:
    """Every path a value reads; None when it reads anything else (a lookup's records,
    the stream) or when a path is not a plain one."""
    if isinstance(spec, str):
        path = parse_path(spec)
        return None if path.special else [path]
    if any(isinstance(t, LookupTransform) for t in spec.transforms):
        return None
    if spec.path is not None or spec.field is not None:
        path = spec_path(spec, env.ctx.field_head)
        return None if path.special else [path]
    found: list[FieldPath] = []
    for part in spec.first_of or spec.concat or []:
        leaves = _leaf_paths(part, env)
        if leaves is None:
            return None
        found.extend(leaves)
    return found


def _path_steps(spec: FieldSpec, env: ValueEnv, finish: Fn | None) -> Fn | None:
    """A key path (or a `first_of` of one), its transforms and `finish`, as one call;
    None for another shape."""
    if not spec.transforms:
        return None
    drop_empty_list = False
    if spec.path is not None or spec.field is not None:
        path = spec_path(spec, env.ctx.field_head)
    elif spec.first_of is not None and len(spec.first_of) == 1 and (
            (paths := _plain_paths(spec.first_of, env)) is not None):
        path, drop_empty_list = paths[0], True
    else:
        return None
    found = fused.key_path(path, env.ctx.catalogue, env.ctx.unwrap_value, max_keys=4)
    if found is None:
        return None
    steps = [compile_step(t, env.ctx) for t in spec.transforms]
    return fused.read_steps(*found, steps, finish, drop_empty_list, finish is as_str)


def _first_present(paths: list[FieldPath], env: ValueEnv, finish: Fn | None = None,
                   text: bool = False) -> Fn:
    """`first_of` these paths (then `finish`), key paths read inline."""
    keys = [fused.key_path(p, env.ctx.catalogue, env.ctx.unwrap_value, max_keys=4) for p in paths]
    if all(k is not None for k in keys):
        return fused.first_keys(keys, finish, text)  # type: ignore[arg-type]
    return fused.first_present([env.getter(p) for p in paths], finish, text)


def _first_of_then(parts: list[Fn], finish: Fn) -> Fn:
    text = finish is as_str  # a present text is its own coercion

    def first_of_then(payload: Any) -> Any:
        for part in parts:
            value = part(payload)
            if value is not None and value != "" and value != []:
                if text and type(value) is str:
                    return value
                return finish(value)
        return finish(None)
    return first_of_then


def _then_constant(read: Fn, finish: Fn | None) -> Fn:
    """`_then` of a constant read: coerced once when that gives a value no record can change."""
    if finish is None or not fused.ENABLED:
        return _then(read, finish)
    try:
        value = finish(read(None))
    except (ValueError, TypeError):
        return _then(read, finish)  # it fails each record, as it should
    if value is not None and type(value) not in (str, bool, int, float):
        return _then(read, finish)
    return lambda _payload: value


def _then(read: Fn, finish: Fn | None) -> Fn:
    if finish is None:
        return read

    def then(payload: Any) -> Any:
        return finish(read(payload))
    return then


# ---- coercion into the canonical types --------------------------------------------


def as_str(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        return value or None
    if isinstance(value, dict):
        raise TransformError("expected a text, got an object (choose a part of it, e.g. .name)")
    if isinstance(value, list):
        if len(value) == 1:
            return as_str(value[0])
        if not value:
            return None
        raise TransformError("expected one text, got a list (use the first or join transform)")
    return map_key(value)


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if type(value) is list:
        out = []
        for item in value:
            text = as_str(item)
            if text is not None:
                out.append(text)
        return out
    text = as_str(value)
    return [text] if text is not None else []


def _as_date(value: Any) -> Any:
    if value is None or value == "":
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise TransformError(str(exc)) from None


def _as_datetime(value: Any) -> Any:
    if type(value) is str:
        if len(value) == 19 and value[10] in " T" and value[13] == ":" and value[16] == ":":
            # the ServiceNow form, UTC: as parse_datetime gives it, in one parse
            try:
                return _fromisoformat(value + "+00:00")
            except ValueError:
                pass
        elif len(value) > 19 and value[-5] in "+-" and not value.isdigit():
            # with an offset (Jira's +1300): parse_datetime's first step, without the call
            try:
                parsed = _fromisoformat(value)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is not None:
                return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)
    if type(value) is datetime:
        return value
    if value is None or value == "":
        return None
    try:
        return parse_datetime(value)
    except ValueError as exc:
        raise TransformError(str(exc)) from None


def _as_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TransformError(f"not a number: {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TransformError(f"not a number: {value!r}") from None


def _as_bool(value: Any) -> bool | None:
    if type(value) is bool:
        return value
    if value is None or value == "":
        return None
    try:
        return parse_bool(value)
    except ValueError as exc:
        raise TransformError(str(exc)) from None


def _as_category(value: Any) -> str | None:
    text = as_str(value)
    if text is None:
        return None
    if text not in STATUS_CATEGORIES:
        raise TransformError(f"status category {text!r} is not one of todo, in_progress, done "
                             "(map it with a map transform)")
    return text


def _as_any(value: Any) -> Any:
    return None if value == "" else value


COERCE: dict[Target, Fn] = {
    "str": as_str,
    "list": as_list,
    "date": _as_date,
    "datetime": _as_datetime,
    "float": _as_float,
    "bool": _as_bool,
    "status_category": _as_category,
    "any": _as_any,
}


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """One canonical field: `coerce(read(payload))`, kept apart to save a call per field."""

    name: str
    read: Fn
    coerce: Fn
    required: bool
    source: str
    fallback: Any = None  # used when the value is missing and not required (bool -> False)

    def fn(self, payload: Any) -> Any:
        return self.coerce(self.read(payload))


def plan_field(name: str, spec: FieldValue, target: Target, env: ValueEnv,
               fallback: Any = None) -> FieldPlan:
    required = isinstance(spec, FieldSpec) and spec.required
    return FieldPlan(name, compile_value(spec, env), COERCE[target], required,
                     describe_value(spec), fallback)


def compile_field(spec: FieldValue, target: Target, env: ValueEnv) -> Fn:
    """payload -> the canonical field's value (None: missing), read and coerced in one call:
    `COERCE[target](compile_value(spec, env)(payload))`, specialised for the common shapes."""
    coerce = COERCE[target]
    if target != "list":
        finish = None if target == "any" else coerce
        text = target == "str"
        path = _bare_path(spec, env)
        found = None if path is None else fused.key_path(
            path, env.ctx.catalogue, env.ctx.unwrap_value)
        if found is not None:
            keys, unwrap = found
            if finish is None:
                return env.getter(path)  # type: ignore[arg-type]
            return (fused.read_as_text if text else fused.read_as)(keys, unwrap, finish)
        if finish is None and path is not None and fused.ENABLED:
            return env.getter(path)  # a getter never gives "": nothing for `any` to coerce
        if isinstance(spec, FieldSpec) and spec.first_of is not None and not spec.transforms and (
                "default" not in spec.model_fields_set):
            paths = _plain_paths(spec.first_of, env)
            if paths is not None:
                return _first_present(paths, env, finish, text)
    if not fused.ENABLED:
        read = compile_value(spec, env)
        return lambda payload: coerce(read(payload))
    return compile_value(spec, env, coerce)
