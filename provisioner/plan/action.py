"""The one place that decides what happens to a resource.

``decide_action`` is pure: from what is declared, what runs, and the field
diffs between them, it picks the action and says why (as Terraform's
``getAction`` does). Everything else in the planner gathers its inputs or
orders its outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provisioner.core.resources import Effect, LiveObject, Resource
from provisioner.plan.model import Action, FieldDiff, ReplaceOrder


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    replace_order: ReplaceOrder | None = None


def decide_action(
    desired: Resource | None,
    live: LiveObject | None,
    fields: Sequence[FieldDiff],
    *,
    was_applied: bool = False,
    replace_requested: bool = False,
) -> Decision:
    """Action and reason for one address.

    ``was_applied``: the state remembers applying it (so a missing object was
    deleted outside provisioner). ``replace_requested``: ``--replace`` named it.
    """
    if desired is None:
        if live is None:
            return Decision(Action.NOOP, "already gone")
        return Decision(Action.DELETE, "no longer in the stack")
    if live is None:
        reason = "deleted outside provisioner" if was_applied else "not on the hypervisor"
        return Decision(Action.CREATE, reason)
    order = (
        ReplaceOrder.CREATE_FIRST
        if desired.lifecycle.create_before_destroy
        else ReplaceOrder.DELETE_FIRST
    )
    if live.provider != desired.provider:
        return Decision(
            Action.REPLACE, f"moves from provider {live.provider} to {desired.provider}", order
        )
    if replace_requested:
        return Decision(Action.REPLACE, "replacement requested with --replace", order)
    forcing = [f.path for f in fields if f.effect is Effect.REPLACE]
    if forcing:
        noun = "forces" if len(forcing) == 1 else "force"
        return Decision(Action.REPLACE, f"{', '.join(forcing)} {noun} replacement", order)
    if fields:
        restart = any(f.effect is Effect.RESTART for f in fields)
        return Decision(Action.UPDATE, "requires restart" if restart else "in place")
    return Decision(Action.NOOP, "up to date")
