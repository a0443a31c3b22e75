"""Admin-edited YAML: load with node positions, interpolate ${ENV}, validate with pydantic.

Every problem becomes an `Issue` located as FILE:LINE:COL with its dotted path, so
`config validate` and `mappings validate` can print all of them at once.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bridge.errors import ConfigError, Issue

PathKey = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class YamlDocument:
    """Plain data loaded from a YAML file, with the line and column of every node."""

    def __init__(self, file: str, data: Any, positions: dict[PathKey, tuple[int, int]]) -> None:
        self.file = file
        self.data = data
        self.positions = positions

    def position(self, path: Iterable[str | int]) -> tuple[int | None, int | None]:
        """The closest known position: the node itself, else its nearest ancestor."""
        key = tuple(path)
        while True:
            if key in self.positions:
                return self.positions[key]
            if not key:
                return None, None
            key = key[:-1]

    def issue(self, path: Iterable[str | int], message: str) -> Issue:
        path = tuple(path)
        line, col = self.position(path)
        return Issue(self.file, line, col, dotted(path), message)


def dotted(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


#: limits on what one admin file may hold: its size, how deep it nests, and how many nodes
#: it stands for once aliases are expanded (a few hundred bytes of nested aliases can
#: stand for billions: "billion laughs")
MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000


def load_yaml(path: str | Path) -> YamlDocument:
    """Read a YAML file; every problem (unreadable, too large, not UTF-8, syntax, limits,
    duplicate keys, unreadable values) raises ConfigError with a position."""
    file = str(path)
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"{file}: larger than {MAX_BYTES // (1024 * 1024)} MiB",
                          [Issue(file, None, None, "", f"file larger than {MAX_BYTES:,} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(f"{file}: not UTF-8", [Issue(
            file, line, col, "", f"not UTF-8 text: byte 0x{raw[exc.start]:02x}: {exc.reason}")]) from None
    return parse_yaml(text, file)


def _invalid(file: str, line: int | None, col: int | None, message: str) -> ConfigError:
    return ConfigError(f"{file}: invalid YAML", [Issue(file, line, col, "", message)])


def _check_shape(text: str, file: str, loader: Any = yaml.SafeLoader) -> None:
    """One pass over the parser's events, before any node is built: nesting deeper than
    MAX_DEPTH, or more than MAX_NODES nodes once aliases are expanded, is refused at the
    place it happens. Linear in the text, whatever the aliases stand for."""
    depth = 0
    sizes: list[int] = [0]  # nodes inside each open collection
    anchored: dict[str, int] = {}  # anchor -> nodes it stands for
    anchors_open: list[str | None] = []
    for event in yaml.parse(text, Loader=loader):
        mark = event.start_mark
        where: tuple[int | None, int | None] = (mark.line + 1, mark.column + 1) if mark else (None, None)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _invalid(file, where[0], where[1], f"nested deeper than {MAX_DEPTH} levels")
            sizes.append(1)
            anchors_open.append(event.anchor)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            size = sizes.pop()
            anchor = anchors_open.pop()
            if anchor:
                anchored[anchor] = size
            sizes[-1] += size
        elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
            size = anchored.get(event.anchor or "", 1) if isinstance(event, yaml.AliasEvent) else 1
            if isinstance(event, yaml.ScalarEvent) and event.anchor:
                anchored[event.anchor] = 1
            sizes[-1] += size
            if sum(sizes) > MAX_NODES:
                raise _invalid(file, where[0], where[1], f"stands for more than {MAX_NODES:,} values once its "
                                             "aliases (*name) are expanded")


#: libyaml's parser (C), when PyYAML was built with it: ten times faster than the pure one
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)
#: text both parsers read alike: printable ASCII and line feeds (libyaml accepts some tabs
#: the pure parser refuses, and counts some non-ASCII breaks differently)
_PLAIN_TEXT = re.compile(r"[\n\x20-\x7e]*")


def _composed(text: str, file: str) -> yaml.Node | None:
    """The node tree, its shape checked first. Plain text goes through libyaml; any error
    there is read again by the pure parser, whose messages `syntax_in_words` knows."""
    if _FAST_LOADER is not None and _PLAIN_TEXT.fullmatch(text):
        try:
            _check_shape(text, file, _FAST_LOADER)
            node: yaml.Node | None = yaml.compose(text, Loader=_FAST_LOADER)
            return node
        except yaml.YAMLError:
            pass
    _check_shape(text, file)
    return yaml.compose(text, Loader=yaml.SafeLoader)


def parse_yaml(text: str, file: str = "<string>") -> YamlDocument:
    try:
        node = _composed(text, file)
    except yaml.MarkedYAMLError as exc:
        line, col, message = syntax_in_words(exc, text)
        raise _invalid(file, line, col, f"invalid YAML: {message}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise _invalid(file, line, col, f"invalid YAML: character {chr(exc.character) if isinstance(exc.character, int) else exc.character!r} is not "
                                        "allowed") from None
    except yaml.YAMLError as exc:
        raise _invalid(file, None, None, f"invalid YAML: {exc}") from None
    positions: dict[PathKey, tuple[int, int]] = {}
    issues: list[Issue] = []
    data = _construct(node, (), positions, issues, file) if node is not None else {}
    if issues:
        raise ConfigError(f"{file}: invalid YAML", issues)
    return YamlDocument(file, data, positions)


def _at(mark: Any) -> str:
    return f"{mark.line + 1}:{mark.column + 1}"


def syntax_in_words(exc: yaml.MarkedYAMLError, text: str) -> tuple[int | None, int | None, str]:
    """A YAML parser error as (line, column, message) in plain words: what is wrong and how
    to fix it, at the place to look (the parser's own words only as a last resort)."""
    problem, context = str(exc.problem or ""), str(exc.context or "")
    mark, opened = exc.problem_mark, exc.context_mark
    if mark is None:
        return None, None, problem
    lines = text.splitlines()
    here = lines[mark.line] if mark.line < len(lines) else ""
    before = here[:mark.column]

    def at(where: Any, message: str) -> tuple[int, int, str]:
        return where.line + 1, where.column + 1, message

    if "'\\t'" in problem:
        if not before.strip(" -"):
            return at(mark, "a tab is not allowed for indentation: indent with spaces")
        return at(mark, "a tab is not allowed here: use spaces")
    if problem == "found unexpected end of stream" and "quoted scalar" in context and opened:
        return at(opened, f"the quote opened at {_at(opened)} is never closed")
    if problem.startswith("found unknown escape character") and opened:
        return at(mark, "a backslash in double quotes starts an escape such as \\n: "
                        "write the value in single quotes (regular expressions especially)")
    if problem == "could not find expected ':'" and opened:
        return at(opened, "a ':' is missing after the key")
    if problem == "mapping values are not allowed here":
        return _misplaced_colon(lines, mark)
    if "expected ',' or '}'" in problem or "expected ',' or ']'" in problem:
        bracket = "{" if "}" in problem else "["
        if opened and (mark.line > opened.line or "<stream end>" in problem):
            quote = _unclosed_quote(lines[opened.line] if opened.line < len(lines) else "",
                                    opened.column)
            if quote is not None:
                return (opened.line + 1, quote + 1,
                        f"the quote opened at {opened.line + 1}:{quote + 1} is never closed")
            return at(opened, f"the '{bracket}' opened at {_at(opened)} is never closed")
        closing = "}" if bracket == "{" else "]"
        return at(mark, f"a ',' is missing between the values inside '{bracket} {closing}'")
    if problem.startswith("expected <block end>") or problem.startswith("did not find expected"):
        if "'<scalar>'" in problem and before.rstrip()[-1:] in ("'", '"') \
                and before.strip()[:1] not in ("'", '"'):
            return at(mark, "text after the closing quote: put the whole value in quotes")
        if "found ':'" in problem:
            return at(mark, "a key is missing before the ':'")
        if "'}'" in problem or "']'" in problem:
            return at(mark, f"a '{problem[-2]}' that closes nothing")
        return at(mark, "indentation does not match the lines above")
    if problem.startswith("found undefined alias"):
        name = problem.split("'")[1] if "'" in problem else ""
        return at(mark, f"*{name} refers to no anchor &{name} above: put the value in quotes "
                        "if the '*' is meant as text")
    if problem.startswith("found character") and "cannot start any token" in problem:
        char = problem.split("'")[1] if "'" in problem else "?"
        return at(mark, f"a value cannot start with '{char}': put it in quotes")
    if "while scanning an alias" in context or "while scanning an anchor" in context:
        return at(opened or mark, f"a value cannot start with '{'*' if 'alias' in context else '&'}'"
                                  ": put it in quotes")
    if problem.startswith("expected the node content") and "<stream end>" in problem:
        last = max(text.rfind("{"), text.rfind("["))
        if last >= 0:
            line = text.count("\n", 0, last)
            column = last - (text.rfind("\n", 0, last) + 1)
            return (line + 1, column + 1,
                    f"the '{text[last]}' opened at {line + 1}:{column + 1} is never closed")
    if problem.startswith("expected the node content"):
        char = problem.rsplit("'", 2)[-2] if problem.count("'") >= 2 else "?"
        return at(mark, f"a value cannot start with '{char}': put it in quotes")
    if "block scalar" in context:
        return at(mark, "after '|' or '>' only a comment may follow on the same line")
    if "duplicate anchor" in context:
        return at(mark, "this anchor (&name) is already defined above")
    return at(mark, problem)


def _unclosed_quote(line: str, start: int) -> int | None:
    """The column of a quote opened on `line` (from `start`) and still open at its end."""
    opened: int | None = None
    quote = ""
    i = start
    while i < len(line):
        char = line[i]
        if opened is None and char in "'\"":
            opened, quote = i, char
        elif opened is not None and char == "\\" and quote == '"':
            i += 1
        elif opened is not None and char == quote:
            if quote == "'" and line[i + 1:i + 2] == "'":
                i += 1  # '' is a quote inside single quotes
            else:
                opened = None
        elif opened is None and char == "#" and line[i - 1:i] in (" ", ""):
            break
        i += 1
    return opened


def _indent(line: str) -> int:
    """Where a line's content starts, list dashes counted as indentation."""
    stripped = line.lstrip(" ")
    column = len(line) - len(stripped)
    while stripped.startswith("- "):
        rest = stripped[2:].lstrip(" ")
        column += len(stripped) - len(rest)
        stripped = rest
    return column


def _misplaced_colon(lines: list[str], mark: Any) -> tuple[int, int, str]:
    """'mapping values are not allowed here': a ': ' inside a value, a line indented
    deeper than its neighbour, or a key above that lacks its ':'."""
    here = lines[mark.line] if mark.line < len(lines) else ""
    key_colon = re.search(r":(\s|$)", here[:mark.column])
    if key_colon and here[:key_colon.start()].strip():
        return (mark.line + 1, mark.column + 1,
                "a ': ' inside a value: put the value in quotes")
    above = next((i for i in range(mark.line - 1, -1, -1)
                  if lines[i].strip() and not lines[i].lstrip().startswith("#")), None)
    if above is not None:
        previous = lines[above]
        if ":" not in previous.split("#")[0]:
            return (above + 1, _indent(previous) + 1, "a ':' is missing after the key")
        if _indent(here) > _indent(previous):
            return (mark.line + 1, _indent(here) + 1, "indentation does not match the lines above")
    return (mark.line + 1, mark.column + 1, "a ': ' inside a value: put the value in quotes")


_PLAIN_COLLECTIONS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _scalar(node: yaml.Node, path: PathKey, issues: list[Issue], file: str) -> Any:
    """A scalar's value; a tag or value the safe loader cannot build (`!!python/...`, a
    date that does not exist) is an issue at its position."""
    try:
        return yaml.SafeLoader(" ").construct_object(node)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        issues.append(Issue(file, node.start_mark.line + 1, node.start_mark.column + 1, dotted(path),
                            f"cannot read this value ({node.tag}): {problem}"))
        return None


def _construct(
    node: yaml.Node,
    path: PathKey,
    positions: dict[PathKey, tuple[int, int]],
    issues: list[Issue],
    file: str,
) -> Any:
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_COLLECTIONS:
        issues.append(Issue(file, node.start_mark.line + 1, node.start_mark.column + 1, dotted(path),
                            f"cannot read this value ({node.tag}): only plain mappings and lists"))
        return None
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                issues.append(Issue(file, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                    dotted(path), "YAML merge keys (<<) are not supported"))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                issues.append(Issue(file, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                    dotted(path), "a key must be a plain value, not a list or mapping"))
                continue
            key = str(_scalar(key_node, path, issues, file))
            if key in result:
                issues.append(Issue(file, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                    dotted((*path, key)), "duplicate key"))
                continue
            child = (*path, key)
            positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _construct(value_node, child, positions, issues, file)
            # the key's own position is what an editor should jump to
            positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, i), positions, issues, file) for i, item in enumerate(node.value)]
    return _scalar(node, path, issues, file)


