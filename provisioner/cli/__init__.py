"""The command line: a typer app whose commands parse flags and call the engine.

``main`` is the console script. Commands live in ``change.py`` (plan, apply,
destroy) and ``info.py`` (validate, show, graph, schema, providers).
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from provisioner import __version__
from provisioner.cli import access, adopt, change, info, plan_cmd, snapshot_cmd, state_cmd
from provisioner.cli.common import EXIT_CODES_HELP
from provisioner.streams import ensure_standard_streams, lost_output

app = typer.Typer(
    name="provisioner",
    help=(
        "Declarative virtual machines: describe guests, networks and volumes in YAML "
        "stack files; plan shows what would change on the hypervisors, apply makes it so.\n\n"
        "Example: provisioner plan stacks/demo && provisioner apply stacks/demo\n\n"
        + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"provisioner {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Declarative virtual machines."""


for command in (info.validate, plan_cmd.plan, change.apply, change.destroy, info.show,
                plan_cmd.drift, plan_cmd.capacity, info.graph, info.schema, info.providers):
    app.command(epilog=EXIT_CODES_HELP)(command)
app.command("import", epilog=EXIT_CODES_HELP)(adopt.import_)
app.command("inventory", epilog=EXIT_CODES_HELP)(access.inventory)
app.command("ssh-config", epilog=EXIT_CODES_HELP)(access.ssh_config)
app.command("ssh", epilog=EXIT_CODES_HELP)(access.ssh)
app.command("console", epilog=EXIT_CODES_HELP)(access.console)
app.command("force-unlock", epilog=EXIT_CODES_HELP)(state_cmd.force_unlock)
app.add_typer(state_cmd.state_app, name="state")
app.add_typer(snapshot_cmd.snapshot_app, name="snapshot")


def main() -> None:
    # pydantic looks for its own plugins (an entry-point scan) when it builds each
    # validator; a command-line run has none to use
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    ensure_standard_streams()
    try:
        app()
    except SystemExit as exc:
        if lost_output() is not None and exc.code in (0, None):
            raise SystemExit(1) from None
        raise
