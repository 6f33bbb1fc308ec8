"""Values and types of ``${...}`` expressions, and what the operators do to them.

Values are the YAML types: strings, integers, booleans, null, lists and maps
(and numbers, read from ``number`` variables, which only compare). Types never
convert: ``"2" + 1`` is an error naming both types, ``!1`` is an error, not
``false``. Integers stay within 64 bits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


def boolean_operand(operator: str, value: Any, offset: int) -> bool:
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


OPERATORS: dict[str, Callable[[Any, Any, int], Any]] = {
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
BINARYOPERATORS = ("||", "&&", *OPERATORS)
