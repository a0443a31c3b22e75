"""Derivation holds only the tickets a gate's evidence or the article reads: evaluating with
those gives the same items as with every ticket of the transition, whose busy service may
have hundreds of thousands."""

from __future__ import annotations

from typing import Any

from bridge.derive.evidence import EvidenceContext, evaluate_items, tickets_read
from bridge.derive.knowledge import article_context, is_known_error
from bridge.derive.linking import merge_transition
from mappings.gate import GateDef
from tests.derive.test_evidence import GATE, full_evidence, project, ticket

NESTED = GateDef.model_validate({"items": [
    {"key": "handover", "title": "Handed over", "evidence": {"kind": "any", "rules": [
        {"kind": "deliverable"},
        {"kind": "all", "rules": [{"kind": "receivers_signoff", "label": "gate:signoff"},
                                  {"kind": "tickets_approved",
                                   "when": {"path": "type", "equals": "Change"}}]}]}},
]})


def dump(items: list[Any]) -> list[dict[str, Any]]:
    return [i.model_dump(mode="json") for i in items]


def test_only_tickets_the_evidence_reads_are_kept_and_the_items_are_the_same() -> None:
    projects, tickets, article = full_evidence()
    noise = [ticket(f"PAY-{n}", type_="Incident", done=n % 3 != 0) for n in range(100, 160)]
    bug_done = ticket("PAY-90", type_="Bug", priority="critical")
    bug_open = ticket("PAY-91", type_="Bug", priority="critical", done=False)
    waiver = ticket("PAY-92", labels=["waiver:no_critical_defects"], done=True,
                    approved_by="Alice Service").model_copy(update={"summary": "vendor fix due"})
    problem = ticket("PAY-93", type_="Problem", done=False).model_copy(
        update={"summary": "Batch stalls"})
    everything = [*noise, bug_done, *tickets, bug_open, waiver, problem]
    read = tickets_read(GATE)
    kept = [t for t in everything if read(t) or is_known_error(t)]
    assert {t.key for t in kept} >= {t.key for t in tickets if "gate:runbook" in t.labels}
    assert {"PAY-91", "PAY-92", "PAY-93"} <= {t.key for t in kept}
    assert not {t.key for t in kept} & {t.key for t in [*noise, bug_done]}
    transition = merge_transition(projects)
    assert article_context(transition, projects, kept, None)[0].attributes["known_errors"]
    assert dump(evaluate_items(GATE, EvidenceContext(transition, projects, kept, article))) == dump(
        evaluate_items(GATE, EvidenceContext(transition, projects, everything, article)))
    assert article_context(transition, projects, kept, None) == article_context(
        transition, projects, everything, None)


def test_labels_and_rules_inside_any_and_all_are_read() -> None:
    read = tickets_read(NESTED)
    assert read(ticket("A-1", labels=["gate:handover"]))
    assert read(ticket("A-2", labels=["gate:signoff"]))
    assert read(ticket("A-3", type_="Change"))
    assert not read(ticket("A-4", type_="Incident", labels=["gate:other"]))
    receivers = [project(receivers=["Service Desk"])]
    signed = ticket("A-5", labels=["gate:signoff"], signed_off_by="Service Desk")
    everything = [ticket(f"A-{n}", type_="Incident") for n in range(10, 40)] + [signed]
    kept = [t for t in everything if read(t)]
    transition = merge_transition(receivers)
    assert kept == [signed]
    assert dump(evaluate_items(NESTED, EvidenceContext(transition, receivers, kept, None))) == dump(
        evaluate_items(NESTED, EvidenceContext(transition, receivers, everything, None)))
