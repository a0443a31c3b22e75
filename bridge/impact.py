"""What a mapping change does to the stored picture, compared record by record while the
change is made, inside the caller's transaction.

`migrate remap --dry-run` and `mappings diff` map and derive again in a transaction they
roll back; the applied remap runs the very same steps and commits instead, so what the dry
run reported is what it applies. No second picture of the store is kept: each batch of
re-mapped records is compared with the rows it replaces as it is written (`Comparison`),
keeping counts and a bounded number of examples; only the derived state (transitions and
articles, a few per project, which the derivation itself reads whole) is read before and
after the derivation.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from bridge.store.schema import knowledge_articles, transitions

#: ticket columns whose change moves a ticket to another workload cell
MOVES = ("practice", "capability", "team")
EXAMPLES = 5  # shown per row of a table or Markdown report
KEEP = 20  # examples kept per group (the JSON report)
GROUPS = 100  # quarantine groups (where, field, reason) kept; more are counted as "other"
GATE_ROWS = 200  # changed gates listed; more are counted
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
OTHER = "(other reasons)"


@dataclass
class Sample:
    """How many, and the first `KEEP` of them (in stored order)."""

    count: int = 0
    examples: list[Any] = field(default_factory=list)

    def add(self, example: Any) -> None:
        self.count += 1
        if len(self.examples) < KEEP:
            self.examples.append(example)


@dataclass
class Move:
    """Tickets that moved from one value of a column to another."""

    column: str
    old: str | None
    new: str | None
    count: int = 0
    tickets: list[str] = field(default_factory=list)  # "source:key", the first KEEP


@dataclass
class Held:
    """Records quarantined (or released) for one field and one kind of reason: the reason
    with the values it quotes left out, so alike ones group; each example has its own."""

    source: str
    stream: str
    field: str | None
    reason: str
    count: int = 0
    examples: list[dict[str, str]] = dataclasses.field(default_factory=list)  # {"key", "reason"}


@dataclass
class Impact:
    """Every change a remap makes: counts, and examples in stored order (two runs over the
    same store report the same)."""

    tickets_compared: int = 0
    moves: list[Move] = field(default_factory=list)
    tickets_added: Sample = field(default_factory=Sample)
    tickets_removed: Sample = field(default_factory=Sample)
    quarantined: list[Held] = field(default_factory=list)  # newly or differently
    released: list[Held] = field(default_factory=list)
    gates_changed: int = 0
    gates: list[dict[str, Any]] = field(default_factory=list)  # the first GATE_ROWS
    articles: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.moves or self.tickets_added.count or self.tickets_removed.count
                    or self.quarantined or self.released or self.gates_changed or self.articles)

    def moved(self, column: str) -> int:
        return sum(m.count for m in self.moves if m.column == column)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["summary"] = self.summary()
        return data

    def summary(self) -> dict[str, int]:
        return {
            "tickets_compared": self.tickets_compared,
            **{f"{c}_moved": self.moved(c) for c in MOVES},
            "tickets_added": self.tickets_added.count, "tickets_removed": self.tickets_removed.count,
            "quarantined": sum(h.count for h in self.quarantined),
            "released": sum(h.count for h in self.released),
            "gates_changed": self.gates_changed, "articles_rewritten": len(self.articles),
        }


Gates = dict[str, tuple[str, str, tuple[tuple[str, str], ...]]]


def derived_picture(conn: Connection) -> tuple[Gates, dict[str, str]]:
    """Each transition's service, gate status and items, and each article's hash."""
    gates: Gates = {}
    for t in conn.execute(select(transitions.c.id, transitions.c.service, transitions.c.gate_status,
                                 transitions.c.payload)):
        items = (t.payload or {}).get("gate", {}).get("items", [])
        gates[t.id] = (t.service, t.gate_status,
                       tuple((str(i.get("key")), str(i.get("status"))) for i in items))
    articles = {a.transition_id: a.content_hash for a in conn.execute(
        select(knowledge_articles.c.transition_id, knowledge_articles.c.content_hash))}
    return gates, articles


class Comparison:
    """Accumulates what a remap changes as it changes it: the old row against the new one,
    per record, into counts and bounded examples (memory grows with the kinds of change,
    never with the store)."""

    def __init__(self) -> None:
        self._moves: dict[tuple[str, str | None, str | None], Move] = {}
        self._added = Sample()
        self._removed = Sample()
        self._held: dict[tuple[str, str, str | None, str], Held] = {}
        self._released: dict[tuple[str, str, str | None, str], Held] = {}
        self._derived: tuple[Gates, dict[str, str]] | None = None
        self.impact = Impact()

    def ticket(self, ref: str, old: tuple[str | None, ...] | None, new: tuple[str | None, ...]) -> None:
        """A ticket written: `old` its stored (practice, capability, team), None when new."""
        if old is None:
            self._added.add(ref)
            return
        for column, was, now in zip(MOVES, old, new, strict=True):
            if was != now:
                move = self._moves.get((column, was, now))
                if move is None:
                    move = self._moves[(column, was, now)] = Move(column, was, now)
                move.count += 1
                if len(move.tickets) < KEEP:
                    move.tickets.append(ref)

    def removed(self, ref: str) -> None:
        """A ticket removed: the mapping now skips the record that produced it."""
        self._removed.add(ref)

    def quarantined(self, source: str, stream: str, key: str, field_name: str | None, reason: str) -> None:
        _group(self._held, source, stream, key, field_name, reason)

    def released(self, source: str, stream: str, key: str, field_name: str | None, was: str) -> None:
        _group(self._released, source, stream, key, field_name, was)

    def before_derivation(self, conn: Connection) -> None:
        self._derived = derived_picture(conn)

    def after_derivation(self, conn: Connection) -> None:
        assert self._derived is not None, "before_derivation first"
        (old_gates, old_articles), (new_gates, new_articles) = self._derived, derived_picture(conn)
        self._derived = None
        impact = self.impact
        impact.gates_changed, impact.gates, impact.articles = 0, [], []
        for tid in sorted(old_gates.keys() | new_gates.keys()):
            old, new = old_gates.get(tid), new_gates.get(tid)
            if old is not None and new is not None and old[1:] == new[1:]:
                continue
            impact.gates_changed += 1
            if len(impact.gates) >= GATE_ROWS:
                continue
            old_items: dict[str, str] = dict(old[2]) if old else {}
            new_items: dict[str, str] = dict(new[2]) if new else {}
            items = [{"key": k, "old": old_items.get(k), "new": new_items.get(k)}
                     for k in sorted(old_items.keys() | new_items.keys())
                     if old_items.get(k) != new_items.get(k)]
            impact.gates.append({"transition": tid, "service": (new or old or ("",))[0],
                                 "old": old[1] if old else None, "new": new[1] if new else None,
                                 "items": items})
        for tid in sorted(old_articles.keys() | new_articles.keys()):
            old_hash, new_hash = old_articles.get(tid), new_articles.get(tid)
            if old_hash != new_hash:
                change = "written" if old_hash is None else "retired" if new_hash is None else "rewritten"
                impact.articles.append({"transition": tid, "change": change})

    def result(self, tickets_compared: int) -> Impact:
        """The report; ordered so two runs over the same store compare equal."""
        impact = self.impact
        impact.tickets_compared = tickets_compared
        order = {c: i for i, c in enumerate(MOVES)}
        impact.moves = sorted(self._moves.values(), key=lambda m: (order[m.column], -m.count,
                                                                    str(m.old), str(m.new)))
        impact.tickets_added = self._added
        impact.tickets_removed = self._removed
        impact.quarantined = _ordered(self._held)
        impact.released = _ordered(self._released)
        return impact


def _group(groups: dict[tuple[str, str, str | None, str], Held], source: str, stream: str, key: str,
           field_name: str | None, reason: str) -> None:
    shape = _QUOTED.sub("'…'", reason)
    ident = (source, stream, field_name, shape)
    held = groups.get(ident)
    if held is None:
        if len(groups) >= GROUPS:  # bounded: a reason quoting a value per record
            ident = (source, stream, None, OTHER)
            held = groups.get(ident)
        if held is None:
            held = groups[ident] = Held(*ident)
    held.count += 1
    if len(held.examples) < KEEP:
        held.examples.append({"key": key, "reason": reason})


def _ordered(groups: dict[tuple[str, str, str | None, str], Held]) -> list[Held]:
    return sorted(groups.values(), key=lambda h: (-h.count, h.source, h.stream, str(h.field), h.reason))


# -- rendering ---------------------------------------------------------------------------------

def _examples(refs: list[str], count: int) -> str:
    shown = ", ".join(refs[:EXAMPLES])
    return shown + (f", … (+{count - min(len(refs), EXAMPLES)})" if count > min(len(refs), EXAMPLES) else "")


def _sections(impact: Impact) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) for every part of the report that has something in it."""
    out: list[tuple[str, list[str], list[list[str]]]] = []
    labels = {"practice": "practice", "capability": "tier", "team": "team"}
    for column in MOVES:
        rows = [[str(m.old or "-"), str(m.new or "-"), str(m.count), _examples(m.tickets, m.count)]
                for m in impact.moves if m.column == column]
        if rows:
            out.append((f"Tickets moving to another {labels[column]}", ["from", "to", "tickets", "examples"], rows))
    if impact.tickets_added.count or impact.tickets_removed.count:
        out.append(("Tickets appearing or disappearing", ["change", "tickets", "examples"],
                    [[c, str(s.count), _examples(s.examples, s.count)] for c, s in
                     (("mapped now", impact.tickets_added), ("no longer mapped", impact.tickets_removed))
                     if s.count]))
    for title, groups in (("Records quarantined", impact.quarantined),
                          ("Records released from quarantine", impact.released)):
        if groups:
            out.append((title, ["where", "field", "reason", "records", "examples"],
                        [[f"{h.source}/{h.stream}", h.field or "-", h.reason, str(h.count),
                          _examples([e["key"] for e in h.examples], h.count)] for h in groups]))
    if impact.gates:
        more = impact.gates_changed - len(impact.gates)
        out.append(("Transitions whose gate changes" + (f" (the first {len(impact.gates)}; {more} more)"
                                                        if more else ""),
                    ["transition", "service", "status", "items"],
                    [[g["transition"], g["service"], f"{g['old'] or '-'} → {g['new'] or '-'}",
                      "; ".join(f"{i['key']}: {i['old'] or '-'} → {i['new'] or '-'}" for i in g["items"])]
                     for g in impact.gates]))
    if impact.articles:
        out.append(("Articles", ["transition", "change"], [[a["transition"], a["change"]] for a in impact.articles]))
    return out


