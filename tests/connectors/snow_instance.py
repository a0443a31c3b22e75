"""A small ServiceNow instance for push tests: stock columns unless told otherwise.

What it emulates, as ServiceNow documents or is known to behave: unknown columns are
dropped from writes (200 all the same) and from reads; conditions on unknown columns
are dropped (glide.invalid_query.returns_no_rows=false, the default) so unrelated rows
come back; work notes go to sys_journal_field and show in the row's display value;
sys_dictionary lists the columns, or answers 403 when the account may not read it.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import responses

STOCK: dict[str, set[str]] = {
    "pm_project": {"sys_id", "number", "short_description", "work_notes", "sys_updated_on"},
    "kb_knowledge": {
        "sys_id",
        "number",
        "short_description",
        "text",
        "meta",
        "workflow_state",
        "valid_to",
        "kb_knowledge_base",
        "kb_category",
        "sys_created_on",
        "sys_updated_on",
    },
    "kb_knowledge_base": {"sys_id", "title"},
    "kb_category": {"sys_id", "label", "kb_knowledge_base"},
    "sys_journal_field": {"sys_id", "element", "element_id", "name", "value"},
}
_TERM = re.compile(r"^([a-z_0-9]+?)(=|IN|LIKE|>)(.*)$")
Reply = tuple[int, dict[str, str], str]


@dataclass
class Instance:
    url: str = "https://snow.example"
    columns: dict[str, set[str]] = field(
        default_factory=lambda: {k: set(v) for k, v in STOCK.items()}
    )
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    dictionary_readable: bool = True
    journal_readable: bool = True
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(0x9000))

    def add(self, table: str, **values: str) -> dict[str, str]:
        row = {k: v for k, v in values.items() if k in self.columns[table]}
        row.setdefault("sys_id", f"{next(self._ids):032x}")
        row.setdefault("sys_created_on", f"2026-01-01 00:00:{len(self.rows.get(table, [])):02d}")
        self.rows.setdefault(table, []).append(row)
        return row

    def notes(self, sys_id: str) -> list[str]:
        return [
            j["value"] for j in self.rows.get("sys_journal_field", []) if j["element_id"] == sys_id
        ]

    def register(self, rsps: responses.RequestsMock) -> None:
        pattern = re.compile(
            re.escape(self.url) + r"/api/now/table/([a-z_0-9]+)(?:/([0-9a-f]{32}))?(\?.*)?$"
        )
        for method in ("GET", "POST", "PATCH"):
            rsps.add_callback(
                method, pattern, callback=self._handle, content_type="application/json"
            )

    def _handle(self, request: requests.PreparedRequest) -> Reply:
        parts = urlsplit(request.url or "")
        table, _, key = parts.path.split("/api/now/table/")[1].partition("/")
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.requests.append((request.method or "GET", table, params))
        if table == "sys_dictionary":
            return self._dictionary(params) if self.dictionary_readable else _denied()
        if table == "sys_journal_field" and not self.journal_readable:
            return _denied()
        if request.method == "POST":
            row = self.add(table, **_strings(json.loads(request.body or "{}")))
            self._journal(table, row["sys_id"], json.loads(request.body or "{}"))
            return 201, {}, json.dumps({"result": self._render(table, row, [], "false")})
        if request.method == "PATCH":
            body = json.loads(request.body or "{}")
            row = next(r for r in self.rows[table] if r["sys_id"] == key)
            row.update(
                {
                    k: v
                    for k, v in _strings(body).items()
                    if k in self.columns[table] and k != "work_notes"
                }
            )
            self._journal(table, key, body)
            return 200, {}, json.dumps({"result": self._render(table, row, [], "false")})
        found = self._select(table, params.get("sysparm_query", ""))
        limit = int(params.get("sysparm_limit") or 10000)
        fields = [f for f in params.get("sysparm_fields", "").split(",") if f]
        display = params.get("sysparm_display_value", "false")
        body = {"result": [self._render(table, r, fields, display) for r in found[:limit]]}
        return 200, {"X-Total-Count": str(len(found))}, json.dumps(body)

    def _journal(self, table: str, sys_id: str, body: dict[str, Any]) -> None:
        if body.get("work_notes") and "work_notes" in self.columns[table]:
            self.add(
                "sys_journal_field",
                element="work_notes",
                element_id=sys_id,
                name=table,
                value=str(body["work_notes"]),
            )

    def _dictionary(self, params: dict[str, str]) -> Reply:
        rows = [{"name": t, "element": c} for t, cols in self.columns.items() for c in sorted(cols)]
        found = []
        for row in rows:
            ok = True
            for term in filter(None, params.get("sysparm_query", "").split("^")):
                name, op, value = _TERM.match(term).groups()  # type: ignore[union-attr]
                ok &= row[name] in value.split(",") if op == "IN" else row[name] == value
            if ok:
                found.append(row)
        return 200, {}, json.dumps({"result": found})

    def _select(self, table: str, query: str) -> list[dict[str, str]]:
        order: list[str] = []
        groups: list[list[tuple[str, str, str]]] = []  # AND of ORs
        for term in filter(None, query.split("^")):
            if term.startswith("ORDERBY"):
                order.append(term[7:])
                continue
            alternative = term.startswith("OR")
            match = _TERM.match(term[2:] if alternative else term)
            assert match, f"the instance cannot read {term!r}"
            name, op, value = match.groups()
            if name not in self.columns.get(table, set()):
                continue  # an invalid condition is dropped, as ServiceNow does by default
            if alternative and groups:  # (after a dropped condition it stands alone)
                groups[-1].append((name, op, value))
            else:
                groups.append([(name, op, value)])
        rows = [
            r
            for r in self.rows.get(table, [])
            if all(any(_holds(r.get(n, ""), op, v) for n, op, v in group) for group in groups)
        ]
        return sorted(rows, key=lambda r: tuple(r.get(f, "") for f in order))

    def _render(
        self, table: str, row: dict[str, str], fields: list[str], display: str
    ) -> dict[str, Any]:
        names = [f for f in (fields or sorted(self.columns[table])) if f in self.columns[table]]
        out: dict[str, Any] = {}
        for name in names:
            value = row.get(name, "")
            shown = value
            if name == "work_notes":
                value = ""  # a journal field has no value; its display value is the history
                shown = "".join(
                    f"2026-01-01 00:00:00 - smo.bridge (Work notes)\n{n}\n\n"
                    for n in reversed(self.notes(row["sys_id"]))
                )
            out[name] = (
                {"value": value, "display_value": shown}
                if display == "all"
                else (shown if display == "true" else value)
            )
        return out


def _holds(actual: str, op: str, value: str) -> bool:
    if op == "=":
        return actual == value
    if op == "LIKE":
        return value.lower() in actual.lower()
    if op == "IN":
        return actual in value.split(",")
    return actual > value


def _strings(body: dict[str, Any]) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in body.items()}


def _denied() -> Reply:
    error = {
        "message": "Insufficient rights to query records",
        "detail": "Field(s) present in the query do not have permission to be read",
    }
    return 403, {}, json.dumps({"error": error, "status": "failure"})
