"""The command line: a typer app whose commands parse flags and call the engine.

``main`` is the console script. Commands live in ``change.py`` (plan, apply,
destroy) and ``info.py`` (validate, show, graph, schema, providers).
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from provisioner import __version__
from provisioner.cli import access, adopt, change, info, plan_cmd, snapshot_cmd, state_cmd
from provisioner.cli.common import EXIT_CODES_HELP
from provisioner.cli.preload import import_pydantic
from provisioner.streams import ensure_standard_streams, lost_output

if TYPE_CHECKING:
    from provisioner.quick.session import QuickRun


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
    "validate": info.validate, "plan": plan_cmd.plan, "apply": change.apply,
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


def main() -> None:
    """The command line without the quick check (the console script is
    ``provisioner.console.main``: the quick check, then ``run``)."""
    ensure_standard_streams()
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # as provisioner.console
    run(None)


def run(quick: QuickRun | None = None) -> None:
    """The command ``sys.argv`` names; ``quick``: the quick check's record of it
    (docs/quick-check.md), concluded at its end."""
    if quick is not None:
        quick.start()
    runs = app_for(sys.argv[1:])
    if runs is not app:  # a command: it parses flags and reads stacks through pydantic
        import_pydantic()
    code = 1
    try:
        runs()
    except SystemExit as exc:
        if lost_output() is not None and exc.code in (0, None):
            raise SystemExit(1) from None
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        raise
    finally:
        if quick is not None:
            quick.conclude(code if lost_output() is None else 1)
        # what is left is freed with the process: the interpreter's last collections
        # would walk every object the run made (about 20 ms of each run, issue 19)
        gc.freeze()
