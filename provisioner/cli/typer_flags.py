"""The typer declarations of the flags: each a type with its ``typer.Option`` or
``typer.Argument``, for the signatures of the command functions.

``plan``, ``apply`` and ``validate`` also run without typer
(``provisioner/command_line.py``): their modules name these as ``flags.X``
(``provisioner/cli/flags.py``), a string typer evaluates when it builds the
command, and only then is this module, with typer, imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provisioner.cli.plan_cmd import Format

StackPath = Annotated[
    Path,
    typer.Argument(
        help="A stack file, or a directory of stack files (default: the current directory).",
        show_default=False,
    ),
]
VarOption = Annotated[
    list[str] | None,
    typer.Option("--var", help="Set a variable: --var NAME=VALUE (repeatable).",
                 metavar="NAME=VALUE"),
]
VarFileOption = Annotated[
    list[Path] | None,
    typer.Option("--var-file", help="A YAML file of NAME: VALUE variables (repeatable); in "
                                    "the stack's or the current directory, or one listed in "
                                    "PROVISIONER_ALLOW_PATHS.", metavar="FILE"),
]
EnvOption = Annotated[
    str | None,
    typer.Option("--env", envvar="PROVISIONER_ENV", metavar="NAME", show_default=False,
                 help="An environment of the stack: reads STACKDIR/env/NAME.yaml (variable "
                      "values and overrides of the stack's sections) and uses the "
                      "environment's own state. Example: --env prod. Default: "
                      "PROVISIONER_ENV, else none."),
]
ParallelismOption = Annotated[
    int, typer.Option("--parallelism", min=1, max=256,
                      help="Most provider calls at once (each provider also has its own limit).")
]
StateOption = Annotated[
    Path | None,
    typer.Option("--state", help="SQLite state file (default: .provisioner/STACK.db beside "
                                 "the stack; STACK--ENV.db with --env).", show_default=False),
]
StateBackendOption = Annotated[
    str | None,
    typer.Option("--state-backend", help="local or postgres (the DSN comes from "
                                         "PROVISIONER_PG_DSN); default: the stack's state:",
                 show_default=False),
]
DebugOption = Annotated[
    bool, typer.Option("--debug", help="Show tracebacks and internal details on errors.")
]
NoColorOption = Annotated[bool, typer.Option("--no-color", help="Never colour the output.")]
TargetOption = Annotated[
    list[str] | None,
    typer.Option("--target", metavar="ADDRESS",
                 help="Only this resource and what it needs (repeatable)."),
]
ExcludeOption = Annotated[
    list[str] | None,
    typer.Option("--exclude", metavar="ADDRESS",
                 help="Leave this resource and what depends on it out (repeatable)."),
]

# ----------------------------------------------------------------- apply, destroy
ReplaceOption = Annotated[
    list[str] | None,
    typer.Option("--replace", help="Replace this resource even if unchanged (repeatable).",
                 metavar="ADDRESS"),
]
AutoApproveOption = Annotated[
    bool, typer.Option("--auto-approve", help="Do not ask for confirmation (needed without a "
                                              "terminal).")
]
LockTimeoutOption = Annotated[
    float, typer.Option("--lock-timeout", min=0, help="Seconds to wait for another run's lock.")
]

# ---------------------------------------------------------- plan, drift, capacity
FormatOption = Annotated[
    Format | None,
    typer.Option("--format", help="text (default), json (docs/plan-json.md) or markdown "
                                  "(for pull-request comments).", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Same as --format json.")]
DetailedOption = Annotated[bool, typer.Option(
    "--detailed-exitcode", help="Exit 0 when nothing changes, 2 when something would.")]
PlanOutOption = Annotated[Path | None, typer.Option(
    "--out", "-o", help="Also save the plan to FILE; `provisioner apply FILE` applies "
                        "exactly it, or refuses if anything changed since.")]
StatsOption = Annotated[bool, typer.Option("--stats",
                                           help="Show API calls and time per provider.")]
PlanDestroyOption = Annotated[bool, typer.Option("--destroy", help="Plan deleting everything.")]
RefreshOnlyOption = Annotated[bool, typer.Option(
    "--refresh-only", help="Report what changed outside provisioner (as `drift`).")]
CapacityJsonOption = Annotated[bool, typer.Option(
    "--json", help="Print as JSON (docs/capacity.md).")]
CapacityDestroyOption = Annotated[bool, typer.Option(
    "--destroy", help="Show what deleting everything would free.")]

# ------------------------------------------------------------------------ validate
VerboseOption = Annotated[bool, typer.Option(
    "--verbose", "-v", help="Also list the stack files read and the YAML files skipped.")]
