"""snapshot create, list, revert and delete: snapshots of the stack's guests.

Every command works on all the stack's guests the hypervisors list, or on the
``--target`` ones; changes are made under the stack's lock. ``revert`` shows what
it will do and asks, as apply does.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from provisioner.cli.common import (
    EXIT_CODES_HELP,
    EXIT_ERROR,
    echo,
    load,
    parse_addresses,
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

if TYPE_CHECKING:
    from provisioner.core.snapshots import SnapshotInfo
    from provisioner.engine import Engine
    from provisioner.snapshots import Guest, Outcome

snapshot_app = typer.Typer(
    help="Snapshots of the stack's guests: take one before an experiment, revert after.\n\n"
         "Example: provisioner snapshot create before-upgrade stacks/lab",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(metavar="NAME",
    help="The snapshot's name: 1 to 63 letters, digits, '_', '.' or '-'.", show_default=False)]
GuestTargetOption = Annotated[
    list[str] | None,
    typer.Option("--target", metavar="ADDRESS",
                 help="Only this guest (repeatable; guests.web means all its instances). "
                      "Default: every guest of the stack."),
]
LockTimeoutOption = Annotated[
    float, typer.Option("--lock-timeout", min=0, help="Seconds to wait for another run's lock.")
]


@snapshot_app.command("create", epilog=EXIT_CODES_HELP)
def create(
    name: NameArgument,
    stack: StackPath = Path("."),
    target: GuestTargetOption = None,
    lock_timeout: LockTimeoutOption = 0.0,
    var: VarOption = None,
    var_file: VarFileOption = None,
    env: EnvOption = None,
    state: StateOption = None,
    state_backend: StateBackendOption = None,
    debug: DebugOption = False,
) -> None:
    """Take snapshot NAME of every guest of the stack (or the --target ones), running
    or stopped, as they are now.

    A running guest's snapshot holds its memory too: reverting to it brings the
    guest back running where it was. A guest that already has a snapshot of that
    name is refused. A guest's snapshots are deleted with the guest.

    Example: provisioner snapshot create before-upgrade stacks/lab --target guests.db
    """
    with user_errors(debug):
        from provisioner import snapshots

        checked = _name(name)
        failed = False
        with _session(stack, var, var_file, state, state_backend, env) as engine, \
                engine.store.lock("snapshot create", lock_timeout):
            guests = snapshots.pick_guests(engine, _targets(engine, target))
            for outcome in snapshots.create(engine, guests, checked):
                if outcome.value is not None:
                    echo(f"{outcome.guest.address}: took snapshot {checked} "
                         f"({_holds(outcome.value)})")
                failed |= _report_error(outcome)
    if failed:
        raise SystemExit(EXIT_ERROR)


@snapshot_app.command("list", epilog=EXIT_CODES_HELP)
def list_(
    stack: StackPath = Path("."),
    target: GuestTargetOption = None,
    output_format: Annotated[Literal["table", "json"], typer.Option(
        "--format", help="table (default), or json: a document per guest address "
                         "(docs/access.md).")] = "table",
    var: VarOption = None,
    var_file: VarFileOption = None,
    env: EnvOption = None,
    state: StateOption = None,
    state_backend: StateBackendOption = None,
    debug: DebugOption = False,
) -> None:
    """List the snapshots of every guest of the stack (or the --target ones), as the
    hypervisors hold them: name, when it was taken, what it holds, its size if known.

    Example: provisioner snapshot list stacks/lab --format json
    """
    with user_errors(debug):
        from provisioner import snapshots

        failed = False
        with _session(stack, var, var_file, state, state_backend, env) as engine:
            guests = snapshots.pick_guests(engine, _targets(engine, target))
            outcomes = snapshots.list_snapshots(engine, guests)
        rows = [(str(o.guest.address), info) for o in outcomes for info in o.value or []]
        if output_format == "json":
            from provisioner.render.snapshots import render_snapshots_json

            echo(render_snapshots_json([
                (str(o.guest.address), o.value or [], o.error.message if o.error else None)
                for o in outcomes]))
        elif rows:
            echo(format_table(rows))
        else:
            echo("No snapshots.")
        for outcome in outcomes:
            failed |= _report_error(outcome)
    if failed:
        raise SystemExit(EXIT_ERROR)


@snapshot_app.command("revert", epilog=EXIT_CODES_HELP)
def revert(
    name: NameArgument,
    stack: StackPath = Path("."),
    target: GuestTargetOption = None,
    auto_approve: Annotated[bool, typer.Option(
        "--auto-approve", help="Do not ask for confirmation (needed without a terminal).")]
    = False,
    lock_timeout: LockTimeoutOption = 0.0,
    var: VarOption = None,
    var_file: VarFileOption = None,
    env: EnvOption = None,
    state: StateOption = None,
    state_backend: StateBackendOption = None,
    debug: DebugOption = False,
) -> None:
    """Bring every guest of the stack (or the --target ones) back to snapshot NAME.

    Shows first which guests go back and their power state after (running if the
    snapshot holds the memory, else stopped), then asks (on a terminal; elsewhere
    --auto-approve is required). What the guests wrote since the snapshot is lost.
    Nothing is reverted if a guest lacks the snapshot.

    Example: provisioner snapshot revert before-upgrade stacks/lab --auto-approve
    """
    with user_errors(debug):
        from provisioner import snapshots

        checked = _name(name)
        failed = False
        with _session(stack, var, var_file, state, state_backend, env) as engine, \
                engine.store.lock("snapshot revert", lock_timeout):
            guests = snapshots.pick_guests(engine, _targets(engine, target))
            plan = snapshots.revert_plan(engine, guests, checked)
            echo(describe_revert(checked, plan))
            _confirm(auto_approve)
            for outcome in snapshots.revert(engine, [guest for guest, _ in plan], checked):
                if outcome.value is not None:
                    power = "running" if outcome.value.running else "stopped"
                    echo(f"{outcome.guest.address}: reverted to {checked}, now {power}")
                failed |= _report_error(outcome)
            echo("A revert brings back each guest's definition as it was too (vCPUs, memory, "
                 "disks): run `provisioner plan` to see how they differ from the stack now.")
    if failed:
        raise SystemExit(EXIT_ERROR)


@snapshot_app.command("delete", epilog=EXIT_CODES_HELP)
def delete(
    name: NameArgument,
    stack: StackPath = Path("."),
    target: GuestTargetOption = None,
    lock_timeout: LockTimeoutOption = 0.0,
    var: VarOption = None,
    var_file: VarFileOption = None,
    env: EnvOption = None,
    state: StateOption = None,
    state_backend: StateBackendOption = None,
    debug: DebugOption = False,
) -> None:
    """Delete snapshot NAME of every guest of the stack (or the --target ones),
    freeing the space it holds. The guests themselves are not changed; a guest
    without that snapshot is left as it is.

    Example: provisioner snapshot delete before-upgrade stacks/lab
    """
    with user_errors(debug):
        from provisioner import snapshots

        checked = _name(name)
        failed = False
        with _session(stack, var, var_file, state, state_backend, env) as engine, \
                engine.store.lock("snapshot delete", lock_timeout):
            guests = snapshots.pick_guests(engine, _targets(engine, target))
            for outcome in snapshots.delete(engine, guests, checked):
                if outcome.error is None:
                    echo(f"{outcome.guest.address}: snapshot {checked} is gone")
                failed |= _report_error(outcome)
    if failed:
        raise SystemExit(EXIT_ERROR)


# -- helpers ------------------------------------------------------------------------------


def _name(name: str) -> str:
    from provisioner.core.snapshots import check_snapshot_name

    return check_snapshot_name(name)


def _session(stack: Path, var: list[str] | None, var_file: list[Path] | None,
             state: Path | None, backend: str | None, env: str | None) -> Any:
    from provisioner.cli.change import open_engine

    return open_engine(load(stack, var, var_file, env=env, state=state, state_backend=backend),
                       state, backend)


def _targets(engine: Engine, target: list[str] | None) -> frozenset[Any]:
    return parse_addresses(target, "--target", engine.stack)


def _holds(info: SnapshotInfo) -> str:
    return "disks and memory" if info.memory else "disks"


def _report_error(outcome: Outcome[Any]) -> bool:
    """Print the guest's error, if it failed; True if it did."""
    if outcome.error is None:
        return False
    echo(f"Error: {outcome.guest.address}: "
         f"{outcome.error.message.removeprefix(f'{outcome.guest.address}: ')}", err=True)
    if outcome.error.hint:
        echo(f"  hint: {outcome.error.hint}", err=True)
    return True


