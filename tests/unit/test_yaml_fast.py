"""Admin YAML read by libyaml where it reads as the pure parser does: same values, same
positions, same errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import mappings
from bridge import yamlfile
from bridge.errors import ConfigError

DEFAULTS = Path(mappings.__file__).parent / "defaults"
ROOT = Path(__file__).resolve().parents[2]


def _pure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlfile, "_FAST_LOADER", None)


@pytest.mark.parametrize("path", [DEFAULTS / "jira.yaml", DEFAULTS / "servicenow.yaml",
                                  ROOT / "config" / "smo-bridge.example.yaml"],
                         ids=lambda p: p.name)
def test_a_shipped_file_reads_the_same_through_either_parser(
        path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert yamlfile._FAST_LOADER is not None, "PyYAML without libyaml: nothing to compare"
    assert yamlfile._PLAIN_TEXT.fullmatch(path.read_text()), f"{path.name} takes the pure parser"
    fast = yamlfile.load_yaml(path)
    _pure(monkeypatch)
    pure = yamlfile.load_yaml(path)
    assert (fast.data, fast.positions) == (pure.data, pure.positions)


@pytest.mark.parametrize("text", [
    "a: b\t# a tab libyaml accepts and the pure parser refuses\n",
    "a: 'unclosed\n",
    "a:\n  - b\n c: d\n",
    "a: &x [1, 2]\nb: *x\nc: {d: [e, f]}\n",
    "key: caf\u00e9\nother: [1, 2]\n",
    "a: 1\na: 2\n",
])
def test_text_reads_as_the_pure_parser_reads_it(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def read() -> object:
        try:
            doc = yamlfile.parse_yaml(text, "f.yaml")
        except ConfigError as exc:
            return [str(issue) for issue in exc.issues]
        return doc.data, doc.positions

    fast = read()
    _pure(monkeypatch)
    assert fast == read()
