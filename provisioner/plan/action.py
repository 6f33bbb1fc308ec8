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
from provisioner.plan.model import Action, Cause, FieldDiff, ReplaceOrder


@dataclass(frozen=True)
class Decision:
    action: Action
    cause: Cause
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
            return Decision(Action.NOOP, Cause.GONE, "already gone")
        return Decision(Action.DELETE, Cause.REMOVED, "no longer in the stack")
    if live is None:
        if was_applied:
            return Decision(Action.CREATE, Cause.VANISHED, "deleted outside provisioner")
        return Decision(Action.CREATE, Cause.NEW, "not on the hypervisor")
    order = (
        ReplaceOrder.CREATE_FIRST
        if desired.lifecycle.create_before_destroy
        else ReplaceOrder.DELETE_FIRST
    )
    if live.provider != desired.provider:
        return Decision(
            Action.REPLACE, Cause.MOVED,
            f"moves from provider {live.provider} to {desired.provider}", order)
    if replace_requested:
        return Decision(Action.REPLACE, Cause.REQUESTED, "replacement requested with --replace",
                        order)
    forcing = [f.path for f in fields if f.effect is Effect.REPLACE]
    if forcing:
        noun = "forces" if len(forcing) == 1 else "force"
        return Decision(Action.REPLACE, Cause.FIELDS,
                        f"{', '.join(forcing)} {noun} replacement", order)
    if fields:
        restart = any(f.effect is Effect.RESTART for f in fields)
        return Decision(Action.UPDATE, Cause.FIELDS,
                        "requires restart" if restart else "in place")
    return Decision(Action.NOOP, Cause.UP_TO_DATE, "up to date")
