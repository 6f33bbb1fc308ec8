"""The syntax tree of ``${...}`` expressions, and how each node is evaluated.

Every node knows where it starts in the expression's text (``offset``), the
references it reads, how to print itself back as text that parses to the same
tree, and its value given a ``lookup`` of references. Values are the YAML
types: strings, integers, booleans, null, lists and maps (and numbers, read
from ``number`` variables, which only compare). Types never convert: ``"2" + 1``
is an error naming both types, ``!1`` is an error, not ``false``.

The grammar is in expressions.py; the functions in expression_functions.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

ReferencePath = tuple[str | int, ...]
Lookup = Callable[[ReferencePath], Any]
"""Resolves a reference path (``("var", "cpus")``) or raises ExpressionError."""

INTEGER_LIMIT = 2**63
"""Integers are 64-bit signed: a result outside is an error, not a huge number."""


class ExpressionError(Exception):
    """An expression that does not parse or cannot be evaluated.

    ``offset`` is the character offset in the expression's text (0 for the first
    character after ``${``) of the part at fault."""

    def __init__(self, message: str, hint: str = "", offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.offset = offset


class ArgumentProblem(Exception):
    """A function's argument it cannot take; ``index`` says which (None: the call)."""

    def __init__(self, message: str, hint: str = "", index: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.index = index


def type_name(value: Any) -> str:
    """The stack files' name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "map"
    return type(value).__name__


def a_type(value: Any) -> str:
    """``an integer``, ``a string``: the type with its article."""
    name = type_name(value)
    return ("an " if name[0] in "aeiou" else "a ") + name


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def checked_integer(value: int, offset: int) -> int:
    if not -INTEGER_LIMIT <= value < INTEGER_LIMIT:
        raise ExpressionError("the result is outside the 64-bit integer range",
                              "use smaller numbers", offset)
    return value


def quote(text: str) -> str:
    """A string literal: ``"`` and ``\\`` escaped, nothing else."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Node:
    """A part of an expression."""

    offset: int

    def evaluate(self, lookup: Lookup) -> Any:
        raise NotImplementedError

    def references(self) -> set[ReferencePath]:
        return set()

    def start(self) -> int:
        """Where the node's text begins (``offset`` of an operator is the operator's)."""
        return self.offset

    def inline(self, known: Callable[[ReferencePath], bool], lookup: Lookup) -> Node:
        """This node with every reference that ``known`` accepts replaced by its value
        (what stays is evaluated later: ``count.index``)."""
        return self

    def render(self) -> str:
        """Text that parses back to this node; operands of operators are in parentheses."""
        raise NotImplementedError


def _operand(node: Node) -> str:
    text = node.render()
    return f"({text})" if isinstance(node, Binary | Conditional | Unary) else text


@dataclass(frozen=True)
class Literal(Node):
    """``"text"``, ``42``, ``true``, ``null``."""

    value: str | int | bool | None
    offset: int = field(default=0, compare=False)

    def evaluate(self, lookup: Lookup) -> Any:
        return self.value

    def render(self) -> str:
        if isinstance(self.value, str):
            return quote(self.value)
        if self.value is None:
            return "null"
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        return str(self.value) if self.value >= 0 else f"({self.value})"


def literal_of(value: Any, offset: int) -> Node:
    """The literal that writes ``value`` (a variable's, inlined into an expression
    that is evaluated later)."""
    if value is None or isinstance(value, str | bool) or is_integer(value):
        return Literal(value, offset)
    if isinstance(value, list):
        return ListNode(tuple(literal_of(item, offset) for item in value), offset)
    raise ExpressionError(
        f"{a_type(value)} cannot be used in an expression evaluated per instance",
        "use one of its values (var.NAME.KEY), or a string or integer variable", offset)


@dataclass(frozen=True)
class ListNode(Node):
    """``[a, b, c]``."""

    items: tuple[Node, ...]
    offset: int = field(default=0, compare=False)

    def evaluate(self, lookup: Lookup) -> Any:
        return [item.evaluate(lookup) for item in self.items]

    def references(self) -> set[ReferencePath]:
        return set().union(*(item.references() for item in self.items))

    def inline(self, known: Callable[[ReferencePath], bool], lookup: Lookup) -> Node:
        return ListNode(tuple(item.inline(known, lookup) for item in self.items), self.offset)

    def render(self) -> str:
        return "[" + ", ".join(item.render() for item in self.items) + "]"


@dataclass(frozen=True)
class Reference(Node):
    """``var.cpus``, ``each.value.disks[0]``, ``guests.web-0.ip``."""

    path: ReferencePath
    offset: int = field(default=0, compare=False)

    def evaluate(self, lookup: Lookup) -> Any:
        try:
            return lookup(self.path)
        except ExpressionError as exc:
            hint = exc.hint
            if not hint and any(isinstance(part, str) and "-" in part for part in self.path):
                hint = "names may hold '-': to subtract, write spaces around it (a - 1)"
            raise ExpressionError(exc.message, hint, self.offset) from None

    def references(self) -> set[ReferencePath]:
        return {self.path}

    def inline(self, known: Callable[[ReferencePath], bool], lookup: Lookup) -> Node:
        return literal_of(self.evaluate(lookup), self.offset) if known(self.path) else self

    def render(self) -> str:
        return render_path(self.path)


def render_path(path: ReferencePath) -> str:
    """``("each", "value", "disks", 0)`` → ``each.value.disks[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True)
class Unary(Node):
    """``!flag``, ``-n``."""

    operator: str
    operand: Node
    offset: int = field(default=0, compare=False)

    def evaluate(self, lookup: Lookup) -> Any:
        value = self.operand.evaluate(lookup)
        if self.operator == "!":
            if not isinstance(value, bool):
                raise ExpressionError(f"'!' needs a boolean, not {a_type(value)}",
                                      "compare first, such as !(var.n == 0)", self.offset)
            return not value
        if not is_integer(value):
            raise ExpressionError(f"'-' needs an integer, not {a_type(value)}", "",
                                  self.offset)
        return checked_integer(-value, self.offset)

    def references(self) -> set[ReferencePath]:
        return self.operand.references()

    def inline(self, known: Callable[[ReferencePath], bool], lookup: Lookup) -> Node:
        return Unary(self.operator, self.operand.inline(known, lookup), self.offset)

    def render(self) -> str:
        return self.operator + _operand(self.operand)


@dataclass(frozen=True)
class Binary(Node):
    """``a OP b``; ``offset`` is the operator's, where its type errors point."""

    operator: str
    left: Node
    right: Node
    offset: int = field(default=0, compare=False)

    def evaluate(self, lookup: Lookup) -> Any:
        left = self.left.evaluate(lookup)
        if self.operator in ("&&", "||"):
            _boolean(self.operator, left, self.offset)
            if left is (self.operator == "||"):
                return left  # short-circuit: the right side is not evaluated
            return _boolean(self.operator, self.right.evaluate(lookup), self.offset)
        return _OPERATORS[self.operator](left, self.right.evaluate(lookup), self.offset)

    def references(self) -> set[ReferencePath]:
        return self.left.references() | self.right.references()

    def inline(self, known: Callable[[ReferencePath], bool], lookup: Lookup) -> Node:
        return Binary(self.operator, self.left.inline(known, lookup),
                      self.right.inline(known, lookup), self.offset)

    def start(self) -> int:
        return self.left.start()

    def render(self) -> str:
        return f"{_operand(self.left)} {self.operator} {_operand(self.right)}"


@dataclass(frozen=True)
class Conditional(Node):
    """``condition ? when_true : when_false``: only the chosen side is evaluated."""

    condition: Node
    when_true: Node
    when_false: Node
    offset: int = field(default=0, compare=False)

    def evaluate(self, lookup: Lookup) -> Any:
        chosen = self.condition.evaluate(lookup)
        if not isinstance(chosen, bool):
            raise ExpressionError(
                f"the condition before '?' must be a boolean, not {a_type(chosen)}",
                "compare it, such as var.env == \"prod\" ? ... : ...", self.condition.start())
        return (self.when_true if chosen else self.when_false).evaluate(lookup)

    def start(self) -> int:
        return self.condition.start()

    def references(self) -> set[ReferencePath]:
        return (self.condition.references() | self.when_true.references()
                | self.when_false.references())

    def inline(self, known: Callable[[ReferencePath], bool], lookup: Lookup) -> Node:
        return Conditional(self.condition.inline(known, lookup),
                           self.when_true.inline(known, lookup),
                           self.when_false.inline(known, lookup), self.offset)

    def render(self) -> str:
        return (f"{_operand(self.condition)} ? {_operand(self.when_true)} : "
                f"{_operand(self.when_false)}")


@dataclass(frozen=True)
class Call(Node):
    """``name(arguments)``; ``function`` is looked up when the text is parsed."""

    name: str
    arguments: tuple[Node, ...]
    function: Callable[..., Any] = field(compare=False, repr=False)
    offset: int = field(default=0, compare=False)

    def evaluate(self, lookup: Lookup) -> Any:
        values = [argument.evaluate(lookup) for argument in self.arguments]
        try:
            return self.function(*values)
        except ArgumentProblem as problem:
            where = self.offset if problem.index is None else self.arguments[problem.index].start()
            raise ExpressionError(f"{self.name}(): {problem.message}", problem.hint,
                                  where) from None

    def references(self) -> set[ReferencePath]:
        return set().union(*(argument.references() for argument in self.arguments))

    def inline(self, known: Callable[[ReferencePath], bool], lookup: Lookup) -> Node:
        return Call(self.name, tuple(argument.inline(known, lookup) for argument in
                                     self.arguments), self.function, self.offset)

    def render(self) -> str:
        return f"{self.name}(" + ", ".join(a.render() for a in self.arguments) + ")"


def _boolean(operator: str, value: Any, offset: int) -> bool:
    if not isinstance(value, bool):
        raise ExpressionError(f"'{operator}' needs booleans, not {a_type(value)}",
                              "compare first, such as var.n > 0 && var.on", offset)
    return value


def _mismatch(operator: str, left: Any, right: Any, offset: int, hint: str = "") -> None:
    raise ExpressionError(
        f"'{operator}' cannot take {a_type(left)} and {a_type(right)}",
        hint or "types never convert: write the value with the type needed", offset)


def _equal(left: Any, right: Any, offset: int, operator: str = "==") -> bool:
    if left is not None and right is not None and type_name(left) != type_name(right) \
            and not (_is_number(left) and _is_number(right)):
        _mismatch(operator, left, right, offset, "compare values of one type, such as "
                  "var.cpus == 2 (not \"2\"); null compares with anything")
    return bool(left == right)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _ordering(compare: Callable[[Any, Any], bool], operator: str) -> Callable[..., bool]:
    def apply(left: Any, right: Any, offset: int) -> bool:
        if not (_is_number(left) and _is_number(right)):
            _mismatch(operator, left, right, offset, f"'{operator}' compares numbers")
        return compare(left, right)

    return apply


def _plus(left: Any, right: Any, offset: int) -> Any:
    if isinstance(left, str) and isinstance(right, str):
        return left + right
    return _arithmetic(lambda a, b: a + b, "+")(left, right, offset)


def _arithmetic(compute: Callable[[int, int], int], operator: str) -> Callable[..., int]:
    def apply(left: Any, right: Any, offset: int) -> int:
        if not (is_integer(left) and is_integer(right)):
            _mismatch(operator, left, right, offset, f"'{operator}' takes integers"
                      + (" (or two strings, joined)" if operator == "+" else ""))
        if operator in ("/", "%") and right == 0:
            raise ExpressionError(f"'{operator}' by zero", "", offset)
        return checked_integer(compute(left, right), offset)

    return apply


def _truncated_division(left: int, right: int) -> int:
    """Rounds toward zero, as C and Go do: -7 / 2 is -3."""
    quotient = abs(left) // abs(right)
    return quotient if (left < 0) == (right < 0) else -quotient


_OPERATORS: dict[str, Callable[[Any, Any, int], Any]] = {
    "==": _equal,
    "!=": lambda left, right, offset: not _equal(left, right, offset, "!="),
    "<": _ordering(lambda a, b: a < b, "<"),
    "<=": _ordering(lambda a, b: a <= b, "<="),
    ">": _ordering(lambda a, b: a > b, ">"),
    ">=": _ordering(lambda a, b: a >= b, ">="),
    "+": _plus,
    "-": _arithmetic(lambda a, b: a - b, "-"),
    "*": _arithmetic(lambda a, b: a * b, "*"),
    "/": _arithmetic(_truncated_division, "/"),
    "%": _arithmetic(lambda a, b: a - b * _truncated_division(a, b), "%"),
}
BINARY_OPERATORS = ("||", "&&", *_OPERATORS)
