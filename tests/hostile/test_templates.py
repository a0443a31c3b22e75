"""Hostile knowledge templates: compiled and rendered against a sample transition when the
mapping file loads (`mappings validate`, `config validate`, the start of a sync), and held
to a time and size budget at run time."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.derive.knowledge import render_article
from bridge.errors import ConfigError
from bridge.models import ServiceTransition
from mappings import templates, validate_files
from mappings.templates import template_environment

BASE = """meta: {kind: jira}
tickets:
  - stream: issues
    fields:
      key: key
      opened: fields.created
knowledge: {template: kb.j2}
"""
FAILS = "kb.j2:{line}:1: knowledge.template: the template fails on a sample transition: "
EMPTY = "kb.j2: knowledge.template: the template renders an empty article for a sample transition"
HEAD = "<h1>{{ transition.service }}</h1>\n"

CASES: list[tuple[str, str, str]] = [
    ("division by zero", HEAD + "<p>{{ 1 / 0 }}</p>\n",
     FAILS.format(line=2) + "ZeroDivisionError: division by zero"),
    ("a gigabyte by multiplication", HEAD + '{{ "x" * 1000000000 }}\n',
     FAILS.format(line=2) + "the template multiplies a value past 1,000,000 items"),
    ("a list by multiplication", HEAD + "{{ [1, 2] * 900000 }}\n",
     FAILS.format(line=2) + "the template multiplies a value past 1,000,000 items"),
    ("a string doubled in a loop", HEAD + '{% set ns = namespace(v="ab") %}\n'
     "{% for i in range(40) %}{% set ns.v = ns.v ~ ns.v %}{% endfor %}{{ ns.v | length }}\n",
     FAILS.format(line=3) + "the template built a value of 1,048,576 items (at most 1,000,000)"),
    ("a huge power", HEAD + "{{ 7 ** 99999999 }}\n",
     FAILS.format(line=2) + "the template raises a number to the power 99,999,999"),
    ("a wide center filter", HEAD + '{{ "x" | center(1000000000) }}\n',
     FAILS.format(line=2) + "the template asks for a width of 1,000,000,000 (at most 1,000,000)"),
    ("a wide str method", HEAD + '{{ "x".ljust(1000000000) }}\n',
     FAILS.format(line=2) + "the template asks for a width of 1,000,000,000 (at most 1,000,000)"),
    ("a wide % format", HEAD + '{{ "%900000000s" % "x" }}\n',
     FAILS.format(line=2) + "the template asks for a field millions of characters wide"),
    ("a wide str.format", HEAD + '{{ "{:>900000000}".format("x") }}\n',
     FAILS.format(line=2) + "the template asks for a field millions of characters wide"),
    ("an article of a billion characters", HEAD + "{% for i in range(100000) %}"
     "{% for j in range(100000) %}xxxxxxxxxx{% endfor %}{% endfor %}\n",
     # counted as it streams out, past the template's own lines
     "kb.j2: knowledge.template: the template fails on a sample transition: the article is "
     "longer than 1,000,000 characters"),
    ("endless loops", HEAD + "{% for i in range(100000) %}{% for j in range(100000) %}"
     "{% endfor %}{% endfor %}\n",
     FAILS.format(line=2) + "the template took longer than 0.2 s to render"),
    ("endless recursion", "{% macro f(n) %}{{ f(n) }}{% endmacro %}\n" + HEAD + "{{ f(1) }}\n",
     FAILS.format(line=1) + "the template recurses too deeply"),
    ("nothing at all", "{# the article #}\n", EMPTY),
    ("only tags", "<h1></h1>\n<p>  </p>\n", EMPTY),
    ("only values the sample lacks", "<p>{{ transition.nope.deeper }}</p>\n", EMPTY),
    ("reaching for Python internals", "{{ transition.__class__.__mro__ }}\n"
     "{{ transition.service.__class__ }}\n", EMPTY),
]


@pytest.fixture(autouse=True)
def _short_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(templates, "RENDER_SECONDS", 0.2)


@pytest.mark.parametrize(("template", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_hostile_template_is_refused_when_its_file_loads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: str, expected: str) -> None:
    monkeypatch.chdir(tmp_path)
    Path("kb.j2").write_text(template, encoding="utf-8")
    Path("m.yaml").write_text(BASE, encoding="utf-8")
    assert [str(i) for i in validate_files(["m.yaml"])] == [expected]


def test_a_template_that_renders_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("kb.j2").write_text(HEAD + "<p>{{ attributes.sla or 'no SLA' }}, {{ 2 ** 100 }}, "
                             "call 1234567 at 50%</p>\n", encoding="utf-8")
    Path("m.yaml").write_text(BASE, encoding="utf-8")
    assert validate_files(["m.yaml"]) == []


def test_an_oversized_or_undecodable_template_is_a_positioned_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("m.yaml").write_text(BASE, encoding="utf-8")
    Path("kb.j2").write_bytes(b"<h1>x</h1>\n<p>\xff</p>\n")
    assert [str(i) for i in validate_files(["m.yaml"])] == [
        "kb.j2:2:4: knowledge.template: template is not UTF-8 text"]
    Path("kb.j2").write_text("x" * (2 * 1024 * 1024), encoding="utf-8")
    assert [str(i) for i in validate_files(["m.yaml"])] == [
        "kb.j2: knowledge.template: template larger than 1,048,576 bytes"]


@pytest.mark.parametrize(("attributes", "problem"), [
    ({"width": 10**9}, "the template multiplies a value past 1,000,000 items"),
    ({"rounds": 100000}, "the template took longer than 0.2 s to render"),
])
def test_run_time_renders_keep_their_budget(attributes: dict[str, int], problem: str) -> None:
    """A template that passes on the sample can still meet data that would make it run away:
    the run-time render stops it and names the transition."""
    template = template_environment().from_string(
        HEAD + '{{ "x" * (attributes.width or 1) }}'
        "{% for i in range(attributes.rounds or 1) %}{% for j in range(100000) %}{% endfor %}"
        "{% endfor %}\n")
    assert templates.sample_problem(template) is None
    transition = ServiceTransition(id="jira:PAY", service="Payments", attributes=attributes)
    with pytest.raises(ConfigError, match=f"knowledge template failed for jira:PAY: {problem}"):
        render_article(transition, template)
