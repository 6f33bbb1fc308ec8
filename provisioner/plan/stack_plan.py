"""The plan of a stack: the one function that ``Engine.plan`` and the golden cases call.

Pure: the caller reads the hypervisors (inventories, capacity) and the state
(last applied records) and hands in the providers' plan-time checks as a
callable (a check reads what the last refresh read, nothing more). Here the
resources are placed, checked, planned and admitted against capacity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from provisioner.core.address import Address
from provisioner.core.problems import PlanRefused, Problem
from provisioner.core.resources import Resource
from provisioner.outputs import unknown_attributes
from provisioner.plan.admission import CapacityView, admit
from provisioner.plan.model import Plan
from provisioner.plan.moves import apply_moves, renamed_references
from provisioner.plan.placed import Check, plan_with_placement
from provisioner.plan.planner import PlanInputs, PlanOptions, make_plan
from provisioner.plan.snapshot_notes import snapshot_notes
from provisioner.providers.base import Inventory, ProviderSchema
from provisioner.stack.other_stacks import outputs_digest
from provisioner.stack.source import parse_path
from provisioner.state.store import AppliedRecord, SnapshotRecord

if TYPE_CHECKING:
    from provisioner.stack.loader import Stack


def plan_stack(
    stack: Stack,
    *,
    inventories: Mapping[str, Inventory],
    prior: Mapping[Address, AppliedRecord],
    schemas: Mapping[str, ProviderSchema],
    view: CapacityView | None,
    check: Check | None = None,
    options: PlanOptions | None = None,
    check_capacity: bool = True,
    snapshots: Sequence[SnapshotRecord] = (),
) -> Plan:
    """The plan that makes the hypervisors match ``stack``; raises PlanError naming every
    refusal (a problem ``check`` found, prevent_destroy, no room, ...).

    ``inventories`` and ``schemas``: by provider block, from ``list_managed`` and
    ``schema()``. ``view``: the capacity to place and admit against; None plans
    without placement or admission (nothing is read). ``check``: the providers'
    plan-time checks of the placed resources; a problem with one field is shown at
    the line that declares it. ``check_capacity=False`` skips the admission check
    (the capacity report shows what does not fit instead). ``snapshots``: the state's
    snapshot records; the plan notes the guests that hold some."""
    options = options or PlanOptions()

    def checks(resources: Sequence[Resource]) -> list[Problem]:
        problems = [located(stack, problem) for problem in (check(resources) if check else ())]
        if not options.destroy:
            problems += unknown_attributes(stack, resources, schemas)
        return problems

    moved = apply_moves(stack.moves, inventories, prior,
                        {resource.address for resource in stack.resources})
    inputs = PlanInputs(stack=stack.name, resources=stack.resources, schemas=schemas,
                        inventories=moved.inventories, prior=moved.prior,
                        disabled=stack.disabled)
    refused = [*moved.problems, *renamed_references(moved.pairs, moved.inventories,
                                                    stack.resources)]
    if refused:
        raise PlanRefused(refused, hint="nothing was changed; fix the stack and plan again")
    if view is None:
        plan = make_plan(replace(inputs, problems=checks(stack.resources)), options)
    else:
        plan = plan_with_placement(stack, inputs, options, view, checks)
        if check_capacity:
            admit(plan, view)
    return replace(plan, snapshots=snapshot_notes(plan.changes, snapshots), moved=moved.pairs,
                   environment=stack.environment,
                   other_outputs=outputs_digest(stack.other_outputs))


def located(stack: Stack, problem: Problem) -> Problem:
    """A problem with one field, at the line that declares the field (for an instance
    of a counted resource, its declaration's); one with a stack key and no address
    (``providers.kvm.sr``), at that key; any other problem as it is."""
    if not problem.path or problem.position is not None:
        return problem
    if problem.address is None:
        return problem.at(stack.source.value_at(tuple(parse_path(problem.path))))
    address = problem.address
    declared = next((group for group, members in stack.groups.items()
                     if address in members), address)
    path = (declared.kind.value, declared.name, *parse_path(problem.path))
    return problem.at(stack.source.value_at(path))
