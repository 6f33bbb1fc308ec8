"""The expression language inside ``${...}``: grammar, parser, and the ``Expression``.

A small typed language for values, not a programming language::

    expression  = or [ "?" expression ":" expression ]
    or          = and { "||" and }
    and         = equality { "&&" equality }
    equality    = comparison { ("==" | "!=") comparison }
    comparison  = sum { ("<" | "<=" | ">" | ">=") sum }
    sum         = product { ("+" | "-") product }
    product     = unary { ("*" | "/" | "%") unary }
    unary       = ("!" | "-") unary | primary
    primary     = STRING | INTEGER | "true" | "false" | "null"
                | "(" expression ")" | "[" [ expression { "," expression } ] "]"
                | NAME "(" [ expression { "," expression } ] ")"
                | NAME { "." NAME | "[" INTEGER "]" }

A NAME may hold ``-`` as resource names do (``guests.web-0``): ``a-1`` is one
name, and subtraction needs spaces (``a - 1``), as in HCL. Strings are written
``"..."`` with ``\\"`` and ``\\\\`` as their only escapes.

``parse`` is cached on the text: a plan of many counted guests evaluates the
same few templates thousands of times.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from provisioner.stack.expression_functions import FUNCTIONS
from provisioner.stack.expression_nodes import (
    Binary,
    Call,
    Conditional,
    ListNode,
    Literal,
    Node,
    Reference,
    Unary,
)
from provisioner.stack.expression_values import ExpressionError, Lookup, ReferencePath

__all__ = ["Expression", "ExpressionError", "Lookup", "ReferencePath", "parse"]

MAX_DEPTH = 32
"""Nesting of parentheses, lists, calls and operators: deeper is refused, not a crash."""
MAX_OPERATORS = 128
"""Operators, conditions, calls and lists in one expression: what the tree's depth
can reach (``1 + 1 + ...`` nests without parentheses)."""
MAX_DIGITS = 18

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>")
  | (?P<integer>[0-9]+)
  | (?P<name>[A-Za-z_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)
  | (?P<punctuation>==|!=|<=|>=|&&|\|\||[-+*/%<>!?:()\[\],.])
""", re.VERBOSE)
_KEYWORDS: dict[str, bool | None] = {"true": True, "false": False, "null": None}
_LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%"))
_LOOKALIKES = {"=": "'==' compares; there is no assignment", "&": "'&&' is 'and'",
               "|": "'||' is 'or'", "'": "strings are written in double quotes",
               "{": "there are no map literals", "}": "'}' ends the expression"}


