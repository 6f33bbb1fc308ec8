"""The typer app: every command, its flags and its help.

Commands live in ``plan_cmd.py`` (plan, drift, capacity), ``change.py`` (apply,
destroy), ``validate_cmd.py``, ``info.py`` (show, graph, schema, providers) and
the modules named after the rest. ``provisioner/cli/__init__.py`` runs a command
line: through this app, or for the simplest ones (``provisioner/command_line.py``)
without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from provisioner import __version__
from provisioner.cli import (
    access,
    adopt,
    change,
    info,
    plan_cmd,
    snapshot_cmd,
    state_cmd,
    validate_cmd,
)
from provisioner.cli.common import EXIT_CODES_HELP


def _new_app() -> typer.Typer:
    root = typer.Typer(
        name="provisioner",
        help=(
            "Declarative virtual machines: describe guests, networks and volumes in YAML "
            "stack files; plan shows what would change on the hypervisors, apply makes it "
            "so.\n\nExample: provisioner plan stacks/demo && provisioner apply stacks/demo\n\n"
            + EXIT_CODES_HELP
        ),
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        rich_markup_mode=None,
    )
    root.callback()(_root)
    return root


def _version(value: bool) -> None:
    if value:
        typer.echo(f"provisioner {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Declarative virtual machines."""


COMMANDS: dict[str, Callable[..., None]] = {
    "validate": validate_cmd.validate, "plan": plan_cmd.plan, "apply": change.apply,
    "destroy": change.destroy, "show": info.show, "drift": plan_cmd.drift,
    "capacity": plan_cmd.capacity, "graph": info.graph, "schema": info.schema,
    "providers": info.providers, "import": adopt.import_, "inventory": access.inventory,
    "ssh-config": access.ssh_config, "ssh": access.ssh, "console": access.console,
    "force-unlock": state_cmd.force_unlock,
}
"""Every top-level command, in the order ``--help`` lists them."""
GROUPS: dict[str, typer.Typer] = {"state": state_cmd.state_app,
                                  "snapshot": snapshot_cmd.snapshot_app}
"""Commands with subcommands."""


def _add(root: typer.Typer, name: str) -> None:
    if name in COMMANDS:
        root.command(name, epilog=EXIT_CODES_HELP)(COMMANDS[name])
    else:
        root.add_typer(GROUPS[name], name=name)


app = _new_app()
for _name in (*COMMANDS, *GROUPS):
    _add(app, _name)


def app_for(args: list[str]) -> typer.Typer:
    """The app that runs ``args``: when the first argument names a command, an app with
    that command alone (typer builds the parameters of every command it holds before it
    parses anything: about 15 ms of each run, issue 19); otherwise (no argument,
    ``--help``, ``--version``, a typo) the whole app, so help and click's own
    did-you-mean are those of the whole command line."""
    if not args or args[0] not in COMMANDS.keys() | GROUPS.keys():
        return app
    one = _new_app()
    _add(one, args[0])
    return one
