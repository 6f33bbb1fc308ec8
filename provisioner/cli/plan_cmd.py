"""plan and drift: the commands that compare without changing."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provisioner.apply.defaults import DEFAULT_PARALLELISM
from provisioner.cli.change import ReplaceOption, open_engine, print_stats
from provisioner.cli.common import (
    EXIT_CHANGES,
    EXIT_ERROR,
    DebugOption,
    EnvOption,
    ExcludeOption,
    NoColorOption,
    ParallelismOption,
    StackPath,
    StateBackendOption,
    StateOption,
    TargetOption,
    VarFileOption,
    VarOption,
    echo,
    load,
    note_no_change,
    plan_options,
    use_color,
    user_errors,
)

if TYPE_CHECKING:
    from provisioner.plan.model import Plan


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"


FormatOption = Annotated[
    Format | None,
    typer.Option("--format", help="text (default), json (docs/plan-json.md) or markdown "
                                  "(for pull-request comments).", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Same as --format json.")]
DetailedOption = Annotated[bool, typer.Option(
    "--detailed-exitcode", help="Exit 0 when nothing changes, 2 when something would.")]


def plan(
    stack: StackPath = Path("."),
    output_format: FormatOption = None,
    json_output: JsonOption = False,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Also save the plan to FILE; `provisioner apply FILE` applies "
                            "exactly it, or refuses if anything changed since.")] = None,
    detailed_exitcode: DetailedOption = False,
    var: VarOption = None,
    var_file: VarFileOption = None,
    env: EnvOption = None,
    parallelism: ParallelismOption = DEFAULT_PARALLELISM,
    stats: Annotated[bool, typer.Option("--stats", help="Show API calls and time per provider.")]
    = False,
    replace: ReplaceOption = None,
    target: TargetOption = None,
    exclude: ExcludeOption = None,
    destroy: Annotated[bool, typer.Option("--destroy", help="Plan deleting everything.")] = False,
    refresh_only: Annotated[bool, typer.Option(
        "--refresh-only", help="Report what changed outside provisioner (as `drift`).")] = False,
    state: StateOption = None,
    state_backend: StateBackendOption = None,
    no_color: NoColorOption = False,
    debug: DebugOption = False,
) -> None:
    """Show what apply would change, without changing anything.

    Reads every provider once (one bulk listing each), compares with the stack
    and the last applied state, and prints the changes. With nothing to
    change, a repeat is answered from the last run's receipt when nothing it
    read has changed, the host read again (docs/quick-check.md;
    PROVISIONER_QUICK=0 turns this off).

    Example: provisioner plan stacks/demo --detailed-exitcode -o demo.plan
    """
    chosen = Format.JSON if json_output else (output_format or Format.TEXT)
    if refresh_only:
        drift(stack, output_format=chosen, var=var, var_file=var_file,
              parallelism=parallelism, state=state, state_backend=state_backend, debug=debug)
        return
    with user_errors(debug):
        if out is not None:
            from provisioner.render.planfile import check_plan_output

            check_plan_output(out)
        loaded = load(stack, var, var_file, env=env, state=state, state_backend=state_backend)
        with open_engine(loaded, state, state_backend) as engine:
            options = plan_options(loaded, destroy=destroy, replace=replace, target=target,
                                   exclude=exclude)
            result = engine.plan(options, parallelism)
            echo(render(result, chosen, use_color(no_color)))
            if out is not None:
                from provisioner.render.planfile import write_plan_file

                write_plan_file(out, result, engine.stack_digest(), str(stack), options)
                echo(f"Saved the plan to {out}; apply it with: provisioner apply {out}",
                     err=chosen is not Format.TEXT)
            if stats:
                print_stats(engine, err=chosen is not Format.TEXT)
            if not result.has_changes:
                note_no_change(engine)
    if detailed_exitcode and result.has_changes:
        raise typer.Exit(EXIT_CHANGES)


def capacity(
    stack: StackPath = Path("."),
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print as JSON (docs/capacity.md).")] = False,
    var: VarOption = None,
    var_file: VarFileOption = None,
    env: EnvOption = None,
    parallelism: ParallelismOption = DEFAULT_PARALLELISM,
    replace: ReplaceOption = None,
    target: TargetOption = None,
    exclude: ExcludeOption = None,
    destroy: Annotated[bool, typer.Option(
        "--destroy", help="Show what deleting everything would free.")] = False,
    state: StateOption = None,
    state_backend: StateBackendOption = None,
    debug: DebugOption = False,
) -> None:
    """Show each provider's hosts and pools: size, what running and stopped guests
    hold, and what this stack's plan would add or free, with bars.

    Plans as `plan` does (placement included) but does not stop where the plan does
    not fit: it shows where and by how much, and exits 1. Changes nothing.

    Example: provisioner capacity stacks/proxmox-lab --json
    """
    with user_errors(debug):
        from provisioner.plan.capacity_report import report_document
        from provisioner.render.capacity import render_capacity

        loaded = load(stack, var, var_file, env=env, state=state, state_backend=state_backend)
        with open_engine(loaded, state, state_backend) as engine:
            options = plan_options(loaded, destroy=destroy, replace=replace, target=target,
                                   exclude=exclude)
            report = engine.capacity(options, parallelism)
        if json_output:
            import json

            echo(json.dumps(report_document(report), indent=2))
        else:
            echo(render_capacity(report).rstrip("\n"))
    if not report.fits:
        raise typer.Exit(EXIT_ERROR)


def render(result: Plan, chosen: Format, color: bool) -> str:
    from provisioner.render.json import render_plan_json
    from provisioner.render.markdown import render_plan_markdown
    from provisioner.render.text import render_plan

    if chosen is Format.JSON:
        return render_plan_json(result)
    if chosen is Format.MARKDOWN:
        return render_plan_markdown(result)
    return render_plan(result, color=color)


def drift(
    stack: StackPath = Path("."),
    output_format: FormatOption = None,
    var: VarOption = None,
    var_file: VarFileOption = None,
    env: EnvOption = None,
    parallelism: ParallelismOption = DEFAULT_PARALLELISM,
    state: StateOption = None,
    state_backend: StateBackendOption = None,
    debug: DebugOption = False,
) -> None:
    """Report objects changed outside provisioner since the last apply; exit 2 if any.

    Compares the hypervisors with what the last apply recorded (not with the
    stack): for scheduled pipelines that watch for hand edits.

    Example: provisioner drift stacks/demo --format markdown
    """
    with user_errors(debug):
        from provisioner.render.drift import render_drift_json, render_drift_text

        loaded = load(stack, var, var_file, env=env, state=state, state_backend=state_backend)
        with open_engine(loaded, state, state_backend) as engine:
            found = engine.drift(parallelism)
        if output_format is Format.JSON:
            echo(render_drift_json(found))
        elif output_format is Format.MARKDOWN:
            echo(f"### Drift in stack `{loaded.name}`\n\n```\n{render_drift_text(found)}```")
        else:
            echo(render_drift_text(found))
    sys.stdout.flush()
    if found:
        raise typer.Exit(EXIT_CHANGES)
