"""Which ready step the executor starts first: the head of the longest chain of
work (critical path), then plan order.

The provider is the recording double of test_executor_lanes (lanes off); the
order is read from the executor's ``started`` events.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_executor_lanes import RecordingProvider

from provisioner.apply.executor import Executor
from provisioner.core.address import Address, Kind
from provisioner.core.resources import Resource
from provisioner.plan.model import Step
from provisioner.plan.planner import PlanInputs, make_plan
from provisioner.providers.base import Inventory
from provisioner.state.local import SQLiteStore

pytestmark = pytest.mark.unit

SPEC = {"node": "n0", "pool": "p0"}


class StartOrder:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def started(self, step: Step) -> None:
        self.keys.append(step.key)

    def finished(self, result: Any) -> None:
        pass


def guest(name: str, order: int, after: str | None = None) -> Resource:
    deps = (Address(Kind.GUEST, after),) if after else ()
    return Resource(Address(Kind.GUEST, name), "rec", SPEC, deps=deps, order=order)


def started_order(tmp_path: Path, resources: list[Resource], parallelism: int) -> list[str]:
    provider = RecordingProvider(node_parallel=None, storage_parallel=None)
    plan = make_plan(PlanInputs("s", resources, {"rec": provider.schema()},
                                {"rec": Inventory([])}))
    events = StartOrder()
    store = SQLiteStore(tmp_path / "state.db")
    try:
        result = Executor(plan, {"rec": provider}, store, "run", events, parallelism).run()
    finally:
        store.close()
    assert result.ok
    return events.keys


def test_the_head_of_the_long_chain_starts_first(tmp_path: Path) -> None:
    # declared first: three independent guests; then a chain c0 <- c1 <- c2 <- c3
    independent = [guest(f"i{index}", index) for index in range(3)]
    chain = [guest("c0", 3)] + [guest(f"c{index}", 3 + index, f"c{index - 1}")
                                for index in range(1, 4)]
    keys = started_order(tmp_path, independent + chain, parallelism=2)
    assert keys[0] == "create guests.c0"
    assert keys[1] == "create guests.i0", "ties go in plan order"
    assert keys.index("create guests.c1") < keys.index("create guests.i2"), (
        "the chain keeps going before the independent guests finish")


def test_without_dependencies_steps_start_in_plan_order(tmp_path: Path) -> None:
    resources = [guest(f"g{index}", index) for index in range(5)]
    keys = started_order(tmp_path, resources, parallelism=2)
    assert keys == [f"create guests.g{index}" for index in range(5)]
