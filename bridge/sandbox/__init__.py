"""The sandbox: emulated Jira REST and ServiceNow Table APIs on loopback, seeded with an org.

    from bridge.sandbox import Sandbox

    with Sandbox(seed=42, tickets=2000, jira_deployment="cloud") as sb:
        sb.jira_url, sb.servicenow_url          # http://127.0.0.1:PORT
        sb.faults("jira").configure(rate_limit=10, error_rate=0.1, seed=7)
        sb.faults("servicenow").reset()

`tls=SandboxTLS(folder)` serves HTTPS with a throwaway certificate authority (its PEM at
`tls.ca_bundle`, for REQUESTS_CA_BUNDLE); the URLs then start with https.

Both accept basic auth `sandbox`/`sandbox` (Jira also a bearer token `sandbox`). The same
seed, ticket count and day give the same data; `now=` pins the day.

ServiceNow is a stock instance seen by a non-admin integration user unless told otherwise:
- `custom_columns=True`: the customised instance the bridge was first built against: the
  customer's `u_` columns (pm_project.u_service, u_go_live, ..., cmdb_ci_service.u_aliases,
  kb_knowledge.u_smo_correlation), their knowledge bases, dense ticket rows (no empty
  time_worked, made_sla or close_code, no legacy states, no duplicate number), and unless
  set otherwise an admin user, no hidden rows and unknown query fields refused: the
  sandbox as it was, plus the stock fields;
- `admin=True`: sys_audit_delete is readable (403 otherwise) and no row is hidden;
- `acl_hidden`: the share of ticket rows a read ACL hides (0 turns it off);
- `invalid_query`: a condition on a missing field is dropped (`"ignore"`, the platform's
  default), matches nothing (`"no_rows"`, glide.invalid_query.returns_no_rows=true) or is
  refused with 400 (`"error"`).

Read-back helpers, for checking from the outside what a client pushed:
- `sb.jira_comments("OPS-1")`: comment bodies (text) of an issue, seeded and pushed.
- `sb.jira_issue_property("PAYX-1", "smo.gate")`, `sb.jira_project_property("PAYX", key)`:
  the stored JSON value, or None.
- `sb.servicenow_rows("kb_knowledge", "short_description=abc")`: value-mode rows matching an
  encoded query, as admin sees them (an unknown field raises); `sb.servicenow_count("incident")`:
  live rows of a table.
- `sb.org`: the seeded organisation (services, people, transitions with go-live dates).
- `sb.jira_store`, `sb.servicenow_store`: the underlying stores, for anything else.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bridge.sandbox.clock import anchor_for
from bridge.sandbox.encoded_query import UNKNOWN_FIELD_MODES
from bridge.sandbox.encoded_query import parse as parse_encoded_query
from bridge.sandbox.faults import FaultMiddleware, Faults
from bridge.sandbox.jira_api import JiraApp, JiraFaults
from bridge.sandbox.jira_data import JiraData
from bridge.sandbox.jira_render import adf_text
from bridge.sandbox.jira_store import JiraStore
from bridge.sandbox.org import Org, build_org
from bridge.sandbox.server import LineSink, SandboxTLS, ServiceServer
from bridge.sandbox.servicenow_api import ServiceNowApp, ServiceNowFaults
from bridge.sandbox.sn_seed import ServiceNowData
from bridge.sandbox.sn_store import ServiceNowStore

__all__ = ["ACL_HIDDEN", "Faults", "Sandbox"]

Service = Literal["jira", "servicenow"]
JIRA_SHARE = 0.4  # of `tickets`; the rest are ServiceNow tickets
ACL_HIDDEN = 0.02  # of ServiceNow ticket rows, unreadable to the integration user


class Sandbox:
    def __init__(
        self,
        seed: int = 42,
        tickets: int = 2000,
        jira_deployment: str = "cloud",
        host: str = "127.0.0.1",
        jira_port: int = 0,
        servicenow_port: int = 0,
        *,
        now: datetime | None = None,
        jira_time_zone: str = "America/New_York",
        jira_status_categories: bool = True,
        jira_project_admin: bool = False,
        servicenow_time_zone: str = "America/Los_Angeles",
        custom_columns: bool = False,
        admin: bool | None = None,
        acl_hidden: float | None = None,
        invalid_query: str | None = None,
        tls: SandboxTLS | None = None,
    ) -> None:
        if jira_deployment not in ("cloud", "server"):
            raise ValueError(
                f"jira_deployment must be 'cloud' or 'server', not {jira_deployment!r}"
            )
        if tickets < 0:
            raise ValueError("tickets must be >= 0")
        # unset: the stock instance's non-admin user, or the customised instance as it was
        if admin is None:
            admin = custom_columns
        if acl_hidden is None:
            acl_hidden = 0.0 if custom_columns else ACL_HIDDEN
        if invalid_query is None:
            invalid_query = "error" if custom_columns else "ignore"
        if invalid_query not in UNKNOWN_FIELD_MODES:
            raise ValueError(
                f"invalid_query must be one of {', '.join(UNKNOWN_FIELD_MODES)}, "
                f"not {invalid_query!r}"
            )
        self.seed = seed
        self.tickets = tickets
        self.jira_deployment = jira_deployment
        self.org: Org = build_org(seed, anchor_for(now))
        jira_tickets = round(tickets * JIRA_SHARE)
        self.jira_store = JiraStore(JiraData(self.org, jira_tickets), ZoneInfo(jira_time_zone))
        # False: statuses without `statusCategory`, as Jira Server 5.x sends them
        self.jira_store.status_categories = jira_status_categories
        self.jira_store.project_admin = jira_project_admin
        self.servicenow_store = ServiceNowStore(
            ServiceNowData(self.org, tickets - jira_tickets, custom_columns),
            ZoneInfo(servicenow_time_zone),
            admin=admin,
            acl_hidden=acl_hidden,
            unknown_fields=invalid_query,
        )
        self._faults: dict[str, Faults] = {"jira": Faults(), "servicenow": Faults()}
        cloud = jira_deployment == "cloud"
        jira_app = FaultMiddleware(
            JiraApp(self.jira_store, cloud),
            self._faults["jira"],
            JiraFaults(cloud, self.jira_store),
        )
        sn_app = FaultMiddleware(
            ServiceNowApp(self.servicenow_store), self._faults["servicenow"], ServiceNowFaults()
        )
        self._servers = {
            "jira": ServiceServer(jira_app, host, jira_port, tls),
            "servicenow": ServiceServer(sn_app, host, servicenow_port, tls),
        }
        self.started = False

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> Sandbox:
        """Bind both servers; returns once they accept connections."""
        if not self.started:
            try:
                for server in self._servers.values():
                    server.start()
            except BaseException:
                self.stop()
                raise
            self.started = True
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()
        self.started = False

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def jira_url(self) -> str:
        return self._servers["jira"].url

    @property
    def servicenow_url(self) -> str:
        return self._servers["servicenow"].url

    def log_requests(self, service: Service, sink: LineSink) -> None:
        """Write one JSON line per request `service` receives to `sink` (before start())."""
        self._servers[service].request_log = sink

    def faults(self, service: Service) -> Faults:
        if service not in self._faults:
            raise ValueError(f"service must be 'jira' or 'servicenow', not {service!r}")
        return self._faults[service]

    # -- read-back ----------------------------------------------------------------------
    def jira_comments(self, key: str) -> list[str]:
        handle = self.jira_store.data.handle_of(key)
        if handle is None:
            raise KeyError(key)
        return [adf_text(c.body) for c in self.jira_store.comments(handle)]

    def jira_issue_property(self, key: str, prop: str) -> Any:
        handle = self.jira_store.data.handle_of(key)
        if handle is None:
            raise KeyError(key)
        return self.jira_store.issue_properties.get(handle, {}).get(prop)

    def jira_project_property(self, key: str, prop: str) -> Any:
        project = self.jira_store.data.find_project(key)
        if project is None:
            raise KeyError(key)
        return self.jira_store.project_properties.get(project.index, {}).get(prop)

    def servicenow_rows(self, table: str, query: str = "") -> list[dict[str, str]]:
        store = self.servicenow_store
        found = store.table(table)
        if found is None:
            raise KeyError(table)
        parsed = parse_encoded_query(query, store.known(found), table, store.zone)
        page, _ = store.select(found, parsed, 0, 1_000_000)
        return [dict(found.row(i)) for i in page]

    def servicenow_count(self, table: str) -> int:
        found = self.servicenow_store.table(table)
        if found is None:
            raise KeyError(table)
        return len(found)