def headline(impact: Impact) -> str:
    s = impact.summary()
    return (f"{s['tickets_compared']} ticket(s) compared: {s['practice_moved']} change practice, "
            f"{s['capability_moved']} tier, {s['team_moved']} team; {s['quarantined']} record(s) "
            f"quarantined, {s['released']} released; {s['gates_changed']} gate(s) change, "
            f"{s['articles_rewritten']} article(s) rewritten")


def render_markdown(impact: Impact, title: str) -> str:
    lines = [f"# {title}", "", headline(impact) + ".", ""]
    for name, header, rows in _sections(impact):
        lines += [f"## {name}", "", "| " + " | ".join(header) + " |",
                  "|" + "|".join(" --- " for _ in header) + "|"]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        lines.append("")
    if impact.empty:
        lines += ["Nothing changes.", ""]
    return "\n".join(lines)


def render_json(impact: Impact, **extra: Any) -> str:
    return json.dumps({**extra, **impact.as_dict()}, indent=2, default=str)


def print_table(impact: Impact, title: str, console: Any) -> None:
    """Rich tables on `console`, one per part of the report."""
    from rich.table import Table

    console.print(f"[bold]{title}[/bold]: {headline(impact)}")
    for name, header, rows in _sections(impact):
        table = Table(title=name)
        for col in header:
            table.add_column(col, justify="right" if col in ("tickets", "records") else "left")
        for row in rows:
            table.add_row(*row)
        console.print(table)
