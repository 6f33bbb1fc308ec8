"""Environments: ``--env NAME`` reads ``STACKDIR/env/NAME.yaml`` over the stack.

An environment file adjusts a stack, it declares nothing:

- ``variables:`` gives values to declared variables (NAME: VALUE, as a
  var-file does); they come after the defaults and before ``--var-file`` and
  ``--var``;
- any other section (``providers``, ``guests``, ``outputs``, ...) is merged
  deeply over the stack's: mappings key by key, a list or a value replaces
  the stack's. A name the stack does not declare (``guests.wbe``) is a problem
  at the env file's line; ``apiVersion``, ``stack`` and ``state`` are the
  stack's alone (an environment keeps its state in the stack's backend).

Each environment is its own state and its own owner on the hypervisors: the
stack's identity becomes ``STACK--ENV`` (``identity``), a valid name
everywhere a stack name is, so two environments of one stack on one host
never take each other's objects for their own. Without ``--env`` the
identity is the stack's name, as before environments existed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.core.address import NAME_RE
from provisioner.core.file_access import allowed_directories, confined
from provisioner.errors import Position, StackProblem, UsageError
from provisioner.stack.interpolate import did_you_mean
from provisioner.stack.source import PathKey, SourceMap, format_path, read_yaml

ENV_DIRECTORY = "env"
SEPARATOR = "--"
DEFAULT = "default"
"""Not an environment's name: ``${stack.core--default...}`` names a stack's state
without environment (stack/other_stacks.py)."""
_ENV_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
ENV_NAME_HELP = ("an environment's name uses lowercase letters, digits and single '-', "
                 "starts and ends with a letter or digit, at most 32 characters")
_STACK_ONLY = {"apiVersion": "the stack's files say which format they are",
               "stack": "the environment's identity is the stack's name and the environment's",
               "state": "every environment keeps its own state in the stack's backend"}
_ADJUSTABLE = ("providers", "placement_groups", "modules", "pools", "images", "networks",
               "volumes", "guests", "containers", "outputs")


def identity(stack: str, environment: str | None) -> str:
    """The name the state and the providers know the stack by: ``lab`` without an
    environment, ``lab--prod`` with one."""
    return stack if environment is None else f"{stack}{SEPARATOR}{environment}"


def check_name(name: str) -> None:
    """Raise UsageError for a name that is not an environment's."""
    if name == DEFAULT:
        raise UsageError("--env default: 'default' names the stack without environment",
                         hint="leave --env out for it, or choose another name")
    if not _ENV_NAME_RE.match(name) or SEPARATOR in name:
        raise UsageError(f"--env {name!r} is not a valid environment name", hint=ENV_NAME_HELP)


def check_identity(stack: str, environment: str | None, where: Position | None
                   ) -> list[StackProblem]:
    """A problem if ``STACK--ENV`` is too long to be a name on the hypervisors."""
    if environment is None or NAME_RE.match(identity(stack, environment)):
        return []
    return [StackProblem(where, "stack",
                         f"stack '{stack}' with environment '{environment}' makes the name "
                         f"'{identity(stack, environment)}', longer than 63 characters",
                         "shorten the stack's or the environment's name")]


@dataclass
class Environment:
    """One environment file, read: variable values and overrides, with positions."""

    name: str
    path: Path
    file: str
    """As errors name it: ``env/prod.yaml``."""
    variables: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    source: SourceMap = field(default_factory=SourceMap)
    problems: list[StackProblem] = field(default_factory=list)

    def variable_at(self, name: str) -> Position | None:
        return self.source.key_at(("variables", name))


def environments_of(root: Path) -> list[str]:
    """The environments a stack directory has, by name."""
    directory = root / ENV_DIRECTORY
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.iterdir()
                  if p.suffix in (".yaml", ".yml") and p.is_file())