def interpolate_env(doc: YamlDocument, environ: Mapping[str, str] | None = None) -> list[Issue]:
    """Replace ${NAME} in every string value in place; each missing variable is an issue."""
    env = os.environ if environ is None else environ
    issues: list[Issue] = []

    def walk(value: Any, path: PathKey) -> Any:
        if isinstance(value, str) and "${" in value:
            def sub(match: re.Match[str]) -> str:
                name = match.group(1)
                if name not in env:
                    issues.append(doc.issue(path, f"environment variable {name} is not set"))
                    return ""
                return env[name]
            return _ENV_REF.sub(sub, value)
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value)]
        return value

    doc.data = walk(doc.data, ())
    return issues


def validate(
    model: type[M],
    data: Any,
    doc: YamlDocument,
    prefix: PathKey = (),
    issues: list[Issue] | None = None,
) -> M | None:
    """Validate `data` (found at `prefix` in `doc`) against `model`.

    Errors are appended to `issues` (when given) and None returned, so a caller can
    collect every problem of a file before failing; without `issues` it raises.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_input=False)
        found = [_to_issue(model, data, doc, prefix, err) for err in errors
                 if not _misspelt_instead(model, data, err)]
        if issues is None:
            raise ConfigError(f"{doc.file}: invalid", found) from None
        issues.extend(found)
        return None


#: rounds of pruning before `salvage` gives up (each climbs one level where a removal
#: leaves its parent invalid)
SALVAGE_ROUNDS = 12


class PrunedDocument(YamlDocument):
    """A document with its invalid parts removed, so the checks that need a valid model can
    still run over the rest; positions and paths are still those of the original."""

    def __init__(self, original: YamlDocument, data: Any, kept: dict[PathKey, list[int]]) -> None:
        super().__init__(original.file, data, {})
        self.original = original
        self.kept = kept  # original path of a pruned list -> original indices still in it

    def original_path(self, path: Iterable[str | int]) -> PathKey:
        out: list[str | int] = []
        for step in path:
            kept = self.kept.get(tuple(out))
            if isinstance(step, int) and kept is not None and 0 <= step < len(kept):
                step = kept[step]
            out.append(step)
        return tuple(out)

    def position(self, path: Iterable[str | int]) -> tuple[int | None, int | None]:
        return self.original.position(self.original_path(path))

    def issue(self, path: Iterable[str | int], message: str) -> Issue:
        return self.original.issue(self.original_path(path), message)


def salvage(model: type[M], doc: YamlDocument, issues: list[Issue]) -> tuple[M | None, YamlDocument]:
    """Validate `doc` against `model`, every error into `issues`; when invalid, the model of
    what is left once each invalid part is removed (a bad key, else the smallest entry that
    holds it), so the later checks still see the rest of the file. (None, doc) when nothing
    is left to check."""
    model_found = validate(model, doc.data, doc, issues=issues)
    if model_found is not None:
        return model_found, doc
    data = copy.deepcopy(doc.data)
    pruned = PrunedDocument(doc, data, {})
    for _ in range(SALVAGE_ROUNDS):
        try:
            return model.model_validate(data), pruned
        except ValidationError as exc:
            doomed = set()
            for err in exc.errors(include_input=False):
                path = _data_path(data, err["loc"])
                if err["type"] == "missing" or _value_at(data, path, _ABSENT) is _ABSENT:
                    path = path[:-1]
                if not path:
                    return None, doc
                if not _mend(model, data, path, err):
                    doomed.add(path)
            # deepest first, and later list entries before earlier ones: no removal moves
            # what another still has to find
            for path in sorted(doomed, key=_removal_order):
                _remove(pruned, data, path)
    return None, doc


_ABSENT = object()
_HINT = re.compile(r"did you mean '([^']+)'\?")


def _mend(model: type[BaseModel], data: Any, path: PathKey, err: Any) -> bool:
    """Put the did-you-mean in place of a misspelt value (an enum, a kind) or key, so what
    it governs is still checked; True when mended."""
    value = _value_at(data, path, _ABSENT)
    parent = _value_at(data, path[:-1], _ABSENT)
    if err["type"] == "extra_forbidden":  # a misspelt key: read as the key it resembles
        key = did_you_mean(str(path[-1]), allowed_keys(model, data, path[:-1]))
        if key and isinstance(parent, dict) and key not in parent:
            parent[key] = parent.pop(path[-1])
            return True
        return False
    hint = _HINT.search(_plain(err["type"], err, value) if err["type"] != "value_error"
                        else str(err["msg"]))
    if hint is None:
        return False
    if isinstance(value, str) and isinstance(parent, dict):
        parent[path[-1]] = hint.group(1)
        return True
    if isinstance(value, str) and isinstance(parent, list) and isinstance(path[-1], int):
        parent[path[-1]] = hint.group(1)
        return True
    if isinstance(value, dict) and isinstance(value.get("kind"), str):
        value["kind"] = hint.group(1)
        return True
    return False


def _removal_order(path: PathKey) -> tuple[int, tuple[tuple[int, int, str], ...]]:
    return -len(path), tuple((0, -s, "") if isinstance(s, int) else (1, 0, s) for s in path)


def _remove(pruned: PrunedDocument, data: Any, path: PathKey) -> None:
    parent = _value_at(data, path[:-1], _ABSENT)
    step = path[-1]
    if isinstance(parent, dict):
        parent.pop(step, None)
    elif isinstance(parent, list) and isinstance(step, int) and 0 <= step < len(parent):
        where = pruned.original_path(path[:-1])
        kept = pruned.kept.setdefault(where, list(range(len(parent))))
        del parent[step]
        del kept[step]


def _to_issue(model: type[BaseModel], data: Any, doc: YamlDocument, prefix: PathKey, err: Any) -> Issue:
    data_path = _data_path(data, err["loc"])
    full = (*prefix, *data_path)
    kind = err["type"]
    if kind == "extra_forbidden" and data_path:
        key = str(data_path[-1])
        message = f"unknown key {key!r}"
        allowed = allowed_keys(model, data, data_path[:-1])
        hint = did_you_mean(key, allowed)
        if hint:
            message += f"; did you mean {hint!r}?"
        elif allowed:
            message += f" (allowed: {', '.join(sorted(allowed))})"
        return doc.issue(full, message)
    if kind == "missing":
        return doc.issue(full[:-1] if data_path else full, f"missing required key {str(data_path[-1])!r}"
                         if data_path else "value is required")
    message = _plain(kind, err, _value_at(data, data_path))
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return doc.issue(full, message)


def _misspelt_instead(model: type[BaseModel], data: Any, err: Any) -> bool:
    """A required key reported missing where the same mapping holds a misspelling of it:
    the unknown key's did-you-mean says it all, once."""
    if err["type"] != "missing":
        return False
    path = _data_path(data, err["loc"])
    if not path:
        return False
    parent = _value_at(data, path[:-1])
    if not isinstance(parent, dict):
        return False
    allowed = allowed_keys(model, data, path[:-1])
    return any(did_you_mean(str(key), allowed) == path[-1] for key in parent if key not in allowed)


