"""Outputs: values computed after apply from what was applied and read back.

``${guests.web[*].ip}`` is a list over the instances of ``web``;
``${guests.web-0.name}`` one value; an output that is only one expression
keeps the value's type, text around expressions makes a string.
``${stack.core.outputs.lab_net}`` is the other stack's output as the stack's
load read it (stack/other_stacks.py). A value no
object of that kind can have (a typo) is refused by the plan
(``unknown_attributes``); one an object lacks after the apply is null (and named
in a warning), never an error: apply has already happened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from provisioner.core.address import Address, Kind
from provisioner.core.problems import Problem
from provisioner.stack.checks import output_references
from provisioner.stack.interpolate import EXPRESSION_RE
from provisioner.stack.model import SENSITIVE_MASK, OutputSpec
from provisioner.state.store import AppliedRecord

if TYPE_CHECKING:
    from provisioner.core.resources import Resource
    from provisioner.providers.base import ProviderSchema
    from provisioner.stack.loader import Stack

_REFERENCE_RE = re.compile(
    r"^(?P<kind>[a-z]+)\.(?P<name>[a-z0-9-]+)(?P<index>\[(\*|\d+)\])?\.(?P<attr>.+)$"
)


@dataclass
class OutputValues:
    values: dict[str, Any] = field(default_factory=dict)
    sensitive: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)

    def shown(self) -> dict[str, Any]:
        """Values safe to print or store: sensitive ones masked."""
        return {k: SENSITIVE_MASK if k in self.sensitive else v for k, v in self.values.items()}


def evaluate_outputs(
    outputs: Mapping[str, OutputSpec],
    records: Mapping[Address, AppliedRecord],
    groups: Mapping[Address, list[Address]],
    variables: Mapping[str, Any],
    other_outputs: Mapping[str, Any] | None = None,
) -> OutputValues:
    result = OutputValues()
    for name, output in outputs.items():
        evaluator = _Evaluator(records, groups, variables, other_outputs or {})
        result.values[name] = evaluator.render(output.value)
        result.warnings += [f"output {name}: {w}" for w in evaluator.warnings]
        if output.sensitive:
            result.sensitive.add(name)
    return result


def unknown_attributes(stack: Stack, resources: Sequence[Resource],
                       schemas: Mapping[str, ProviderSchema]) -> list[Problem]:
    """Output expressions naming a value their resource can never have (a typo such as
    ``${guests.web[*].ipp}``), for the plan to refuse: the values a resource has are
    its declared fields, ``name``, ``id`` and what its provider reads back
    (``KindSchema.attributes``). ``resources`` are placed: a guest of a placement
    group has its provider block."""
    by_address = {r.address: r for r in resources}
    problems = []
    for name, output in stack.outputs.items():
        for expression in output_references(output.value):
            reference = _reference(expression)
            if reference is None:
                continue
            address, _, attr = reference
            members = [by_address[a] for a in stack.groups.get(address, [address])
                       if a in by_address]
            if not members:
                continue
            schema = schemas.get(members[0].provider)
            kind = schema.kinds.get(address.kind) if schema else None
            known = {"name", "id", *members[0].spec, *(kind.attributes if kind else ())}
            wanted = attr.split(".")[0]
            if wanted not in known:
                problems.append(Problem(
                    f"{address} has no value '{wanted}' (it has: {', '.join(sorted(known))})",
                    path=f"outputs.{name}",
                    position=stack.source.value_at(("outputs", name))))
    return problems


def _reference(expression: str) -> tuple[Address, str | None, str] | None:
    """``guests.web[*].ip`` → (guests.web, "[*]", "ip"); None if it names no resource."""
    match = _REFERENCE_RE.match(expression)
    kind = Kind.parse(match.group("kind")) if match else None
    if match is None or kind is None:
        return None
    return Address(kind, match.group("name")), match.group("index"), match.group("attr")


class _Evaluator:
    def __init__(
        self,
        records: Mapping[Address, AppliedRecord],
        groups: Mapping[Address, list[Address]],
        variables: Mapping[str, Any],
        other_outputs: Mapping[str, Any],
    ) -> None:
        self.records = records
        self.groups = groups
        self.variables = variables
        self.other_outputs = other_outputs
        self.warnings: list[str] = []

    def render(self, text: str) -> Any:
        matches = list(EXPRESSION_RE.finditer(text))
        if len(matches) == 1 and matches[0].span() == (0, len(text)) and matches[0].group(1):
            return self.evaluate(matches[0].group(1))

        def replace(match: re.Match[str]) -> str:
            if not match.group(1):
                return "${"
            value = self.evaluate(match.group(1))
            if isinstance(value, list):
                return ",".join(_text(item) for item in value)
            return _text(value)

        return EXPRESSION_RE.sub(replace, text)

    def evaluate(self, expression: str) -> Any:
        if expression.startswith("var."):
            return self.variables.get(expression[4:])
        if expression.startswith("stack."):
            return self.other_outputs.get(expression[6:])
        reference = _reference(expression)
        if reference is None:
            self.warnings.append(f"cannot evaluate '{expression}'")
            return None
        address, index, attr = reference
        members = self.groups.get(address)
        if index == "[*]" or (members is not None and members != [address] and index is None):
            return [self._value(member, attr) for member in (members or [])]
        if index is not None and members is not None:
            position = int(index[1:-1])
            if position >= len(members):  # the plan refuses it; a state edited since may not
                self.warnings.append(f"{address}[{position}]: out of range ({address} has "
                                     f"{len(members)} instances)")
                return None
            address = members[position]
        return self._value(address, attr)

    def _value(self, address: Address, attr: str) -> Any:
        record = self.records.get(address)
        if record is None:
            self.warnings.append(f"{address} has not been applied")
            return None
        value: Any = {**record.spec, **record.attributes, "name": record.name,
                      "id": record.live_id}
        for part in attr.split("."):
            if not isinstance(value, Mapping) or part not in value:
                self.warnings.append(f"{address} has no value '{attr}'")
                return None
            value = value[part]
        return value


def _text(value: Any) -> str:
    """A value written inside text: nothing for none (its warning says why), JSON for
    a map or list (never Python's repr)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)
