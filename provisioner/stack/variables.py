"""Variable values: declared defaults, then the environment's file (``--env``), then
``--var-file`` files, then ``--var k=v``.

A var-file may be encrypted with SOPS (encrypted.py); a variable it gives an
encrypted value is sensitive, declared so or not.

A variable's type is declared (``type: integer``) or taken from its default.
Command-line strings are parsed by that type (``--var cpus=4`` is the
integer 4); a value of the wrong type is an error naming where it came from.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from provisioner.core.file_access import FileRefused, allowed_directories, confined
from provisioner.errors import Position, StackProblem, UsageError
from provisioner.stack.encrypted import read_maybe_encrypted
from provisioner.stack.interpolate import did_you_mean
from provisioner.stack.model import Variable
from provisioner.stack.source import SourceMap, parse_value

if TYPE_CHECKING:
    from provisioner.stack.environments import Environment

_TYPE_CHECKS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "list": (list,),
    "map": (dict,),
}
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
"""A key shown in a problem: anything else may be a line of a file that is no var-file."""
_A = {"string": "a string", "integer": "an integer", "number": "a number",
      "boolean": "a boolean", "list": "a list", "map": "a map"}


@dataclass
class VariableInputs:
    """What the user passed on the command line."""

    assignments: Sequence[str] = ()
    """``NAME=VALUE`` strings from ``--var``."""
    files: Sequence[Path] = ()
    """YAML files from ``--var-file``: a mapping of NAME: VALUE."""


@dataclass
class VariableValues:
    values: dict[str, Any] = field(default_factory=dict)
    sensitive: set[str] = field(default_factory=set)
    problems: list[StackProblem] = field(default_factory=list)
    invalid: set[str] = field(default_factory=set)
    """Variables given a value of the wrong type (already reported)."""
    unset: dict[str, StackProblem] = field(default_factory=dict)
    """The problems (also in ``problems``) of variables without a value, by name: a
    command that needs no secret drops those of sensitive variables."""


def declared_type(variable: Variable) -> str | None:
    if variable.type is not None:
        return variable.type
    for name, types in _TYPE_CHECKS.items():
        default = variable.default
        if default is not None and type(default) in types and not (
            name == "number" and isinstance(default, int)
        ):
            return name
    return None


def resolve_variables(
    declared: Mapping[str, Variable], source: SourceMap, inputs: VariableInputs,
    directories: Sequence[Path] = (), decrypted: Collection[str] = (),
    environment: Environment | None = None,
) -> VariableValues:
    """Values for every declared variable; problems for missing or mistyped ones.
    ``directories``: where var-files may be (file_access.py); default: the current
    directory and those the user allows. ``decrypted``: variables whose default was
    encrypted (SOPS), a value taken as it is, as a --var-file's. ``environment``: the
    ``--env`` file read."""
    directories = tuple(directories) or allowed_directories(Path.cwd())
    result = VariableValues(sensitive={name for name, v in declared.items() if v.sensitive})
    for name, variable in declared.items():
        expression = None if name in decrypted else _expression_in(variable.default)
        if expression is not None:
            result.problems.append(StackProblem(
                source.value_at(("variables", name, "default")), f"variables.{name}.default",
                f"a default is a value, not an expression ('{expression}')",
                "write the value itself (a default cannot refer to variables or the "
                "environment); $${ writes a literal ${"))
            result.invalid.add(name)
        elif variable.default is not None:
            _set(result, declared, name, variable.default, source.value_at(("variables", name)),
                 "its default")
    if environment is not None:
        _apply_environment(result, declared, environment)
    for path in inputs.files:
        _apply_file(result, declared, path, directories)
    for assignment in inputs.assignments:
        name, value = _parse_assignment(assignment, declared)
        _set(result, declared, name, value, source.key_at(("variables", name)), f"--var {name}")
    for name in declared:
        if name not in result.values and name not in result.invalid:
            result.unset[name] = StackProblem(
                source.key_at(("variables", name)), f"variables.{name}",
                f"variable '{name}' has no value",
                f"pass --var {name}=VALUE, put it in a --var-file, or give it a default")
            result.problems.append(result.unset[name])
    return result


def _apply_environment(result: VariableValues, declared: Mapping[str, Variable],
                       environment: Environment) -> None:
    """The ``variables:`` of an environment file: values of declared variables only."""
    for name, value in environment.variables.items():
        where = environment.variable_at(name)
        if name in declared:
            _set(result, declared, name, value, where, environment.file, show_value=False)
        else:
            result.problems.append(StackProblem(
                where, f"variables.{name}", f"'{name}' is not a declared variable",
                did_you_mean(str(name), set(declared)) or "declare it in the stack's variables:"))


def _apply_file(result: VariableValues, declared: Mapping[str, Variable], path: Path,
                directories: Sequence[Path]) -> None:
    try:
        confined(path, directories, f"--var-file {path}")
    except FileRefused as exc:
        result.problems.append(StackProblem(None, "", exc.message, exc.hint))
        return
    if not path.exists():
        result.problems.append(StackProblem(
            None, "", f"--var-file {path}: no such file",
            f"check the path (relative to the current directory, {Path.cwd()})"))
        return
    document = read_maybe_encrypted(path)
    result.problems.extend(document.problems)
    if document.data is None:
        return
    if not isinstance(document.data, dict):
        result.problems.append(
            StackProblem(document.source.value_at(()), "", "a var-file is a mapping of NAME: VALUE")
        )
        return
    unnamed: list[Position | None] = []
    for name, value in document.data.items():
        where = document.source.key_at((name,))
        if name in declared:
            if any(p[:1] == (name,) for p in document.source.decrypted):
                result.sensitive.add(name)  # a value kept encrypted is a secret
            _set(result, declared, name, value, where, str(path), show_value=False)
        elif _VARIABLE_NAME.match(name):
            result.problems.append(
                StackProblem(where, name, f"'{name}' is not a declared variable",
                        did_you_mean(name, set(declared)) or "declare it under variables:"))
        else:
            unnamed.append(where)
    if unnamed:  # the file may be anything but a var-file: its lines are not shown
        result.problems.append(StackProblem(
            unnamed[0], "", f"{len(unnamed)} key(s) of this file are not variable names "
                            "(not shown)",
            "a var-file is a mapping of NAME: VALUE; check that --var-file names one"))


def _parse_assignment(assignment: str, declared: Mapping[str, Variable]) -> tuple[str, Any]:
    name, equals, text = assignment.partition("=")
    name = name.strip()
    if not equals or not name:
        raise UsageError(f"--var '{assignment}' is not NAME=VALUE", hint="example: --var cpus=4")
    if name not in declared:
        hint = did_you_mean(name, set(declared))
        raise UsageError(f"--var {name}: no such variable in the stack",
                         hint=hint or "declare it under variables:")
    kind = declared_type(declared[name]) or "string"
    if kind == "string":
        return name, text
    try:
        return name, parse_value(text, f"--var {name}") if text else ""
    except yaml.YAMLError as exc:
        shown = "the value" if declared[name].sensitive else f"'{text:.60}'"
        shown += "..." if len(text) > 60 and not declared[name].sensitive else ""
        raise UsageError(f"--var {name}: {shown} is not a valid {kind}: {exc}") from None


def _set(
    result: VariableValues,
    declared: Mapping[str, Variable],
    name: str,
    value: Any,
    where: Position | None,
    origin: str,
    show_value: bool = True,
) -> None:
    kind = declared_type(declared[name])
    if kind is not None and not _matches(value, kind):
        shown = "(sensitive)" if name in result.sensitive else repr(value)
        if not show_value:
            shown = f"of type {type(value).__name__} (not shown: the stack decides what is " \
                    "sensitive, and the file may hold secrets)"
        result.problems.append(
            StackProblem(where, f"variables.{name}",
                    f"{origin} gives '{name}' the value {shown}, which is not {_A[kind]}",
                    f"declare `type:` to match, or pass {_A[kind]}")
        )
        result.invalid.add(name)
        return
    result.values[name] = value


def _expression_in(value: Any) -> str | None:
    """The first ``${`` expression (closed or not) in a default, lists and maps
    included; ``$${`` is a literal and no expression."""
    if isinstance(value, str):
        opening = re.search(r"(?<!\$)\$\{", value.replace("$${", "\0\0\0"))
        return None if opening is None else value[opening.start():][:40]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return next((found for item in items if (found := _expression_in(item)) is not None), None)


def _matches(value: Any, kind: str) -> bool:
    if isinstance(value, bool) and kind != "boolean":
        return False
    return isinstance(value, _TYPE_CHECKS[kind])


def value_matches(value: Any, kind: str) -> bool:
    """Whether ``value`` is of the declared ``kind`` (``integer``, ``map``, ...)."""
    return _matches(value, kind)
