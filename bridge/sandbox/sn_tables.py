"""A ServiceNow table: generated rows (from ticket columns) plus materialised ones.

Rows are dicts of value-mode strings. A generated row is built from its index on demand;
a row something wrote to is materialised in `rows`. Every table keeps its rows' sort keys
(`sys_updated_on seconds << 24 | index`) sorted, for fast `sys_updated_on` ranges, and
builds a sys_id order on first use (until the next insert or delete).

A sys_id is the table's fixed 24-digit prefix and 8 hex digits scrambled from the index,
so sorting by the scrambled number sorts by sys_id.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from bridge.sandbox.clock import parse_sn_datetime, sn_datetime
from bridge.sandbox.org import stable_hex

SHIFT = 24
MASK = (1 << SHIFT) - 1
_MUL = 2654435761
_MUL_INV = pow(_MUL, -1, 1 << 32)

Generator = Callable[[int], dict[str, str]]


class Table:
    def __init__(
        self,
        name: str,
        fields: dict[str, str],
        seed: int,
        generate: Generator | None = None,
        generated: int = 0,
        updated: Callable[[int], int] | None = None,
        display: Callable[[int], str] | None = None,
    ) -> None:
        self.name = name
        self.fields = fields
        self.prefix = stable_hex(seed, "sys_id", name, length=24)
        self._salt = int(stable_hex(seed, "salt", name, length=8), 16)
        self.generate = generate
        self.generated = generated
        self.rows: dict[int, dict[str, str]] = {}
        self.deleted: set[int] = set()
        self.next_index = generated
        self._display = display
        self._links: dict[str, dict[str, str]] = {}
        self.lock = threading.RLock()
        self._by_sys_id: list[int] | None = None
        # a sys_id could read as a number (and compare as one) only with a prefix like this
        self.numeric_ids = not any(c in "abcdf" for c in self.prefix) and self.prefix.count("e") < 2
        # an array, not a list: the garbage collector need not visit 200,000 ints
        self.index = array("q")
        if generated and updated is not None:
            self.index = array("q", sorted((updated(i) << SHIFT) | i for i in range(generated)))

    # -- identity -----------------------------------------------------------------------
    def sys_id(self, i: int) -> str:
        return f"{self.prefix}{(i * _MUL + self._salt) & 0xFFFFFFFF:08x}"

    def scrambled(self, i: int) -> int:
        """The number behind the last 8 digits of the sys_id: it sorts as the sys_id does."""
        return (i * _MUL + self._salt) & 0xFFFFFFFF

    def locate(self, sys_id: str) -> int | None:
        """The row index of a live record, or None."""
        if len(sys_id) != 32 or not sys_id.startswith(self.prefix):
            return None
        try:
            scrambled = int(sys_id[24:], 16)
        except ValueError:
            return None
        i = ((scrambled - self._salt) * _MUL_INV) & 0xFFFFFFFF
        if i >= self.next_index or i in self.deleted:
            return None
        if i >= self.generated and i not in self.rows:
            return None
        return i

    def __len__(self) -> int:
        return len(self.index)

    def reference_links(self, base: str) -> dict[str, str]:
        """Reference field -> the link prefix its sys_id completes."""
        links = self._links.get(base)
        if links is None:
            links = self._links[base] = {
                name: f"{base}/api/now/table/{kind[2:]}/"
                for name, kind in self.fields.items()
                if kind.startswith("r:")
            }
        return links

    # -- reads --------------------------------------------------------------------------
    def row(self, i: int) -> dict[str, str]:
        """The record (do not mutate it)."""
        materialised = self.rows.get(i)
        if materialised is not None:
            return materialised
        if self.generate is None or i >= self.generated:
            raise KeyError(i)
        return self.generate(i)

    def display(self, i: int, field: str) -> str:
        if i not in self.rows and self._display is not None:
            return self._display(i)
        return self.row(i).get(field, "")

    def ordered(self, lo: int | None, hi: int | None, descending: bool) -> Iterator[int]:
        """Live rows with lo <= sys_updated_on < hi (seconds), by (updated, index)."""
        start, stop = self._bounds(lo, hi)
        positions = range(stop - 1, start - 1, -1) if descending else range(start, stop)
        index = self.index
        return (index[p] & MASK for p in positions)

    def ordered_ties_by_sys_id(
        self, lo: int | None, hi: int | None, descending: bool, ids_descending: bool
    ) -> Iterator[int]:
        """As `ordered`, but rows of the same second by sys_id (`ORDERBYsys_updated_on^ORDERBYsys_id`)."""
        start, stop = self._bounds(lo, hi)
        positions = range(stop - 1, start - 1, -1) if descending else range(start, stop)
        index, key = self.index, self.scrambled
        run: list[int] = []
        second = -1
        for p in positions:
            packed = index[p]
            if packed >> SHIFT != second:
                if len(run) > 1:
                    run.sort(key=key, reverse=ids_descending)
                yield from run
                run = []
                second = packed >> SHIFT
            run.append(packed & MASK)
        if len(run) > 1:
            run.sort(key=key, reverse=ids_descending)
        yield from run

    def by_sys_id(self, descending: bool, after: tuple[str, bool] | None = None) -> Iterable[int]:
        """Live rows by sys_id; `after` (text, inclusive) starts past the ids below it
        (above it when descending), text compared in lower case as ServiceNow does."""
        if self._by_sys_id is None:
            self._by_sys_id = sorted(self.in_creation_order(None, None), key=self.scrambled)
        ordered = self._by_sys_id
        if after is None:
            return reversed(ordered) if descending else iter(ordered)
        text, inclusive = after[0].lower(), after[1]
        if descending:
            stop = (bisect_right if inclusive else bisect_left)(ordered, text, key=self.sys_id)
            return (ordered[p] for p in range(stop - 1, -1, -1))
        start = (bisect_left if inclusive else bisect_right)(ordered, text, key=self.sys_id)
        return (ordered[p] for p in range(start, len(ordered)))

    def count(self, lo: int | None, hi: int | None) -> int:
        start, stop = self._bounds(lo, hi)
        return max(0, stop - start)

    def in_creation_order(self, lo: int | None, hi: int | None) -> Iterable[int]:
        if lo is None and hi is None:  # every live row: no need to sort the index
            rows, deleted, generated = self.rows, self.deleted, self.generated
            return (
                i
                for i in range(self.next_index)
                if i not in deleted and (i < generated or i in rows)
            )
        return sorted(self.ordered(lo, hi, False))

    def _bounds(self, lo: int | None, hi: int | None) -> tuple[int, int]:
        start = 0 if lo is None else bisect_left(self.index, lo << SHIFT)
        stop = len(self.index) if hi is None else bisect_left(self.index, hi << SHIFT)
        return start, stop

    # -- writes -------------------------------------------------------------------------
    def insert(self, values: dict[str, str], user: str = "sandbox") -> int:
        with self.lock:
            i = self.next_index
            self.next_index += 1
            now = sn_datetime(int(datetime.now(UTC).timestamp()))
            row = dict.fromkeys(self.fields, "")
            row.update({k: v for k, v in values.items() if k in self.fields})
            row.update(
                sys_id=self.sys_id(i),
                sys_created_on=values.get("sys_created_on") or now,
                sys_updated_on=values.get("sys_updated_on") or now,
                sys_created_by=values.get("sys_created_by") or user,
                sys_updated_by=values.get("sys_updated_by") or user,
                sys_mod_count=values.get("sys_mod_count") or "0",
            )
            for journal in (f for f, t in self.fields.items() if t == "j"):
                row[journal] = ""
            self.rows[i] = row
            insort(self.index, (self._updated(row) << SHIFT) | i)
            self._by_sys_id = None
            return i

    def update(self, i: int, values: dict[str, str], user: str = "sandbox") -> dict[str, str]:
        with self.lock:
            old = self.row(i)
            row = dict(old)
            row.update(
                {
                    k: v
                    for k, v in values.items()
                    if k in self.fields and k != "sys_id" and self.fields[k] != "j"
                }
            )
            now = int(datetime.now(UTC).timestamp())
            row["sys_updated_on"] = sn_datetime(max(now, self._updated(old)))
            row["sys_updated_by"] = user
            row["sys_mod_count"] = str(int(old.get("sys_mod_count") or 0) + 1)
            self._reindex(i, old, row)
            self.rows[i] = row
            return row

    def delete(self, i: int) -> dict[str, str]:
        with self.lock:
            row = self.row(i)
            position = bisect_left(self.index, (self._updated(row) << SHIFT) | i)
            del self.index[position]
            self.deleted.add(i)
            self.rows.pop(i, None)
            self._by_sys_id = None
            return row

    def _reindex(self, i: int, old: dict[str, str], new: dict[str, str]) -> None:
        position = bisect_left(self.index, (self._updated(old) << SHIFT) | i)
        del self.index[position]
        insort(self.index, (self._updated(new) << SHIFT) | i)

    @staticmethod
    def _updated(row: dict[str, str]) -> int:
        return parse_sn_datetime(row.get("sys_updated_on", "")) or 0
