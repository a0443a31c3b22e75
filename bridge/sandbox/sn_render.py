"""ServiceNow records as the Table API renders them: value, display (`true`) or both (`all`).

`row_renderer` compiles one table's options (fields, display mode, reference links, base
URL) into a function from row index to the rendered record: per field, either the value
as it is or a small converter. Converters for fields with few distinct values (choices,
booleans, small integers, references to the reference tables) remember what they
rendered, so a page of 1,000 incidents formats each user, group and choice once. The store
drops its renderers on every write, since a write can change a display value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bridge.sandbox.clock import parse_sn_datetime, sn_display_of_value, sn_duration_display
from bridge.sandbox.sn_schema import CHOICES, TICKET_TABLES
from bridge.sandbox.sn_tables import Table

if TYPE_CHECKING:
    from bridge.sandbox.sn_store import ServiceNowStore

Rendered = dict[str, Any]
Converter = Callable[[str], Any]


def row_renderer(
    store: ServiceNowStore,
    table: Table,
    fields: list[str] | None,
    mode: str,
    exclude_links: bool,
    base: str,
) -> Callable[[int], Rendered]:
    known = store.known(table)
    plain: list[tuple[str, Converter | None]] = []
    walked: set[str] = set()
    for name in fields or list(table.fields):
        head = name.partition(".")[0]
        kind = table.fields.get(head)
        if kind is None or (name != head and not known(name)):
            continue
        if name != head:
            walked.add(name)
            plain.append((name, None))
        else:
            plain.append((name, converter(store, kind, mode, exclude_links, base)))

    if not walked:

        def render(i: int) -> Rendered:
            get = table.row(i).get
            return {
                name: raw if convert is None else convert(raw)
                for name, convert in plain
                for raw in (get(name, ""),)
            }

        return render

    def render_walked(i: int) -> Rendered:
        row = table.row(i)
        out: Rendered = {}
        for name, convert in plain:
            if name in walked:
                raw = store.value(table, row, name)  # dot-walked: the value, in every mode
                out[name] = raw if mode != "all" else {"display_value": raw, "value": raw}
            else:
                raw = row.get(name, "")
                out[name] = raw if convert is None else convert(raw)
        return out

    return render_walked


def converter(
    store: ServiceNowStore, kind: str, mode: str, exclude_links: bool, base: str
) -> Converter | None:
    """raw value -> rendered field, or None when the field is rendered as its value."""
    if kind.startswith("r:"):
        target = kind[2:]
        small = target != "task" and target not in TICKET_TABLES
        return _reference(
            store, kind, f"{base}/api/now/table/{target}/", mode, exclude_links, small
        )
    if mode == "false":
        return None
    display = _display(store, kind)
    if mode == "true":
        convert: Converter | None = None if display is None else display
    elif display is None:

        def convert(raw: str) -> Any:
            return {"display_value": raw, "value": raw}

    else:

        def convert(raw: str) -> Any:
            return {"display_value": display(raw), "value": raw}

    if convert is None:
        return None

    few = kind.startswith("c:") or kind in ("b", "i")
    return _remembering(convert) if few else convert


def _display(store: ServiceNowStore, kind: str) -> Converter | None:
    """raw -> display value; None when the display value is the value."""
    if kind.startswith("c:"):
        choices = CHOICES[kind[2:]]
        return lambda raw: choices.get(raw, raw) if raw else ""
    zone = store.zone
    if kind == "dt":
        return lambda raw: sn_display_of_value(raw, zone) if raw else ""
    if kind == "dur":

        def duration_display(raw: str) -> str:
            seconds = parse_sn_datetime(raw) if raw else None
            return sn_duration_display(seconds) if seconds is not None else raw

        return duration_display
    return None


def _reference(
    store: ServiceNowStore, kind: str, link: str, mode: str, exclude_links: bool, small: bool
) -> Converter | None:
    if mode == "false":
        if exclude_links:
            return None
        return lambda raw: {"link": link + raw, "value": raw} if raw else raw

    def display(raw: str) -> str:
        return store.display_of(kind, raw)

    convert: Converter
    if mode == "true":

        def convert(raw: str) -> Any:
            if not raw:
                return ""
            shown = display(raw)
            return shown if exclude_links else {"display_value": shown, "link": link + raw}

    else:

        def convert(raw: str) -> Any:
            if not raw:
                return {"display_value": "", "value": ""}
            body = {"display_value": display(raw), "value": raw}
            if not exclude_links:
                body["link"] = link + raw
            return body

    return _remembering(convert) if small else convert


def _remembering(convert: Converter) -> Converter:
    """`convert` with its results kept by raw value (for fields with few distinct values;
    the results are shared between records, so nothing may modify them)."""
    seen: dict[str, Any] = {}

    def remembered(raw: str) -> Any:
        try:
            return seen[raw]
        except KeyError:
            result = seen[raw] = convert(raw)
            return result

    return remembered
