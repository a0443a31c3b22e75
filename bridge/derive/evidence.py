"""Evaluating a mapping's gate definition against what the tools hold for one transition.

Each item becomes a `GateItem`: met with the evidence found (which ticket, field or
article, and when), waived (who and why), or unmet with what is still missing.
Waivers are data read from the tools (a project's `waivers` attribute, or tickets labelled
`waiver:<item>`): who asked, why, until when, approved by whom; see `_waivers`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bridge.derive.gates import same_person
from bridge.models import (
    Evidence,
    GateItem,
    ItemStatus,
    Project,
    ServiceTransition,
    Ticket,
    Waiver,
)
from mappings.gate import (
    AllOfEvidence,
    AnyOfEvidence,
    ArticlePublished,
    DeliverableDone,
    FieldSet,
    GateDef,
    GateItemDef,
    MilestonesScheduled,
    NoOpenTickets,
    ProjectMatches,
    ReceiversSignoff,
    TicketDone,
    TicketsApproved,
)
from mappings.paths import compile_object_getter, parse_path


@dataclass(frozen=True)
class ArticleState:
    """What is known of the transition's knowledge article in the target knowledge base.

    `adopted`: a person's article the service already had; `person`: who published or
    approved it, when the tool says; `self_published`: published by the bridge's own
    account and approved by nobody (no evidence); `approved`: `person` approved it."""

    ref: str
    workflow_state: str
    at: datetime | None = None
    adopted: bool = False
    person: str | None = None
    self_published: bool = False
    approved: bool = False


@dataclass
class Found:
    met: bool
    evidence: list[Evidence]
    missing: str | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    #: who the deliverable itself appoints to approve it, when it names someone
    appointed: str | None = None


class EvidenceContext:
    def __init__(self, transition: ServiceTransition, projects: Sequence[Project],
                 tickets: Sequence[Ticket], article: ArticleState | None,
                 quarantined_tickets: int = 0, today: date | None = None) -> None:
        self.transition = transition
        self.today = today
        self.projects = projects
        self.tickets = tickets
        self.article = article
        # tickets of the transition's sources that no mapping could read: any may be open
        self.quarantined_tickets = quarantined_tickets


#: evidence whose date is when it was delivered (a field or project match is dated by the
#: project's last change, which says nothing of when the item was done)
DELIVERED = ("ticket", "approval", "article", "milestone")


def delivered_on(evidence: list[Evidence]) -> date | None:
    """When an item's evidence was delivered: its latest delivery-dated piece."""
    dated = [e.at.date() for e in evidence if e.at is not None and e.kind in DELIVERED]
    return max(dated) if dated else None


def tickets_read(gate: GateDef) -> Callable[[Ticket], bool]:
    """Whether the gate's evidence (or a waiver) can read a ticket: a deliverable or waiver
    label, a ticket rule matching it (an open one, for `no_open_tickets`). Evaluating with
    only those tickets gives the same items as with all of the transition's, so derivation
    holds those few, not every ticket of a transition's busy service."""
    labels: set[str] = set()
    matching: list[Any] = []
    open_matching: list[Any] = []
    rules: list[tuple[Any, str]] = [(i.evidence, i.key) for i in gate.enabled_items]
    while rules:
        rule, key = rules.pop()
        if isinstance(rule, AllOfEvidence | AnyOfEvidence):
            rules += [(r, key) for r in rule.rules]
        elif isinstance(rule, DeliverableDone | ReceiversSignoff):
            labels.add(rule.label_for(key))
        elif isinstance(rule, TicketDone | TicketsApproved):
            matching.append(rule)
        elif isinstance(rule, NoOpenTickets):
            open_matching.append(rule)

    def read(ticket: Ticket) -> bool:
        if any(label in labels or label.startswith(WAIVER_LABEL) for label in ticket.labels):
            return True
        if any(rule.matches(ticket) for rule in matching):
            return True
        return ticket.status_category != "done" and any(r.matches(ticket) for r in open_matching)
    return read


