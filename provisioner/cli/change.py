"""plan, apply and destroy: the commands that compare and change."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from provisioner.apply.defaults import DEFAULT_PARALLELISM
from provisioner.cli import flags
from provisioner.cli.common import (
    EXIT_ERROR,
    echo,
    load,
    note_changes,
    note_no_change,
    plan_options,
    use_color,
    user_errors,
)
from provisioner.units import rough_size

if TYPE_CHECKING:
    from provisioner.apply.executor import ApplyResult
    from provisioner.apply.progress import LiveProgress, PlainProgress
    from provisioner.engine import Engine
    from provisioner.outputs import OutputValues
    from provisioner.plan.model import Plan
    from provisioner.render.planfile import SavedPlan
    from provisioner.stack.loader import Stack

def apply(
    stack: flags.StackPath = Path("."),
    auto_approve: flags.AutoApproveOption = False,
    var: flags.VarOption = None,
    var_file: flags.VarFileOption = None,
    env: flags.EnvOption = None,
    parallelism: flags.ParallelismOption = DEFAULT_PARALLELISM,
    replace: flags.ReplaceOption = None,
    target: flags.TargetOption = None,
    exclude: flags.ExcludeOption = None,
    lock_timeout: flags.LockTimeoutOption = 0.0,
    state: flags.StateOption = None,
    state_backend: flags.StateBackendOption = None,
    no_color: flags.NoColorOption = False,
    debug: flags.DebugOption = False,
) -> None:
    """Make the hypervisors match the stack, or apply a saved plan.

    Plans under the stack's lock, shows the plan, asks for confirmation (on a
    terminal; elsewhere --auto-approve is required), then applies in
    dependency order, in parallel. A failure skips only what depends on it.
    Given a plan file (plan -o FILE), applies exactly that plan without
    asking, or refuses if the stack or any object it read changed since.
    With nothing to do, a repeat is answered from the last run's receipt when
    nothing it read has changed, the host read again (docs/quick-check.md;
    PROVISIONER_QUICK=0 turns this off).

    Example: provisioner apply stacks/demo --auto-approve; provisioner apply demo.plan
    """
    _change(stack, (var, var_file, env), parallelism, (replace, target, exclude), lock_timeout,
            (state, state_backend), no_color, debug, auto_approve, destroy=False)


def destroy(
    stack: flags.StackPath = Path("."),
    auto_approve: flags.AutoApproveOption = False,
    var: flags.VarOption = None,
    var_file: flags.VarFileOption = None,
    env: flags.EnvOption = None,
    parallelism: flags.ParallelismOption = DEFAULT_PARALLELISM,
    target: flags.TargetOption = None,
    exclude: flags.ExcludeOption = None,
    lock_timeout: flags.LockTimeoutOption = 0.0,
    state: flags.StateOption = None,
    state_backend: flags.StateBackendOption = None,
    no_color: flags.NoColorOption = False,
    debug: flags.DebugOption = False,
) -> None:
    """Delete every object of the stack from the hypervisors.

    Objects are found by the stack's ownership tag; prevent_destroy is
    honoured. Asks for confirmation like apply.

    Example: provisioner destroy stacks/demo --auto-approve
    """
    _change(stack, (var, var_file, env), parallelism, (None, target, exclude), lock_timeout,
            (state, state_backend), no_color, debug, auto_approve, destroy=True)


def _change(
    stack: Path, inputs: tuple[list[str] | None, list[Path] | None, str | None],
    parallelism: int,
    selection: tuple[list[str] | None, list[str] | None, list[str] | None],
    lock_timeout: float, state: tuple[Path | None, str | None],
    no_color: bool,
    debug: bool, auto_approve: bool, *, destroy: bool,
) -> None:
    command = "destroy" if destroy else "apply"
    with user_errors(debug):
        saved = _saved_plan(stack, destroy)
        var, var_file, env = inputs
        if saved is not None and env is None:
            env = saved.environment  # a different --env is refused by replan
        loaded = load(Path(saved.stack_path) if saved else stack, var, var_file, env=env,
                      state=state[0], state_backend=state[1])
        with open_engine(loaded, *state) as engine, engine.store.lock(command, lock_timeout):
            if saved is not None:
                planned = engine.replan(saved, parallelism)
            else:
                replace, target, exclude = selection
                planned = engine.plan(plan_options(loaded, destroy=destroy, replace=replace,
                                                   target=target, exclude=exclude),
                                      parallelism, locked=True)
            _print_plan(planned, no_color)
            result = None
            if planned.has_changes:
                note_changes()
                if saved is None:  # a saved plan was reviewed when it was made
                    _confirm(command, auto_approve)
                with _interruptible(engine):
                    progress = _progress(len(planned.steps))
                    try:
                        result = engine.apply(planned, progress, parallelism, command)
                    finally:
                        progress.close()
                _print_result(result, debug, command)
            outputs = engine.conclude(planned, result, destroy=destroy)
            if outputs is not None:
                _print_outputs(outputs)
            if saved is None and not planned.has_changes:
                note_no_change(engine)
        succeeded = result is None or result.ok
    if not succeeded:
        raise SystemExit(EXIT_ERROR)


def _saved_plan(path: Path, destroy: bool) -> SavedPlan | None:
    """The saved plan ``path`` names, if it is a plan file (``apply FILE``)."""
    if path.is_dir():
        return None  # a stack directory (the plan file module is not imported: issue 19)
    from provisioner.errors import UsageError
    from provisioner.render.planfile import is_plan_file, read_plan_file

    if not is_plan_file(path):
        return None
    if destroy:
        raise UsageError(f"{path} is a saved plan", hint=f"apply it: provisioner apply {path}")
    return read_plan_file(path)


@contextmanager
def open_engine(stack: Stack, state: Path | None,
                backend: str | None = None) -> Iterator[Engine]:
    from provisioner.engine import Engine
    from provisioner.state.factory import open_store

    with Engine(stack, open_store(stack, state, backend)) as engine:
        yield engine


def _print_plan(result: Plan, no_color: bool) -> None:
    from provisioner.render.text import render_plan

    echo(render_plan(result, color=use_color(no_color)))


def print_stats(engine: Engine, *, err: bool) -> None:
    echo("Provider calls:", err=err)
    for report in engine.stats():
        calls = ", ".join(f"{count} {kind}" for kind, count in report.calls.items()) or "none"
        echo(f"  {report.name} ({report.type_name}): {calls}; {report.seconds:.3f}s in calls",
             err=err)
    if engine.image_sources:
        echo("Images:", err=err)
    for name, image in engine.image_sources.items():
        size = image.settings.get("size")
        where = ("in the cache" if image.settings.get("cached")
                 else "to download" if size is not None else "not readable")
        shown = f" ({rough_size(int(size))})" if size is not None else ""
        echo(f"  {name}{shown}: {where}", err=err)


def _confirm(command: str, auto_approve: bool) -> None:
    from provisioner.errors import UsageError

    if auto_approve:
        return
    if sys.stdin is None or not sys.stdin.isatty():
        raise UsageError(f"refusing to {command} without a terminal to confirm on",
                         hint=f"review the plan, then run `provisioner {command} --auto-approve`")
    import typer  # only to ask: the run is on a terminal

    try:
        answer = typer.prompt(f"Do you want to {command} these changes? Only 'yes' is "
                              "accepted", default="", show_default=False)
    except (typer.Abort, EOFError):  # Ctrl-D: the input ended, no answer
        answer = ""
        echo()
    if answer.strip() != "yes":
        echo(f"{command.capitalize()} cancelled; nothing was changed.")
        raise SystemExit(EXIT_ERROR)


def _progress(total: int) -> LiveProgress | PlainProgress:
    from provisioner.apply.progress import LiveProgress, PlainProgress

    if sys.stdout.isatty():
        from rich.console import Console

        return LiveProgress(total, Console())
    return PlainProgress(sys.stdout)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def _interruptible(engine: Engine) -> Iterator[None]:
    """First Ctrl-C (SIGINT), SIGTERM (a CI job cancelled, ``timeout``, ``docker
    stop``) or SIGHUP (the terminal closed): finish the running steps, record them,
    start no new one. A second signal: stop at once (the next run settles the steps
    that were running, from the journal)."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        if engine.stop.is_set():
            raise KeyboardInterrupt
        engine.stop.set()
        echo(f"Stopping ({signal.Signals(signum).name}): waiting for running steps to finish "
             "(Ctrl-C again to abort).", err=True)

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, action in previous.items():
            signal.signal(signum, action)