def _value_at(data: Any, path: PathKey, absent: Any = None) -> Any:
    for step in path:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return absent
    return data


_TYPE_WORDS = {"list_type": "a list", "dict_type": "a mapping (key: value lines)",
               "string_type": "text", "int_type": "a whole number", "int_parsing": "a whole number",
               "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
               "bool_parsing": "true or false"}


def _plain(kind: str, err: Any, value: Any) -> str:
    """pydantic's message in the project's words, with the fix where one is obvious."""
    shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    if kind == "list_type":
        fix = f"; write [{value}]" if isinstance(value, (str, int, float)) else ""
        return f"expected a list, got {shown}{fix}"
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, got {shown}"
    if kind in ("literal_error", "enum"):
        expected = err.get("ctx", {}).get("expected", "")
        choices = [c.strip().strip("'") for c in str(expected).replace(" or ", ",").split(",")
                   if c.strip()]
        hint = did_you_mean(str(value), choices) if isinstance(value, str) else None
        return (f"{shown} is not one of {', '.join(repr(c) for c in choices)}"
                + (f"; did you mean {hint!r}?" if hint else ""))
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        ctx = err.get("ctx", {})
        tag = ctx.get("tag", value)
        choices = [c.strip().strip("'") for c in str(ctx.get("expected_tags", "")).split(",")
                   if c.strip()]
        hint = did_you_mean(str(tag), choices)
        if kind == "union_tag_not_found":
            key = str(ctx.get("discriminator", "kind")).strip("'\"")
            known = f": one of {', '.join(choices)}" if choices else " (which kind this entry is)"
            return f"missing key {key!r}{known}"
        return (f"unknown kind {tag!r}" + (f"; did you mean {hint!r}?" if hint else
                                           f" (one of {', '.join(choices)})"))
    ctx = err.get("ctx") or {}
    bounds = {"greater_than_equal": ("at least", "ge"), "less_than_equal": ("at most", "le"),
              "greater_than": ("more than", "gt"), "less_than": ("less than", "lt")}
    if kind in bounds:
        words, key = bounds[kind]
        return f"{shown} is out of range: it must be {words} {_number(ctx.get(key))}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        return f"{shown} is not {PATTERN_WORDS.get(pattern, f'of the form {pattern!r}')}"
    if kind in ("too_short", "string_too_short"):
        least = ctx.get("min_length", 1)
        unit = "character" if kind == "string_too_short" else "entry"
        return f"needs at least {least} {unit}{'' if least == 1 else 's'}"
    if kind in ("model_type", "model_attributes_type"):
        return f"expected a mapping (key: value lines), got {shown}"
    if kind == "finite_number":
        return f"{shown} is not a finite number"
    return str(err["msg"])


