"""The command lines run without typer (provisioner/command_line.py) call each
command's function with what typer would pass it: for each line, typer's own
parse (the real app's declarations, the function swapped for a recorder) and
``parse(...).arguments()`` with the signature's defaults give the same arguments.
A run of one in a new process imports neither typer nor click."""

from __future__ import annotations

import functools
import inspect
import subprocess
import sys
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from provisioner.cli.app import COMMANDS, _new_app
from provisioner.command_line import FUNCTIONS, parse

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

TAKEN = [
    ["plan"],
    ["plan", "stacks/demo"],
    ["plan", "stacks/demo", "--no-color", "--detailed-exitcode"],
    ["plan", "--var", "a=1", "--var", "b=x y", "stacks/demo", "--var-file", "v.yaml"],
    ["plan", "--env", "prod", "--env", "staging", "."],
    ["plan", "--no-color", "--no-color", "a/stack.yaml"],
    ["apply", "stacks/demo", "--auto-approve"],
    ["apply", "--auto-approve", "--no-color", "--var-file", "a.yaml", "--var-file", "b.yaml"],
    ["apply", "--env", "prod", "--var", "n=", "."],
    ["validate"],
    ["validate", "stacks/demo", "-v"],
    ["validate", "--verbose", "--env", "lab", "--var", "x=1", "stacks/demo"],
]
"""Command lines ``parse`` takes."""

LEFT_TO_TYPER = [
    [], ["--help"], ["destroy", "."], ["show", "."],
    ["plan", "--json"], ["plan", ".", "--out", "x.plan"], ["plan", ".", "--target", "g.a"],
    ["plan", "a", "b"], ["plan", "--var"], ["plan", "--var", "--no-color"],
    ["plan", "--var=a=1"], ["plan", "--", "."], ["plan", "-"], ["plan", "--verbose"],
    ["apply", "--detailed-exitcode"], ["validate", "--no-color"], ["validate", "-vv"],
    ["apply", "--debug"], ["plan", "--help"],
]
"""Command lines it leaves to typer: another command, another flag, a flag without
its value, a second stack, a form it does not read."""


def _typer_arguments(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """What typer passes to the command's function for ``argv``."""
    seen: dict[str, Any] = {}
    function = COMMANDS[argv[0]]

    @functools.wraps(function)
    def recorder(**arguments: Any) -> None:
        seen.update(arguments)

    app = _new_app()
    app.command(argv[0])(recorder)
    result = CliRunner().invoke(app, argv, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return seen


def _defaults(function: Callable[..., None]) -> dict[str, Any]:
    return {name: parameter.default
            for name, parameter in inspect.signature(function).parameters.items()}


@pytest.mark.parametrize("argv", TAKEN, ids=" ".join)
@pytest.mark.parametrize("env_variable", [None, "", "from-variable"])
def test_it_passes_what_typer_passes(argv: list[str], env_variable: str | None,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    environment = {} if env_variable is None else {"PROVISIONER_ENV": env_variable}
    monkeypatch.delenv("PROVISIONER_ENV", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    command = parse(argv)
    assert command is not None
    module, name = FUNCTIONS[argv[0]]
    function = getattr(import_module(module), name)
    assert function is COMMANDS[argv[0]], "the function typer calls"
    ours = {**_defaults(function), **command.arguments()}
    assert ours == _typer_arguments(argv, environment)


@pytest.mark.parametrize("argv", LEFT_TO_TYPER, ids=" ".join)
def test_it_leaves_the_rest_to_typer(argv: list[str]) -> None:
    assert parse(argv) is None


def test_a_simple_command_line_runs_without_typer(tmp_path: Path) -> None:
    code = ("import sys\n"
            "sys.argv = ['provisioner', 'validate', 'stacks/demo']\n"
            "from provisioner.cli import run\n"
            "try:\n"
            "    run()\n"
            "except SystemExit as exc:\n"
            "    assert exc.code == 0, exc.code\n"
            "loaded = [m for m in ('typer', 'click', 'provisioner.cli.app') if m in sys.modules]\n"
            "assert loaded == [], loaded\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "Stack 'demo' is valid" in result.stdout


def test_its_errors_exit_as_typer_runs_do(tmp_path: Path) -> None:
    """A stack with an error: the same message and exit code without typer (a simple
    command line) as with it (``--debug`` sends it through typer)."""
    (tmp_path / "stack.yaml").write_text("apiVersion: provisioner/v1\nstack: x\nguests: 3\n")
    runs = [subprocess.run([sys.executable, "-m", "provisioner", "validate", str(tmp_path),
                            *extra], capture_output=True, text=True, timeout=60, check=False,
                           env={"PROVISIONER_QUICK": "0", "PATH": "/usr/bin:/bin"})
            for extra in ([], ["--debug"])]
    assert [run.returncode for run in runs] == [1, 1]
    assert runs[0].stderr.startswith("Error:"), runs[0].stderr
    assert runs[0].stderr.splitlines()[0] in runs[1].stderr.splitlines()  # after the trace
