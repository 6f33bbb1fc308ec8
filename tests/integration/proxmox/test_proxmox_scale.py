"""Plan cost at scale: a plan of 200 guests reads /cluster/resources and /storage once
and each guest's config once (in parallel): the guests + a constant API calls (the
formula of test_proxmox_plan_cost)."""

from __future__ import annotations

import time

import pytest
from pve_harness import Lab, TestPve, failures
from test_proxmox_plan_cost import listings

GUESTS = 200
FLEET = f"""
guests:
  fleet:
    provider: pve
    count: {GUESTS}
    clone: debian-12
    node: auto
    memory: 16MiB
    disks: [ {{ size: 2GiB }} ]
    networks: [ {{ bridge: vmbr0 }} ]
    power: stopped
"""
LISTINGS = listings(capacity=2, bridges=2)
"""Cluster resources and storage, then per node (2): free space (node: auto places in
every plan) and bridges."""


@pytest.mark.simulator_only(
    "sets the size of the fake's storage local-lvm and counts fakepve's request log")
def test_a_plan_of_200_guests_costs_guests_plus_a_constant(lab: Lab, pve: TestPve) -> None:
    pve.storages["local-lvm"]["total"] = 1 << 40  # 200 full clones of 2GiB: 400GiB
    _, result = lab.apply(FLEET, parallelism=20, node_parallel=20, storage_parallel=20,
                          max_parallel=20)
    assert result.ok, failures(result)
    assert sum(1 for vm in pve.vms if vm.name.startswith("fleet-")) == GUESTS
    with lab.engine(FLEET) as engine:
        started = time.perf_counter()
        plan = engine.plan()
        seconds = time.perf_counter() - started
        (report,) = engine.stats()
    assert not plan.has_changes
    calls = report.calls
    print(f"\nplan of {GUESTS} guests: {calls} in {seconds:.2f}s "
          f"({report.seconds:.2f}s summed over calls)")
    assert calls.get("read", 0) == GUESTS
    assert calls.get("list", 0) == LISTINGS
    assert set(calls) <= {"connect", "list", "read"}
