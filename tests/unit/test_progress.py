"""The progress reporter shared by `sync --once` and the `migrate` verbs."""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from rich.console import Console

from bridge.cli.progress import Reporter


class Clock:
    """A clock the test moves by hand: rates come out exact, nothing waits."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_on_a_terminal_it_draws_records_and_rate() -> None:
    out = StringIO()
    clock = Clock()
    console = Console(file=out, force_terminal=True, width=140, color_system=None)
    with Reporter(console, clock=clock) as report:
        for done in (500, 1000, 1500):
            report("pulling jira", done)
            clock.now += 2.0
        report("pulling snow", 200, 800)
        clock.now += 1.0
        report("pulling snow", 400, 800)
        report.progress.refresh()
        drawn = out.getvalue()
    assert "pulling jira" in drawn and "1,500 records" in drawn
    assert "250.0 it/s" in drawn  # 1,000 more records over 4 s, estimated by rich
    assert "400/800 records" in drawn and "50%" in drawn  # a total: share done and time left
    assert "200.0 it/s" in drawn.splitlines()[-1]  # and the rate beside them
    assert drawn.rstrip().endswith("0:00:02")  # time left: 400 records at 200/s


def test_without_a_terminal_it_logs_counts_rate_and_time_left(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    console = Console(file=StringIO(), force_terminal=False)
    with caplog.at_level(logging.INFO, logger="bridge.progress"), \
            Reporter(console, every=30.0, clock=clock) as report:
        report("pulling snow", 500, 2000)
        clock.now += 10.0
        report("pulling snow", 1000, 2000)  # before `every` seconds: no line yet
        assert not caplog.records
        clock.now += 25.0
        report("pulling snow", 1500, 2000)
        clock.now += 5.0
        report("copying tickets", 40)  # a new task ends the one before
    lines = [r.getMessage() for r in caplog.records]
    # rich estimates over its last 30 s: 500 records in the 25 s between the last two counts
    assert lines[0] == "pulling snow: 1,500/2,000 records, 20/s, about 25 s left"
    assert lines[1] == "pulling snow: 1,500 records done, 38/s, in 40.0 s"
    assert lines[2].startswith("copying tickets: 40 records done")
    assert len(lines) == 3
    assert caplog.records[1].__dict__["done"] == 1500
