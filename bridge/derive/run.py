"""Derivation over the whole store: transitions with gates, articles, workloads, planned pushes.

Runs in the caller's transaction, so the derived state and the outbox rows it causes
commit together. Projects and their linked tickets are few; the workload cells are
recomputed from ticket columns (seconds for a million tickets).

A derivation leaves a stamp (`STAMP`): a digest of everything it read that can change
without a transition's own inputs saying so: each source's pull mark (its count of pulls
that changed records, whether its picture is complete or stale), the definitions (mapping
and policy files, templates, reporting and push settings, the code's version) and the
local day. A cycle whose stamp is the stored one (`refresh_if_unchanged`) derives nothing
again: only the workload cells of the current week and month follow the clock (their
backlog's age), and those alone are recomputed.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from bridge import __version__, pullstate
from bridge.boardlinks import transition_url
from bridge.config import BridgeConfig
from bridge.derive.evidence import EvidenceContext, evaluate_items, tickets_read
from bridge.derive.gates import acceptance, evaluate, undated_for, went_live
from bridge.derive.knowledge import (
    ArticleChoice,
    KnowledgeIndex,
    article_context,
    author_for,
    cancelled,
    choose_article,
    is_known_error,
    render_article,
    written_digest,
)
from bridge.derive.linking import link_projects, merge_transition
from bridge.derive.workloads import refresh_cells, refresh_current_cells
from bridge.faults import crash_point
from bridge.models import KnowledgeArticle, Project, ServiceTransition, Ticket
from bridge.store import repository as repo
from bridge.store.schema import transitions as transitions_table
from connectors.base import connector_for
from mappings.compile import CompiledKnowledge
from mappings.gate import GateDef
from mappings.policy import Policy

if TYPE_CHECKING:
    from bridge.sourcemaps import SourceMapping
    from connectors.base import SourceConfig



class MappingProvider(Protocol):
    def mapping(self, source: SourceConfig) -> SourceMapping: ...

    def policy(self, source: str) -> Policy | None: ...


@dataclass
class DeriveResult:
    transitions: int = 0
    transitions_changed: int = 0
    articles_changed: int = 0
    #: what the article planning did this run: written, revised, adopted, retired
    articles: dict[str, int] = field(default_factory=dict)
    workload_cells: int = 0
    planned: list[dict[str, Any]] = field(default_factory=list)
    #: transition id -> why it kept its last derived state (a source mid-pull)
    held: dict[str, str] = field(default_factory=dict)
    #: nothing derivation reads changed since the last one (its stamp): only the workload
    #: cells of the current periods were recomputed
    skipped: bool = False


#: the inputs digest `migrate republish` leaves on a transition: derive it again with a new
#: gate version (new push keys), whatever its status; nothing outside the contract is stored
REPUBLISH = "republish"


#: the cursors row (source, stream) holding the last derivation's stamp: {"stamp", "token"};
#: "~" keeps it apart from sources' and streams' names
STAMP = ("~derive", "~stamp")


_SAFE_ID = re.compile(r"[A-Za-z0-9_.:@-]+")


def tag_id(transition_id: str) -> str:
    """The transition id as it appears in correlation keys and note tags: itself, or when a
    project key carries characters a tool's query could read as syntax (a ServiceNow number
    with `^`), a digest of it, so its pushes can still be looked up safely."""
    if _SAFE_ID.fullmatch(transition_id):
        return transition_id
    return "~" + hashlib.sha256(transition_id.encode()).hexdigest()[:24]


def article_correlation(transition_id: str) -> str:
    return f"smo-bridge:{tag_id(transition_id)}"


def derive_all(conn: Connection, config: BridgeConfig, mappings: MappingProvider,
               now: datetime | None = None,
               progress: Callable[[int, int], None] | None = None) -> DeriveResult:
    now = now or datetime.now(UTC)
    zone = ZoneInfo(config.reporting.timezone)
    today = now.astimezone(zone).date()
    stamp = derivation_stamp(conn, config, mappings, today)  # before reading what it covers
    result = DeriveResult()
    sources = {s.name: s for s in config.sources}
    stored = repo.stored_transitions(conn)
    derived_from = repo.transition_inputs(conn)
    definitions: dict[int, str] = {}
    index = _knowledge_index(conn, config)
    held = _quarantined_tickets(conn, config, mappings)
    kept: list[str] = []
    waiting: set[str] = set()
    # only complete pictures are derived from: a source mid-pull holds back its transitions
    states = {n: st for n, st in pullstate.all_states(conn).items() if n in sources}
    partial = {n for n, st in states.items() if not st.complete}
    stale = {n: st.completed_at for n, st in states.items() if st.complete and st.failed_at}
    groups = list(link_projects(repo.all_projects(conn), stored))
    for done, group in enumerate(groups):
        if progress is not None:
            progress(done, len(groups))  # (transitions derived, transitions in all)
        primary_source = sources.get(group[0].ref.source)
        if primary_source is None:
            waiting.add(merge_transition(group).id)  # not ended: its articles stay
            continue  # a source no longer configured: its projects wait for a migration
        compiled = mappings.mapping(primary_source).compiled
        # one policy for the product (or the source's explicit override), else its mapping
        policy = mappings.policy(primary_source.name)
        gate_def = policy.gate if policy else compiled.gate
        knowledge = policy.knowledge if policy else compiled.knowledge
        transition = merge_transition(group)
        keys = {p.key for p in group} | {k for p in group for k in p.link_keys}
        touched = (_sources_of(conn, config, group, keys, stored.get(transition.id))
                   if partial or stale else set())
        if touched & partial:
            waiting.add(transition.id)  # as last derived: no new gate version, no push
            if transition.id in stored:
                kept.append(transition.id)
                result.transitions += 1
            sources_waited = ", ".join(sorted(touched & partial))
            result.held[transition.id] = f"waiting for a complete pull of {sources_waited}"
            continue
        choice = choose_article(transition, article_correlation(transition.id), index,
                                knowledge.articles)
        article_state = choice.state()
        if id(gate_def) not in definitions:  # once per definition, not once per transition
            definitions[id(gate_def)] = _definitions_digest(config, gate_def, knowledge)
        unreadable = sum(held.get(s, 0) for s in {p.ref.source for p in group})
        inputs = _inputs_digest(conn, group, keys, choice.fingerprint(), today,
                                f"{definitions[id(gate_def)]}:{unreadable}")
        if transition.id in stored and derived_from.get(transition.id) == inputs:
            kept.append(transition.id)  # nothing it depends on changed: neither will its gate
            result.transitions += 1
            crash_point("derive")
            continue
        read = tickets_read(gate_def)  # held: only what evidence or the article reads
        tickets = [t for t in repo.tickets_for(conn, keys) if read(t) or is_known_error(t)]
        items = evaluate_items(gate_def, EvidenceContext(transition, group, tickets, article_state,
                                                         unreadable, today=today))
        accepted = acceptance(group, transition, items, gate_def.acceptance)
        gate = evaluate(items, today, config.reporting.at_risk_days, accepted, transition.service_manager,
                        went_live(transition, today), gate_def.acceptance,
                        undated_for(transition, today, config.reporting.no_go_live_days))
        judge = (f"policy {policy.file}" if policy else
                 f"the mapping of source {primary_source.name}")
        transition = transition.model_copy(update={"gate": gate.model_copy(
            update={"policy": judge})})
        previous = stored.get(transition.id)
        old_status = previous[1]["gate"]["status"] if previous else None
        version = int(previous[1].get("gate_version", 0)) if previous else 0
        # the pushed detail follows every item, not only the status
        moved = previous is None or _item_states(previous[1]["gate"]) != _item_states(
            gate.model_dump(mode="json"))
        republish = derived_from.get(transition.id) == REPUBLISH
        if old_status != gate.status.value or moved or republish:
            version += 1
        transition = transition.model_copy(update={"gate_version": version})
        kept.append(transition.id)
        result.transitions += 1
        if repo.save_transition(conn, transition, now, inputs):
            result.transitions_changed += 1
        crash_point("derive")
        if old_status != gate.status.value or moved or republish:
            as_of = {n: stale[n] for n in sorted(touched) if n in stale}
            result.planned += _plan_gate_pushes(conn, config, transition, group, old_status, as_of)
        if cancelled(group):
            changed, planned = _plan_retire(conn, config, transition.id, "cancelled", result)
        else:
            changed, planned = _plan_article(conn, config, transition, group, tickets, knowledge,
                                             choice, result, today)
        result.articles_changed += changed
        result.planned += planned
    if progress is not None:
        progress(len(groups), len(groups))
    if partial:  # a transition a half-pulled source no longer shows is not gone yet
        kept += [tid for tid, (_, payload) in stored.items()
                 if any(ref.get("source") in partial for ref in payload.get("projects", []))]
    for gone in sorted(set(stored) - set(kept) - waiting):  # merged into another transition, or gone
        changed, planned = _plan_retire(conn, config, gone, "ended", result)
        result.articles_changed += changed
        result.planned += planned
    repo.remove_transitions(conn, kept)
    # a token per derivation: the workload columns a process keeps are those of this one
    token = uuid.uuid4().hex
    result.workload_cells = refresh_cells(conn, zone, now, keep_as=token)
    repo.set_cursor(conn, *STAMP, {"stamp": stamp, "token": token})
    return result


def refresh_if_unchanged(conn: Connection, config: BridgeConfig, mappings: MappingProvider,
                         now: datetime | None = None) -> DeriveResult | None:
    """When nothing derivation reads changed since the last derivation (its stamp), what
    `derive_all` would do now: recompute the workload cells of the current periods, whose
    ages follow the clock, and nothing else. None when something changed: derive."""
    now = now or datetime.now(UTC)
    zone = ZoneInfo(config.reporting.timezone)
    saved = repo.get_cursor(conn, *STAMP)
    if not saved or saved.get("stamp") != derivation_stamp(
            conn, config, mappings, now.astimezone(zone).date()):
        return None
    configured = {s.name for s in config.sources}
    if any(not st.complete for n, st in pullstate.all_states(conn).items() if n in configured):
        return None  # a pull is writing its pages: the workload cells follow them as they land
    result = DeriveResult(skipped=True)
    result.transitions = int(conn.execute(select(func.count()).select_from(transitions_table))
                             .scalar_one())
    result.workload_cells = refresh_current_cells(conn, zone, now, str(saved.get("token")))
    return result


def derivation_stamp(conn: Connection, config: BridgeConfig, mappings: MappingProvider,
                     today: date) -> str:
    """What a derivation follows from beyond each transition's inputs (module docstring)."""
    pictures = {name: [st.complete, st.changes, st.failed_at is not None,
                       st.completed_at if st.failed_at else None]  # pushes cite it then
                for name, st in sorted(pullstate.all_states(conn).items())}
    definitions = []
    for source in config.sources:
        compiled = mappings.mapping(source).compiled
        policy = mappings.policy(source.name)
        gate_def = policy.gate if policy else compiled.gate
        knowledge = policy.knowledge if policy else compiled.knowledge
        definitions.append([source.name, source.kind, compiled.files, _files_digest(compiled.files),
                            policy.file if policy else None,
                            _files_digest([policy.file]) if policy else None,
                            _definitions_digest(config, gate_def, knowledge)])
    return repo.content_hash({
        "version": __version__, "today": today.isoformat(),
        "reporting": config.reporting.model_dump(mode="json"),
        "pictures": pictures, "definitions": definitions,
    })


