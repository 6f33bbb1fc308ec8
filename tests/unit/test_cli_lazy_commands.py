"""The console script builds only the command it runs (``cli.app_for``): what a user
sees must be what the whole app shows, for every command and every way of calling."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from provisioner.cli.app import COMMANDS, GROUPS, app, app_for

NAMES = [*COMMANDS, *GROUPS]


def _run(args: list[str], whole: bool) -> tuple[int, str]:
    result = CliRunner().invoke(app if whole else app_for(args), args)
    return result.exit_code, result.output


@pytest.mark.parametrize("name", NAMES)
def test_a_command_alone_shows_the_help_of_the_whole_app(name: str) -> None:
    alone = _run([name, "--help"], whole=False)
    assert alone == _run([name, "--help"], whole=True)
    assert alone[0] == 0 and f"provisioner {name}" in alone[1]


@pytest.mark.parametrize("args", [[], ["--help"], ["--version"], ["valdate"], ["plan", "-h"],
                                  ["state"], ["snapshot", "--help"], ["state", "nope"],
                                  ["validate", "--no-such-flag"]])
def test_every_other_call_answers_as_the_whole_app(args: list[str]) -> None:
    assert _run(args, whole=False) == _run(args, whole=True)


def test_a_named_command_gets_an_app_with_that_command_only() -> None:
    import typer.main

    group = typer.main.get_command(app_for(["validate", "stacks/demo"]))
    assert list(group.commands) == ["validate"]  # type: ignore[attr-defined]
    whole = typer.main.get_command(app_for(["--help"]))
    assert list(whole.commands) == NAMES  # type: ignore[attr-defined]
