"""The ``outputs:`` section, read one output at a time.

One by one: the model's ``str | OutputSpec`` union would report each problem once
per member, under paths like ``outputs.x.OutputSpec``. A module's output
(``${module.k8s.outputs.ips}``) is replaced by its expression (modules.py); a value
from a sensitive one makes the output sensitive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.errors import StackProblem
from provisioner.stack.model import OutputSpec
from provisioner.stack.module_outputs import ModuleOutput, substitute_module_outputs
from provisioner.stack.source import PathKey, SourceMap, format_path
from provisioner.stack.validation import validate_model


def read_outputs(data: Mapping[str, Any], source: SourceMap,
                 module_outputs: Mapping[tuple[tuple[str, ...], str], ModuleOutput]
                 ) -> tuple[dict[str, str | OutputSpec], list[StackProblem]]:
    """The stack's outputs by name, and the problems of those that are not valid."""
    section = data.get("outputs")
    if not isinstance(section, dict):
        return {}, []  # reported by the top-level validation
    outputs: dict[str, str | OutputSpec] = {}
    problems: list[StackProblem] = []
    for name, raw in section.items():
        path: PathKey = ("outputs", name)
        if isinstance(raw, str):
            text, secret = substitute_module_outputs(raw, (), module_outputs)
            outputs[name] = OutputSpec(value=text, sensitive=True) if secret else text
            continue
        if not isinstance(raw, dict):
            problems.append(StackProblem(
                source.value_at(path), format_path(path),
                f"expected a string or a mapping with `value:` (got {raw!r:.60})",
                "write an expression such as ${guests.web[*].ip}, or quote the value"))
            continue
        given = raw
        if isinstance(raw.get("value"), str):
            value, secret = substitute_module_outputs(raw["value"], (), module_outputs)
            given = {**raw, "value": value} | ({"sensitive": True} if secret else {})
        spec, found = validate_model(OutputSpec, given, source, path)
        problems += found
        if spec is not None:
            outputs[name] = spec
    return outputs, problems