def evaluate_items(gate: GateDef, ctx: EvidenceContext) -> list[GateItem]:
    waivers = _waivers(ctx)
    items: list[GateItem] = []
    for item_def in gate.enabled_items:
        approver = _approver_name(item_def, ctx)
        due = _due(item_def, ctx.transition)
        base = {"key": item_def.key, "title": item_def.title, "deliverable": item_def.deliverable,
                "responsible_role": item_def.responsible, "approver": approver, "due": due}
        waiver, refused = _valid_waiver(waivers.get(item_def.key, []), approver, ctx)
        # an item whose approver names nobody here needs an approval no one can give
        needed = approver if approver or item_def.approver is None else ""
        found = _check(item_def.evidence, ctx, needed, item_def.key)
        if found.appointed:
            base["approver"] = found.appointed
        if found.met:
            done_on = delivered_on(found.evidence)
            go_live = ctx.transition.go_live
            items.append(GateItem(**base, status=ItemStatus.MET, evidence=found.evidence,
                                  approved_by=found.approved_by, approved_at=found.approved_at,
                                  late_days=max(0, (done_on - due).days) if done_on and due else None,
                                  after_go_live=bool(done_on and go_live and done_on > go_live)))
        elif waiver is not None:
            items.append(GateItem(**base, status=ItemStatus.WAIVED, waiver=waiver,
                                  evidence=found.evidence, missing=found.missing))
        else:
            missing = "; ".join(m for m in (found.missing, refused) if m) or None
            items.append(GateItem(**base, status=ItemStatus.UNMET, evidence=found.evidence,
                                  missing=missing))
    return items


def _due(item_def: GateItemDef, transition: ServiceTransition) -> date | None:
    days = item_def.due_days
    if days is None:
        return None
    anchor: date | None = transition.go_live
    if item_def.anchor != "go_live":
        anchor = next((m.due for m in transition.milestones if m.kind == item_def.anchor), None)
    return anchor + timedelta(days=days) if anchor else None


def _approver_name(item_def: GateItemDef, ctx: EvidenceContext) -> str | None:
    approver = item_def.approver
    if approver is None:
        return None
    if approver.name:
        return approver.name
    return role_name(approver.role or "", ctx)


def role_name(role: str, ctx: EvidenceContext) -> str | None:
    """Who holds a transition role: its own roles, else the contact mapped with that role."""
    t = ctx.transition
    if role == "service_manager":
        return t.service_manager
    if role == "resolver_group":
        return t.resolver_group
    if role == "project_manager":
        return next((p.project_manager for p in ctx.projects if p.project_manager), None)
    return next((c.name for c in t.contacts if c.role == role), None)


WAIVER_LABEL = "waiver:"


def _waivers(ctx: EvidenceContext) -> dict[str, list[Waiver]]:
    """Waivers by item: a project's `waivers` attribute (a list of {item, by, reason, until,
    approved_by, at}), and tickets labelled `waiver:<item>` — who asked (`attributes.
    requested_by`), why (the summary), until when (`attributes.until`), approved by whom
    (`attributes.approved_by`, only once the ticket is done)."""
    found: dict[str, list[Waiver]] = {}
    for project in ctx.projects:
        for raw in project.attributes.get("waivers") or []:
            if isinstance(raw, dict) and raw.get("item") and raw.get("by") and raw.get("reason"):
                found.setdefault(str(raw["item"]), []).append(Waiver(
                    by=str(raw["by"]), reason=str(raw["reason"]), at=raw.get("at"),
                    until=_day(raw.get("until")), approved_by=raw.get("approved_by") or None))
    for ticket in ctx.tickets:
        for label in ticket.labels:
            if not label.startswith(WAIVER_LABEL) or not ticket.summary:
                continue
            approved = ticket.attributes.get("approved_by") if ticket.status_category == "done" else None
            found.setdefault(label[len(WAIVER_LABEL):], []).append(Waiver(
                by=str(ticket.attributes.get("requested_by") or "unknown"), reason=ticket.summary,
                at=ticket.resolved or ticket.updated, until=_day(ticket.attributes.get("until")),
                approved_by=str(approved) if approved else None, ref=ticket.label))
    return found


def _day(value: object) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _valid_waiver(waivers: Sequence[Waiver], approver: str | None,
                  ctx: EvidenceContext) -> tuple[Waiver | None, str | None]:
    """The first waiver that counts, else why none does: a waiver counts once approved (by
    the item's approver when that is one of the transition's people) and until its day."""
    why: str | None = None
    for waiver in waivers:
        name = f"waiver by {waiver.by}" + (f" ({waiver.ref})" if waiver.ref else "")
        if not waiver.approved_by:
            why = f"{name} is not approved"
        elif approver and _is_person(approver, ctx) and not same_person(waiver.approved_by,
                                                                        approver):
            why = f"{name} was approved by {waiver.approved_by}, not by {approver}"
        elif waiver.until and ctx.today and waiver.until < ctx.today:
            why = f"{name} expired on {waiver.until}"
        else:
            return waiver, None
    return None, why


