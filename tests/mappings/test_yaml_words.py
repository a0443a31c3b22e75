"""YAML syntax errors in plain words, at the place to look (not the parser's jargon)."""

from __future__ import annotations

import pytest

from bridge.errors import ConfigError
from bridge.yamlfile import parse_yaml

CASES = [
    ("tab indentation", "meta:\n\tkind: jira\n", "2:1", "a tab is not allowed for indentation: indent with spaces"),
    ("tab after a value", "a: b\t# note\n", "1:5", "a tab is not allowed here: use spaces"),
    ("missing ':' before a nested line", "meta:\n  kind jira\n  version: 1\n", "2:3", "a ':' is missing after the key"),
    ("missing ':' before a list", "meta:\n  kind: jira\ntickets\n  - stream: x\n", "3:1", "a ':' is missing after the key"),
    ("quote never closed", "meta:\n  kind: 'jira\n  version: 1\n", "2:9", "the quote opened at 2:9 is never closed"),
    ("quote never closed in braces", "a: {b: 'c}\nd: e\n", "1:8", "the quote opened at 1:8 is never closed"),
    ("deeper indentation", "meta:\n  kind: jira\n   version: 1\n", "3:4", "indentation does not match the lines above"),
    ("shallower indentation", "a:\n    b: 1\n  c: 2\n", "3:3", "indentation does not match the lines above"),
    ("a key beside list items", "tickets:\n  - stream: x\n  fields: {}\n", "3:3", "indentation does not match the lines above"),
    ("': ' inside a value", "title: Runbook: final\n", "1:15", "a ': ' inside a value: put the value in quotes"),
    ("brace never closed", "meta: {kind: jira\n", "1:7", "the '{' opened at 1:7 is never closed"),
    ("bracket never closed", "a: [1, 2\nb: 3\n", "1:4", "the '[' opened at 1:4 is never closed"),
    ("text after a closing quote", "a: 'x' y\n", "1:8", "text after the closing quote: put the whole value in quotes"),
    ("a value starting with '@'", "a: @home\n", "1:4", "a value cannot start with '@': put it in quotes"),
    ("backslash in double quotes", 'a: "\\d+"\n', "1:6", "a backslash in double quotes starts an escape such as \\n: write the value in single quotes (regular expressions especially)"),
    ("alias of nothing", "a: *base\n", "1:4", "*base refers to no anchor &base above: put the value in quotes if the '*' is meant as text"),
]


@pytest.mark.parametrize(("text", "where", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_syntax_error_in_plain_words(text: str, where: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_yaml(text, "f.yaml")
    assert [str(i) for i in raised.value.issues] == [f"f.yaml:{where}: (root): invalid YAML: {message}"]
