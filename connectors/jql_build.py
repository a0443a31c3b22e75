"""JQL built from typed clauses: every value from data or configuration is a quoted JQL
string, so no value can end its string and add conditions of its own.

Atlassian's JQL reads a double-quoted string with backslash escapes: `\\"` for a quote,
`\\\\` for a backslash, `\\n`, `\\r`, `\\t` for line breaks and tabs (any other character
stands for itself). Field names are the connector's own constants, checked anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def jql_string(value: str) -> str:
    """`value` as one JQL string literal."""
    return '"' + "".join(_ESCAPES.get(c, c) for c in value) + '"'


def _field(name: str) -> str:
    if not _FIELD.match(name):
        raise ValueError(f"not a JQL field name: {name!r}")
    return name


@dataclass(frozen=True)
class Equals:
    field: str
    value: str

    def render(self) -> str:
        return f"{_field(self.field)} = {jql_string(self.value)}"


@dataclass(frozen=True)
class In:
    field: str
    values: tuple[str, ...]

    def render(self) -> str:
        return f"{_field(self.field)} in ({', '.join(jql_string(v) for v in self.values)})"


@dataclass(frozen=True)
class AtLeast:
    field: str
    value: str

    def render(self) -> str:
        return f"{_field(self.field)} >= {jql_string(self.value)}"


@dataclass(frozen=True)
class Grouped:
    """An admin's own JQL (`jql:` in the configuration), checked by `jql_problem` when the
    configuration loads, kept inside its parentheses."""

    text: str

    def render(self) -> str:
        return f"({self.text})"


Clause = Equals | In | AtLeast | Grouped


def jql(clauses: list[Clause], order: list[tuple[str, str]] | None = None) -> str:
    """The clauses ANDed, then `ORDER BY` (field, ASC|DESC) pairs."""
    text = " AND ".join(c.render() for c in clauses)
    if order:
        by = ", ".join(f"{_field(f)} {'DESC' if d.upper() == 'DESC' else 'ASC'}" for f, d in order)
        text = f"{text} ORDER BY {by}"
    return text


def jql_problem(text: str) -> str | None:
    """Why an admin's JQL fragment could change the meaning of the query it is ANDed into
    (a parenthesis closed that it did not open, an unfinished string, its own ORDER BY);
    None when it stays inside its parentheses."""
    depth, i, quote_char = 0, 0, ""
    while i < len(text):
        c = text[i]
        if quote_char:
            if c == "\\":
                i += 1
            elif c == quote_char:
                quote_char = ""
        elif c in "\"'":
            quote_char = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return f"closes a parenthesis it did not open (character {i + 1})"
        i += 1
    if quote_char:
        return "has a quoted string that is not closed"
    if depth:
        return "has a parenthesis that is not closed"
    if re.search(r"(?i)\border\s+by\b", _outside_strings(text)):
        return "has its own ORDER BY (the bridge orders the issues it reads)"
    return None


def _outside_strings(text: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', text, flags=re.S)


def segment(value: str) -> str:
    """`value` as one URL path segment (a key from data cannot reach another resource)."""
    return quote(value, safe="")