def _get(obj: Any, path: str) -> Any:
    return compile_object_getter(parse_path(path))(obj)


def _check(rule: Any, ctx: EvidenceContext, approver: str | None, key: str) -> Found:
    if isinstance(rule, FieldSet):
        for project in ctx.projects:
            value = rule.value_of(project)
            if value not in (None, "", [], {}):
                return Found(True, [Evidence(kind="field", ref=f"{project.ref.source}:{project.key}",
                                             detail=f"{rule.field} = {value}", at=project.updated)])
        return Found(False, [], f"{rule.field} is not set on any project of the transition")
    if isinstance(rule, ProjectMatches):
        for project in ctx.projects:
            if rule.matches(project):
                return Found(True, [Evidence(kind="project", ref=f"{project.ref.source}:{project.key}",
                                             detail="project matches", at=project.updated)])
        return Found(False, [], "no project of the transition matches the rule")
    if isinstance(rule, DeliverableDone):
        return _deliverable(rule, ctx, approver, key)
    if isinstance(rule, ReceiversSignoff):
        return _receivers_signoff(rule, ctx, key)
    if isinstance(rule, TicketDone):
        return _ticket_done(rule, ctx, approver)
    if isinstance(rule, TicketsApproved):
        return _tickets_approved(rule, ctx, approver)
    if isinstance(rule, NoOpenTickets):
        open_ = [t for t in ctx.tickets if rule.matches(t) and t.status_category != "done"]
        if open_:
            keys = ", ".join(t.label for t in open_[:5])
            return Found(False, [_ticket_evidence(t, "still open") for t in open_[:5]],
                         f"{len(open_)} open ticket(s): {keys}")
        if ctx.quarantined_tickets:
            return Found(False, [], f"unknown: {ctx.quarantined_tickets} ticket(s) of its sources "
                                    "are quarantined and may be open (smo-bridge quarantine list)")
        return Found(True, [Evidence(kind="ticket", ref="-", detail="no open tickets match")])
    if isinstance(rule, ArticlePublished):
        return article_published(ctx.article, approver if _is_person(approver, ctx) else None)
    if isinstance(rule, MilestonesScheduled):
        return _milestones(rule, ctx.transition)
    if isinstance(rule, AllOfEvidence):
        parts = [_check(r, ctx, approver, key) for r in rule.rules]
        missing = "; ".join(p.missing for p in parts if not p.met and p.missing)
        return Found(all(p.met for p in parts), [e for p in parts for e in p.evidence], missing or None)
    if isinstance(rule, AnyOfEvidence):
        parts = [_check(r, ctx, approver, key) for r in rule.rules]
        met = [p for p in parts if p.met]
        if met:
            return met[0]
        return Found(False, [], " or ".join(p.missing for p in parts if p.missing) or None)
    raise TypeError(f"unknown evidence rule {type(rule).__name__}")


#: contact roles that name a team, not a person
TEAM_ROLES = frozenset({"service_desk", "resolver_group"})


def _is_person(name: str | None, ctx: EvidenceContext) -> bool:
    """Whether an item's approver is a person rather than a team (the resolver group, a
    receiving team, a team contact), whose members the tools do not tell us."""
    if not name:
        return False
    teams = [ctx.transition.resolver_group, *ctx.transition.receivers,
             *(c.name for c in ctx.transition.contacts if c.role in TEAM_ROLES)]
    return not any(t and same_person(str(name), t) for t in teams)


def article_published(article: ArticleState | None, approver: str | None = None) -> Found:
    """Met by a published article that a person published or approved, read from the tool:
    never by one the bridge's own account published with nobody's approval. With a person
    as the item's `approver`, only that person's recorded approval counts."""
    if article is None:
        return Found(False, [], "knowledge article not published (no article yet)")
    if article.workflow_state != "published":
        return Found(False, [], f"knowledge article not published (article {article.ref} is "
                                f"{article.workflow_state})")
    if article.self_published:
        return Found(False, [], f"article {article.ref} was published by smo-bridge itself: a "
                                "person must approve it before it counts")
    # the service's existing article went through the knowledge base's own workflow
    if approver and not article.adopted and not (article.approved and article.person
                                                 and same_person(article.person, approver)):
        given = (f"approved by {article.person}" if article.approved
                 else f"published by {article.person or 'a person'}")
        return Found(False, [Evidence(kind="article", ref=article.ref, detail=given,
                                      at=article.at)],
                     f"article {article.ref} {given}; awaits approval by {approver}")
    who = f" by {article.person}" if article.person else ""
    if article.approved:
        detail = f"{article.ref} published, approved{who}"
    elif article.adopted:
        detail = f"{article.ref} published{who} (the service's existing article)"
    else:
        detail = f"{article.ref} published{who}"
    return Found(True, [Evidence(kind="article", ref=article.ref, detail=detail, at=article.at)],
                 approved_by=article.person if article.approved else None,
                 approved_at=article.at if article.approved else None)