def _files_digest(paths: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        try:
            digest.update(Path(path).read_bytes())
        except OSError:
            digest.update(f"unreadable:{path}".encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _item_states(gate: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(i["key"], i["status"], i.get("due")) for i in gate.get("items", [])]


def gate_line(transition: ServiceTransition, board_url: str | None = None) -> str:
    """The gate in one line a person reads on the project form: status, items met, the
    next missing item (the earliest due) with who approves it, and the board's page."""
    gate = transition.gate
    met = sum(1 for i in gate.items if i.status.value in ("met", "waived"))
    line = f"Operations gate {gate.status.value.replace('_', ' ')}: {met}/{len(gate.items)} met"
    missing = sorted((i for i in gate.items if i.status.value == "unmet"),
                     key=lambda i: (i.due is None, i.due or date.max, i.key))
    if missing:
        nxt = missing[0]
        parts = [f"due {nxt.due}" if nxt.due else None,
                 f"{nxt.approver} approves" if nxt.approver else None]
        detail = ", ".join(p for p in parts if p)
        line += f"; next: {nxt.title}" + (f" ({detail})" if detail else "")
        if len(missing) > 1:
            line += f" and {len(missing) - 1} more"
    if board_url:
        line += f". {board_url}"
    return line


def gate_comment(transition: ServiceTransition, old_status: str | None) -> str:
    """The comment or work note a gate push carries: the status, why, and each item still
    missing with its due day, who delivers it and who approves it."""
    gate = transition.gate
    met = sum(1 for i in gate.items if i.status.value in ("met", "waived"))
    status = gate.status.value.replace("_", " ")
    if old_status is None or old_status == gate.status.value:
        head = f"smo-bridge: the operations gate for {transition.service} is {status}"
    else:
        head = (f"smo-bridge: the operations gate for {transition.service} is now {status} "
                f"(was {old_status.replace('_', ' ')})")
    lines = [f"{head}: {met}/{len(gate.items)} items met or waived. {gate.reason}"]
    missing = [i for i in gate.items if i.status.value == "unmet"]
    if missing:
        lines.append("Still missing:")
    for item in missing:
        who = ", ".join(part for part in (
            f"due {item.due}" if item.due else None,
            f"delivers: {item.responsible_role.replace('_', ' ')}" if item.responsible_role else None,
            f"approves: {item.approver}" if item.approver else None) if part)
        lines.append(f"- {item.title}" + (f" ({who})" if who else ""))
    return "\n".join(lines)


def _quarantined_tickets(conn: Connection, config: BridgeConfig,
                         mappings: MappingProvider) -> dict[str, int]:
    """Per source, how many records of its ticket streams a mapping rejected."""
    counts: dict[str, int] = {}
    for source in config.sources:
        streams = {s for rule in mappings.mapping(source).compiled.tickets for s in rule.item.streams}
        counts[source.name] = repo.count_quarantined(conn, source.name, streams)
    return counts


def _inputs_digest(conn: Connection, group: Sequence[Project], keys: set[str],
                   article: list[Any], today: date, definitions: str) -> str:
    """Everything a transition's gate and article follow from, as one digest: its projects,
    its tickets (count and last change), the article's state, the day, and the definitions."""
    count, last_change = repo.ticket_activity(conn, keys)
    return repo.content_hash({
        "projects": [p.model_dump(mode="json") for p in group],
        "tickets": [count, last_change],
        "article": article,
        "today": today.isoformat(),
        "definitions": definitions,
    })


def _definitions_digest(config: BridgeConfig, gate: GateDef, knowledge: CompiledKnowledge) -> str:
    """The gate and knowledge definitions, the risk horizon and the push targets."""
    return repo.content_hash({
        "at_risk_days": config.reporting.at_risk_days,
        "gate": gate.model_dump(mode="json"),
        "knowledge": [knowledge.template_file, _template_text(knowledge.template_file),
                      knowledge.knowledge_base, knowledge.category, knowledge.workflow_state,
                      sorted(knowledge.articles.items()), knowledge.author],
        "push": config.push.model_dump(mode="json") if config.push else None,
        "board": config.web.public_url,  # pushed gate lines link there
    })


def _template_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return path  # a built-in template: its name stands for it


def _sources_of(conn: Connection, config: BridgeConfig, group: Sequence[Project], keys: set[str],
                stored: tuple[str, dict[str, Any]] | None) -> set[str]:
    """Every source a transition's state comes from: its projects', its tickets', those of
    the projects it was last derived from, and the knowledge base its article is read from."""
    found = {p.ref.source for p in group} | pullstate.ticket_sources(conn, keys)
    if config.push is not None and config.push.knowledge:
        found.add(config.push.knowledge)
    if stored is not None:
        found |= {ref.get("source") for ref in stored[1].get("projects", []) if ref.get("source")}
    return found


def _plan_gate_pushes(conn: Connection, config: BridgeConfig, transition: ServiceTransition,
                      group: Sequence[Project], old_status: str | None,
                      as_of: dict[str, str | None] | None = None) -> list[dict[str, Any]]:
    if config.push is None:
        return []
    planned = []
    gate = transition.gate
    page = transition_url(config.web.public_url, transition.id)
    payload_status: dict[str, Any] = {
        "transition": transition.id, "service": transition.service, "status": gate.status.value,
        "reason": gate.reason,
        "go_live": transition.go_live.isoformat() if transition.go_live else None,
        "items": [{"key": i.key, "status": i.status.value, "due": i.due.isoformat() if i.due else None}
                  for i in gate.items],
        "version": transition.gate_version,
        "summary": gate_line(transition, page),
    }
    comment = gate_comment(transition, old_status) + (f"\nOn the SMO board: {page}" if page else "")
    if as_of:  # a source whose latest pull failed counts with its last complete pull
        payload_status["as_of"] = as_of
        comment += "\n" + "; ".join(
            f"{name}: as of its last complete pull{f' ({at})' if at else ''}, the latest failed"
            for name, at in as_of.items())
    for target in config.push.gate_status:
        project = next((p for p in group if p.ref.source == target), None)
        if project is None:
            continue  # this source holds no project of the transition
        key = f"gate:{target}:{tag_id(transition.id)}:v{transition.gate_version}"
        payload = {"remote": project.ref.key, "project_key": project.key, "status": payload_status,
                   "comment": comment}
        if repo.enqueue(conn, key, target, "gate_status", payload):
            planned.append({"operation": "gate_status", "target": target, "transition": transition.id,
                            "key": key, "summary": f"{project.key}: {gate.status.value}"})
    return planned


def _plan_article(conn: Connection, config: BridgeConfig, transition: ServiceTransition,
                  group: Sequence[Project], tickets: Sequence[Ticket], knowledge: CompiledKnowledge,
                  choice: ArticleChoice, result: DeriveResult, today: date
                  ) -> tuple[bool, list[dict[str, Any]]]:
    """Save the article when its content changed (or a person edited what the bridge wrote),
    and plan its push; a service with its own article gets none. (changed, planned)."""
    if choice.adopted is not None or choice.configured is not None:
        ref = choice.adopted.ref if choice.adopted else choice.configured
        _count(result, "adopted")
        if not choice.live and repo.article_payload_of(conn, transition.id) is None:
            return False, []
        return _plan_retire(conn, config, transition.id, f"adopted {ref}", result)
    shown, extra = article_context(transition, group, tickets, choice.service)
    article = render_article(
        shown, knowledge.template, knowledge_base=knowledge.knowledge_base,
        category=knowledge.category, workflow_state=knowledge.workflow_state,
        service_id=choice.service.remote_id if choice.service else None,
        author=author_for(shown, choice.service) if knowledge.author == "service_manager" else None,
        generated_at=today.isoformat(), extra=extra)
    stored = repo.article_payload_of(conn, transition.id)
    previous = KnowledgeArticle.model_validate(stored) if stored else None
    written = written_digest(previous) if previous and not previous.retire else None
    edited = choice.edited(written)
    if previous and previous.content_hash == article.content_hash and edited is None:
        return False, []
    article = article.model_copy(update={"written": written})
    payload = article.model_dump(mode="json")
    repo.save_article(conn, transition.id, article.content_hash, payload)
    _count(result, "revised" if edited or (choice.current and choice.current.workflow_state != "draft")
           else "written")
    if config.push is None or config.push.knowledge is None:
        return True, []
    target = config.push.knowledge
    key = f"article:{target}:{transition.id}:{article.content_hash[:16]}"
    if edited is not None:  # once per edit: the person's version is what is now compared
        key += f":{edited.ref}:{edited.content[:8]}"
    outbox_payload = {"article": payload, "correlation": article_correlation(transition.id)}
    if not repo.enqueue(conn, key, target, "article", outbox_payload):
        return True, []
    return True, [{"operation": "article", "target": target, "transition": transition.id, "key": key,
             "summary": article.short_description}]


def _plan_retire(conn: Connection, config: BridgeConfig, transition_id: str, why: str,
                 result: DeriveResult) -> tuple[bool, list[dict[str, Any]]]:
    """Retire what the bridge wrote for a transition that ended (merged, cancelled) or whose
    service has its own article: the connector retires only records the bridge created."""
    stored = repo.article_payload_of(conn, transition_id)
    if stored is None or stored.get("retire"):
        return False, []
    article = KnowledgeArticle.model_validate({**stored, "retire": True})
    repo.save_article(conn, transition_id, f"retire:{article.content_hash[:57]}",
                      article.model_dump(mode="json"))
    _count(result, "retired")
    if config.push is None or config.push.knowledge is None:
        return True, []
    target = config.push.knowledge
    key = f"article-retire:{target}:{transition_id}:{article.content_hash[:16]}"
    payload = {"article": article.model_dump(mode="json"),
               "correlation": article_correlation(transition_id)}
    if not repo.enqueue(conn, key, target, "article", payload):
        return True, []
    return True, [{"operation": "article", "target": target, "transition": transition_id,
                   "key": key, "summary": f"retire the article of {transition_id} ({why})"}]


def _count(result: DeriveResult, what: str) -> None:
    result.articles[what] = result.articles.get(what, 0) + 1


def _knowledge_index(conn: Connection, config: BridgeConfig) -> KnowledgeIndex:
    """Articles (anyone's) and their approvals as the knowledge target holds them, and the
    services every source's CMDB describes, from the pulled records: each connector reads
    its own (`Connector.article_streams`, `article_state`, `service_stream`, `service_facts`)."""
    index = KnowledgeIndex()
    target = config.push.knowledge if config.push else None
    for source in config.sources:
        connector = connector_for(source)
        if connector.service_stream:
            for raw in repo.iter_raw(conn, source.name, [connector.service_stream]):
                facts = connector.service_facts(raw)
                if facts is not None:
                    index.add(facts)
        if source.name != target or not connector.article_streams:
            continue
        for raw in repo.iter_raw(conn, source.name, list(connector.article_streams)):
            found = connector.article_state(raw)
            if found is not None:
                index.add(found)
    return index
