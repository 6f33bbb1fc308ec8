"""Stack values as templates: text with ``${...}`` expressions in it.

``split`` cuts a value into its literal text and its expressions (``$${`` is a
literal ``${``; an expression ends at the first ``}`` outside its strings, so
``${format("{%s}", var.x)}`` is one expression). Expressions that read a
deferred namespace (``count.``, ``each.``) stay in the value as text when the
stack is read, and ``evaluate_deferred`` evaluates them per instance.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from provisioner.stack.expression_nodes import render_path
from provisioner.stack.expressions import (
    Expression,
    ExpressionError,
    Lookup,
    ReferencePath,
    parse,
)
from provisioner.stack.source import PathKey

DEFERRED_NAMESPACES = ("count", "each")
"""Known only per instance, when a resource's instances are made (resolve.py)."""


@dataclass(frozen=True)
class Placeholder:
    """One ``${...}``: its text as written, and where its expression starts in the value."""

    written: str
    start: int

    @property
    def source(self) -> str:
        return self.written[2:-1]

    def expression(self) -> Expression:
        return parse(self.source)

    def locate(self, error: ExpressionError) -> ExpressionError:
        """``error`` of this expression, its message saying where in ``${...}`` it is
        and its offset made relative to the whole value."""
        return ExpressionError(f"{error.message}, at character {error.offset + 3} of "
                               f"'{self.written}'", error.hint, self.start + error.offset)


Part = str | Placeholder


class TemplateError(ExpressionError):
    """A ``${`` that no ``}`` closes; ``offset`` is where it opens in the value."""


@lru_cache(maxsize=4096)
def split(text: str) -> tuple[Part, ...]:
    """``text`` as literal text (``$${`` unescaped) and placeholders, in order."""
    parts: list[Part] = []
    literal: list[str] = []
    position = 0
    while (opening := text.find("${", position)) >= 0:
        if opening > 0 and text[opening - 1] == "$":
            literal.append(text[position:opening - 1] + "${")
            position = opening + 2
            continue
        literal.append(text[position:opening])
        closing = _closing_brace(text, opening + 2)
        if closing < 0:
            raise TemplateError(f"'{text[opening:opening + 40]}' is not closed: an "
                                "expression ends with '}'",
                                "close it, such as ${env.HOME}; write $${ for a literal ${",
                                opening)
        if "".join(literal):
            parts.append("".join(literal))
        literal = []
        parts.append(Placeholder(text[opening:closing + 1], opening + 2))
        position = closing + 1
    literal.append(text[position:])
    if "".join(literal):
        parts.append("".join(literal))
    return tuple(parts)


def _closing_brace(text: str, start: int) -> int:
    """The offset of the ``}`` that ends an expression starting at ``start``, or -1."""
    in_string = False
    position = start
    while position < len(text):
        character = text[position]
        if in_string and character == "\\":
            position += 1
        elif character == '"':
            in_string = not in_string
        elif character == "}" and not in_string:
            return position
        position += 1
    return -1


def escape(text: str) -> str:
    """Literal text as a template writes it: ``${`` becomes ``$${``."""
    return text.replace("${", "$${")


def unescaped(value: Any) -> Any:
    """``value`` with the ``$${`` kept in literal text (text that reads like a
    per-instance expression, kept escaped while instances are made) written as
    ``${``; a string that still holds an expression is left as it is."""
    if isinstance(value, str):
        if "$${" not in value:
            return value
        try:
            parts = split(value)
        except TemplateError:
            return value
        texts = [part for part in parts if isinstance(part, str)]
        return "".join(texts) if len(texts) == len(parts) else value
    if isinstance(value, dict):
        return {key: unescaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unescaped(item) for item in value]
    return value


def is_whole(parts: tuple[Part, ...]) -> bool:
    """Whether the value is one expression and nothing else (it keeps its type)."""
    return len(parts) == 1 and isinstance(parts[0], Placeholder)


def is_deferred(expression: Expression) -> bool:
    return not expression.namespaces().isdisjoint(DEFERRED_NAMESPACES)