def _ticket_evidence(ticket: Ticket, detail: str) -> Evidence:
    return Evidence(kind="ticket", ref=f"{ticket.ref.source}:{ticket.key}", detail=f"{ticket.label} {detail}",
                    at=ticket.resolved or ticket.updated)


def _approval(ticket: Ticket, approved_by_field: str, approver_field: str,
              item_approver: str | None) -> tuple[bool, str | None, str]:
    """(approved by the appointed approver, who gave it, why) for one ticket."""
    appointed = _get(ticket, approver_field) or item_approver
    given = _get(ticket, approved_by_field)
    if not appointed:
        return False, None, f"{ticket.label} has no appointed approver"
    if not given:
        return False, None, f"{ticket.label} awaits approval by {appointed}"
    if not same_person(str(given), str(appointed)):
        return False, None, (f"{ticket.label} approved by {given}, "
                             f"but the appointed approver is {appointed}")
    return True, str(given), f"{ticket.label} approved by {given} (the appointed approver)"


def _ticket_done(rule: TicketDone, ctx: EvidenceContext, approver: str | None) -> Found:
    matching = [t for t in ctx.tickets if rule.matches(t)]
    if not matching:
        return Found(False, [], "no matching ticket in the transition")
    done = [t for t in matching if t.status_category == "done"]
    if not done:
        return Found(False, [_ticket_evidence(t, f"is {t.status or 'open'}") for t in matching[:3]],
                     f"{matching[0].label} is not done")
    if not rule.approved:
        return Found(True, [_ticket_evidence(done[0], "done")])
    reasons = []
    for ticket in done:
        ok, given, why = _approval(ticket, rule.approved_by_field, rule.approver_field, approver)
        if ok:
            at = ticket.resolved or ticket.updated
            return Found(True, [_ticket_evidence(ticket, "done"),
                                Evidence(kind="approval", ref=f"{ticket.ref.source}:{ticket.key}",
                                         detail=why, at=at)], approved_by=given, approved_at=at)
        reasons.append(why)
    return Found(False, [_ticket_evidence(done[0], "done")], "; ".join(reasons))


def _tickets_approved(rule: TicketsApproved, ctx: EvidenceContext, approver: str | None) -> Found:
    matching = [t for t in ctx.tickets if rule.matches(t)]
    if not matching:
        return Found(False, [], "no matching deliverables in the transition")
    problems: list[str] = []
    evidence: list[Evidence] = []
    approvers: list[str] = []
    for ticket in matching:
        if ticket.status_category != "done":
            problems.append(f"{ticket.label} is not done")
            continue
        ok, given, why = _approval(ticket, rule.approved_by_field, rule.approver_field, approver)
        if ok and given:
            approvers.append(given)
            evidence.append(Evidence(kind="approval", ref=f"{ticket.ref.source}:{ticket.key}", detail=why,
                                     at=ticket.resolved or ticket.updated))
        else:
            problems.append(why)
    if problems:
        return Found(False, evidence, "; ".join(problems))
    last = max((e.at for e in evidence if e.at), default=None)
    return Found(True, evidence, approved_by=", ".join(dict.fromkeys(approvers)), approved_at=last)


def _milestones(rule: MilestonesScheduled, transition: ServiceTransition) -> Found:
    by_kind = {m.kind: m for m in transition.milestones if m.due is not None}
    missing = [k for k in rule.kinds if k not in by_kind]
    if missing:
        return Found(False, [], f"milestone(s) without a date: {', '.join(missing)}")
    if rule.after_go_live:
        go_live = transition.go_live
        early = [k for k in rule.kinds if go_live is None or (by_kind[k].due or date.min) <= go_live]
        if early:
            return Found(False, [], f"{', '.join(early)} must fall after the go-live date")
    return Found(True, [Evidence(kind="milestone", ref=k, detail=f"{by_kind[k].name} on {by_kind[k].due}")
                        for k in rule.kinds])


