"""The command lines that run without typer, and that the quick check takes.

``plan``, ``apply`` and ``validate`` of one stack, with only their simplest flags:
the command lines a pipeline and a terminal repeat. For them, typer's import and
parse are about 45 ms of a 200-300 ms run (issue 19), so ``parse`` reads them here
and the command's function is called with the keyword arguments typer would pass
(``tests/unit/test_command_line.py`` compares the two, line by line). Any other
command line, a bad one included, is typer's: it parses it and says what is wrong.

The standard library alone: the quick check (``provisioner/quick``) uses this
before anything else is imported.
"""

from __future__ import annotations

import os
from typing import NamedTuple

SWITCHES: dict[str, dict[str, str]] = {
    "plan": {"--no-color": "no_color", "--detailed-exitcode": "detailed_exitcode"},
    "apply": {"--no-color": "no_color", "--auto-approve": "auto_approve"},
    "validate": {"--verbose": "verbose", "-v": "verbose"},
}
"""Each command taken, and its flags without a value (flag → parameter)."""
REPEATABLE = {"--var": "var", "--var-file": "var_file"}
"""Flags with a value, repeatable (flag → parameter, a list)."""
ENV_FLAG = "--env"
ENV_VARIABLE = "PROVISIONER_ENV"
"""``--env``'s default when set and not empty (as typer's ``envvar``)."""
FUNCTIONS = {"plan": ("provisioner.cli.plan_cmd", "plan"),
             "apply": ("provisioner.cli.change", "apply"),
             "validate": ("provisioner.cli.validate_cmd", "validate")}
"""The function of each command (the same typer calls)."""


class SimpleCommand(NamedTuple):
    """A command line ``parse`` took."""

    name: str
    stack: str | None
    """The one positional argument, None when it is left out (the directory)."""
    switches: frozenset[str]
    """The parameters of the flags without a value that were given."""
    repeated: dict[str, list[str]]
    """The parameters of repeatable flags given, each with its values in order."""
    env: str | None
    """``--env``'s value (the last given), None when absent."""

    def arguments(self) -> dict[str, object]:
        """The keyword arguments of the command's function; ``PROVISIONER_ENV`` is
        read here, in the run (the quick check records that read)."""
        from pathlib import Path  # not before: an answered quick check never needs it

        found: dict[str, object] = {"stack": Path(self.stack or ".")}
        found.update(dict.fromkeys(self.switches, True))
        if "var" in self.repeated:
            found["var"] = list(self.repeated["var"])
        if "var_file" in self.repeated:
            found["var_file"] = [Path(value) for value in self.repeated["var_file"]]
        found["env"] = self.env if self.env is not None else (
            os.environ.get(ENV_VARIABLE) or None)
        return found


def parse(argv: list[str]) -> SimpleCommand | None:
    """The command line ``argv`` (without the program's name), if it is one of
    those this module takes; None for any other."""
    if not argv or argv[0] not in SWITCHES:
        return None
    switches, stack, env = SWITCHES[argv[0]], None, None
    given: set[str] = set()
    repeated: dict[str, list[str]] = {}
    rest = iter(argv[1:])
    for argument in rest:
        if argument in switches:
            given.add(switches[argument])
        elif argument in REPEATABLE or argument == ENV_FLAG:
            value = next(rest, None)
            if value is None or value.startswith("-"):
                return None  # no value, or a flag where one should be: typer says which
            if argument == ENV_FLAG:
                env = value
            else:
                repeated.setdefault(REPEATABLE[argument], []).append(value)
        elif argument.startswith("-") or stack is not None:
            return None  # another flag, ``--``, ``--x=y``, or a second stack
        else:
            stack = argument
    return SimpleCommand(argv[0], stack, frozenset(given), repeated, env)


def run(command: SimpleCommand) -> None:
    """Run ``command``: its function, with its arguments."""
    from importlib import import_module

    module, function = FUNCTIONS[command.name]
    getattr(import_module(module), function)(**command.arguments())
