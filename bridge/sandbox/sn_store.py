"""ServiceNow reads and writes: queries over the tables, rendering in the three display modes,
journal entries for work notes, and sys_audit_delete records for deletions."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from bridge.sandbox.clock import (
    parse_sn_datetime,
    sn_datetime,
    sn_display_datetime,
    sn_duration_display,
)
from bridge.sandbox.encoded_query import EncodedQuery, matches
from bridge.sandbox.sn_schema import CHOICES, DISPLAY_FIELD, NUMBER_PREFIX, TICKET_TABLES
from bridge.sandbox.sn_seed import ServiceNowData, audit_values
from bridge.sandbox.sn_tables import Table

Rendered = dict[str, Any]


class ServiceNowStore:
    def __init__(self, data: ServiceNowData, zone: ZoneInfo) -> None:
        self.data = data
        self.zone = zone
        self.lock = threading.RLock()

    def table(self, name: str) -> Table | None:
        return self.data.tables.get(name)

    # -- references and fields ----------------------------------------------------------
    def resolve(self, target: str, sys_id: str) -> tuple[Table, int] | None:
        names = TICKET_TABLES if target == "task" else (target,)
        for name in names:
            table = self.data.tables.get(name)
            i = table.locate(sys_id) if table else None
            if table is not None and i is not None:
                return table, i
        return None

    def known(self, table: Table) -> Callable[[str], bool]:
        def check(name: str) -> bool:
            head, _, rest = name.partition(".")
            kind = table.fields.get(head)
            if kind is None:
                return False
            if not rest:
                return True
            target = self.data.tables.get(kind[2:]) if kind.startswith("r:") else None
            return target is not None and rest in target.fields

        return check

    def value(self, table: Table, row: dict[str, str], name: str) -> str:
        head, _, rest = name.partition(".")
        raw = row.get(head, "")
        if not rest or not raw:
            return raw
        found = self.resolve(table.fields[head][2:], raw)
        return found[0].row(found[1]).get(rest, "") if found else ""

    def display_of(self, kind: str, raw: str) -> str:
        if not raw:
            return ""
        if kind.startswith("r:"):
            found = self.resolve(kind[2:], raw)
            if found is None:
                return raw
            table, i = found
            return table.display(i, DISPLAY_FIELD.get(table.name, "sys_id"))
        if kind.startswith("c:"):
            return CHOICES[kind[2:]].get(raw, raw)
        if kind == "dt":
            seconds = parse_sn_datetime(raw)
            return sn_display_datetime(seconds, self.zone) if seconds else raw
        if kind == "dur":
            seconds = parse_sn_datetime(raw)
            return sn_duration_display(seconds) if seconds is not None else raw
        return raw

    # -- queries ------------------------------------------------------------------------
    def select(
        self, table: Table, query: EncodedQuery, offset: int, limit: int
    ) -> tuple[list[int], int]:
        """(row indexes of the page, total matches)."""
        with table.lock:
            lo, hi, residual = query.updated_bounds()
            order = query.order
            candidates: Iterable[int]
            simple = not order or (order[0][0] == "sys_updated_on" and len(order) == 1)
            if simple and order:
                candidates = table.ordered(lo, hi, order[0][1])
            elif simple:
                candidates = table.in_creation_order(lo, hi)
            else:
                candidates = self._sorted(table, table.ordered(lo, hi, False), order)
            if residual or len(query.groups) > 1:
                test = self._tester(table, query)
                hits = [i for i in candidates if test(i)]
                return hits[offset : offset + limit], len(hits)
            page = list(islice(iter(candidates), offset, offset + limit))
            return page, table.count(lo, hi)

    def _tester(self, table: Table, query: EncodedQuery) -> Callable[[int], bool]:
        def test(i: int) -> bool:
            row = table.row(i)
            return matches(query, lambda name: self.value(table, row, name))

        return test

    def _sorted(
        self, table: Table, indexes: Iterator[int], order: list[tuple[str, bool]]
    ) -> list[int]:
        items = list(indexes)
        for name, descending in reversed(order):  # stable sorts, least significant key first
            if name == "sys_id":
                items.sort(key=table.sys_id, reverse=descending)
            else:
                items.sort(key=self._sort_key(table, name), reverse=descending)
        return items

    def _sort_key(self, table: Table, name: str) -> Callable[[int], tuple[int, float, str]]:
        return lambda i: _sortable(self.value(table, table.row(i), name))

    # -- rendering ----------------------------------------------------------------------
    def render(
        self,
        table: Table,
        i: int,
        fields: list[str] | None,
        mode: str,
        exclude_links: bool,
        base: str,
    ) -> Rendered:
        row = table.row(i)
        if mode == "false" and fields is None:  # the common case, kept fast
            links = table.reference_links(base)
            if exclude_links:
                return {name: row.get(name, "") for name in table.fields}
            return {
                name: ({"link": links[name] + raw, "value": raw} if name in links and raw else raw)
                for name in table.fields
                for raw in (row.get(name, ""),)
            }
        names = fields or list(table.fields)
        out: Rendered = {}
        for name in names:
            head = name.partition(".")[0]
            kind = table.fields.get(head)
            if kind is None or (name != head and not self.known(table)(name)):
                continue
            if name != head:
                raw = self.value(table, row, name)
                out[name] = raw if mode != "all" else {"display_value": raw, "value": raw}
                continue
            out[name] = self._field(kind, row.get(name, ""), mode, exclude_links, base)
        return out

    def _field(self, kind: str, raw: str, mode: str, exclude_links: bool, base: str) -> Any:
        if kind.startswith("r:") and raw:
            link = f"{base}/api/now/table/{kind[2:]}/{raw}"
            if mode == "false":
                return raw if exclude_links else {"link": link, "value": raw}
            display = self.display_of(kind, raw)
            if mode == "true":
                return display if exclude_links else {"display_value": display, "link": link}
            body = {"display_value": display, "value": raw}
            if not exclude_links:
                body["link"] = link
            return body
        if mode == "false":
            return raw
        display = self.display_of(kind, raw)
        return display if mode == "true" else {"display_value": display, "value": raw}

    # -- writes -------------------------------------------------------------------------
    def insert(self, table: Table, values: dict[str, Any]) -> int:
        with self.lock:
            clean = _strings(values)
            prefix = NUMBER_PREFIX.get(table.name)
            if prefix and not clean.get("number"):  # ServiceNow numbers new records itself
                clean["number"] = f"{prefix}{10001 + table.next_index:07d}"
            i = table.insert(clean)
            self._journal(table, table.row(i), clean)
            return i

    def update(self, table: Table, i: int, values: dict[str, Any]) -> None:
        with self.lock:
            clean = _strings(values)
            row = table.update(i, clean)
            self._journal(table, row, clean)

    def delete(self, table: Table, i: int) -> None:
        with self.lock:
            row = table.delete(i)
            now = sn_datetime(int(datetime.now(UTC).timestamp()))
            self.data.tables["sys_audit_delete"].insert(audit_values(row, table.name, now))
            slas = self.data.tables["task_sla"]
            if table.name == "incident" and slas.locate(slas.sys_id(i)) is not None:
                slas.delete(i)  # an incident's SLA records go with it (row i belongs to incident i)

    def _journal(self, table: Table, row: dict[str, str], values: dict[str, str]) -> None:
        journal = self.data.tables["sys_journal_field"]
        for name, kind in table.fields.items():
            text = values.get(name, "")
            if kind == "j" and text:
                journal.insert(
                    {
                        "element": name,
                        "element_id": row["sys_id"],
                        "name": table.name,
                        "value": text,
                    }
                )


def _strings(values: dict[str, Any]) -> dict[str, str]:
    """The Table API stores what it is sent as strings; a reference may come as {value: ...}."""
    out = {}
    for key, value in values.items():
        if isinstance(value, dict):
            value = value.get("value", "")
        if isinstance(value, bool):
            value = "true" if value else "false"
        out[key] = "" if value is None else str(value)
    return out


def _sortable(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value.lower())