def _moment(value: Any) -> datetime | None:
    """A mapped timestamp attribute (an ISO text; one without a zone is UTC, as the
    tools' value-mode timestamps are); the latest of a list; None when absent or unreadable."""
    if isinstance(value, list):
        return max((m for m in map(_moment, value) if m), default=None)
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str) and value.strip():
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _approved_at(ticket: Ticket, person: str) -> datetime | None:
    """When `person` approved: `attributes.approved_at` read beside `attributes.approved_by`
    (a task with several approvals gives both as lists, paired by position)."""
    times = _get(ticket, "attributes.approved_at")
    if not isinstance(times, list):
        return _moment(times)
    names = _names(_get(ticket, "attributes.approved_by"))
    if len(names) == len(times):
        for name, at in zip(names, times, strict=True):
            if same_person(name, person):
                return _moment(at)
    return _moment(times)


def _names(value: Any) -> list[str]:
    """A person or group read at a ticket path: one name, or several (a fan-out)."""
    if value in (None, "", [], {}):
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)]


def _deliverables(ctx: EvidenceContext, label: str) -> list[Ticket]:
    return [t for t in ctx.tickets if label in t.labels]


def _deliverable(rule: DeliverableDone, ctx: EvidenceContext, approver: str | None,
                 key: str) -> Found:
    """The item's own deliverable done, and approved by its appointed approver when the
    item has one (who approved is read from the tool, never from the ticket's text)."""
    label = rule.label_for(key)
    matching = _deliverables(ctx, label)
    if not matching:
        return Found(False, [], f"no deliverable labelled {label!r} in the transition")
    done = [t for t in matching if t.status_category == "done"]
    if not done:
        return Found(False, [_ticket_evidence(t, f"is {t.status or 'open'}") for t in matching[:3]],
                     f"deliverable {matching[0].label} is not done")
    if approver is None:
        return Found(True, [_ticket_evidence(done[0], "done")])
    reasons = []
    own: str | None = None  # the appointed approver a deliverable names itself
    for ticket in done:
        named = _get(ticket, rule.approver_field) if rule.approver_field else None
        own = own or (str(named) if named else None)
        appointed = named or approver
        if not appointed:
            reasons.append(f"{ticket.label} is done but its approver role names nobody")
            continue
        given = [n for path in rule.approved_by_fields for n in _names(_get(ticket, path))]
        right = next((g for g in given if same_person(g, str(appointed))), None)
        if right is not None:
            at = _approved_at(ticket, right) or ticket.resolved or ticket.updated
            why = f"{ticket.label} approved by {right} (the appointed approver)"
            return Found(True, [_ticket_evidence(ticket, "done"),
                                Evidence(kind="approval", ref=f"{ticket.ref.source}:{ticket.key}",
                                         detail=why, at=at)], approved_by=right, approved_at=at,
                         appointed=str(named) if named else None)
        if given:
            reasons.append(f"{ticket.label} approved by {', '.join(given)}, "
                           f"but the appointed approver is {appointed}")
        else:
            reasons.append(f"{ticket.label} is done and awaits approval by {appointed}")
    return Found(False, [_ticket_evidence(done[0], "done")], "; ".join(reasons), appointed=own)


def _receivers_signoff(rule: ReceiversSignoff, ctx: EvidenceContext, key: str) -> Found:
    """Every receiving team signed off through a done deliverable recording its sign-off."""
    if rule.receivers is not None:
        receivers = [role_name(r, ctx) or "" for r in rule.receivers]
        if not all(receivers):
            nobody = [r for r, n in zip(rule.receivers, receivers, strict=True) if not n]
            return Found(False, [], f"receiver role(s) {', '.join(nobody)} name nobody "
                                    "in this transition")
    else:
        receivers = list(dict.fromkeys(r for p in ctx.projects for r in p.receivers))
    if not receivers:
        return Found(False, [], "the transition names no receivers")
    label = rule.label_for(key)
    signed: dict[str, Ticket] = {}
    for ticket in _deliverables(ctx, label):
        if ticket.status_category != "done":
            continue
        for team in _names(_get(ticket, rule.team_field)):
            for receiver in receivers:
                if same_person(team, receiver):
                    signed.setdefault(receiver, ticket)
    evidence = [Evidence(kind="approval", ref=f"{t.ref.source}:{t.key}",
                         detail=f"{r} signed off ({t.label})",
                         at=_moment(_get(t, "attributes.approved_at")) or t.resolved or t.updated)
                for r, t in signed.items()]
    missing = [r for r in receivers if r not in signed]
    if missing:
        return Found(False, evidence, f"no sign-off yet from {', '.join(missing)}")
    last = max((e.at for e in evidence if e.at), default=None)
    return Found(True, evidence, approved_by=", ".join(signed), approved_at=last)
