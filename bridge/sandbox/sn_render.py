"""ServiceNow records as the Table API renders them: value, display (`true`) or both (`all`).

`row_renderer` compiles one table's options (fields, display mode, reference links, base
URL) into a function from row index to the record as JSON bytes (an `orjson.Fragment`, which
the response body embeds as it is). Each field has an encoder from its raw value to its
`"name":<json>` piece, built from the same objects the Table API shows (a string, or a
`{"display_value", "value", "link"}` object) and serialised by orjson; a record is its
pieces joined. Encoders remember the pieces of the raw values they met (up to `_REMEMBER`
per field), so a page of 1,000 incidents formats each user, group, choice, text and empty
datetime once; a page then holds 1,000 byte strings instead of tens of thousands of small
dicts, which also spares the garbage collector. The store drops its renderers on every
write, since a write can change a display value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from bridge.sandbox.clock import parse_sn_datetime, sn_display_of_value, sn_duration_display
from bridge.sandbox.sn_schema import CHOICES
from bridge.sandbox.sn_tables import Table

if TYPE_CHECKING:
    from bridge.sandbox.sn_store import ServiceNowStore

Rendered = orjson.Fragment
Shown = Callable[[str], Any]  # raw value -> what the API shows for it (str or small dict)
# raw value -> the field's `"name":<json>` piece, or None when not remembered yet; the filler
Piece = Callable[[str], bytes | None]
Fill = Callable[[str], bytes]

_REMEMBER = 512  # pieces remembered per field: enough for every choice, user and text
_dumps = orjson.dumps


def row_renderer(
    store: ServiceNowStore,
    table: Table,
    fields: list[str] | None,
    mode: str,
    exclude_links: bool,
    base: str,
) -> Callable[[int], Rendered]:
    known = store.known(table)
    plan: list[tuple[str, Piece, Fill]] = []
    walked: set[str] = set()
    for name in dict.fromkeys(fields or table.fields):  # a field named twice is shown once
        head = name.partition(".")[0]
        kind = table.fields.get(head)
        if kind is None or (name != head and not known(name)):
            continue
        if name != head:
            walked.add(name)  # dot-walked: the value, in every mode
            shown = _plain(mode)
        else:
            shown = _shown(store, kind, mode, exclude_links, base)
        plan.append((name, *_remembering(name, shown)))
    fragment = orjson.Fragment

    if not walked:

        def render(i: int) -> Rendered:
            get = table.row(i).get
            pieces = [
                piece(raw) or fill(raw) for name, piece, fill in plan for raw in (get(name, ""),)
            ]
            return fragment(b"{" + b",".join(pieces) + b"}")

        return render

    def render_walked(i: int) -> Rendered:
        row = table.row(i)
        pieces = []
        for name, piece, fill in plan:
            raw = store.value(table, row, name) if name in walked else row.get(name, "")
            pieces.append(piece(raw) or fill(raw))
        return fragment(b"{" + b",".join(pieces) + b"}")

    return render_walked


def _remembering(name: str, shown: Shown | None) -> tuple[Piece, Fill]:
    """(look-up, filler) of a field's pieces by raw value; pieces are never empty, so
    `piece(raw) or fill(raw)` encodes a raw value once."""
    prefix = _dumps(name) + b":"
    seen: dict[str, bytes] = {}

    if shown is None:

        def fill(raw: str) -> bytes:
            encoded = prefix + _dumps(raw)
            if len(seen) < _REMEMBER:
                seen[raw] = encoded
            return encoded

    else:

        def fill(raw: str) -> bytes:
            encoded = prefix + _dumps(shown(raw))
            if len(seen) < _REMEMBER:
                seen[raw] = encoded
            return encoded

    return seen.get, fill


def _plain(mode: str) -> Shown | None:
    """A field whose display value is its value."""
    if mode != "all":
        return None
    return lambda raw: {"display_value": raw, "value": raw}


def _shown(
    store: ServiceNowStore, kind: str, mode: str, exclude_links: bool, base: str
) -> Shown | None:
    """raw value -> what the API shows; None when it shows the raw value itself."""
    if kind.startswith("r:"):
        return _reference(store, kind, f"{base}/api/now/table/{kind[2:]}/", mode, exclude_links)
    if mode == "false":
        return None
    display = _display(store, kind)
    if display is None:
        return _plain(mode)
    if mode == "true":
        return display
    return lambda raw: {"display_value": display(raw), "value": raw}


def _display(store: ServiceNowStore, kind: str) -> Shown | None:
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
    store: ServiceNowStore, kind: str, link: str, mode: str, exclude_links: bool
) -> Shown | None:
    if mode == "false":
        if exclude_links:
            return None
        return lambda raw: {"link": link + raw, "value": raw} if raw else raw

    def display(raw: str) -> str:
        return store.display_of(kind, raw)

    if mode == "true":

        def shown(raw: str) -> Any:
            if not raw:
                return ""
            text = display(raw)
            return text if exclude_links else {"display_value": text, "link": link + raw}

        return shown

    def shown_all(raw: str) -> Any:
        if not raw:
            return {"display_value": "", "value": ""}
        body = {"display_value": display(raw), "value": raw}
        if not exclude_links:
            body["link"] = link + raw
        return body

    return shown_all