def _print_result(result: ApplyResult, debug: bool, command: str) -> None:
    from provisioner.apply.executor import Outcome
    from provisioner.plan.model import Operation

    done = result.with_outcome(Outcome.DONE)
    counts = {op: sum(r.step.operation is op for r in done) for op in Operation}
    failed = result.with_outcome(Outcome.FAILED)
    skipped = result.with_outcome(Outcome.SKIPPED)
    summary = (f"{counts[Operation.CREATE]} created, {counts[Operation.UPDATE]} updated, "
               f"{counts[Operation.DELETE]} deleted")
    if result.ok:
        echo(f"\n{command.capitalize()} complete: {summary}.")
        return
    echo(f"\n{command.capitalize()} failed: {summary}; {len(failed)} failed, "
         f"{len(skipped)} skipped.", err=True)
    for item in failed:
        echo(f"  failed:  {item.step.key}: {item.message}", err=True)
        if item.hint:
            echo(f"           hint: {item.hint}", err=True)
        if debug and item.trace:
            echo(item.trace, err=True)
    for item in skipped:
        echo(f"  skipped: {item.step.key} ({item.message})", err=True)


def _print_outputs(values: OutputValues) -> None:
    import json

    for warning in values.warnings:
        echo(f"Warning: {warning}", err=True)
    shown = values.shown()
    if shown:
        echo("\nOutputs:")
        for name, value in shown.items():
            echo(f"  {name} = {json.dumps(value)}")
