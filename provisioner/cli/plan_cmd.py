"""plan and drift: the commands that compare without changing."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from provisioner.apply.defaults import DEFAULT_PARALLELISM
from provisioner.cli import flags
from provisioner.cli.change import open_engine, print_stats
from provisioner.cli.common import (
    EXIT_CHANGES,
    EXIT_ERROR,
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


def plan(
    stack: flags.StackPath = Path("."),
    output_format: flags.FormatOption = None,
    json_output: flags.JsonOption = False,
    out: flags.PlanOutOption = None,
    detailed_exitcode: flags.DetailedOption = False,
    var: flags.VarOption = None,
    var_file: flags.VarFileOption = None,
    env: flags.EnvOption = None,
    parallelism: flags.ParallelismOption = DEFAULT_PARALLELISM,
    stats: flags.StatsOption = False,
    replace: flags.ReplaceOption = None,
    target: flags.TargetOption = None,
    exclude: flags.ExcludeOption = None,
    destroy: flags.PlanDestroyOption = False,
    refresh_only: flags.RefreshOnlyOption = False,
    state: flags.StateOption = None,
    state_backend: flags.StateBackendOption = None,
    no_color: flags.NoColorOption = False,
    debug: flags.DebugOption = False,
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
        raise SystemExit(EXIT_CHANGES)


def capacity(
    stack: flags.StackPath = Path("."),
    json_output: flags.CapacityJsonOption = False,
    var: flags.VarOption = None,
    var_file: flags.VarFileOption = None,
    env: flags.EnvOption = None,
    parallelism: flags.ParallelismOption = DEFAULT_PARALLELISM,
    replace: flags.ReplaceOption = None,
    target: flags.TargetOption = None,
    exclude: flags.ExcludeOption = None,
    destroy: flags.CapacityDestroyOption = False,
    state: flags.StateOption = None,
    state_backend: flags.StateBackendOption = None,
    debug: flags.DebugOption = False,
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
        raise SystemExit(EXIT_ERROR)


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
    stack: flags.StackPath = Path("."),
    output_format: flags.FormatOption = None,
    var: flags.VarOption = None,
    var_file: flags.VarFileOption = None,
    env: flags.EnvOption = None,
    parallelism: flags.ParallelismOption = DEFAULT_PARALLELISM,
    state: flags.StateOption = None,
    state_backend: flags.StateBackendOption = None,
    debug: flags.DebugOption = False,
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
        raise SystemExit(EXIT_CHANGES)
