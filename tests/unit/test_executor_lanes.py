"""The executor honours the lanes providers declare (a node, a storage): never more
changes on one lane than its limit, while other lanes keep going.

The provider here is a recording double of the executor's collaborator (it
counts concurrent calls per node and pool); it stands in for no hypervisor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from provisioner.apply.executor import Executor
from provisioner.core.address import Address, Kind
from provisioner.core.resources import Effect, LiveObject, Resource
from provisioner.plan.model import Plan, Step
from provisioner.plan.planner import PlanInputs, make_plan
from provisioner.providers.base import (
    Capacity,
    FieldRule,
    Inventory,
    KindSchema,
    Owner,
    Provider,
    ProviderSchema,
    Requirements,
)
from provisioner.state.local import SQLiteStore

pytestmark = pytest.mark.unit


class NoSettings(BaseModel):
    pass


class RecordingProvider(Provider):
    """Counts concurrent creates per node and per pool; each create takes 20 ms."""

    type_name = "recording"

    def __init__(self, node_parallel: int | None, storage_parallel: int | None) -> None:
        super().__init__("rec", NoSettings(), Owner("s"))
        self.node_parallel = node_parallel
        self.storage_parallel = storage_parallel
        self.lock = threading.Lock()
        self.now: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.total_peak = 0

    def schema(self) -> ProviderSchema:
        rules = KindSchema({}, default=FieldRule(Effect.REPLACE))
        return ProviderSchema({Kind.GUEST: rules}, max_parallel=8,
                              node_parallel=self.node_parallel,
                              storage_parallel=self.storage_parallel)

    def requirements(self, resource: Resource) -> Requirements:
        return Requirements(node=resource.spec["node"], storage={resource.spec["pool"]: 1})

    def list_managed(self) -> Inventory:
        return Inventory([])

    def capacity(self) -> Capacity:
        return Capacity([], [])

    def create(self, resource: Resource) -> LiveObject:
        keys = [f"node:{resource.spec['node']}", f"pool:{resource.spec['pool']}", "all"]
        with self.lock:
            for key in keys:
                self.now[key] = self.now.get(key, 0) + 1
                self.peak[key] = max(self.peak.get(key, 0), self.now[key])
        time.sleep(0.02)
        with self.lock:
            for key in keys:
                self.now[key] -= 1
        return LiveObject(resource.address, "rec", resource.name, resource.name, resource.spec)

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> LiveObject:
        raise AssertionError("not planned")

    def delete(self, live: LiveObject) -> None:
        raise AssertionError("not planned")


class Quiet:
    def started(self, step: Step) -> None:
        pass

    def finished(self, result: Any) -> None:
        pass


def _plan(provider: Provider, guests: int) -> Plan:
    resources = [Resource(Address(Kind.GUEST, f"g{index}"), "rec",
                          {"node": f"n{index % 2}", "pool": f"p{index % 3}"})
                 for index in range(guests)]
    return make_plan(PlanInputs("s", resources, {"rec": provider.schema()},
                                {"rec": Inventory([])}))


def _apply(tmp_path: Path, provider: RecordingProvider, guests: int = 12) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    try:
        with store.lock("apply", timeout=5):
            result = Executor(_plan(provider, guests), {"rec": provider}, store, "run",
                              Quiet(), parallelism=8).run()
    finally:
        store.close()
    assert result.ok


def test_no_lane_holds_more_changes_than_its_limit(tmp_path: Path) -> None:
    provider = RecordingProvider(node_parallel=2, storage_parallel=1)
    _apply(tmp_path, provider)
    assert provider.peak["node:n0"] <= 2 and provider.peak["node:n1"] <= 2
    assert all(provider.peak[f"pool:p{index}"] == 1 for index in range(3))
    assert provider.peak["all"] >= 2, "lanes serialised everything"


def test_without_lanes_only_the_provider_bound_applies(tmp_path: Path) -> None:
    provider = RecordingProvider(node_parallel=None, storage_parallel=None)
    _apply(tmp_path, provider)
    assert provider.peak["all"] > 2
    assert max(provider.peak[f"node:n{index}"] for index in range(2)) > 2
