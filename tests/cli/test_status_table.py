"""`status` as a table: plain aligned columns holding every figure of `--format json`,
nothing cut short, coloured only for a terminal."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from rich.console import Console

from bridge.cli.main import cli
from bridge.cli.status import render_tables, transitions_table
from tests.unit.test_status_reading import _fill, status_config

ANSI = re.compile(r"\x1b\[[0-9;]*m")

DATA: dict[str, Any] = {
    "sources": [
        {"name": "jira", "kind": "jira", "last_success": "2026-11-20T09:30:15Z", "records": 12345,
         "projects": 6, "tickets": 12000, "quarantined": 0,
         "pull": {"complete": True, "completed_at": "x", "failed_at": None}},
        {"name": "snow", "kind": "servicenow", "last_success": None, "records": 7,
         "projects": 1, "tickets": 5, "quarantined": 3,
         "pull": {"complete": False, "completed_at": None, "failed_at": None}},
        {"name": "old", "kind": "unknown", "last_success": None, "records": 0,
         "projects": 0, "tickets": 0, "quarantined": 0,
         "pull": {"complete": True, "completed_at": None, "failed_at": "2026-11-20T08:00:00Z"}},
    ],
    "transitions": [
        {"id": "snow:PRJ0010001", "source": "snow", "project": "PRJ0010001",
         "service": "Identity & Access Management for the whole Group", "go_live": None,
         "gate": {"status": "ready_for_review", "items": [
             {"key": "a", "status": "met"}, {"key": "b", "status": "waived"},
             {"key": "c", "status": "unmet"}]}},
        {"id": "jira:PAY", "source": "jira", "project": "PAY", "service": "Paiements 支払い",
         "go_live": "2026-12-01", "gate": {"status": "live_unready", "items": []}},
    ],
    "workloads": [
        {"capability": "operational", "practice": "infrastructure_and_platform_management",
         "team": "End User Services", "open": 8, "opened": 5, "closed": 6,
         "median_age_days": 210.3, "window_days": 30},
        {"capability": "tactical", "practice": "software_development_and_management",
         "team": "Software Engineering", "open": 0, "opened": 0, "closed": 1,
         "median_age_days": None, "window_days": 30},
    ],
    "workloads_as_of": "2026-11-20T09:30:15Z",
    "outbox": {"pending": 1, "failed": 2, "delivered": 17},
}


def _width(text: str) -> int:
    return sum(2 if "\u3040" <= c <= "\u9fff" else 1 for c in text)


def _cells(line: str, spans: list[tuple[int, int]]) -> list[str]:
    """A line cut at the columns' spans, by display cells (a wide character takes two)."""
    chars, col = [], 0
    for c in line:
        chars.append((col, c))
        col += _width(c)
    return ["".join(c for at, c in chars if start <= at < end).strip() for start, end in spans]


def tables(text: str) -> dict[str, tuple[list[str], list[list[str]]]]:
    """Each table by title: its header and rows, cut at the columns its rule line marks."""
    found: dict[str, tuple[list[str], list[list[str]]]] = {}
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        if len(lines) < 3 or not set(lines[2]) <= {"-", " "}:
            continue
        spans = [m.span() for m in re.finditer(r"-+", lines[2])]
        found[lines[0]] = (_cells(lines[1], spans), [_cells(line, spans) for line in lines[3:]])
    return found


def test_every_figure_of_the_json_is_in_the_table() -> None:
    text = render_tables(DATA)
    assert not ANSI.search(text)
    shown = tables(text)
    assert shown["Sources"] == (
        ["name", "kind", "last success", "pull", "records", "projects", "tickets", "quarantined"],
        [["jira", "jira", "2026-11-20T09:30:15Z", "complete", "12345", "6", "12000", "0"],
         ["snow", "servicenow", "never", "partial: its transitions wait", "7", "1", "5", "3"],
         ["old", "unknown", "never", "last failed", "0", "0", "0", "0"]])
    assert shown["Service transitions"] == (
        ["service", "project", "go-live", "gate", "items met"],
        [["Identity & Access Management for the whole Group", "snow:PRJ0010001", "",
          "ready_for_review", "2/3"],
         ["Paiements 支払い", "jira:PAY", "2026-12-01", "live_unready", "0/0"]])
    assert shown["Capability workloads (last 30 days)"] == (
        ["capability", "practice", "team", "open", "opened", "closed", "median age (days)"],
        [["operational", "infrastructure_and_platform_management", "End User Services", "8",
          "5", "6", "210.30"],
         ["tactical", "software_development_and_management", "Software Engineering", "0", "0",
          "1", ""]])
    assert text.rstrip().endswith("Outbox: 1 pending, 2 failed, 17 delivered")
    # numbers line up on the right
    lines = text.splitlines()
    start, end = [m.span() for m in re.finditer(r"-+", lines[2])][4]
    assert [line[start:end] for line in lines[1:6]] == [
        "records", "-------", "  12345", "      7", "      0"]


def test_colour_marks_statuses_on_a_terminal_only() -> None:
    coloured = render_tables(DATA, colour=True)
    assert "\x1b[1;31mlive_unready\x1b[0m" in coloured
    assert "\x1b[36mready_for_review\x1b[0m" in coloured
    assert "\x1b[33mpartial: its transitions wait\x1b[0m" in coloured
    assert "\x1b[33m3\x1b[0m" in coloured and "\x1b[31mlast failed\x1b[0m" in coloured
    assert ANSI.sub("", coloured) == render_tables(DATA)


def test_an_empty_store_shows_headers_and_the_outbox() -> None:
    empty = {"sources": [], "transitions": [], "workloads": [], "workloads_as_of": None,
             "outbox": {"pending": 0, "failed": 0, "delivered": 0}}
    shown = tables(render_tables(empty))
    assert shown["Sources"][1] == [] and shown["Service transitions"][1] == []
    assert shown["Capability workloads"][0][0] == "capability"


def test_the_status_command_shows_the_store_as_its_json_says(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    _fill(url)
    config = status_config(tmp_path, url)
    runner = CliRunner()
    data = json.loads(runner.invoke(cli, ["--config", str(config), "status", "--format", "json"],
                                    catch_exceptions=False).output)
    table = runner.invoke(cli, ["--config", str(config), "status"], catch_exceptions=False).output
    assert table == render_tables(data)  # not a terminal: no colour
    shown = tables(table)
    assert [row[0] for row in shown["Sources"][1]] == [s["name"] for s in data["sources"]]
    assert [row[4] for row in shown["Sources"][1]] == [str(s["records"]) for s in data["sources"]]
    assert [row[1] for row in shown["Service transitions"][1]] == [
        f"{t['source']}:{t['project']}" for t in data["transitions"]]
    assert len(shown["Capability workloads (last 30 days)"][1]) == len(data["workloads"])


def test_the_demo_table_holds_the_same_cells() -> None:
    out = io.StringIO()
    Console(file=out, width=200).print(transitions_table(DATA["transitions"], "T"))
    for row in tables(render_tables(DATA))["Service transitions"][1]:
        for cell in row:
            assert cell in out.getvalue()
