"""Creates begun ahead of the steps they wait on (Provider.create_ahead): a guest's
first part runs while its network is made, the rest waits at the gate; a failed
network skips the guest after its removal; no slot is ever held waiting for a step
that has not started.

The provider is a recording double of the executor's collaborator: it logs when
each part of each create begins and ends, and stands in for no hypervisor (the
libvirt provider's side is tests/integration/test_libvirt_ahead.py, on the daemon).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_executor_lanes import Quiet, RecordingProvider

from provisioner.apply.executor import Executor, Outcome
from provisioner.core.address import Address, Kind
from provisioner.core.resources import Effect, LiveObject, Resource
from provisioner.errors import CreateFailedError, ProviderError
from provisioner.plan.model import Plan
from provisioner.plan.planner import PlanInputs, make_plan
from provisioner.providers.base import (
    FieldRule,
    Inventory,
    KindSchema,
    Provider,
    ProviderSchema,
    Requirements,
)
from provisioner.state.local import SQLiteStore

pytestmark = pytest.mark.unit


class StagedProvider(RecordingProvider):
    """Networks take ``network_seconds``; a guest makes its "disk", calls ``ready``,
    then "starts". Every part is logged with its time; a failed gate removes the disk.
    (test_executor_lanes' double, for its refusals of anything else.)"""

    def __init__(self, network_seconds: float = 0.15, fail_network: str = "",
                 leave_disk: bool = False) -> None:
        super().__init__(node_parallel=None, storage_parallel=None)
        self.network_seconds = network_seconds
        self.fail_network = fail_network
        self.leave_disk = leave_disk
        self.log: list[tuple[str, str, float]] = []
        self.disks: set[str] = set()

    def note(self, what: str, name: str) -> None:
        with self.lock:
            self.log.append((what, name, time.perf_counter()))

    def at(self, what: str, name: str) -> float:
        return next(t for w, n, t in self.log if (w, n) == (what, name))

    def schema(self) -> ProviderSchema:
        rules = KindSchema({}, default=FieldRule(Effect.REPLACE))
        return ProviderSchema({Kind.GUEST: rules, Kind.NETWORK: rules,
                               Kind.VOLUME: rules}, max_parallel=8)

    def requirements(self, resource: Resource) -> Requirements:
        return Requirements()

    def create_ahead(self, resource: Resource) -> frozenset[Kind]:
        return frozenset({Kind.NETWORK}) if resource.kind is Kind.GUEST else frozenset()

    def create(self, resource: Resource) -> LiveObject:
        return self.create_when(resource, lambda: None)

    def create_when(self, resource: Resource, ready: Callable[[], None]) -> LiveObject:
        name = resource.name
        if resource.kind is not Kind.GUEST:
            self.note("begin", name)
            time.sleep(self.network_seconds if resource.kind is Kind.NETWORK else 0.05)
            self.note("end", name)
            if name == self.fail_network:
                raise ProviderError(f"{name}: refused")
            return LiveObject(resource.address, "rec", name, name, resource.spec)
        self.note("disk", name)
        self.disks.add(name)
        try:
            ready()
        except ProviderError as exc:
            if not self.leave_disk:
                self.disks.discard(name)
            raise CreateFailedError(exc.message, leftovers=[f"disk {name}"]
                                    if self.leave_disk else []) from exc
        self.note("start", name)
        return LiveObject(resource.address, "rec", name, name, resource.spec)


def network(name: str, order: int) -> Resource:
    return Resource(Address(Kind.NETWORK, name), "rec", {}, order=order)


def volume(name: str, order: int) -> Resource:
    return Resource(Address(Kind.VOLUME, name), "rec", {}, order=order)


def guest(name: str, order: int, *after: Address) -> Resource:
    return Resource(Address(Kind.GUEST, name), "rec", {}, deps=tuple(after), order=order)


def plan_of(provider: Provider, resources: list[Resource]) -> Plan:
    return make_plan(PlanInputs("s", resources, {"rec": provider.schema()},
                                {"rec": Inventory([])}))


def run(tmp_path: Path, provider: Provider, resources: list[Resource],
        parallelism: int = 8) -> dict[str, tuple[Outcome, str]]:
    store = SQLiteStore(tmp_path / "state.db")
    try:
        with store.lock("apply", timeout=5):
            result = Executor(plan_of(provider, resources), {"rec": provider}, store, "run",
                              Quiet(), parallelism).run()
    finally:
        store.close()
    return {r.step.key: (r.outcome, r.message) for r in result.results}


NET = Address(Kind.NETWORK, "net")


def test_a_guests_first_part_runs_while_its_network_is_made(tmp_path: Path) -> None:
    provider = StagedProvider()
    outcomes = run(tmp_path, provider, [network("net", 0), guest("g0", 1, NET),
                                        guest("g1", 2, NET)])
    assert {o for o, _ in outcomes.values()} == {Outcome.DONE}
    for name in ("g0", "g1"):
        assert provider.at("disk", name) < provider.at("end", "net"), (
            f"{name}'s disk waited for the network")
        assert provider.at("start", name) >= provider.at("end", "net"), (
            f"{name} started before its network existed")


def test_a_failed_network_skips_the_guests_begun_ahead_after_their_removal(
        tmp_path: Path) -> None:
    provider = StagedProvider(fail_network="net")
    after_guest = Address(Kind.GUEST, "g0")
    outcomes = run(tmp_path, provider, [network("net", 0), guest("g0", 1, NET),
                                        guest("g0-child", 2, after_guest)])
    assert outcomes["create networks.net"][0] is Outcome.FAILED
    assert outcomes["create guests.g0"] == (Outcome.SKIPPED, "upstream create networks.net failed")
    assert outcomes["create guests.g0-child"][0] is Outcome.SKIPPED
    assert provider.disks == set(), "the guest begun ahead left its disk"
    assert ("start", "g0") not in {(w, n) for w, n, _ in provider.log}


def test_what_removal_left_is_named_on_the_skipped_step(tmp_path: Path) -> None:
    provider = StagedProvider(fail_network="net", leave_disk=True)
    outcomes = run(tmp_path, provider, [network("net", 0), guest("g0", 1, NET)])
    outcome, message = outcomes["create guests.g0"]
    assert outcome is Outcome.SKIPPED
    assert message == "upstream create networks.net failed; left behind: disk g0"


def test_with_one_slot_nothing_waits_ahead(tmp_path: Path) -> None:
    provider = StagedProvider(network_seconds=0.05)
    outcomes = run(tmp_path, provider, [network("net", 0), guest("g0", 1, NET)],
                   parallelism=1)
    assert {o for o, _ in outcomes.values()} == {Outcome.DONE}
    assert provider.at("disk", "g0") >= provider.at("end", "net")


def test_a_guest_also_waiting_on_a_volume_starts_only_once_the_volume_is_made(
        tmp_path: Path) -> None:
    provider = StagedProvider(network_seconds=0.4)
    data = Address(Kind.VOLUME, "data")
    outcomes = run(tmp_path, provider, [network("net", 0), volume("data", 1),
                                        guest("g0", 2, NET, data)])
    assert {o for o, _ in outcomes.values()} == {Outcome.DONE}
    assert provider.at("disk", "g0") >= provider.at("end", "data"), (
        "begun ahead of a volume, a kind it cannot begin without")
    assert provider.at("disk", "g0") < provider.at("end", "net"), (
        "once the volume was made, it did not begin ahead of the network")


def test_a_provider_that_begins_nothing_ahead_waits_as_before(tmp_path: Path) -> None:
    class Waiting(StagedProvider):
        def create_ahead(self, resource: Resource) -> frozenset[Kind]:
            return frozenset()

    provider = Waiting()
    outcomes = run(tmp_path, provider, [network("net", 0), guest("g0", 1, NET)])
    assert {o for o, _ in outcomes.values()} == {Outcome.DONE}
    assert provider.at("disk", "g0") >= provider.at("end", "net")