def read_environment(root: Path, name: str) -> Environment:
    """``root/env/NAME.yaml`` (or ``.yml``), read; raises UsageError when it is
    missing, naming the environments there are, FileRefused when it leads outside
    the stack's directory (and those the user allows)."""
    check_name(name)
    for suffix in (".yaml", ".yml"):
        path = root / ENV_DIRECTORY / f"{name}{suffix}"
        if path.is_file():
            break
    else:
        found = environments_of(root)
        raise UsageError(
            f"no environment '{name}': {root / ENV_DIRECTORY / (name + '.yaml')} does not exist",
            hint=("environments of this stack: " + ", ".join(found)) if found else
            f"write {ENV_DIRECTORY}/{name}.yaml beside the stack files (variables: and "
            "sections to adjust)")
    display = f"{ENV_DIRECTORY}/{path.name}"
    confined(path, allowed_directories(root), f"--env {name}")  # as the stack's own files
    document = read_yaml(path, display)
    environment = Environment(name, path, display, source=document.source,
                              problems=list(document.problems))
    data = document.data
    if data is None:
        return environment
    if not isinstance(data, dict):
        environment.problems.append(StackProblem(
            document.source.value_at(()), "", "an environment file is a mapping of sections",
            "write variables: and the sections it adjusts, such as guests: {web: {memory: 8GiB}}"))
        return environment
    for key, value in data.items():
        _take(environment, key, value)
    return environment


def _take(environment: Environment, key: Any, value: Any) -> None:
    where = environment.source.key_at((key,))
    if value is None and key in ("variables", *_ADJUSTABLE):
        return  # an empty section (``variables:`` with nothing under it yet)
    if key == "variables":
        if isinstance(value, dict):
            environment.variables = value
        else:
            environment.problems.append(StackProblem(
                environment.source.value_at((key,)), key,
                "variables: of an environment is a mapping of NAME: VALUE"))
    elif key in _STACK_ONLY:
        environment.problems.append(StackProblem(
            where, str(key), f"an environment cannot set '{key}'", _STACK_ONLY[key]))
    elif key in _ADJUSTABLE:
        environment.overrides[key] = value
    else:
        environment.problems.append(StackProblem(
            where, str(key), f"'{key}' is not a section an environment can adjust",
            did_you_mean(str(key), ("variables", *_ADJUSTABLE))))


def with_environment(root: Path, name: str | None, data: dict[str, Any], source: SourceMap
                     ) -> tuple[Environment | None, list[StackProblem]]:
    """The ``--env`` file ``name`` (None: none), its overrides merged into ``data``,
    and the problems of both."""
    if name is None:
        return None, []
    environment = read_environment(root, name)
    return environment, environment.problems + overlay(data, source, environment)


def overlay(data: dict[str, Any], source: SourceMap, environment: Environment
            ) -> list[StackProblem]:
    """Merge the environment's overrides into the stack's document ``data`` (in place),
    and their positions into ``source``: a problem with an overridden value is shown at
    the env file's line. Returns the names the stack does not declare."""
    problems: list[StackProblem] = []
    for section, entries in environment.overrides.items():
        path: PathKey = (section,)
        declared = data.get(section)
        if not isinstance(entries, dict):
            problems.append(StackProblem(environment.source.value_at(path), section,
                                         f"{section}: of an environment is a mapping of "
                                         "names the stack declares"))
            continue
        for name, value in entries.items():
            if not isinstance(declared, dict) or name not in declared:
                choices = set(declared) if isinstance(declared, dict) else set()
                problems.append(StackProblem(
                    environment.source.key_at((*path, name)), format_path((*path, name)),
                    f"'{name}' is not declared in the stack's {section}: an environment "
                    "adjusts what the stack declares",
                    did_you_mean(str(name), choices) or f"declare it in the stack's {section}:"))
                continue
            declared[name] = _merged(declared[name], value, (*path, name), source,
                                     environment.source)
    return problems


def _merged(base: Any, value: Any, path: PathKey, source: SourceMap,
            overriding: SourceMap) -> Any:
    if isinstance(base, dict) and isinstance(value, dict):
        result = dict(base)
        for key, item in value.items():
            result[key] = _merged(base.get(key), item, (*path, key), source, overriding) \
                if key in base else _replaced(item, (*path, key), source, overriding)
        return result
    return _replaced(value, path, source, overriding)


def _replaced(value: Any, path: PathKey, source: SourceMap, overriding: SourceMap) -> Any:
    """``value`` replaces what was at ``path``: so do its positions."""
    for table, new in ((source.values, overriding.values), (source.keys, overriding.keys)):
        for key in [k for k in table if k[:len(path)] == path]:
            del table[key]
        table.update({k: v for k, v in new.items() if k[:len(path)] == path})
    return value