@dataclass(frozen=True)
class Token:
    kind: str  # string, integer, name, punctuation, end
    text: str
    offset: int
    value: Any = None


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    offset = 0
    while offset < len(text):
        found = _TOKEN.match(text, offset)
        if found is None:
            character = text[offset]
            raise ExpressionError(f"unexpected character {character!r}",
                                  _LOOKALIKES.get(character, ""), offset)
        kind = found.lastgroup or ""
        if kind == "string":
            token, offset = _string(text, offset)
            tokens.append(token)
            continue
        if kind == "integer" and len(found.group()) > MAX_DIGITS:
            raise ExpressionError(f"the integer {found.group()[:20]}... is too large",
                                  f"integers have at most {MAX_DIGITS} digits", offset)
        if kind != "space":
            value = int(found.group()) if kind == "integer" else None
            tokens.append(Token(kind, found.group(), offset, value))
        offset = found.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _string(text: str, start: int) -> tuple[Token, int]:
    """The string literal opening at ``start``, and the offset after it."""
    characters: list[str] = []
    offset = start + 1
    while offset < len(text):
        character = text[offset]
        if character == '"':
            return Token("string", text[start:offset + 1], start, "".join(characters)), offset + 1
        if character == "\\":
            escaped = text[offset + 1:offset + 2]
            if escaped not in ('"', "\\"):
                raise ExpressionError(f"unknown escape '\\{escaped}' in a string",
                                      "only \\\" and \\\\ are escapes", offset)
            character, offset = escaped, offset + 1
        characters.append(character)
        offset += 1
    raise ExpressionError("a string is not closed", "end it with '\"'", start)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.position = 0
        self.depth = 0
        self.operators = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.position]

    def take(self, *texts: str) -> Token | None:
        token = self.current
        if token.kind == "punctuation" and token.text in texts:
            self.position += 1
            return token
        return None

    def expect(self, text: str, after: str) -> Token:
        token = self.take(text)
        if token is None:
            raise ExpressionError(f"expected '{text}' {after}, found {_describe(self.current)}",
                                  "", self.current.offset)
        return token

    def parse(self) -> Node:
        if self.current.kind == "end":
            raise ExpressionError("the expression is empty", "write a value such as "
                                  "${var.NAME}; $${ writes a literal ${", 0)
        node = self.expression()
        if self.current.kind != "end":
            raise ExpressionError(f"unexpected {_describe(self.current)}",
                                  "an operator or the end of the expression was expected",
                                  self.current.offset)
        return node

    def nested(self, parse: Callable[[], Node]) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"the expression nests deeper than {MAX_DEPTH} levels",
                                  "split it into variables", self.current.offset)
        try:
            return parse()
        finally:
            self.depth -= 1

    def operator(self, offset: int) -> int:
        """Counts one more operator, at ``offset``; returns the offset."""
        self.operators += 1
        if self.operators > MAX_OPERATORS:
            raise ExpressionError(f"the expression has more than {MAX_OPERATORS} operators",
                                  "split it into variables", offset)
        return offset

    def expression(self) -> Node:
        return self.nested(self._conditional)

    def _conditional(self) -> Node:
        condition = self.binary(0)
        question = self.take("?")
        if question is None:
            return condition
        when_true = self.expression()
        self.expect(":", "between the two values of 'condition ? a : b'")
        return Conditional(condition, when_true, self.expression(),
                           self.operator(question.offset))

    def binary(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while (operator := self.take(*_LEVELS[level])) is not None:
            node = Binary(operator.text, node, self.binary(level + 1),
                          self.operator(operator.offset))
        return node

    def unary(self) -> Node:
        operator = self.take("!", "-")
        if operator is None:
            return self.primary()
        return Unary(operator.text, self.nested(self.unary), self.operator(operator.offset))

    def primary(self) -> Node:
        token = self.current
        self.position += 1
        if token.kind in ("string", "integer"):
            return Literal(token.value, token.offset)
        if token.kind == "name":
            if token.text in _KEYWORDS:
                return Literal(_KEYWORDS[token.text], token.offset)
            if self.take("("):
                return self.call(token)
            return self.reference(token)
        if token.text == "(":
            node = self.expression()
            self.expect(")", "to close '('")
            return node
        if token.text == "[":
            return ListNode(self.items("]"), self.operator(token.offset))
        raise ExpressionError(f"expected a value, found {_describe(token)}",
                              "a value is a string, integer, reference or function call",
                              token.offset)

    def items(self, closing: str) -> tuple[Node, ...]:
        found: list[Node] = []
        if self.take(closing):
            return ()
        while True:
            found.append(self.expression())
            if self.take(closing):
                return tuple(found)
            self.expect(",", f"or '{closing}' between items")

    def call(self, name: Token) -> Node:
        function = FUNCTIONS.get(name.text)
        if function is None:
            close = difflib.get_close_matches(name.text, FUNCTIONS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else \
                "functions: " + ", ".join(FUNCTIONS)
            raise ExpressionError(f"unknown function '{name.text}'", hint, name.offset)
        arguments = self.items(")")
        too_few = len(arguments) < function.least
        if too_few or (function.most is not None and len(arguments) > function.most):
            raise ExpressionError(
                f"{name.text}() takes {_arity(function.least, function.most)}, "
                f"not {len(arguments)}", function.usage, name.offset)
        return Call(name.text, arguments, function.apply, self.operator(name.offset))

    def reference(self, first: Token) -> Node:
        path: list[str | int] = [first.text]
        while True:
            if self.take("."):
                segment = self.current
                if segment.kind != "name":
                    raise ExpressionError(f"expected a name after '.', found "
                                          f"{_describe(segment)}", "", segment.offset)
                path.append(segment.text)
                self.position += 1
            elif self.take("["):
                index = self.current
                if index.kind != "integer":
                    raise ExpressionError(f"expected an index such as [0], found "
                                          f"{_describe(index)}", "", index.offset)
                self.position += 1
                path.append(index.value)
                self.expect("]", "after the index")
            else:
                return Reference(tuple(path), first.offset)


def _describe(token: Token) -> str:
    return "the end of the expression" if token.kind == "end" else f"'{token.text[:20]}'"


def _arity(least: int, most: int | None) -> str:
    count = f"{least} argument{'' if least == 1 else 's'}"
    return count if most == least else f"at least {count}"


class Expression:
    """A parsed expression: its text, the references it reads, and its value."""

    def __init__(self, text: str, root: Node) -> None:
        self.text = text
        self.root = root
        self._references = frozenset(root.references())

    def references(self) -> frozenset[ReferencePath]:
        """Every reference path it reads, whichever branch a condition takes."""
        return self._references

    def namespaces(self) -> frozenset[str]:
        return frozenset(str(path[0]) for path in self._references)

    def evaluate(self, lookup: Lookup) -> Any:
        """Its value; raises ExpressionError (what ``lookup`` raises, or a type error)."""
        return self.root.evaluate(lookup)

    def inline(self, known: Callable[[ReferencePath], bool], lookup: Lookup) -> Expression:
        """The expression with the references ``known`` accepts written as their values."""
        root = self.root.inline(known, lookup)
        return Expression(root.render(), root)

    def render(self) -> str:
        return self.root.render()

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


@lru_cache(maxsize=4096)
def parse(text: str) -> Expression:
    """The expression ``text`` (inside ``${...}``); raises ExpressionError with the
    offset in ``text`` of what is wrong."""
    return Expression(text, _Parser(text).parse())
