"""Every input file problem is one positioned error: mutated and oversized configuration and
mapping files, each with the exact message `config validate` / `mappings validate` print."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from bridge import yamlfile
from bridge.cli.main import main
from bridge.config import load_config
from bridge.errors import ConfigError
from mappings import validate_files

BASE = """sources:
  - name: jira
    kind: jira
    url: https://jira.example
    auth: {kind: basic, username: u, password: p}
"""


def laughs(levels: int, width: int = 9) -> str:
    """"Billion laughs": each line an alias list of the one before: width**levels values."""
    names = [f"l{i}" for i in range(levels)]
    text = f"{names[0]}: &{names[0]} [{', '.join(['lol'] * width)}]\n"
    for before, name in itertools.pairwise(names):
        text += f"{name}: &{name} [{', '.join([f'*{before}'] * width)}]\n"
    return text


CASES: list[tuple[str, str, list[str]]] = [
    ("timeout .inf", BASE + "    timeout: .inf\n",
     ["c.yaml:6:5: sources[0].timeout: inf is not a finite number"]),
    ("timeout .nan", BASE + "    timeout: .nan\n",
     ["c.yaml:6:5: sources[0].timeout: nan is not a finite number"]),
    ("timeout zero", BASE + "    timeout: 0\n",
     ["c.yaml:6:5: sources[0].timeout: 0 is out of range: it must be more than 0"]),
    ("timeout too long", BASE + "    timeout: 86400\n",
     ["c.yaml:6:5: sources[0].timeout: 86400 is out of range: it must be at most 3600"]),
    ("connect timeout negative", BASE + "    connect_timeout: -5\n",
     ["c.yaml:6:5: sources[0].connect_timeout: -5 is out of range: it must be more than 0"]),
    ("a float that overflows", BASE + "    connect_timeout: 1e400\n",
     ["c.yaml:6:5: sources[0].connect_timeout: '1e400' is not a finite number"]),
    ("retry delays", BASE + "    retry: {base_delay: .inf, max_delay: -1}\n",
     ["c.yaml:6:13: sources[0].retry.base_delay: inf is not a finite number",
      "c.yaml:6:31: sources[0].retry.max_delay: -1 is out of range: it must be at least 0"]),
    ("negative overlap", BASE + "    overlap_seconds: -1\n",
     ["c.yaml:6:5: sources[0].overlap_seconds: -1 is out of range: it must be at least 0"]),
    ("Jira time zone typo", BASE + "    time_zone: Europe/Berln\n",
     ["c.yaml:6:5: sources[0].time_zone: unknown time zone 'Europe/Berln' "
      "(did you mean Europe/Berlin, Europe/Dublin, Europe/Belfast?)"]),
    ("Jira time zone case", BASE + "    time_zone: europe/paris\n",
     ["c.yaml:6:5: sources[0].time_zone: unknown time zone 'europe/paris' "
      "(did you mean Europe/Paris?)"]),
    ("reporting time zone", BASE + "reporting: {timezone: Mars/Olympus}\n",
     ["c.yaml:6:13: reporting.timezone: unknown time zone 'Mars/Olympus' "
      "(an IANA name such as Europe/Berlin)"]),
    ("intervals", BASE + "daemon: {schedule: {interval_seconds: 0}, push_interval_seconds: .inf}\n",
     ["c.yaml:6:21: daemon.schedule.interval_seconds: 0 is out of range: it must be at least 10",
      "c.yaml:6:43: daemon.push_interval_seconds: inf is not a finite number"]),
    ("JQL that leaves its parentheses", BASE + "    jql: 'labels = a) OR (project = OPS'\n",
     ["c.yaml:6:5: sources[0].jql: the JQL closes a parenthesis it did not open (character 11): "
      "it is ANDed into the bridge's own query"]),
    ("python object", BASE + "    verify_tls: !!python/object/apply:os.system [echo hi]\n",
     ["c.yaml:6:17: sources[0].verify_tls: cannot read this value "
      "(tag:yaml.org,2002:python/object/apply:os.system): only plain mappings and lists"]),
    ("python name", BASE + "    verify_tls: !!python/name:os.system\n",
     ["c.yaml:6:17: sources[0].verify_tls: cannot read this value (tag:yaml.org,2002:python/name:"
      "os.system): could not determine a constructor for the tag "
      "'tag:yaml.org,2002:python/name:os.system'"]),
    ("a date that does not exist", BASE + "state: 2024-02-30\n",
     ["c.yaml:6:8: state: cannot read this value (tag:yaml.org,2002:timestamp): "
      "day is out of range for month"]),
    ("bad base64", BASE + "state: !!binary 'ab'\n",
     ["c.yaml:6:8: state: cannot read this value (tag:yaml.org,2002:binary): "
      "failed to decode base64 data: Incorrect padding"]),
    ("billion laughs", laughs(9),
     ["c.yaml:6:15: (root): stands for more than 200,000 values once its aliases (*name) "
      "are expanded"]),
    ("deeper laughs", laughs(14, 14),
     ["c.yaml:5:25: (root): stands for more than 200,000 values once its aliases (*name) "
      "are expanded"]),
    ("deep nesting", "a: " + "[" * 100 + "]" * 100 + "\n",
     ["c.yaml:1:67: (root): nested deeper than 64 levels"]),
    ("very deep nesting", "a: " + "{b: " * 50_000 + "1" + "}" * 50_000 + "\n",
     ["c.yaml:1:256: (root): nested deeper than 64 levels"]),
    ("NUL character", BASE + "    name: je\x00ra\n",
     ["c.yaml:6:13: (root): invalid YAML: character '\\x00' is not allowed"]),
    ("a list as a key", BASE + "? [a, b]\n: 1\n",
     ["c.yaml:6:3: (root): a key must be a plain value, not a list or mapping"]),
    ("YAML syntax", BASE + "  - {\n",
     ["c.yaml:6:5: (root): invalid YAML: the '{' opened at 6:5 is never closed"]),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_mutated_configuration_is_one_positioned_error_each(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    Path("c.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config("c.yaml")
    assert [str(i) for i in caught.value.issues] == expected


def test_the_947_byte_bomb_of_the_field_fails_at_once(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The file that took 45 s and 1.7 GB: refused before a single alias is expanded (the
    check walks the parser's events once, counting what each alias stands for)."""
    monkeypatch.chdir(tmp_path)
    bomb = laughs(9).replace("lol", "-".join(["lol"] * 13))
    assert 900 <= len(bomb.encode()) <= 1000
    Path("c.yaml").write_text(bomb, encoding="utf-8")
    built: list[object] = []
    monkeypatch.setattr(yamlfile, "_construct", lambda *a: built.append(a))
    with pytest.raises(ConfigError, match="invalid YAML") as caught:
        load_config("c.yaml")
    assert "once its aliases (*name) are expanded" in str(caught.value.issues[0])
    assert built == []  # no node was built


