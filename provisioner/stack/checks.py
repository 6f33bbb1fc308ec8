"""Checks across a stack's sections that no single model can make.

Each returns problems (never raises): a resource's provider exists and serves
its kind, ``ignore_changes`` names real fields, outputs refer to declared
resources. (Secrets are checked in ``secrets.py``.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from provisioner.core.address import Address, Kind
from provisioner.errors import StackProblem
from provisioner.stack.images import image_providers
from provisioner.stack.interpolate import EXPRESSION_RE, did_you_mean, unterminated
from provisioner.stack.model import (
    NOT_IN_SPEC,
    SECTION_MODELS,
    SETTINGS,
    OutputSpec,
    PlacementGroup,
    ResourceBase,
)
from provisioner.stack.source import PathKey, SourceMap, format_path

_REFERENCE_RE = re.compile(
    r"^(?P<kind>[a-z]+)\.(?P<name>[a-z0-9-]+)(?P<index>\[(?:\*|\d+)\])?(?P<attr>(\.[a-z_][a-z0-9_]*)*)$"
)
_FIELD_PATH_RE = re.compile(r"^[a-z_][a-z0-9_]*(\[\d+\])?(\.[a-z_][a-z0-9_]*(\[\d+\])?)*$")
_NOT_DIFFED = NOT_IN_SPEC | SETTINGS


def check_providers(
    entries: Mapping[Kind, Mapping[str, ResourceBase]],
    provider_kinds: Mapping[str, tuple[Kind, ...] | None],
    source: SourceMap,
) -> list[StackProblem]:
    """Every resource names a declared provider that serves its kind.

    ``provider_kinds`` maps each declared provider to the kinds it serves
    (None when its type is unknown: that problem is reported elsewhere).
    """
    problems: list[StackProblem] = []
    for kind, section in entries.items():
        for name, entry in section.items():
            for where, provider in image_providers(entry):
                problems += _provider_problems(kind, provider, provider_kinds, source,
                                               (kind.value, name, *where))
    return problems


def _provider_problems(kind: Kind, provider: str,
                       provider_kinds: Mapping[str, tuple[Kind, ...] | None],
                       source: SourceMap, path: PathKey) -> list[StackProblem]:
    where = source.value_at(path)
    if provider not in provider_kinds:
        hint = did_you_mean(provider, set(provider_kinds)) or "declare it under providers:"
        return [StackProblem(where, format_path(path), f"unknown provider '{provider}'", hint)]
    kinds = provider_kinds[provider]
    if kinds is not None and kind not in kinds:
        served = ", ".join(k.value for k in kinds) or "nothing"
        return [StackProblem(where, format_path(path),
                             f"provider '{provider}' does not serve {kind.value}",
                             f"it serves: {served}")]
    return []


def check_placement_groups(groups: Mapping[str, PlacementGroup],
                           providers: Mapping[str, Any], source: SourceMap) -> list[StackProblem]:
    """A placement group names declared provider blocks, all of one type, and no
    provider block has the group's name."""
    problems: list[StackProblem] = []
    for name, group in groups.items():
        path: PathKey = ("placement_groups", name)
        if name in providers:
            problems.append(StackProblem(source.key_at(path), format_path(path),
                                    f"'{name}' is also a provider block",
                                    "give the group a name of its own"))
        types = set()
        for index, member in enumerate(group.providers):
            block = providers.get(member, ...)
            if block is ...:
                where = (*path, "providers", index)
                problems.append(StackProblem(source.value_at(where), format_path(where),
                                        f"unknown provider '{member}'",
                                        did_you_mean(member, set(providers))))
            elif block is not None:
                types.add(block.type_name)
        if len(types) > 1:
            kinds = ", ".join(sorted(types))
            problems.append(StackProblem(source.key_at(path), format_path(path),
                                    f"its providers are of different types ({kinds})",
                                    "a placement group is hosts of one kind"))
    return problems


