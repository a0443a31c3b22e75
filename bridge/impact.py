"""What a mapping change does to the stored picture: a before/after comparison of the
state store, read inside the caller's transaction.

`migrate remap --dry-run` and `mappings diff` take a snapshot, map and derive again in a
transaction they roll back, take another snapshot and compare; the applied remap runs the
very same steps and commits instead, so what the dry run reported is what it applies.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from bridge.store.schema import knowledge_articles, quarantine, tickets, transitions

#: ticket columns whose change moves a ticket to another workload cell
MOVES = ("practice", "capability", "team")
EXAMPLES = 5


@dataclass
class Snapshot:
    """The parts of the store a mapping change can move, keyed so two snapshots compare."""

    tickets: dict[tuple[str, str], tuple[str | None, ...]] = field(default_factory=dict)
    labels: dict[tuple[str, str], str] = field(default_factory=dict)
    quarantine: dict[tuple[str, str, str], tuple[str | None, str]] = field(default_factory=dict)
    gates: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = field(default_factory=dict)
    articles: dict[str, str] = field(default_factory=dict)


def snapshot(conn: Connection, sources: Iterable[str] | None = None) -> Snapshot:
    """Tickets (their practice, tier and team), quarantine, gates and articles as stored now;
    tickets and quarantine only of `sources` when given (derived state is always whole)."""
    only = set(sources) if sources is not None else None
    shot = Snapshot()
    query = select(tickets.c.source, tickets.c.key, tickets.c.practice, tickets.c.capability,
                   tickets.c.team, tickets.c.payload["display_key"].as_string().label("label"))
    if only is not None:
        query = query.where(tickets.c.source.in_(sorted(only)))
    for row in conn.execution_options(yield_per=5000).execute(query):
        shot.tickets[(row.source, row.key)] = (row.practice, row.capability, row.team)
        if row.label:
            shot.labels[(row.source, row.key)] = str(row.label)
    held = select(quarantine.c.source, quarantine.c.stream, quarantine.c.key,
                  quarantine.c.field, quarantine.c.reason)
    if only is not None:
        held = held.where(quarantine.c.source.in_(sorted(only)))
    for q in conn.execute(held):
        shot.quarantine[(q.source, q.stream, q.key)] = (q.field, q.reason)
    for t in conn.execute(select(transitions.c.id, transitions.c.service, transitions.c.gate_status,
                                 transitions.c.payload)):
        items = (t.payload or {}).get("gate", {}).get("items", [])
        shot.gates[t.id] = (t.service, t.gate_status,
                            tuple((str(i.get("key")), str(i.get("status"))) for i in items))
    for a in conn.execute(select(knowledge_articles.c.transition_id, knowledge_articles.c.content_hash)):
        shot.articles[a.transition_id] = a.content_hash
    return shot


@dataclass
class Move:
    """Tickets that moved from one value of a column to another."""

    column: str
    old: str | None
    new: str | None
    tickets: list[str] = field(default_factory=list)  # "source:key"


@dataclass
class Impact:
    """Every change between two snapshots, record by record (sorted, so two runs compare)."""

    tickets_compared: int = 0
    moves: list[Move] = field(default_factory=list)
    tickets_added: list[str] = field(default_factory=list)
    tickets_removed: list[str] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)  # newly or differently
    released: list[dict[str, Any]] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)
    articles: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.moves or self.tickets_added or self.tickets_removed or self.quarantined
                    or self.released or self.gates or self.articles)

    def moved(self, column: str) -> int:
        return sum(len(m.tickets) for m in self.moves if m.column == column)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["summary"] = self.summary()
        return data

    def summary(self) -> dict[str, int]:
        return {
            "tickets_compared": self.tickets_compared,
            **{f"{c}_moved": self.moved(c) for c in MOVES},
            "tickets_added": len(self.tickets_added), "tickets_removed": len(self.tickets_removed),
            "quarantined": len(self.quarantined), "released": len(self.released),
            "gates_changed": len(self.gates), "articles_rewritten": len(self.articles),
        }


def compare(before: Snapshot, after: Snapshot) -> Impact:
    impact = Impact(tickets_compared=len(before.tickets.keys() | after.tickets.keys()))
    groups: dict[tuple[str, str | None, str | None], list[str]] = {}
    for ticket in sorted(before.tickets.keys() & after.tickets.keys()):
        for column, was, now in zip(MOVES, before.tickets[ticket], after.tickets[ticket], strict=True):
            if was != now:
                groups.setdefault((column, was, now), []).append(_ref(ticket, after, before))
    order = {c: i for i, c in enumerate(MOVES)}
    impact.moves = [Move(c, o, n, refs) for (c, o, n), refs in
                    sorted(groups.items(), key=lambda g: (order[g[0][0]], -len(g[1]), str(g[0][1]),
                                                         str(g[0][2])))]
    impact.tickets_added = [_ref(k, after, before) for k in sorted(after.tickets.keys() - before.tickets.keys())]
    impact.tickets_removed = [_ref(k, after, before)
                              for k in sorted(before.tickets.keys() - after.tickets.keys())]
    for key in sorted(after.quarantine):
        if before.quarantine.get(key) != after.quarantine[key]:
            fld, reason = after.quarantine[key]
            impact.quarantined.append({"source": key[0], "stream": key[1], "key": key[2],
                                       "field": fld, "reason": reason})
    for key in sorted(before.quarantine.keys() - after.quarantine.keys()):
        fld, reason = before.quarantine[key]
        impact.released.append({"source": key[0], "stream": key[1], "key": key[2],
                                "field": fld, "was": reason})
    for tid in sorted(before.gates.keys() | after.gates.keys()):
        old, new = before.gates.get(tid), after.gates.get(tid)
        if old is not None and new is not None and old[1:] == new[1:]:
            continue
        old_items: dict[str, str] = dict(old[2]) if old else {}
        new_items: dict[str, str] = dict(new[2]) if new else {}
        items = [{"key": k, "old": old_items.get(k), "new": new_items.get(k)}
                 for k in sorted(old_items.keys() | new_items.keys()) if old_items.get(k) != new_items.get(k)]
        impact.gates.append({"transition": tid, "service": (new or old or ("",))[0],
                             "old": old[1] if old else None, "new": new[1] if new else None,
                             "items": items})
    for tid in sorted(before.articles.keys() | after.articles.keys()):
        old_hash, new_hash = before.articles.get(tid), after.articles.get(tid)
        if old_hash != new_hash:
            change = "written" if old_hash is None else "retired" if new_hash is None else "rewritten"
            impact.articles.append({"transition": tid, "change": change})
    return impact


def _ref(key: tuple[str, str], *shots: Snapshot) -> str:
    for shot in shots:
        if key in shot.labels:
            return f"{key[0]}:{shot.labels[key]}"
    return f"{key[0]}:{key[1]}"


# -- rendering ---------------------------------------------------------------------------------

def _examples(refs: list[str]) -> str:
    shown = ", ".join(refs[:EXAMPLES])
    return shown + (f", … (+{len(refs) - EXAMPLES})" if len(refs) > EXAMPLES else "")


def _reasons(rows: list[dict[str, Any]], reason: str) -> list[tuple[str, str | None, str, int, list[str]]]:
    """(source/stream, field, reason, count, example keys), largest first."""
    counted: Counter[tuple[str, str | None, str]] = Counter()
    examples: dict[tuple[str, str | None, str], list[str]] = {}
    for r in rows:
        group = (f"{r['source']}/{r['stream']}", r["field"], r[reason])
        counted[group] += 1
        examples.setdefault(group, []).append(r["key"])
    return [(g[0], g[1], g[2], n, examples[g]) for g, n in counted.most_common()]


def _sections(impact: Impact) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) for every part of the report that has something in it."""
    out: list[tuple[str, list[str], list[list[str]]]] = []
    labels = {"practice": "practice", "capability": "tier", "team": "team"}
    for column in MOVES:
        rows = [[str(m.old or "-"), str(m.new or "-"), str(len(m.tickets)), _examples(m.tickets)]
                for m in impact.moves if m.column == column]
        if rows:
            out.append((f"Tickets moving to another {labels[column]}", ["from", "to", "tickets", "examples"], rows))
    if impact.tickets_added or impact.tickets_removed:
        out.append(("Tickets appearing or disappearing", ["change", "tickets", "examples"],
                    [[c, str(len(refs)), _examples(refs)] for c, refs in
                     (("mapped now", impact.tickets_added), ("no longer mapped", impact.tickets_removed)) if refs]))
    for title, rows_in, reason in (("Records quarantined", impact.quarantined, "reason"),
                                   ("Records released from quarantine", impact.released, "was")):
        grouped = _reasons(rows_in, reason)
        if grouped:
            out.append((title, ["where", "field", "reason", "records", "examples"],
                        [[w, f or "-", r, str(n), _examples(keys)] for w, f, r, n, keys in grouped]))
    if impact.gates:
        out.append(("Transitions whose gate changes", ["transition", "service", "status", "items"],
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
