"""Reading plans and apply results in tests, and the example round trip every
provider's examples go through."""

from __future__ import annotations

from pathlib import Path

from provisioner.apply.executor import ApplyResult, Outcome
from provisioner.apply.progress import CollectingProgress
from provisioner.engine import Engine
from provisioner.plan.model import Action, Plan
from provisioner.stack.loader import load_stack
from provisioner.stack.variables import VariableInputs
from provisioner.state.local import SQLiteStore


def changes(plan: Plan) -> dict[str, Action]:
    return {str(c.address): c.action for c in plan.changes if c.action.is_change}


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
