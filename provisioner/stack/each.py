"""``${each.key}`` and ``${each.value...}``: one instance's values in a resource with
``for_each``.

The expressions that read ``each.`` were left as text when the stack was read (the
variables they read written in: interpolate.py); ``each_value`` evaluates them for
one instance with the expression language (templates.evaluate_deferred), so
``${each.value.cpus * 2}`` and ``${lower(each.key)}`` work as ``${each.value.memory}``
does. A value that is only the expression keeps its type (``cpus:
${each.value.cpus}`` is an integer, ``memory: ${each.value.memory}`` the text
``"4GiB"`` that the size type reads); inside text it is written as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.stack.expression_nodes import render_path
from provisioner.stack.expression_values import Lookup
from provisioner.stack.expressions import ExpressionError, ReferencePath
from provisioner.stack.source import PathKey
from provisioner.stack.templates import (
    deferred_namespaces,
    deferred_paths,
    evaluate_deferred,
    split,
)


@dataclass(frozen=True)
class EachProblem:
    """An ``each`` expression that gives no value, at ``path`` inside the walked value."""

    path: PathKey
    message: str
    hint: str


def each_paths(value: Any, path: PathKey = ()) -> list[tuple[PathKey, str]]:
    """Where an ``${each...}`` expression is written inside ``value``: (path, the
    first such expression there)."""
    found = []
    for where in deferred_paths(value, ("each",)):
        text = _at(value, where)
        first = next((p.written for p in split(text) if not isinstance(p, str)
                      and reads_each(p.written)), text)
        found.append(((*path, *where), first))
    return found


def each_value(value: Any, key: str, item: Any,
               problems: list[EachProblem] | None = None, path: PathKey = ()) -> Any:
    """``value`` with its ``each`` expressions evaluated for the instance ``key`` whose
    for_each value is ``item``; an expression that gives nothing stays as written and
    is added to ``problems``."""
    found = problems if problems is not None else []

    def report(where: PathKey, error: ExpressionError) -> None:
        found.append(EachProblem((*path, *where), error.message, error.hint))

    return evaluate_deferred(value, each_lookup(key, item), report,
                             deferred_paths(value, ("each",)))


def each_lookup(key: str, item: Any) -> Lookup:
    """``each.key`` and ``each.value`` (and what is inside it) of one instance."""

    def lookup(reference: ReferencePath) -> Any:
        if reference == ("each", "key"):
            return key
        if reference[:2] != ("each", "value"):
            raise ExpressionError(f"{render_path(reference)} is not known here",
                                  "in a resource with for_each: each.key, each.value, "
                                  "each.value.NAME")
        value = item
        for depth, step in enumerate(reference[2:], start=2):
            inside = _step(value, step)
            if inside is _MISSING:
                raise ExpressionError(f"{render_path(reference[:depth])} has no "
                                      f"{_describe(step)}", _choices(value))
            value = inside
        return value

    return lookup


_MISSING = object()


def _step(value: Any, part: str | int) -> Any:
    if isinstance(part, str) and isinstance(value, Mapping):
        return value.get(part, _MISSING)
    if isinstance(part, int) and isinstance(value, list) and 0 <= part < len(value):
        return value[part]
    return _MISSING


def _describe(part: str | int) -> str:
    return f"key '{part}'" if isinstance(part, str) else f"item [{part}]"


def _choices(value: Any) -> str:
    if isinstance(value, Mapping):
        return "it has: " + ", ".join(sorted(value)) if value else "it is an empty map"
    if isinstance(value, list):
        return f"it is a list of {len(value)}"
    return f"it is {value!r:.40}, not a map or list"


def _at(value: Any, path: PathKey) -> Any:
    for step in path:
        value = value[step]
    return value


def reads_each(text: str) -> bool:
    """Whether a text's ``${...}`` read ``each.``."""
    return "each" in deferred_namespaces(text)
