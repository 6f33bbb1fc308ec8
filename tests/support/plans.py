"""Plans in tests: made by hand for the renderers, read back after planning, and
the example round trip every provider's examples go through. The one module of
such helpers (tests/support/e2e.py re-exports what the e2e tests use)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provisioner.apply.executor import ApplyResult, Outcome
from provisioner.apply.progress import CollectingProgress
from provisioner.engine import Engine
from provisioner.plan.model import Action, Change, Operation, Plan, ReplaceOrder, Step
from provisioner.stack.loader import load_stack
from provisioner.stack.variables import VariableInputs
from provisioner.state.local import SQLiteStore

OPERATIONS: dict[Action, tuple[Operation, ...]] = {
    Action.NOOP: (),
    Action.CREATE: (Operation.CREATE,),
    Action.UPDATE: (Operation.UPDATE,),
    Action.DELETE: (Operation.DELETE,),
}


def plan_of(*changes: Change, edges: tuple[tuple[str, str], ...] = (), **extra: Any) -> Plan:
    """A plan of ``changes`` made by hand (no planner): one step per provider call of
    each, a replacement's two in its order, for renderers and graph readers."""
    steps = tuple(Step(operation, change) for change in changes
                  for operation in _operations(change))
    return Plan(stack="s", changes=changes, steps=steps, edges=edges, **extra)


def _operations(change: Change) -> tuple[Operation, ...]:
    if change.action is not Action.REPLACE:
        return OPERATIONS[change.action]
    if change.replace_order is ReplaceOrder.CREATE_FIRST:
        return Operation.CREATE, Operation.DELETE
    return Operation.DELETE, Operation.CREATE


def changes(plan: Plan) -> dict[str, Change]:
    """The plan's changes that do something, by address."""
    return {str(c.address): c for c in plan.changes if c.action.is_change}


def actions(plan: Plan) -> dict[str, Action]:
    """The action of each change that does something, by address."""
    return {address: change.action for address, change in changes(plan).items()}


def describe(plan: Plan) -> str:
    """One line per change, for assertion messages."""
    return "\n".join(f"  {c.symbol} {c.address}: {c.action.value} ({c.reason}) "
                     f"{[f.path for f in c.fields]}" for c in plan.pending()) or "  (none)"


def field_changes(plan: Plan) -> dict[str, list[tuple[str, str]]]:
    """Address → (path, effect) of each field that changes."""
    return {str(c.address): [(f.path, f.effect.value) for f in c.fields]
            for c in plan.changes if c.action.is_change}


def failures(result: ApplyResult) -> list[str]:
    return [r.message for r in result.results if r.message and r.outcome is not Outcome.DONE]


def assert_example_round_trip(path: Path, inputs: VariableInputs, state: Path) -> None:
    """Apply an example stack from nothing, then plan it again in a new engine: no
    changes (no perpetual diff), and every output has a value."""

    def engine() -> Engine:
        return Engine(load_stack(path, inputs), SQLiteStore(state))

    with engine() as first:
        plan = first.plan()
        assert plan.has_changes
        result = first.apply(plan, CollectingProgress(), parallelism=8)
        assert result.ok, failures(result)
    with engine() as second:
        again = second.plan()
        assert not again.has_changes, [(str(c.address), c.fields) for c in again.changes
                                       if c.action.is_change]
        outputs = second.outputs().values
        assert all(value not in (None, [], [None]) for value in outputs.values()), outputs
