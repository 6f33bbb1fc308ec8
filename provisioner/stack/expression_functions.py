"""The functions of ``${...}`` expressions: the few a lab needs, each typed.

``lower(s)``, ``upper(s)``, ``join(sep, list)``, ``format(fmt, ...)`` (``%s``,
``%d``, ``%%``), ``cidrhost(cidr, n)``, ``length(x)``, ``contains(list, v)``.
A function checks its arguments' types and says which argument is wrong
(``ArgumentProblem``); it never converts one type into another.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.stack.expression_values import (
    ArgumentProblem,
    a_type,
    is_integer,
    type_name,
)


@dataclass(frozen=True)
class Function:
    """A function and how many arguments it takes (``most`` None: any number more)."""

    apply: Callable[..., Any]
    least: int
    most: int | None
    usage: str


def _string(value: Any, index: int, what: str = "a string") -> str:
    if not isinstance(value, str):
        raise ArgumentProblem(f"argument {index + 1} must be {what}, not {a_type(value)}",
                              "", index)
    return value


def _integer(value: Any, index: int) -> int:
    if not is_integer(value):
        raise ArgumentProblem(f"argument {index + 1} must be an integer, not "
                              f"{a_type(value)}", "", index)
    return int(value)


def _list(value: Any, index: int) -> list[Any]:
    if not isinstance(value, list):
        raise ArgumentProblem(f"argument {index + 1} must be a list, not {a_type(value)}",
                              "a list variable, or a list such as [\"a\", \"b\"]", index)
    return value


def _lower(text: Any) -> str:
    return _string(text, 0).lower()


def _upper(text: Any) -> str:
    return _string(text, 0).upper()


def _join(separator: Any, items: Any) -> str:
    _string(separator, 0)
    for position, item in enumerate(_list(items, 1)):
        if not isinstance(item, str):
            raise ArgumentProblem(f"item {position} of the list is {a_type(item)}; "
                                  "join() takes strings", "format() writes integers", 1)
    return str(separator).join(items)


_DIRECTIVE = re.compile(r"%(.?)")


def _format(template: Any, *values: Any) -> str:
    """A small printf: ``%s`` a string, integer or boolean, ``%d`` an integer, ``%%``."""
    _string(template, 0)
    remaining = list(enumerate(values, start=1))

    def directive(found: re.Match[str]) -> str:
        verb = found.group(1)
        if verb == "%":
            return "%"
        if verb not in ("s", "d"):
            raise ArgumentProblem(f"'%{verb}' is not a directive it knows",
                                  "use %s, %d, or %% for a literal %", 0)
        if not remaining:
            raise ArgumentProblem(f"the format has more directives than the {len(values)} "
                                  "value(s) given", "give one value per %s or %d", 0)
        index, value = remaining.pop(0)
        if verb == "d":
            return str(_integer(value, index))
        if not (isinstance(value, str | bool) or is_integer(value)):
            raise ArgumentProblem("%s writes a string, integer or boolean, not "
                                  f"{a_type(value)}", "", index)
        return ("true" if value else "false") if isinstance(value, bool) else str(value)

    text = _DIRECTIVE.sub(directive, str(template))
    if remaining:
        raise ArgumentProblem(f"{len(remaining)} value(s) more than the format uses",
                              "add a %s or %d for each, or remove the extra values",
                              remaining[0][0])
    return text


def _cidrhost(cidr: Any, number: Any) -> str:
    """The ``number``-th address of an IPv4 subnet; a negative one counts from its end."""
    try:
        network = ipaddress.IPv4Network(_string(cidr, 0, "an IPv4 subnet such as "
                                                   "\"10.42.0.0/24\""))
    except ValueError as exc:
        raise ArgumentProblem(f"'{cidr}' is not an IPv4 subnet ({exc})",
                              "write it as 10.42.0.0/24 (the host bits zero)", 0) from None
    host = _integer(number, 1)
    size = network.num_addresses
    if not -size <= host < size:
        raise ArgumentProblem(
            f"host number {host} is outside {network}, which has {size} address"
            f"{'' if size == 1 else 'es'}",
            f"use 0 to {size - 1}, or -{size} to -1 from the end", 1)
    return str(network[host])


def _length(value: Any) -> int:
    if not isinstance(value, str | list | Mapping):
        raise ArgumentProblem("argument 1 must be a string, list or map, not "
                              f"{a_type(value)}", "", 0)
    return len(value)


def _contains(items: Any, value: Any) -> bool:
    return any(type_name(item) == type_name(value) and item == value
               for item in _list(items, 0))


FUNCTIONS: dict[str, Function] = {
    "lower": Function(_lower, 1, 1, "lower(\"Web\") is \"web\""),
    "upper": Function(_upper, 1, 1, "upper(\"web\") is \"WEB\""),
    "join": Function(_join, 2, 2, "join(\",\", [\"a\", \"b\"]) is \"a,b\""),
    "format": Function(_format, 1, None, "format(\"web-%d\", 3) is \"web-3\""),
    "cidrhost": Function(_cidrhost, 2, 2, "cidrhost(\"10.0.0.0/24\", 10) is \"10.0.0.10\""),
    "length": Function(_length, 1, 1, "length([\"a\", \"b\"]) is 2"),
    "contains": Function(_contains, 2, 2, "contains([\"a\", \"b\"], \"a\") is true"),
}
