"""validate: the stack files checked, no hypervisor contacted.

Runs with or without typer (``provisioner/command_line.py``): the flags are named
through ``flags``, a string typer evaluates when it builds the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from provisioner.cli import flags
from provisioner.cli.common import echo, load, user_errors

if TYPE_CHECKING:
    from provisioner.stack.loader import Stack


def validate(
    stack: flags.StackPath = Path("."),
    var: flags.VarOption = None,
    var_file: flags.VarFileOption = None,
    env: flags.EnvOption = None,
    verbose: flags.VerboseOption = False,
    debug: flags.DebugOption = False,
) -> None:
    """Check the stack files without contacting any hypervisor.

    Reports every problem at once, each with file:line:column, the key path
    and a hint. Needs no secret: a token left unset is reported by the commands
    that connect. A repeat is answered from the last run's receipt when no
    file or variable it read has changed (docs/quick-check.md;
    PROVISIONER_QUICK=0 turns this off).

    Example: provisioner validate stacks/demo
    """
    with user_errors(debug):
        from provisioner.core.address import Kind

        loaded = load(stack, var, var_file, secrets="none", env=env)
        if verbose:
            echo(_files_text(loaded))
        kinds: dict[Kind, int] = {}
        for resource in loaded.resources:
            kinds[resource.kind] = kinds.get(resource.kind, 0) + 1
        counted = ", ".join(_count(n, kind.singular) for kind, n in kinds.items())
        where = f" (environment {loaded.environment})" if loaded.environment else ""
        echo(f"Stack '{loaded.name}'{where} is valid: {counted or 'no resources'} on "
             f"{_count(len(loaded.providers), 'provider')}.")
        from provisioner.quick.session import saw_no_change

        saw_no_change([])  # nothing read but files: the quick check may answer a repeat


def _files_text(loaded: Stack) -> str:
    lines = ["Stack files: " + ", ".join(path.name for path in loaded.files)]
    if loaded.skipped:
        lines.append("Not stack files (skipped):")
        lines += [f"  {entry.path.name}: {entry.reason}" for entry in loaded.skipped]
    return "\n".join(lines)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
