"""The subset of JQL the sandbox understands, parsed into a small tree.

Enough for what connectors send: `project = X`, `project in (A, B)`, comparisons on
`updated`/`created` with Jira's date formats (read in the user's time zone), AND/OR/NOT,
parentheses, `ORDER BY f [ASC|DESC], ...`. Errors carry Jira's own wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


class JqlError(ValueError):
    """A query Jira would refuse with 400; `str(self)` is Jira's error message."""


@dataclass(frozen=True)
class Token:
    kind: str  # word, string, op, lparen, rparen, comma, end
    text: str
    pos: int


@dataclass(frozen=True)
class Func:
    name: str
    args: tuple[str, ...] = ()


Value = str | Func | None  # None is EMPTY / NULL


@dataclass(frozen=True)
class Clause:
    field: str
    op: str  # = != > >= < <= in "not in" ~ "!~" is "is not"
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Bool:
    op: str  # and | or
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Clause | Bool | Not


@dataclass
class Query:
    where: Node | None
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\[\s\S])*"|'(?:[^'\\]|\\[\s\S])*')
      | (?P<open>["'])
      | (?P<op>!=|>=|<=|!~|=|>|<|~)
      | (?P<lparen>\()
      | (?P<rparen>\))
      | (?P<comma>,)
      | (?P<word>[^\s"'(),=!<>~]+)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            raise JqlError(
                f"Error in the JQL Query: The character '{text[pos]}' is a reserved "
                f"JQL character. {_where(pos)}"
            )
        kind = match.lastgroup
        start = match.start(kind)
        if kind == "open":
            rest = text[start + 1 :]
            raise JqlError(
                f"Error in the JQL Query: The quoted string '{rest}' has not been "
                f"completed. {_where(start)}"
            )
        raw = match.group(kind)
        if kind == "string":
            raw = _unescape(raw[1:-1], start + 1)
        tokens.append(Token(kind, raw, start))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


#: the escapes Jira reads inside a quoted string; any other is refused
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "'": "'", "\\": "\\", " ": " "}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)


def _unescape(body: str, offset: int) -> str:
    def one(match: re.Match[str]) -> str:
        seq = match.group(1)
        if len(seq) == 5:
            return chr(int(seq[1:], 16))
        if seq in _ESCAPES:
            return _ESCAPES[seq]
        raise JqlError(
            f"Error in the JQL Query: The escape sequence '\\{seq}' is illegal. "
            f"{_where(offset + match.start())}"
        )

    return _ESCAPE.sub(one, body)


def _where(pos: int) -> str:
    return f"(line 1, character {pos + 1})"


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def is_word(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.text.lower() in words

    def fail(self, expecting: str) -> JqlError:
        token = self.peek()
        got = "end of query" if token.kind == "end" else f"'{token.text}'"
        return JqlError(
            f"Error in the JQL Query: Expecting {expecting} but got {got}. {_where(token.pos)}"
        )

    def query(self) -> Query:
        where = None if self.is_word("order") or self.peek().kind == "end" else self.expr()
        order: list[tuple[str, bool]] = []
        if self.is_word("order"):
            self.take()
            if not self.is_word("by"):
                raise self.fail("'by'")
            self.take()
            order.append(self.sort_item())
            while self.peek().kind == "comma":
                self.take()
                order.append(self.sort_item())
        if self.peek().kind != "end":
            raise self.fail("either 'OR' or 'AND'" if not order else "',' or end of query")
        return Query(where, order)

    def sort_item(self) -> tuple[str, bool]:
        name = self.field_name()
        descending = False
        if self.is_word("asc", "desc"):
            descending = self.take().text.lower() == "desc"
        return name, descending

    def expr(self) -> Node:
        children = [self.term()]
        while self.is_word("or"):
            self.take()
            children.append(self.term())
        return children[0] if len(children) == 1 else Bool("or", tuple(children))

    def term(self) -> Node:
        children = [self.factor()]
        while self.is_word("and"):
            self.take()
            children.append(self.factor())
        return children[0] if len(children) == 1 else Bool("and", tuple(children))

    def factor(self) -> Node:
        if self.is_word("not"):
            self.take()
            return Not(self.factor())
        if self.peek().kind == "lparen":
            self.take()
            node = self.expr()
            if self.peek().kind != "rparen":
                raise self.fail("')'")
            self.take()
            return node
        return self.clause()

    def field_name(self) -> str:
        token = self.peek()
        if token.kind not in ("word", "string") or (
            token.kind == "word" and token.text.lower() in _KEYWORDS
        ):
            raise self.fail("a field name")
        self.take()
        return token.text

    def clause(self) -> Clause:
        name = self.field_name()
        token = self.peek()
        if token.kind == "op":
            self.take()
            return Clause(name, token.text, (self.value(),))
        if self.is_word("in"):
            self.take()
            return Clause(name, "in", self.value_list())
        if self.is_word("not"):
            self.take()
            if not self.is_word("in"):
                raise self.fail("'IN'")
            self.take()
            return Clause(name, "not in", self.value_list())
        if self.is_word("is"):
            self.take()
            op = "is"
            if self.is_word("not"):
                self.take()
                op = "is not"
            if not self.is_word("empty", "null"):
                raise self.fail("'EMPTY' or 'NULL'")
            self.take()
            return Clause(name, op, (None,))
        raise self.fail("operator")

    def value_list(self) -> tuple[Value, ...]:
        if self.peek().kind != "lparen":
            raise self.fail("'('")
        self.take()
        values = [self.value()]
        while self.peek().kind == "comma":
            self.take()
            values.append(self.value())
        if self.peek().kind != "rparen":
            raise self.fail("')'")
        self.take()
        return tuple(values)

    def value(self) -> Value:
        token = self.peek()
        if token.kind == "string":
            self.take()
            return token.text
        if token.kind != "word" or token.text.lower() in _KEYWORDS - {"empty", "null"}:
            raise self.fail("either a value, list or function")
        self.take()
        if token.text.lower() in ("empty", "null"):
            return None
        if self.peek().kind == "lparen":
            self.take()
            args: list[str] = []
            while self.peek().kind in ("word", "string"):
                args.append(self.take().text)
                if self.peek().kind == "comma":
                    self.take()
            if self.peek().kind != "rparen":
                raise self.fail("')'")
            self.take()
            return Func(token.text.lower(), tuple(args))
        return token.text


def parse(text: str) -> Query:
    return _Parser(text).query()


_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_PERIOD = re.compile(r"^([-+]?)\s*((?:\d+\s*[wdhm]\s*)+)$", re.IGNORECASE)


def date_value_ms(value: Value, field_name: str, zone: ZoneInfo, now: datetime) -> int:
    """A JQL date operand as epoch ms; wall-clock forms are read in the user's zone."""
    if isinstance(value, Func):
        local_now = now.astimezone(zone)
        start_of_day = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
        known = {
            "now": local_now,
            "startofday": start_of_day,
            "endofday": start_of_day + timedelta(days=1),
        }
        if value.name not in known:
            raise JqlError(
                f"Error in the JQL Query: Unable to find JQL function "
                f"'{value.name}({', '.join(value.args)})'."
            )
        return int(known[value.name].timestamp() * 1000)
    if value is None:
        raise JqlError(f"The operator is not supported by the '{field_name}' field.")
    text = value.strip()
    if text.isdigit():
        return int(text)
    for fmt in _DATE_FORMATS:
        try:
            local = datetime.strptime(text, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
        return int(local.timestamp() * 1000)
    period = _PERIOD.match(text)
    if period:
        units = {"w": 604_800_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000}
        total = sum(
            int(n) * units[u.lower()]
            for n, u in re.findall(r"(\d+)\s*([wdhm])", period.group(2), re.I)
        )
        sign = -1 if period.group(1) == "-" else 1
        return int(now.timestamp() * 1000) + sign * total
    raise JqlError(
        f"Date value '{text}' for field '{field_name}' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
        "format e.g. '-5d', '4w 2d'."
    )
