"""The syntax tree of ``${...}`` expressions, and how each node is evaluated.

Every node knows where it starts in the expression's text (``offset``), the
references it reads, how to print itself back as text that parses to the same
tree, and its value given a ``lookup`` of references.

The grammar is in expressions.py, the types and operators in
expression_values.py, the functions in expression_functions.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from provisioner.stack.expression_values import (
    OPERATORS,
    ArgumentProblem,
    ExpressionError,
    Lookup,
    ReferencePath,
    a_type,
    boolean_operand,
    checked_integer,
    is_integer,
)


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
            boolean_operand(self.operator, left, self.offset)
            if left is (self.operator == "||"):
                return left  # short-circuit: the right side is not evaluated
            return boolean_operand(self.operator, self.right.evaluate(lookup), self.offset)
        return OPERATORS[self.operator](left, self.right.evaluate(lookup), self.offset)

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
