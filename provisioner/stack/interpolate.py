"""``${...}`` expressions in stack values, evaluated when the stack is read.

Each ``${...}`` is parsed with the expression language (expressions.py) and may
read:

- ``var.NAME`` (and ``var.NAME.KEY``, ``var.NAME[0]``): a variable; a value that
  is only the expression keeps its type (``cpus: ${var.cpus}`` is an integer);
- ``env.NAME``: an environment variable; unset is an error naming it;
- ``count.index`` and ``each.key`` / ``each.value...`` (DEFERRED_NAMESPACES): known
  per instance, so the expression stays in the value as text, with the variables
  it reads written in, and is evaluated when instances are made (resolve.py for
  count, repetition.py for for_each); ``each.`` outside a resource is an error;
- ``stack.NAME.outputs.X``: another stack's output, through a namespace the
  loader hands in (``namespaces``: stack/other_stacks.py);
- ``${guests.web[*].ip}``, ``${guests.web-0.ip}``: resource values, in
  ``outputs`` only (they exist after apply; outputs.py reads them).

``$${`` writes a literal ``${``. An expression that reads a sensitive variable
makes its value sensitive, one that reads the environment marks it as such.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from provisioner.core.address import Kind
from provisioner.errors import StackProblem, UserError
from provisioner.stack.expression_nodes import render_path
from provisioner.stack.expression_values import a_type
from provisioner.stack.expressions import Expression, ExpressionError, ReferencePath
from provisioner.stack.source import PathKey, SourceMap, format_path
from provisioner.stack.templates import (
    DEFERRED_NAMESPACES,
    Placeholder,
    TemplateError,
    deferred_namespaces,
    escape,
    is_deferred,
    is_whole,
    split,
    text_of,
)

EXPRESSION_RE = re.compile(r"\$\$\{|\$\{\s*([^}]*?)\s*\}")
"""The ``${...}`` of outputs, which keep their own reference syntax (outputs.py,
checks.py); resource values are read with templates.split."""
_OPENING_RE = re.compile(r"\$\$\{|\$\{")


def unterminated(text: str) -> str | None:
    """The first ``${...`` of ``text`` that no ``}`` closes (``"${env.HOME"``), as
    written; None when every expression is closed."""
    for opening in _OPENING_RE.finditer(text):
        if opening.group(0) == "${" and not EXPRESSION_RE.match(text, opening.start()):
            return text[opening.start():][:40]
    return None
NOW = frozenset({"var", "env"})
"""The namespaces known when the stack is read; the others are in DEFERRED_NAMESPACES."""
_RESOURCE_SECTIONS = frozenset({*(kind.value for kind in Kind), "modules"})
"""Where ``each.`` may be read: resources, and module calls (for_each on a module)."""


class NamespaceProblem(UserError):
    """Raised by a namespace handed to the Interpolator: the reference is wrong (the
    Interpolator reports it at the value's line)."""


class Namespace(Protocol):
    """An extra namespace of references (``stack.``), handed in by the loader."""

    def readable(self, reference: ReferencePath, original: str) -> bool:
        """Whether ``reference`` can be read now (False: it stays as written); raises
        NamespaceProblem when it never can."""

    def value(self, reference: ReferencePath) -> Any:
        """The value of a readable reference; raises ExpressionError."""


@dataclass
class Interpolation:
    """Result of substituting variables and environment into a document."""

    data: Any
    problems: list[StackProblem] = field(default_factory=list)
    sensitive_paths: dict[PathKey, str] = field(default_factory=dict)
    """Paths whose value came from a sensitive variable → its name: only secret
    fields may hold them, or plans would print them."""
    environment_paths: set[PathKey] = field(default_factory=set)
    """Paths whose value came from the environment: secret fields must be set this
    way or from a sensitive variable, never by a literal kept in git."""
    kept_escaped: bool = False
    """A literal ``$${count.index}`` (or ``each.``) was kept escaped: the instances'
    values are unescaped once made (templates.unescaped)."""
    unset_environment: dict[PathKey, StackProblem] = field(default_factory=dict)
    """The problems (also in ``problems``) of environment variables that are not set,
    by path: a command that needs no secret drops those of secret fields."""


def did_you_mean(word: str, choices: list[str] | tuple[str, ...] | set[str]) -> str:
    """A hint suggesting the closest of ``choices``, or listing them."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if choices:
        return "valid: " + ", ".join(sorted(choices))
    return ""


class Interpolator:
    """Substitutes ``var.`` and ``env.`` expressions, recording problems by path."""

    def __init__(
        self,
        variables: Mapping[str, Any],
        sensitive: set[str],
        source: SourceMap,
        environ: Mapping[str, str] | None = None,
        declared: Collection[str] = (),
        namespaces: Mapping[str, Namespace] | None = None,
    ) -> None:
        self.variables = variables
        self.declared = declared
        """Every declared variable: one without a value was reported where it is declared."""
        self.sensitive = sensitive
        self.source = source
        self.environ = os.environ if environ is None else environ
        self.result = Interpolation(None)
        self.namespaces = namespaces or {}

    def run(self, data: Any, skip: Callable[[PathKey], bool]) -> Interpolation:
        self.result.data = self._walk(data, (), skip)
        return self.result

    def _walk(self, value: Any, path: PathKey, skip: Callable[[PathKey], bool]) -> Any:
        if skip(path):
            return value
        if isinstance(value, dict):
            return {key: self._walk(item, (*path, key), skip) for key, item in value.items()}
        if isinstance(value, list):
            return [self._walk(item, (*path, index), skip) for index, item in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            return self._substitute(value, path)
        return value

    def _substitute(self, text: str, path: PathKey) -> Any:
        try:
            parts = split(text)
        except TemplateError as exc:
            self._problem(path, exc.message, exc.hint)
            return text
        done = [part if isinstance(part, str) else self._placeholder(part, path)
                for part in parts]
        if is_whole(parts):
            outcome = done[0]
            return outcome.text if isinstance(outcome, _Unevaluated) else outcome
        deferred = any(isinstance(outcome, _Unevaluated) and outcome.deferred
                       for outcome in done)
        pieces: list[tuple[str, bool]] = []  # (text, literal: escaped if kept for later)
        for part, outcome in zip(parts, done, strict=True):
            if isinstance(outcome, _Unevaluated):
                pieces.append((outcome.text, False))
            elif isinstance(part, str):
                pieces.append((part, True))
            else:
                try:
                    pieces.append((text_of(part, outcome), True))
                except ExpressionError as exc:
                    self._problem(path, exc.message, exc.hint)
                    pieces.append((part.written, True))
        literal = "".join(text for text, is_literal in pieces if is_literal)
        if not deferred and "${" in literal and deferred_namespaces(literal):
            deferred = True  # a literal ${count.index}: kept escaped until instances are made
            self.result.kept_escaped = True
        return "".join(escape(text) if deferred and is_literal else text
                       for text, is_literal in pieces)

    def _placeholder(self, placeholder: Placeholder, path: PathKey) -> Any:
        """The value of one ``${...}``, or _Unevaluated: deferred, or a problem
        (reported here) or a value not given (a sensitive variable for a command
        that needs no secret) keeps its text."""
        kept = _Unevaluated(placeholder.written)
        try:
            expression = placeholder.expression()
        except ExpressionError as exc:
            self._expression_problem(path, placeholder, exc)
            return kept
        readable = all([self._readable(reference, path, placeholder.written)
                        for reference in sorted(expression.references(), key=str)])
        if not readable:
            return kept
        try:
            if is_deferred(expression):
                return self._deferred(placeholder, expression)
            return expression.evaluate(self._lookup)
        except ExpressionError as exc:
            self._expression_problem(path, placeholder, exc)
            return kept

    def _deferred(self, placeholder: Placeholder, expression: Expression) -> _Unevaluated:
        """The expression with its variables written in, evaluated per instance."""
        if expression.namespaces().isdisjoint(NOW):
            return _Unevaluated(placeholder.written, deferred=True)
        inlined = expression.inline(lambda reference: reference[0] in NOW, self._lookup)
        return _Unevaluated("${" + inlined.render() + "}", deferred=True)

    def _readable(self, reference: ReferencePath, path: PathKey, original: str) -> bool:
        """Whether a reference can be read now; reports it if it never can."""
        namespace = reference[0]
        name = str(reference[1]) if len(reference) > 1 else ""
        if namespace == "var" and name:
            return self._variable(name, path, original)
        if namespace == "env" and name:
            return self._environment(name, path, original)
        extra = self.namespaces.get(str(namespace))
        if extra is not None:
            try:
                return extra.readable(reference, original)
            except NamespaceProblem as exc:
                self._problem(path, exc.message, exc.hint)
                return False
        if namespace == "each" and path[:1] and path[0] not in _RESOURCE_SECTIONS:
            self._problem(path, f"'{original}' is known only in a resource with for_each",
                          "write the value itself")
            return False
        if namespace in DEFERRED_NAMESPACES:
            return True
        self._problem(
            path,
            f"'{original}' cannot be used here",
            "only ${var.NAME} and ${env.NAME} work in resources; resource values such as "
            "${guests.web.ip} work in outputs, and depends_on orders resources",
        )
        return False

    def _variable(self, name: str, path: PathKey, original: str) -> bool:
        if name in self.sensitive and (name in self.variables or name in self.declared):
            self.result.sensitive_paths[path] = name
        if name in self.declared and name not in self.variables:
            return False
        if name not in self.variables:
            hint = did_you_mean(name, set(self.variables) | set(self.declared))
            self._problem(path, f"unknown variable '{name}' in '{original}'",
                          hint or "declare it under variables:")
            return False
        return True

    def _environment(self, name: str, path: PathKey, original: str) -> bool:
        self.result.environment_paths.add(path)  # (set or not: the stack names no value)
        if name not in self.environ:
            self._problem(path, f"environment variable {name} is not set (used by '{original}')",
                          f"export {name}=... before running provisioner")
            self.result.unset_environment[path] = self.result.problems[-1]
            return False
        return True

    def _lookup(self, reference: ReferencePath) -> Any:
        namespace, name, *rest = reference
        extra = self.namespaces.get(str(namespace))
        if extra is not None:
            return extra.value(reference)
        if namespace == "env":
            if rest:
                raise ExpressionError(f"env.{name} is a string: it has no "
                                      f"'{render_path(tuple(rest))}'", "write env.NAME")
            return self.environ[str(name)]
        return member(self.variables[str(name)], reference, 2)

    def _expression_problem(self, path: PathKey, placeholder: Placeholder,
                            error: ExpressionError) -> None:
        located = placeholder.locate(error)
        self._problem(path, located.message, located.hint)

    def _problem(self, path: PathKey, message: str, hint: str) -> None:
        self.result.problems.append(
            StackProblem(self.source.value_at(path), format_path(path), message, hint)
        )


@dataclass(frozen=True)
class _Unevaluated:
    """A ``${...}`` kept as text: evaluated per instance (``deferred``), or not at all."""

    text: str
    deferred: bool = False


def member(value: Any, reference: ReferencePath, start: int) -> Any:
    """``reference[start:]`` read inside ``value``: map keys and list indexes."""
    for position in range(start, len(reference)):
        part = reference[position]
        if not _holds(value, part):
            shape = f"a list of {len(value)}" if isinstance(value, list) else a_type(value)
            written = f"[{part}]" if isinstance(part, int) else f"'{part}'"
            raise ExpressionError(
                f"{render_path(reference[:position])} has no {written}: it is {shape}",
                did_you_mean(str(part), set(value)) if isinstance(value, dict) else "")
        value = value[part]
    return value


def _holds(value: Any, part: str | int) -> bool:
    if isinstance(value, dict):
        return isinstance(part, str) and part in value
    return isinstance(value, list) and isinstance(part, int) and part < len(value)
