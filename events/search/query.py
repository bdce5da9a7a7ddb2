"""The event search language, parsed into a small tree.

    query      := or
    or         := and ("OR" and)*
    and        := unary (["AND"] unary)*          adjacent terms are ANDed
    unary      := "NOT" unary | "(" or ")" | term
    term       := FIELD OP VALUE | VALUE           a bare value is free text (raw log)
    OP         := ":" | ">=" | "<=" | ">" | "<"
    VALUE      := "quoted \\"string\\"" | word     "*" in a value is a wildcard

Examples: ``source.ip:10.0.0.0/8 AND destination.port>=1024``,
``user.name:"svc backup" OR NOT event.outcome:success``, ``"Failed password" root*``.
Keywords are upper case (``and`` is a word to search for). Errors name the column.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

MAX_QUERY = 2000
MAX_TERMS = 64
# Parentheses and NOTs inside one another. The parser, the compiler and every walk of
# the tree recurse once per level: bounded here, a query cannot exhaust the stack.
MAX_DEPTH = 32


class QueryError(ValueError):
    def __init__(self, message: str, column: int | None = None) -> None:
        where = f" (at column {column})" if column is not None else ""
        super().__init__(f"{message}{where}")
        self.column = column


class Op(StrEnum):
    EQ = ":"
    GE = ">="
    LE = "<="
    GT = ">"
    LT = "<"


@dataclass(frozen=True)
class Comparison:
    field: str
    op: Op
    value: str
    quoted: bool = False

    @property
    def has_wildcard(self) -> bool:
        return not self.quoted and "*" in self.value


@dataclass(frozen=True)
class FreeText:
    text: str
    quoted: bool = False


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "AND" | "OR"
    nodes: tuple[Node, ...]


Node = Comparison | FreeText | Not | BoolOp

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<quoted>"(?:[^"\\]|\\.)*")
  | (?P<field>[A-Za-z_@][\w.@-]*)(?P<op>>=|<=|>|<|:)
  | (?P<word>[^\s()"]+)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # lparen rparen and or not term
    column: int
    field: str = ""
    op: str = ""
    value: str = ""
    quoted: bool = False


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _value_after(query: str, at: int, column: int) -> tuple[str, bool, int]:
    quoted = re.compile(r'"(?:[^"\\]|\\.)*"').match(query, at)
    if quoted:
        return _unquote(quoted.group()), True, quoted.end()
    if query.startswith('"', at):
        raise QueryError("An unclosed quote", at + 1)
    word = re.compile(r"[^\s()\"]+").match(query, at)
    if not word:
        raise QueryError("Expected a value after the field", column)
    return word.group(), False, word.end()


def _tokens(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    at = 0
    while at < len(query):
        match = _TOKEN.match(query, at)
        if match is None:
            raise QueryError("An unclosed quote", at + 1)
        column, at = at + 1, match.end()
        kind = match.lastgroup
        if kind == "space":
            continue
        if kind in ("lparen", "rparen"):
            tokens.append(_Token(kind, column))
        elif match.group("field"):
            value, quoted, at = _value_after(query, at, column)
            tokens.append(
                _Token("term", column, match.group("field"), match.group("op"), value, quoted)
            )
        elif kind == "quoted":
            tokens.append(_Token("term", column, value=_unquote(match.group()), quoted=True))
        elif match.group() in ("AND", "OR", "NOT"):
            tokens.append(_Token(match.group().lower(), column))
        else:
            tokens.append(_Token("term", column, value=match.group()))
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.at = 0
        self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    @contextmanager
    def nested(self, token: _Token) -> Iterator[None]:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(
                f"A query nests parentheses and NOT at most {MAX_DEPTH} deep", token.column
            )
        try:
            yield
        finally:
            self.depth -= 1

    def parse_or(self) -> Node:
        nodes = [self.parse_and()]
        while (token := self.peek()) is not None and token.kind == "or":
            self.take()
            nodes.append(self.parse_and())
        return nodes[0] if len(nodes) == 1 else BoolOp("OR", tuple(nodes))

    def parse_and(self) -> Node:
        nodes = [self.parse_unary()]
        while (token := self.peek()) is not None and token.kind not in ("or", "rparen"):
            if token.kind == "and":
                self.take()
            nodes.append(self.parse_unary())
        return nodes[0] if len(nodes) == 1 else BoolOp("AND", tuple(nodes))

    def parse_unary(self) -> Node:
        token = self.peek()
        if token is None:
            last = self.tokens[-1].column if self.tokens else 1
            raise QueryError("The query ends where a term was expected", last)
        if token.kind == "not":
            self.take()
            with self.nested(token):
                return Not(self.parse_unary())
        if token.kind == "lparen":
            self.take()
            with self.nested(token):
                node = self.parse_or()
            closing = self.peek()
            if closing is None or closing.kind != "rparen":
                raise QueryError("A parenthesis is not closed", token.column)
            self.take()
            return node
        if token.kind != "term":
            raise QueryError(
                f"Unexpected {token.kind.upper() if token.kind in ('and', 'or') else ')'}",
                token.column,
            )
        self.take()
        if token.field:
            return Comparison(token.field, Op(token.op), token.value, token.quoted)
        return FreeText(token.value, token.quoted)


def _count_terms(node: Node) -> int:
    if isinstance(node, BoolOp):
        return sum(_count_terms(n) for n in node.nodes)
    if isinstance(node, Not):
        return _count_terms(node.node)
    return 1


def parse(query: str) -> Node | None:
    """The tree of ``query``; None for an empty query (everything in the time range)."""
    query = query.strip()
    if not query:
        return None
    if len(query) > MAX_QUERY:
        raise QueryError(f"A query is at most {MAX_QUERY} characters")
    parser = _Parser(_tokens(query))
    node = parser.parse_or()
    extra = parser.peek()
    if extra is not None:
        raise QueryError(
            "Unexpected )" if extra.kind == "rparen" else "Unexpected input", extra.column
        )
    if _count_terms(node) > MAX_TERMS:
        raise QueryError(f"A query has at most {MAX_TERMS} terms")
    return node