def test_bytes_that_are_not_utf8_are_located(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(BASE.encode() + b"    name: \xc3\x28\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [str(i) for i in caught.value.issues] == [
        f"{path}:6:11: (root): not UTF-8 text: byte 0xc3: invalid continuation byte"]


def test_an_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with path.open("w", encoding="utf-8") as out:
        out.write(BASE)
        out.write("#" * yamlfile.MAX_BYTES)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [str(i) for i in caught.value.issues] == [
        f"{path}: (root): file larger than {yamlfile.MAX_BYTES:,} bytes"]


def test_a_bomb_in_a_mapping_file_is_a_positioned_error(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("m.yaml").write_text("meta: {kind: jira}\n" + laughs(9), encoding="utf-8")
    assert [str(i) for i in validate_files(["m.yaml"])] == [
        "m.yaml:7:15: (root): stands for more than 200,000 values once its aliases (*name) "
        "are expanded"]


def test_config_validate_prints_one_line_per_problem_and_no_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes((BASE + "    timeout: .inf\n    time_zone: Europe/Berln\n").encode())
    assert main(["--config", str(path), "config", "validate"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:6:5: sources[0].timeout: inf is not a finite number",
        f"{path}:7:5: sources[0].time_zone: unknown time zone 'Europe/Berln' "
        "(did you mean Europe/Berlin, Europe/Dublin, Europe/Belfast?)"]
