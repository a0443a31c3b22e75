"""First contact with a ServiceNow instance, for `smo-bridge check`: nothing is written.

Per table: readable, and how many rows (X-Total-Count on a one-row page). Side tables:
whether deletions and custom columns can be read. Push targets: what the push will use
(work note, custom column, marker). Whether the account may write work notes or articles
is not tested (that would take a write, or the ACL tables an integration user cannot
read): the probe says so. Fields a mapping reads that sys_dictionary does not define are
listed when the caller names them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from bridge.errors import BridgeError, PermissionDenied, SourceError
from connectors.base import Probe
from connectors.servicenow_push import has_column, knowledge_base_id, unreadable
from connectors.servicenow_query import NAME, field_value, lineage

if TYPE_CHECKING:
    from connectors.servicenow import ServiceNowConnector

_NOT_VERIFIED = "write access not verified until the first push (checking needs a write)"


def probe(
    conn: ServiceNowConnector,
    pushes: frozenset[str],
    fields: Mapping[str, Iterable[str]] | None = None,
) -> Iterator[Probe]:
    reached = conn.probe_connection()
    yield reached
    if reached.level == "error":
        return
    explicit = "tables" in conn.cfg.model_fields_set
    for table in conn.cfg.tables:
        yield _table(conn, table, explicit)
    if conn.cfg.deletions:
        found = _table(conn, "sys_audit_delete", True)
        if found.level != "ok":
            found = Probe(
                found.subject,
                "warning",
                f"{found.detail}: deleted records will not be reported; grant the "
                "integration user read access to sys_audit_delete (admin-only by default)",
            )
        yield found
    for target in sorted(pushes):
        if target == "gate_status":
            yield _gate_target(conn)
        elif target == "knowledge":
            yield _knowledge_target(conn)
        else:
            yield Probe(f"push {target}", "error", f"a {conn.kind} source cannot receive {target}")
    for table, names in sorted((fields or {}).items()):
        yield from _fields(conn, table, names)


def _table(conn: ServiceNowConnector, table: str, explicit: bool) -> Probe:
    subject = f"stream {table}"
    try:
        page = conn.count(table)
    except PermissionDenied as exc:
        return Probe(subject, "warning", f"not readable, skipped: grant read access ({exc})")
    except SourceError as exc:
        if not explicit and "Invalid table" in str(exc):
            return Probe(subject, "warning", "the instance has no such table; skipped")
        return Probe(subject, "error", str(exc))
    except BridgeError as exc:
        return Probe(subject, "error", str(exc))
    if page is None:
        return Probe(subject, "ok", "readable (no row count sent)")
    return Probe(subject, "ok", f"readable, {page} rows", count=page)


def _gate_target(conn: ServiceNowConnector) -> Probe:
    gate = conn.cfg.gate_field
    try:
        column = has_column(conn, "pm_project", gate)
    except BridgeError as exc:
        return Probe("push gate_status", "error", str(exc))
    where = {
        True: f"a work note on the pm_project, and its column {gate}",
        False: f"a work note on the pm_project (no column {gate} on this instance)",
        None: f"a work note on the pm_project, and {gate} if a project row shows that column "
        "(sys_dictionary not readable)",
    }[column]
    return Probe("push gate_status", "ok", f"{where}; {_NOT_VERIFIED}")


def _knowledge_target(conn: ServiceNowConnector) -> Probe:
    corr = conn.cfg.correlation_field
    try:
        column = has_column(conn, "kb_knowledge", corr)
        if conn.cfg.knowledge_base:
            knowledge_base_id(conn, conn.cfg.knowledge_base)
    except BridgeError as exc:
        return Probe("push knowledge", "error", str(exc))
    key = f"the {corr} column and a meta keyword" if column else "a meta keyword"
    base = (
        f"knowledge base {conn.cfg.knowledge_base!r}"
        if conn.cfg.knowledge_base
        else "the knowledge base the mapping names, else the instance's default"
    )
    return Probe(
        "push knowledge",
        "ok",
        f"kb_knowledge articles in {base}, keyed by {key}; {_NOT_VERIFIED}",
    )


def _fields(conn: ServiceNowConnector, table: str, names: Iterable[str]) -> Iterator[Probe]:
    """Columns a mapping reads (`u_service.display_value` reads `u_service`) that the
    table and its parents do not define; sys_ columns are on every table."""
    wanted = sorted({n.split(".")[0] for n in names if n.split(".")[0]})
    wanted = [n for n in wanted if NAME.match(n) and not n.startswith("sys_")]
    if not wanted or not NAME.match(table):
        return
    try:
        rows = conn.rows(
            "sys_dictionary",
            f"nameIN{','.join(lineage(table))}^elementIN{','.join(wanted)}",
            ["name", "element"],
            limit=len(wanted) * 4,
            display_value=False,
        )
    except SourceError as exc:
        if not unreadable(exc):
            raise
        yield Probe(
            f"fields {table}",
            "warning",
            "cannot list the instance's columns: grant read access to sys_dictionary",
        )
        return
    known = {
        str(field_value(r, "element")) for r in rows if field_value(r, "name") in lineage(table)
    }
    for name in wanted:
        if name not in known:
            yield Probe(
                f"field {table}.{name}",
                "warning",
                "not on this instance: the mapping falls back to other fields or leaves it unset",
            )
