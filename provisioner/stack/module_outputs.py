"""A module's outputs, as the stack that uses it reads them.

A module's ``outputs:`` are evaluated in the stack (after apply, from the state),
which knows neither the module's variables nor its local names: each output is
kept as its expression with the module's variables written in, its resources named
by their flat names (module_names.py) and the outputs of modules inside it
replaced by theirs; ``${module.NAME.outputs.OUT}`` in the caller is then replaced
by that expression (``substitute_module_outputs``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.errors import StackProblem
from provisioner.stack.expressions import ReferencePath
from provisioner.stack.interpolate import NamespaceProblem
from provisioner.stack.module_names import ModuleScope, output_in_caller
from provisioner.stack.source import PathKey, SourceMap, format_path

_MODULE_OUTPUT_RE = re.compile(r"\$\{\s*module\.([a-z0-9][a-z0-9-]*)\.outputs\."
                               r"([A-Za-z_][A-Za-z0-9_]*)\s*\}")


@dataclass(frozen=True)
class ModuleOutput:
    text: str
    """The output's expression, in the caller's (flat) names."""
    sensitive: bool


Outputs = dict[tuple[tuple[str, ...], str], ModuleOutput]
"""(module path, output name) → the output."""


def module_outputs(scope: ModuleScope, data: Mapping[str, Any], source: SourceMap,
                   values: Mapping[str, Any], sensitive: set[str], known: Outputs
                   ) -> tuple[list[StackProblem], Outputs]:
    """The outputs of one module instance (``known``: those of the modules inside it)."""
    section = data.get("outputs")
    problems: list[StackProblem] = []
    found: Outputs = {}
    for name, raw in section.items() if isinstance(section, dict) else ():
        text = raw.get("value") if isinstance(raw, dict) else raw
        if not isinstance(text, str):
            problems.append(StackProblem(source.value_at(("outputs", name)),
                                         format_path(("outputs", name)),
                                         "expected a string or a mapping with `value:`",
                                         "write an expression such as ${guests.web[*].ip}"))
            continue
        secret = isinstance(raw, dict) and raw.get("sensitive") is True
        text, from_secret = _with_variables(text, values, sensitive)
        text, from_inner = substitute_module_outputs(text, scope.path, known)
        found[(scope.path, name)] = ModuleOutput(output_in_caller(text, scope),
                                                 secret or from_secret or from_inner)
    return problems, found


def substitute_module_outputs(text: str, path: tuple[str, ...],
                              outputs: Mapping[tuple[tuple[str, ...], str], ModuleOutput]
                              ) -> tuple[str, bool]:
    """``text`` with each ``${module.NAME.outputs.OUT}`` of the module instance at
    ``path`` replaced by that output's expression; whether one was sensitive. One left
    as written is reported by the output checks (``unknown ...``)."""
    sensitive = False

    def replace(match: re.Match[str]) -> str:
        nonlocal sensitive
        found = outputs.get(((*path, match.group(1)), match.group(2)))
        if found is None:
            return match.group(0)
        sensitive = sensitive or found.sensitive
        return found.text

    return _MODULE_OUTPUT_RE.sub(replace, text), sensitive


_VARIABLE_RE = re.compile(r"\$\{\s*var\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}")


def _with_variables(text: str, values: Mapping[str, Any], sensitive: set[str]
                    ) -> tuple[str, bool]:
    """A module output's ``${var.NAME}`` replaced by the module's value (outputs are
    evaluated in the stack, which does not know the module's variables)."""
    used_secret = False

    def replace(match: re.Match[str]) -> str:
        nonlocal used_secret
        name = match.group(1)
        if name not in values or isinstance(values[name], dict | list):
            return match.group(0)
        used_secret = used_secret or name in sensitive
        value = values[name]
        return ("true" if value else "false") if isinstance(value, bool) else str(value)

    return _VARIABLE_RE.sub(replace, text), used_secret


_NAME_ONLY_RE = re.compile(r"^\$\{\s*(?:pools|images|networks|volumes|guests|containers)\."
                           r"([a-z0-9][a-z0-9-]*)\.name\s*\}$")


class LaterModuleOutputs:
    """The ``module.`` namespace while the stack is read: ``${module.NAME.outputs.OUT}``
    stays as written (the module is expanded afterwards), then ``with_module_names``
    puts in the outputs that are names."""

    def readable(self, reference: ReferencePath, original: str) -> bool:
        if len(reference) != 4 or reference[2] != "outputs":
            raise NamespaceProblem(f"'{original}' is not a module's output",
                                   "write ${module.NAME.outputs.OUTPUT}")
        return False

    def value(self, reference: ReferencePath) -> Any:
        raise AssertionError("never readable")  # pragma: no cover


def with_module_names(value: Any, path: tuple[str, ...], outputs: Outputs,
                      source: SourceMap, at: PathKey = ()) -> tuple[Any, list[StackProblem]]:
    """``value`` with each ``${module.NAME.outputs.OUT}`` of the instance at ``path``
    replaced by the name that output gives (``${volumes.data.name}`` of the module:
    ``store-data``); an output known only after apply is a problem at its line."""
    problems: list[StackProblem] = []

    def walk(item: Any, where: PathKey) -> Any:
        if isinstance(item, dict):
            return {key: walk(inner, (*where, key)) for key, inner in item.items()}
        if isinstance(item, list):
            return [walk(inner, (*where, index)) for index, inner in enumerate(item)]
        if not isinstance(item, str) or "${module." not in item:
            return item
        text, _ = substitute_module_outputs(item, path, outputs)
        named = _NAME_ONLY_RE.match(text)
        if named:
            return named.group(1)
        if "${" not in text:
            return text
        problems.append(StackProblem(
            source.value_at(where), format_path(where),
            f"'{item}' is known only after apply" if "${module." not in text else
            f"'{item}': no such module output (yet)",
            "a resource may use a module's output that names one of its resources "
            "(${volumes.data.name}) or holds a value; others are for the stack's outputs"
            if "${module." not in text else
            "name a module declared before this one, and one of its outputs"))
        return item

    return walk(value, at), problems
