"""A plan whose placements count the plan's other changes.

Placement chooses nodes before there is a plan, yet what a node has left
depends on the plan: an update that grows a guest there, a delete that frees
room, a new guest pinned to it. So when something is placed anew: place, plan
a draft, take from it the net demand of every change except the new objects
placement chose a node for (``plan_demand``, as the admission check and
``provisioner capacity`` count it), place again counting that demand, and
plan. Placement's choices and the memory its reasons say is left then agree
with ``capacity``. A plan that places nothing anew is planned once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from provisioner.core.address import Address
from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.errors import PlanError
from provisioner.plan.admission import CapacityView, Demand, plan_demand
from provisioner.plan.model import Plan
from provisioner.plan.placement import place_stack
from provisioner.plan.planner import PlanInputs, PlanOptions, make_plan

if TYPE_CHECKING:
    from provisioner.stack.loader import Stack

Check = Callable[[Sequence[Resource]], Sequence[Problem]]
"""The providers' plan-time checks of the placed resources: problems found."""


def plan_with_placement(stack: Stack, inputs: PlanInputs, options: PlanOptions,
                        view: CapacityView, check: Check | None = None) -> Plan:
    """The plan of ``inputs`` with the stack's resources placed (``inputs.resources`` is
    replaced). Raises PlanError as ``make_plan`` does, or naming every resource no
    candidate has room for."""
    def planned(resources: Sequence[Resource]) -> Plan:
        problems = [*inputs.problems, *(check(resources) if check else ())]
        return make_plan(replace(inputs, resources=resources, problems=problems), options)

    if options.destroy:
        return planned(stack.resources)
    draft = place_stack(stack, inputs.inventories, view, options.replace, draft=True)
    if not draft.placed:
        return planned(draft.resources)
    demand = _other_changes(draft.resources, draft.placed, inputs, options, view)
    placed = place_stack(stack, inputs.inventories, view, options.replace, demand)
    return planned(placed.resources)


def _other_changes(resources: Sequence[Resource], placed: set[Address], inputs: PlanInputs,
                   options: PlanOptions, view: CapacityView) -> Mapping[str, Demand] | None:
    """The net demand of the draft plan's changes but the creates of ``placed``; None if
    the draft is refused (the final plan reports why, with the providers' checks)."""
    try:
        draft = make_plan(replace(inputs, resources=resources), options)
    except PlanError:
        return None
    return plan_demand(draft, view.requirements, placed)