def format_table(rows: Sequence[tuple[str, SnapshotInfo]]) -> str:
    """GUEST, NAME, CREATED, HOLDS, SIZE columns, one snapshot a line."""
    from provisioner.units import rough_size

    lines = [("GUEST", "NAME", "CREATED", "HOLDS", "SIZE")]
    for guest, info in rows:
        created = info.created.strftime("%Y-%m-%d %H:%M:%S UTC") if info.created else "-"
        size = rough_size(info.size) if info.size is not None else "-"
        lines.append((guest, info.name, created, _holds(info), size))
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths,
                                                                          strict=False))
                     + "  " + line[4] for line in lines)


def describe_revert(name: str, plan: Sequence[tuple[Guest, SnapshotInfo]]) -> str:
    """What ``revert`` will do: each guest, when its snapshot was taken, its power after."""
    lines = [f"Snapshot revert: {len(plan)} guest(s) go back to snapshot {name}; what they "
             "wrote since is lost."]
    for guest, info in plan:
        taken = (f"taken {info.created.strftime('%Y-%m-%d %H:%M:%S UTC')}" if info.created
                 else "taken at an unknown time")
        lines.append(f"  ~ {guest.address}  ({taken}): {_current(guest)} -> "
                     f"{info.power_after_revert}")
    return "\n".join(lines)


def _current(guest: Guest) -> str:
    running = guest.live.running
    return "unknown" if running is None else "running" if running else "stopped"


def _confirm(auto_approve: bool) -> None:
    from provisioner.errors import UsageError

    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise UsageError("refusing to revert without a terminal to confirm on",
                         hint="review what it does, then run `provisioner snapshot revert "
                              "NAME --auto-approve`")
    answer = typer.prompt("Do you want to revert these guests? Only 'yes' is accepted",
                          default="", show_default=False)
    if answer.strip() != "yes":
        echo("Revert cancelled; nothing was changed.")
        raise SystemExit(EXIT_ERROR)
