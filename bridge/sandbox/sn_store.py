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
from bridge.sandbox.encoded_query import (
    UNKNOWN_FIELD_MODES,
    UNKNOWN_IGNORE,
    EncodedQuery,
    matches,
    parse,
    sys_id_start,
)
from bridge.sandbox.sn_render import Rendered, row_renderer
from bridge.sandbox.sn_schema import CHOICES, DISPLAY_FIELD, NUMBER_PREFIX, TICKET_TABLES
from bridge.sandbox.sn_seed import ServiceNowData, audit_values
from bridge.sandbox.sn_tables import Table

# tables only admin (or a granular audit role) may read; the integration user gets 403
ADMIN_ONLY = frozenset(("sys_audit_delete",))
# tables with rows a read ACL hides from the integration user (say, security incidents)
ACL_TRIMMED = frozenset(TICKET_TABLES)
_SCALE = 1 << 16


class ServiceNowStore:
    """The tables, as one user sees them.

    `admin` reads everything; the default integration user cannot read `ADMIN_ONLY` tables
    and misses the `acl_hidden` share of rows in `ACL_TRIMMED` tables (chosen by sys_id, so
    the same rows for a seed). `unknown_fields` is how queries treat a field the table
    lacks (see encoded_query)."""

    def __init__(
        self,
        data: ServiceNowData,
        zone: ZoneInfo,
        *,
        admin: bool = False,
        acl_hidden: float = 0.0,
        unknown_fields: str = UNKNOWN_IGNORE,
    ) -> None:
        if not 0.0 <= acl_hidden <= 1.0:
            raise ValueError("acl_hidden must be between 0 and 1")
        if unknown_fields not in UNKNOWN_FIELD_MODES:
            raise ValueError(f"unknown_fields must be one of {', '.join(UNKNOWN_FIELD_MODES)}")
        self.data = data
        self.zone = zone
        self.admin = admin
        self.acl_hidden = 0.0 if admin else acl_hidden
        self.unknown_fields = unknown_fields
        self.lock = threading.RLock()
        self._renderers: dict[tuple[Any, ...], Callable[[int], Rendered]] = {}

    def table(self, name: str) -> Table | None:
        return self.data.tables.get(name)

    def parse(self, table: Table, text: str) -> EncodedQuery:
        """`sysparm_query` as this instance reads it (QueryError when it refuses it)."""
        return parse(text, self.known(table), table.name, self.zone, self.unknown_fields)

    # -- access -------------------------------------------------------------------------
    def may_read_table(self, table: Table) -> bool:
        return self.admin or table.name not in ADMIN_ONLY

    def trims(self, table: Table) -> bool:
        """Whether a read ACL hides some of the table's rows from this user."""
        return self.acl_hidden > 0 and table.name in ACL_TRIMMED

    def readable(self, table: Table, i: int) -> bool:
        if not self.trims(table):
            return True
        mixed = ((table.scrambled(i) * 0x85EBCA6B) & 0xFFFFFFFF) >> 16
        return mixed >= self.acl_hidden * _SCALE

    # -- references and fields ----------------------------------------------------------
    def resolve(self, target: str, sys_id: str) -> tuple[Table, int] | None:
        names = (
            (*TICKET_TABLES, "pm_project", "pm_project_task") if target == "task" else (target,)
        )
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
        self, table: Table, query: EncodedQuery, offset: int, limit: int, count: bool = True
    ) -> tuple[list[int], int | None]:
        """(row indexes of the page, total matches); the total may be None when `count` is
        false (then rows past the page are not tested).

        Candidates come from the table's indexes in the query's order, so the pages the
        connector asks for (`sys_updated_on>=T^ORDERBYsys_updated_on^ORDERBYsys_id`, then
        `sys_updated_on=T^sys_id>ID^ORDERBYsys_id`, and `sys_id>ID^ORDERBYsys_id` for a
        census) cost about their own size, not the table's."""
        if query.matches_nothing:
            return [], 0
        with table.lock:
            lo, hi, residual = query.updated_bounds()
            candidates = self._candidates(table, query, lo, hi)
            if residual or len(query.groups) > 1:
                hits = filter(self._tester(table, query), candidates)
                if not count:
                    return list(islice(hits, offset, offset + limit)), None
                found = list(hits)
                return found[offset : offset + limit], len(found)
            page = list(islice(iter(candidates), offset, offset + limit))
            return page, table.count(lo, hi)

    def _candidates(
        self, table: Table, query: EncodedQuery, lo: int | None, hi: int | None
    ) -> Iterable[int]:
        order = query.order
        if not order:
            return table.in_creation_order(lo, hi)
        first, descending = order[0]
        if first == "sys_updated_on" and len(order) == 1:
            return table.ordered(lo, hi, descending)
        if first == "sys_updated_on" and len(order) == 2 and order[1][0] == "sys_id":
            return table.ordered_ties_by_sys_id(lo, hi, descending, order[1][1])
        if first == "sys_id" and lo is None and hi is None:  # sys_ids are unique: no tie
            start = sys_id_start(query, table.numeric_ids, descending)
            return table.by_sys_id(descending, start)
        return self._sorted(table, table.ordered(lo, hi, False), order)

    def _tester(self, table: Table, query: EncodedQuery) -> Callable[[int], bool]:
        def test(i: int) -> bool:
            row: dict[str, str] | None = None

            def get(name: str) -> str:
                nonlocal row
                if name == "sys_id":  # no need to build the row for it
                    return table.sys_id(i)
                if row is None:
                    row = table.row(i)
                return self.value(table, row, name)

            return matches(query, get)

        return test

    def _sorted(
        self, table: Table, indexes: Iterator[int], order: list[tuple[str, bool]]
    ) -> list[int]:
        items = list(indexes)
        for name, descending in reversed(order):  # stable sorts, least significant key first
            if name == "sys_id":
                items.sort(key=table.scrambled, reverse=descending)
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
        return self.renderer(table, fields, mode, exclude_links, base)(i)

    def renderer(
        self, table: Table, fields: list[str] | None, mode: str, exclude_links: bool, base: str
    ) -> Callable[[int], Rendered]:
        """Row index -> rendered record for one table and set of options (see sn_render);
        kept until the next write, which may change display values."""
        key = (table.name, tuple(fields) if fields else None, mode, exclude_links, base)
        found = self._renderers.get(key)
        if found is None:
            if len(self._renderers) >= 256:
                self._renderers.clear()
            found = self._renderers[key] = row_renderer(
                self, table, fields, mode, exclude_links, base
            )
        return found

    # -- writes -------------------------------------------------------------------------
    def insert(self, table: Table, values: dict[str, Any]) -> int:
        with self.lock:
            self._renderers.clear()
            clean = _strings(values)
            prefix = NUMBER_PREFIX.get(table.name)
            if prefix and not clean.get("number"):  # ServiceNow numbers new records itself
                clean["number"] = f"{prefix}{10001 + table.next_index:07d}"
            i = table.insert(clean)
            self._journal(table, table.row(i), clean)
            return i

    def update(self, table: Table, i: int, values: dict[str, Any], user: str = "sandbox") -> None:
        with self.lock:
            self._renderers.clear()
            clean = _strings(values)
            row = table.update(i, clean, user)
            self._journal(table, row, clean)

    def delete(self, table: Table, i: int) -> None:
        with self.lock:
            self._renderers.clear()
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
