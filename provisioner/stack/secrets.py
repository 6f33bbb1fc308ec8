"""Secrets in a stack: where they may come from, and which command needs them.

A secret field (a token, a password: ``SecretStr`` in a model) is set from the
environment (``${env.PVE_TOKEN_SECRET}``), a sensitive variable or a value
encrypted with SOPS in the stack file, never by a literal that would end up in
git; a sensitive variable or an encrypted value goes nowhere else, or plans
would print it. Those rules hold for every command.

Only a command that connects reads a secret's value, so only it needs one:
``validate`` and ``graph`` contact nothing, and ``show`` and the state
commands open only the state store. For them an unset environment variable or
a sensitive variable without a value that feeds only secret fields they do not
use is not a problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pydantic import BaseModel, SecretStr

from provisioner.errors import StackProblem
from provisioner.stack.source import PathKey, SourceMap, format_path


class Secrets(Enum):
    """The secrets a command needs."""

    ALL = "all"
    """plan, apply, destroy, import, drift, capacity: they connect to the hypervisors."""
    STATE = "state"
    """show, state migrate, force-unlock: they open the state store only."""
    NONE = "none"
    """validate, graph: they contact nothing."""

    def needed(self, path: PathKey) -> bool:
        """Whether the command reads the secret field at ``path``."""
        return self is Secrets.ALL or (self is Secrets.STATE and path[:1] == ("state",))


def secret_fields(validated: Mapping[PathKey, Any]) -> tuple[PathKey, ...]:
    """Paths of the secret fields of the validated blocks, in order (``validated``
    maps each block's path, such as ``("providers", "pve")``, to its model)."""
    return tuple(dict.fromkeys((*prefix, *sub) for prefix, model in validated.items()
                               for sub in _secret_paths(model)))


def check_secrets(
    secret_paths: tuple[PathKey, ...],
    sensitive_paths: Mapping[PathKey, str],
    environment_paths: set[PathKey],
    source: SourceMap,
) -> list[StackProblem]:
    """Sensitive values land only on secret fields; secret fields are never literals."""
    problems: list[StackProblem] = []
    for path, variable in sensitive_paths.items():
        if path not in secret_paths:
            problems.append(StackProblem(
                source.value_at(path), format_path(path),
                f"the sensitive variable '{variable}' would be shown in plans here",
                "use sensitive variables only in secret fields (tokens, passwords)"))
    for path in secret_paths:
        if path not in sensitive_paths and path not in environment_paths \
                and path not in source.decrypted:
            problems.append(StackProblem(
                source.value_at(path), format_path(path),
                "a secret written in the stack file would end up in git",
                "set it from the environment, such as ${env.PVE_TOKEN}, or a sensitive variable, "
                "or encrypt it with sops (docs/stack-files.md)"))
    return problems


def check_decrypted(secret_paths: tuple[PathKey, ...], source: SourceMap) -> list[StackProblem]:
    """A value decrypted from a SOPS stack file is a secret: like a sensitive variable,
    only a secret field may hold it (a variable's encrypted default makes the variable
    sensitive instead)."""
    return [StackProblem(
        source.value_at(path), format_path(path),
        "this value is encrypted in the file (SOPS), and would be shown in plans here",
        "encrypt only the secret fields (sops --encrypted-regex '^(password|token_secret)$'), "
        "or leave this value in clear") for path in sorted(source.decrypted, key=str)
        if path[:1] != ("variables",) and path not in secret_paths]


@dataclass(frozen=True)
class Unset:
    """What had no value while the stack was read, each with the problem reported."""

    environment: Mapping[PathKey, StackProblem]
    """Unset environment variables, by the path that uses them."""
    variables: Mapping[str, StackProblem]
    """Variables without a value, by name."""
    sensitive_uses: Mapping[PathKey, str]
    """Where each sensitive variable is used: path → its name."""


def not_needed(secrets: Secrets, secret_paths: tuple[PathKey, ...], unset: Unset,
               sensitive: set[str]) -> list[StackProblem]:
    """The problems of unset values that the command does not need: an environment
    variable in a secret field it does not read, or a sensitive variable whose every
    use is such a field."""
    if secrets is Secrets.ALL:
        return []

    def unread(paths: Iterable[PathKey]) -> bool:
        return all(path in secret_paths and not secrets.needed(path) for path in paths)

    found = [problem for path, problem in unset.environment.items() if unread([path])]
    found += [problem for name, problem in unset.variables.items() if name in sensitive
              and unread(p for p, used in unset.sensitive_uses.items() if used == name)]
    return found


def _secret_paths(model: Any, prefix: PathKey = ()) -> list[PathKey]:
    if isinstance(model, SecretStr):
        return [prefix]
    if isinstance(model, BaseModel):
        return [p for key in type(model).model_fields
                for p in _secret_paths(getattr(model, key), (*prefix, key))]
    if isinstance(model, dict):
        return [p for key, item in model.items() for p in _secret_paths(item, (*prefix, key))]
    if isinstance(model, list):
        return [p for i, item in enumerate(model) for p in _secret_paths(item, (*prefix, i))]
    return []
