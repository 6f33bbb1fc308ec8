"""``${...}`` expressions in stack values.

- ``${var.NAME}``: a variable; a value that is only the expression keeps the
  variable's type (``cpus: ${var.cpus}`` is an integer).
- ``${env.NAME}``: an environment variable; unset is an error naming it.
- ``${count.index}``: the instance index, in resources with ``count``
  (substituted when instances are expanded).
- ``${each.key}``, ``${each.value.NAME}``: the instance's key and value, in
  resources with ``for_each`` (substituted by repetition.py, after this step).
- ``${guests.web[*].ip}``, ``${guests.web-0.ip}``: resource values, in
  ``outputs`` only (they exist after apply).
- ``$${`` writes a literal ``${``.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner.core.address import Kind
from provisioner.errors import StackProblem
from provisioner.stack.source import PathKey, SourceMap, format_path

EXPRESSION_RE = re.compile(r"\$\$\{|\$\{\s*([^}]*?)\s*\}")
_OPENING_RE = re.compile(r"\$\$\{|\$\{")


def unterminated(text: str) -> str | None:
    """The first ``${...`` of ``text`` that no ``}`` closes (``"${env.HOME"``), as
    written; None when every expression is closed."""
    for opening in _OPENING_RE.finditer(text):
        if opening.group(0) == "${" and not EXPRESSION_RE.match(text, opening.start()):
            return text[opening.start():][:40]
    return None
DEFERRED_PREFIXES = ("count.", "each.")
_RESOURCE_SECTIONS = frozenset(kind.value for kind in Kind)


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
    ) -> None:
        self.variables = variables
        self.declared = declared
        """Every declared variable: one without a value was reported where it is declared."""
        self.sensitive = sensitive
        self.source = source
        self.environ = os.environ if environ is None else environ
        self.result = Interpolation(None)

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
        open_end = unterminated(text)
        if open_end is not None:
            self._problem(path, f"'{open_end}' is not closed: an expression ends with '}}'",
                          "close it, such as ${env.HOME}; write $${ for a literal ${")
            return text
        matches = list(EXPRESSION_RE.finditer(text))
        whole = len(matches) == 1 and matches[0].span() == (0, len(text)) and matches[0].group(1)
        if whole:
            return self._evaluate(matches[0].group(1), path, text)

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            value = self._evaluate(match.group(1), path, match.group(0))
            if isinstance(value, list | dict):
                noun = "a list" if isinstance(value, list) else "a map"
                self._problem(path, f"'{match.group(0)}' is {noun}, which cannot be part of "
                              "a text", "write the expression alone as the whole value, or "
                              "use a string variable")
                return match.group(0)
            return _as_text(value)

        return EXPRESSION_RE.sub(replace, text)

    def _evaluate(self, expression: str, path: PathKey, original: str) -> Any:
        namespace, _, name = expression.partition(".")
        if namespace == "var":
            return self._variable(name, path, original)
        if namespace == "env":
            return self._environment(name, path, original)
        if expression.startswith("each.") and path[:1] and path[0] not in _RESOURCE_SECTIONS:
            self._problem(path, f"'{original}' is known only in a resource with for_each",
                          "write the value itself")
            return original
        if expression.startswith(DEFERRED_PREFIXES):
            return original
        self._problem(
            path,
            f"'{original}' cannot be used here",
            "only ${var.NAME} and ${env.NAME} work in resources; resource values such as "
            "${guests.web.ip} work in outputs, and depends_on orders resources",
        )
        return original

    def _variable(self, name: str, path: PathKey, original: str) -> Any:
        if name in self.declared and name not in self.variables:
            if name in self.sensitive:
                self.result.sensitive_paths[path] = name
            return original
        if name not in self.variables:
            hint = did_you_mean(name, set(self.variables) | set(self.declared))
            self._problem(path, f"unknown variable '{name}' in '{original}'",
                          hint or "declare it under variables:")
            return original
        if name in self.sensitive:
            self.result.sensitive_paths[path] = name
        return self.variables[name]

    def _environment(self, name: str, path: PathKey, original: str) -> Any:
        self.result.environment_paths.add(path)  # (set or not: the stack names no value)
        if name not in self.environ:
            self._problem(path, f"environment variable {name} is not set (used by '{original}')",
                          f"export {name}=... before running provisioner")
            self.result.unset_environment[path] = self.result.problems[-1]
            return original
        return self.environ[name]

    def _problem(self, path: PathKey, message: str, hint: str) -> None:
        self.result.problems.append(
            StackProblem(self.source.value_at(path), format_path(path), message, hint)
        )


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