def check_ignore_changes(
    entries: Mapping[Kind, Mapping[str, ResourceBase]], source: SourceMap
) -> list[StackProblem]:
    """``lifecycle.ignore_changes`` entries are field paths of their kind."""
    problems: list[StackProblem] = []
    for kind, section in entries.items():
        fields = set(SECTION_MODELS[kind.value].model_fields) - _NOT_DIFFED
        for name, entry in section.items():
            for index, text in enumerate(entry.lifecycle.ignore_changes):
                path: PathKey = (kind.value, name, "lifecycle", "ignore_changes", index)
                head = re.split(r"[.\[]", text, maxsplit=1)[0]
                if not _FIELD_PATH_RE.match(text) or head not in fields:
                    problems.append(StackProblem(source.value_at(path), format_path(path),
                                            f"'{text}' is not a field of {kind.value}",
                                            did_you_mean(head, fields)))
    return problems


def output_references(text: str) -> list[str]:
    """The ``${...}`` expressions of an output value, in order."""
    return [m.group(1) for m in EXPRESSION_RE.finditer(text) if m.group(1)]


def check_outputs(
    outputs: Mapping[str, str | OutputSpec],
    groups: Mapping[Address, list[Address]],
    variables: Mapping[str, Any],
    source: SourceMap,
) -> list[StackProblem]:
    """Outputs refer to declared resources (or instances) and variables."""
    instances = {member for members in groups.values() for member in members}
    valid = sorted({str(a) for a in groups} | {str(a) for a in instances})
    problems: list[StackProblem] = []
    for name, output in outputs.items():
        text = output if isinstance(output, str) else output.value
        suffix: PathKey = () if isinstance(output, str) else ("value",)
        path: PathKey = ("outputs", name, *suffix)
        open_end = unterminated(text)
        if open_end is not None:
            problems.append(StackProblem(source.value_at(path), format_path(path),
                                         f"'{open_end}' is not closed: an expression ends "
                                         "with '}'", "close it, such as ${guests.web[*].ip}"))
            continue
        for expression in output_references(text):
            problem = _check_reference(expression, groups, instances, variables, valid)
            if problem:
                message, hint = problem
                problems.append(StackProblem(source.value_at(path), format_path(path), message,
                                             hint))
    return problems


def _check_reference(
    expression: str,
    groups: Mapping[Address, list[Address]],
    instances: set[Address],
    variables: Mapping[str, Any],
    valid: list[str],
) -> tuple[str, str] | None:
    if expression.startswith("stack."):
        return None  # another stack's output: read (and checked) by the loader
    if expression.startswith("var."):
        name = expression[4:]
        return None if name in variables else (
            f"unknown variable '{name}'", did_you_mean(name, set(variables)))
    match = _REFERENCE_RE.match(expression)
    kind = Kind.parse(match.group("kind")) if match else None
    if match is None or kind is None or not match.group("attr"):
        return (f"'${{{expression}}}' is not a reference like guests.web[*].ip or "
                "guests.web-0.name", "")
    address = Address(kind, match.group("name"))
    if address not in groups and address not in instances:
        return (f"unknown resource '{address}'", did_you_mean(str(address), valid))
    return _index_problem(expression, match.group("index"), groups.get(address))


def _index_problem(expression: str, index: str | None,
                   members: list[Address] | None) -> tuple[str, str] | None:
    """``[N]`` past the instances a resource has (count is known when the stack loads)."""
    if not index or index == "[*]" or members is None or int(index[1:-1]) < len(members):
        return None
    count = len(members)
    instances = f"{count} instance{'' if count == 1 else 's'}"
    resource = expression.partition("[")[0]
    return (f"'${{{expression}}}': index {index[1:-1]} is out of range ({resource} has "
            f"{instances})",
            f"use an index from 0 to {count - 1}, or [*] for every instance" if count
            else "it has no instances (count: 0)")