#: the patterns of names and keys, in words
PATTERN_WORDS = {
    "^[a-z0-9-]+$": "a valid name: lowercase letters, digits and '-'",
    "^[a-z][a-z0-9_]*$": "a valid key: snake_case, lowercase letters, digits and '_' "
                         "after a first letter",
}


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _data_path(data: Any, loc: Iterable[Any]) -> PathKey:
    """Drop pydantic's union-tag steps from a loc so it follows the actual data."""
    path: list[str | int] = []
    current = data
    locs = list(loc)
    for i, step in enumerate(locs):
        if (isinstance(current, dict) and step in current) or (isinstance(current, list) and isinstance(step, int) and 0 <= step < len(current)):
            path.append(step)
            current = current[step]
        elif i == len(locs) - 1 and isinstance(step, str) and isinstance(current, dict):
            path.append(step)  # a missing key: point at its parent, name it
        # otherwise a union tag such as 'BasicAuth' or "function-after[...]": skip
    return tuple(path)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def allowed_keys(model: type[BaseModel], data: Any, path: PathKey) -> set[str]:
    """The keys the model accepts at `path`, for did-you-mean hints."""
    candidates: list[Any] = [model]
    for step in path:
        following: list[Any] = []
        for tp in candidates:
            for inner in _flatten(tp):
                if isinstance(step, int):
                    origin = typing.get_origin(inner)
                    if origin in (list, tuple, set, frozenset):
                        following.extend(typing.get_args(inner)[:1])
                elif _is_model(inner):
                    field = inner.model_fields.get(step) or _by_alias(inner, step)
                    if field is not None:
                        following.append(field.annotation)
                elif typing.get_origin(inner) is dict:
                    args = typing.get_args(inner)
                    if len(args) == 2:
                        following.append(args[1])
        candidates = following
    keys: set[str] = set()
    for tp in candidates:
        for inner in _flatten(tp):
            if _is_model(inner):
                for name, field in inner.model_fields.items():
                    keys.add(field.alias or name)
    return keys


def _by_alias(model: type[BaseModel], alias: str) -> Any:
    for field in model.model_fields.values():
        if field.alias == alias:
            return field
    return None


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _flatten(tp: Any) -> list[Any]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _flatten(typing.get_args(tp)[0])
    if origin is typing.Union or origin is types.UnionType:
        out: list[Any] = []
        for arg in typing.get_args(tp):
            out.extend(_flatten(arg))
        return out
    return [tp]
