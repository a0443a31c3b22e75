"""What makes a record storable, for every connector: a usable key and a payload the
store's canonical JSON can hold. A record that is neither is quarantined under its own
identity: its key when that is usable, else a synthetic key from its content. Text and
numbers JSON allows and the store cannot hold are repaired, not quarantined."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import orjson

from bridge.text import is_plain, plain

MAX_KEY_LENGTH = 255  # the store's key columns
#: container levels the store's canonical JSON encoder (orjson) accepts in one payload
MAX_NESTING = 254
SYNTHETIC_PREFIX = "~sha256:"  # no vendor key starts with "~"
_CUT = "~cut"  # what stands for containers pruned from a quarantined payload
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def key_problem(value: object) -> str | None:
    """Why `value` cannot be a record's key, None when it can: keys are non-empty text of
    at most MAX_KEY_LENGTH characters without control characters."""
    if value is None or value == "":
        return "the record has no key"
    if not isinstance(value, str):
        return f"key is {_kind(value)}, not text"
    if len(value) > MAX_KEY_LENGTH:
        return f"key is {len(value):,} characters long (at most {MAX_KEY_LENGTH})"
    if not value.strip() or _CONTROL.search(value):
        return "key is blank or holds control characters"
    if not is_plain(value):
        return "key holds half a surrogate pair, which is no text"
    return None


def storage_problem(payload: object, field_steps: int = 1) -> tuple[str, str] | None:
    """(field, reason) when `payload` nests too deep to store (see `nesting_problem`), else
    None, with any value the store's JSON cannot hold repaired in place (`make_encodable`).
    The encoder's one attempt decides for nearly every payload; only one it refuses is walked."""
    if _encodes(payload):
        return None
    nested = nesting_problem(payload, field_steps=field_steps)
    if nested is None:
        make_encodable(payload)
    return nested


#: the integers the store's JSON encoder writes (orjson: 64 bits, signed or not)
_SMALLEST, _LARGEST = -(2 ** 63), 2 ** 64 - 1


def make_encodable(payload: object) -> int:
    """Repair in place what JSON may carry and the store's JSON cannot hold: text with half a
    surrogate pair (a valid JSON escape, yet no text) or NUL (no text PostgreSQL holds, nor
    reads out of JSON) gets U+FFFD in its place; an integer beyond 64 bits becomes the double
    orjson reads it as (its digits as text past a double's range). Returns how many values
    and keys it repaired. Iterative (no depth limit of its own); the same payload is repaired
    the same way on every read."""
    repaired = 0
    stack: list[Any] = [payload]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for k in [k for k in node if isinstance(k, str) and not is_plain(k)]:
                node[plain(k)] = node.pop(k)
                repaired += 1
            items: list[tuple[Any, Any]] = list(node.items())
        elif isinstance(node, list):
            items = list(enumerate(node))
        else:
            continue
        for k, v in items:
            if isinstance(v, str):
                if not is_plain(v):
                    node[k] = plain(v)
                    repaired += 1
            elif isinstance(v, int) and not isinstance(v, bool):
                if not _SMALLEST <= v <= _LARGEST:
                    node[k] = _as_number(v)
                    repaired += 1
            elif isinstance(v, dict | list):
                stack.append(v)
    return repaired


def _as_number(value: int) -> float | str:
    # what orjson reads the same digits as (a page it parses itself holds the same value);
    # past a double's range, where it reads nothing, the digits as text
    try:
        return float(value)
    except OverflowError:
        return str(value)


def nesting_problem(payload: object, limit: int = MAX_NESTING,
                    field_steps: int = 1) -> tuple[str, str] | None:
    """(field, reason) of the first place `payload` nests deeper than `limit` containers,
    None when it does not; `field` is the first `field_steps` keys of the path there (2 for
    Jira's `fields.description`). Iterative, so a depth bomb cannot exhaust the stack."""
    if limit >= MAX_NESTING and _encodes(payload):
        return None  # the encoder itself refuses more than MAX_NESTING levels: nothing deeper
    stack: list[tuple[object, int, str]] = [(payload, 1, "")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, dict):
            children: list[tuple[str, object]] = [(f"{path}.{k}" if path else str(k), v)
                                                  for k, v in value.items()]
        elif isinstance(value, list):
            children = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
        else:
            continue
        if depth > limit:
            where = ".".join(path.split("[")[0].split(".")[:field_steps])
            return where or "payload", f"nested deeper than {limit} levels"
        stack.extend((v, depth + 1, p) for p, v in children if isinstance(v, dict | list))
    return None


def _encodes(payload: object) -> bool:
    """Whether orjson encodes `payload`: it counts container levels in C and refuses more
    than MAX_NESTING, so success proves the payload shallow enough at a fraction of the
    walk's cost; any failure (depth, or a value it cannot encode) leaves it to the walk."""
    try:
        dumped = orjson.dumps(payload)  # text keys, as parsed JSON has: twice as fast as with the option
    except (orjson.JSONEncodeError, TypeError):
        try:
            dumped = orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)
        except (orjson.JSONEncodeError, TypeError):
            return False
    return _NUL not in dumped  # encodable, yet no text PostgreSQL holds: left to the walk


_NUL = b"\\u0000"  # how orjson writes NUL


def storable(value: object) -> dict[str, Any]:
    """`value` as a payload the store can hold: a non-object is wrapped as `{"entry": ...}`,
    containers deeper than MAX_NESTING are replaced by a marker, and what no store holds is
    repaired (`storage_problem`, which repairs a payload it does not refuse)."""
    root = value if isinstance(value, dict) else {"entry": value}
    if storage_problem(root) is not None:
        root = _pruned(root, MAX_NESTING - 2)
        make_encodable(root)
    return root


def _pruned(value: dict[str, Any], levels: int) -> dict[str, Any]:
    # iterative copy: a depth bomb must not exhaust the stack here either
    out: dict[str, Any] = {}
    stack: list[tuple[dict[Any, Any] | list[Any], dict[str, Any] | list[Any], int]] = [
        (value, out, levels)]
    while stack:
        src, dst, left = stack.pop()
        items = list(src.items()) if isinstance(src, dict) else list(enumerate(src))
        for k, v in items:
            if isinstance(v, dict | list):
                if left <= 0:
                    child: Any = _CUT
                else:
                    child = {} if isinstance(v, dict) else []
                    stack.append((v, child, left - 1))
            else:
                child = v
            if isinstance(dst, dict):
                dst[str(k)] = child
            else:
                dst.append(child)
    return out


def synthetic_key(payload: object) -> str:
    """A key from the record's content, the same every time it is read: `~sha256:<hex>` of
    its canonical JSON (pruned first, so any payload has one)."""
    canonical = json.dumps(storable(payload), sort_keys=True, default=repr, separators=(",", ":"))
    return SYNTHETIC_PREFIX + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _kind(value: object) -> str:
    names = {int: "a number", float: "a number", bool: "true/false", list: "a list", type(None): "null",
             dict: "an object", str: "text"}
    return names.get(type(value), f"a {type(value).__name__}")


def kind_of(value: object) -> str:
    """`value`'s JSON kind in words, for reasons ("a list", "text")."""
    return _kind(value)