@lru_cache(maxsize=4096)
def deferred_namespaces(text: str) -> frozenset[str]:
    """The deferred namespaces the expressions of ``text`` read; none if it does not
    parse (that was reported when the stack was read)."""
    try:
        found: set[str] = set()
        for part in split(text):
            if isinstance(part, Placeholder):
                found |= part.expression().namespaces() & set(DEFERRED_NAMESPACES)
        return frozenset(found)
    except ExpressionError:
        return frozenset()


def count_lookup(index: int) -> Lookup:
    """The lookup of ``count.index`` for one instance; other references are unknown."""

    def lookup(reference: ReferencePath) -> Any:
        if reference == ("count", "index"):
            return index
        raise ExpressionError(f"{render_path(reference)} is not known here",
                              "count.index is the instance's number" if reference[0] == "count"
                              else "")

    return lookup


def deferred_paths(value: Any, namespaces: Collection[str] = DEFERRED_NAMESPACES,
                   path: PathKey = ()) -> list[PathKey]:
    """Where the templates of ``value`` read one of ``namespaces``."""
    if isinstance(value, str):
        return [path] if "${" in value and not deferred_namespaces(value).isdisjoint(
            namespaces) else []
    if isinstance(value, dict):
        return [found for key, item in value.items()
                for found in deferred_paths(item, namespaces, (*path, key))]
    if isinstance(value, list):
        return [found for index, item in enumerate(value)
                for found in deferred_paths(item, namespaces, (*path, index))]
    return []


def as_text(value: Any) -> str:
    """A value written into text: booleans as ``true``/``false``, null as ``null``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def text_of(placeholder: Placeholder, value: Any) -> str:
    """The value of ``placeholder`` written into a text; a list or a map cannot be."""
    if isinstance(value, list | dict):
        noun = "a list" if isinstance(value, list) else "a map"
        raise ExpressionError(f"'{placeholder.written}' is {noun}, which cannot be part of a "
                              "text", "write the expression alone as the whole value, or use "
                              "join() or format()", placeholder.start)
    return as_text(value)


def evaluate_text(text: str, lookup: Lookup) -> Any:
    """Every expression of ``text`` evaluated; a whole-value expression keeps its type.
    Raises ExpressionError with the offset in ``text``."""
    parts = split(text)
    if is_whole(parts):
        return _value(parts[0], lookup)  # type: ignore[arg-type]
    written = []
    for part in parts:
        if isinstance(part, str):
            written.append(part)
            continue
        written.append(text_of(part, _value(part, lookup)))
    return "".join(written)


def _value(placeholder: Placeholder, lookup: Lookup) -> Any:
    try:
        return placeholder.expression().evaluate(lookup)
    except ExpressionError as exc:
        raise placeholder.locate(exc) from None


def evaluate_deferred(value: Any, lookup: Lookup,
                      report: Callable[[PathKey, ExpressionError], None] | None = None,
                      paths: Sequence[PathKey] | None = None) -> Any:
    """``value`` with its deferred templates evaluated by ``lookup`` (``count.index``
    of one instance), at ``paths`` (``deferred_paths(value)``, found once for many
    instances). Other strings are left alone: their expressions were evaluated, and
    their ``$${`` unescaped, when the stack was read. Maps and lists along a path
    are copied, never changed; the rest is shared with ``value``. An error goes to
    ``report`` with its path (the text stays) or, without ``report``, is raised."""
    for path in deferred_paths(value) if paths is None else paths:
        value = _evaluated_at(value, path, 0, lookup, report)
    return value


def _evaluated_at(value: Any, path: PathKey, depth: int, lookup: Lookup,
                  report: Callable[[PathKey, ExpressionError], None] | None) -> Any:
    if depth < len(path):
        copy = dict(value) if isinstance(value, dict) else list(value)
        copy[path[depth]] = _evaluated_at(value[path[depth]], path, depth + 1,  # type: ignore[index]
                                          lookup, report)
        return copy
    try:
        return evaluate_text(value, lookup)
    except ExpressionError as exc:
        if report is None:
            raise
        report(path, exc)
        return value
