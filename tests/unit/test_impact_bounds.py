"""The remap's impact report stays bounded: counts are exact, examples and groups capped,
whatever the number of records compared."""

from __future__ import annotations

from bridge import impact
from bridge.impact import Comparison


def test_counts_are_exact_and_examples_capped() -> None:
    seen = Comparison()
    for n in range(1000):
        seen.ticket(f"jira:OPS-{n}", ("problem_management", "c2", "Database"),
                    ("incident_management", "c2", "Database" if n % 2 else "Data Platform"))
    for n in range(300):
        seen.ticket(f"jira:NEW-{n}", None, ("incident_management", "c2", "Database"))
    report = seen.result(tickets_compared=1300)
    practice = [m for m in report.moves if m.column == "practice"]
    team = [m for m in report.moves if m.column == "team"]
    assert [(m.old, m.new, m.count) for m in practice] == [("problem_management", "incident_management", 1000)]
    assert [(m.old, m.new, m.count) for m in team] == [("Database", "Data Platform", 500)]
    assert practice[0].tickets == [f"jira:OPS-{n}" for n in range(impact.KEEP)]  # the first, in order
    assert team[0].tickets[:2] == ["jira:OPS-0", "jira:OPS-2"]
    assert report.tickets_added.count == 300 and len(report.tickets_added.examples) == impact.KEEP
    summary = report.summary()
    assert summary["practice_moved"] == 1000 and summary["team_moved"] == 500
    assert summary["tickets_added"] == 300 and summary["capability_moved"] == 0
    shown = impact.render_markdown(report, "t")
    assert "| problem_management | incident_management | 1000 |" in shown
    assert f"… (+{1000 - impact.EXAMPLES})" in shown


def test_reasons_quoting_values_group_and_the_groups_are_capped() -> None:
    seen = Comparison()
    for n in range(500):  # one reason shape, a value quoted per record
        seen.quarantined("jira", "issues", f"OPS-{n}", "team", f"value 'group-{n}' not in the table")
    for n in range(impact.GROUPS * 3):  # more reason shapes than are kept
        seen.quarantined("snow", "incident", f"INC{n}", f"field_{n}", "required value missing")
    seen.released("jira", "issues", "OPS-9", "resolved", "required value missing")
    report = seen.result(tickets_compared=0)
    assert len(report.quarantined) == impact.GROUPS + 1  # past the cap: one "other" group per stream
    assert sum(h.count for h in report.quarantined) == 500 + impact.GROUPS * 3
    biggest = report.quarantined[0]
    assert (biggest.field, biggest.reason, biggest.count) == ("team", "value '…' not in the table", 500)
    assert len(biggest.examples) == impact.KEEP
    assert biggest.examples[3] == {"key": "OPS-3", "reason": "value 'group-3' not in the table"}
    other = [h for h in report.quarantined if h.reason == impact.OTHER]
    assert len(other) == 1 and other[0].count > impact.GROUPS
    assert len(other[0].examples) == impact.KEEP
    assert report.summary()["released"] == 1
