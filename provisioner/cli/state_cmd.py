"""state migrate and force-unlock: commands on the state store itself."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from provisioner.cli.common import (
    EXIT_CODES_HELP,
    EXIT_ERROR,
    echo,
    load,
    user_errors,
)
from provisioner.cli.typer_flags import (
    DebugOption,
    EnvOption,
    StackPath,
    StateBackendOption,
    StateOption,
    VarFileOption,
    VarOption,
)

state_app = typer.Typer(help="Work on the state store itself.", no_args_is_help=True)


@state_app.command("migrate", epilog=EXIT_CODES_HELP)
def migrate(
    stack: StackPath = Path("."),
    to: Annotated[str, typer.Option("--to", help="The backend to copy into: postgres "
                                                 "(DSN from PROVISIONER_PG_DSN).")] = "postgres",
    var: VarOption = None,
    var_file: VarFileOption = None,
    env: EnvOption = None,
    state: StateOption = None,
    lock_timeout: Annotated[float, typer.Option("--lock-timeout", min=0)] = 0.0,
    debug: DebugOption = False,
) -> None:
    """Copy the stack's local state (SQLite) into PostgreSQL, for a team or a pipeline.

    Copies the last applied record of every resource, the outputs and any
    unfinished journal entry, under both stores' locks; the target must hold
    nothing for this stack yet. The local file is left as it was (its run
    history stays there).

    Example: provisioner state migrate stacks/lab (with PROVISIONER_PG_DSN set)
    """
    with user_errors(debug):
        from provisioner.state.factory import open_store
        from provisioner.state.migrate import copy_state

        loaded = load(stack, var, var_file, secrets="state", env=env, state=state)
        with open_store(loaded, state, "local") as source, \
                open_store(loaded, None, to) as target:
            copied = copy_state(source, target, stack=loaded.identity, target_name=to,
                                lock_timeout=lock_timeout)
        echo(f"Copied {copied.records} resource record(s), outputs and {copied.pending} "
             f"unfinished call(s) of stack {loaded.identity} into the {to} state.")
        echo(f"Use it with --state-backend {to}, or state: {{backend: {to}, ...}} in the stack.")


def force_unlock(
    lock_id: Annotated[str, typer.Argument(help="The lock id a lock error or `show` names.")],
    stack: StackPath = Path("."),
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask (needed without a terminal).")]
    = False,
    var: VarOption = None,
    var_file: VarFileOption = None,
    env: EnvOption = None,
    state: StateOption = None,
    state_backend: StateBackendOption = None,
    debug: DebugOption = False,
) -> None:
    """Release a stack lock whose holder cannot release it (a lost pipeline job).

    Asks first. Only the current lock's id is accepted. A local lock is
    released by the system when its process ends, so it is never broken from
    outside; a PostgreSQL lock is released by ending the holder's session.

    Example: provisioner force-unlock 3f2c9a... stacks/lab
    """
    with user_errors(debug):
        from provisioner.errors import UsageError
        from provisioner.state.factory import open_store

        loaded = load(stack, var, var_file, secrets="state", env=env, state=state,
                      state_backend=state_backend)
        with open_store(loaded, state, state_backend) as store:
            holder = store.lock_holder()
            if holder is None:
                echo(f"Stack {loaded.identity} is not locked.")
                return
            echo(f"The lock is held: {holder.describe()}")
            if not yes:
                if not sys.stdin.isatty():
                    raise UsageError("refusing to force-unlock without a terminal to confirm on",
                                     hint="check the holder is gone, then pass --yes")
                answer = typer.prompt("Release it? A run still holding it fails at its next "
                                      "state write. Only 'yes' is accepted", default="",
                                      show_default=False)
                if answer.strip() != "yes":
                    echo("Nothing was changed.")
                    raise SystemExit(EXIT_ERROR)
            echo(store.force_unlock(lock_id))
