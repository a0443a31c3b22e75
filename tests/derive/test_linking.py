from __future__ import annotations

from datetime import date

from bridge.derive.linking import link_projects, merge_transition
from bridge.models import Milestone, Project, SourceRef


def project(source: str, key: str, **kw: object) -> Project:
    stream = "projects" if source == "jira" else "pm_project"
    return Project.model_validate({"ref": SourceRef(source=source, stream=stream, key=key),
                                   "key": key, "name": f"{key} project", **kw})


def test_jira_and_servicenow_projects_link_by_key() -> None:
    pay = project("jira", "PAY", service="Payments")
    prj = project("snow", "PRJ0001", link_keys=["pay"], service_manager="Alice Service",
                  go_live=date(2026, 12, 1))
    lone = project("snow", "PRJ0002", service="HR portal")
    groups = link_projects([prj, lone, pay])
    assert [[p.key for p in g] for g in groups] == [["PAY", "PRJ0001"], ["PRJ0002"]]
    merged = merge_transition(groups[0])
    assert merged.id == "jira:PAY"
    assert merged.service == "Payments"
    assert merged.service_manager == "Alice Service" and merged.go_live == date(2026, 12, 1)
    assert [r.key for r in merged.projects] == ["PAY", "PRJ0001"]


def test_links_are_transitive() -> None:
    a = project("jira", "A", link_keys=["SVC-1"])
    b = project("snow", "B", link_keys=["svc-1", "X"])
    c = project("snow", "C", link_keys=["x"])
    assert [[p.key for p in g] for g in link_projects([c, b, a])] == [["A", "B", "C"]]


def test_primary_values_win_for_milestones_and_hypercare() -> None:
    jira = project("jira", "PAY", milestones=[Milestone(kind="hypercare_end", name="Hypercare end",
                                                        due=date(2027, 1, 15))])
    snow = project("snow", "PRJ1", link_keys=["PAY"], milestones=[
        Milestone(kind="hypercare_end", name="End of support", due=date(2027, 2, 1)),
        Milestone(kind="go_live", name="Go-live", due=date(2026, 12, 1))])
    merged = merge_transition(link_projects([snow, jira])[0])
    assert merged.hypercare_end == date(2027, 1, 15)
    assert [m.kind for m in merged.milestones] == ["go_live", "hypercare_end"]
    assert merged.service == "PAY project"


def test_go_live_falls_back_to_the_go_live_milestone() -> None:
    jira = project("jira", "OPS", milestones=[Milestone(kind="go_live", name="Go-live", due=date(2027, 3, 1))])
    assert merge_transition([jira]).go_live == date(2027, 3, 1)
    dated = project("jira", "OPS", go_live=date(2027, 2, 1),
                    milestones=[Milestone(kind="go_live", name="Go-live", due=date(2027, 3, 1))])
    assert merge_transition([dated]).go_live == date(2027, 2, 1)


def test_projects_naming_one_service_are_one_transition() -> None:
    jira = project("jira", "PAYX", service="Payments")
    snow = project("snow", "PRJ1", service="payments ")  # another case, a stray space
    alias = project("snow", "PRJ2", service="Payment Gateway", service_aliases=["PAYMENTS"])
    other = project("snow", "PRJ3", service="HR Portal")
    groups = link_projects([other, alias, snow, jira])
    assert [[p.key for p in g] for g in groups] == [["PAYX", "PRJ1", "PRJ2"], ["PRJ3"]]


def test_the_id_does_not_follow_the_order_of_sources() -> None:
    a = project("snow", "PRJ1", service="Payments")
    b = project("jira", "PAYX", service="Payments")
    ids = {merge_transition(link_projects(ps)[0]).id for ps in ([a, b], [b, a])}
    assert ids == {"jira:PAYX"}


def test_a_known_id_stays_when_a_partner_appears() -> None:
    snow = project("snow", "PRJ1", service="Payments")
    assert merge_transition(link_projects([snow])[0]).id == "snow:PRJ1"
    jira = project("jira", "PAYX", service="Payments")  # sorts first, but arrives later
    assert merge_transition(link_projects([jira, snow], {"snow:PRJ1"})[0]).id == "snow:PRJ1"
