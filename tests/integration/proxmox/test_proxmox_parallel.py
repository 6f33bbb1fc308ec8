"""Parallel creates: 20 guests at once get 20 VMIDs, whatever /cluster/nextid says.

Proxmox's ``/cluster/nextid`` reserves nothing: parallel clients asking it get
the same id and all but one create fail. The provider hands out ids itself;
an id another client takes between the check and the create is skipped.
"""

from __future__ import annotations

import collections

import pytest
from pve_harness import Lab, TestPve, failures

FLEET = """
guests:
  fleet:
    provider: pve
    count: {count}
    clone: debian-12
    node: {node}
    memory: 256MiB
    disks: [ {{ size: 3GiB }} ]
    networks: [ {{ bridge: vmbr0 }} ]
"""


def _fleet(pve: TestPve) -> list[int]:
    return sorted(vm.vmid for vm in pve.vms if vm.name.startswith("fleet-"))


@pytest.mark.simulator_only(
    "reads fakepve's request log (what the provider sent) (and sets the fake's task speed)")
@pytest.mark.fakepve(time_scale=0.002)
def test_twenty_guests_created_in_parallel_get_unique_vmids(lab: Lab, pve: TestPve) -> None:
    body = FLEET.format(count=20, node="auto")
    _, result = lab.apply(body, parallelism=20, node_parallel=20, storage_parallel=20,
                          max_parallel=20)
    assert result.ok, failures(result)
    vmids = _fleet(pve)
    assert len(vmids) == 20 == len(set(vmids))
    names = collections.Counter(vm.name for vm in pve.vms if not vm.template)
    assert all(count == 1 for count in names.values()), names
    spread = collections.Counter(vm.node for vm in pve.vms if vm.name.startswith("fleet-"))
    assert set(spread) == {"pve1", "pve2"}, f"node: auto put them all on one node: {spread}"
    creates = [path for method, path, _ in pve.requests
               if method == "POST" and path.endswith("/clone")]
    assert len(creates) == 20, "a create was sent twice"
    assert not lab.plan(body, node_parallel=20).has_changes


@pytest.mark.simulator_only(
    "makes the fake give VMIDs to another client between the provider's check and its create")
def test_a_vmid_taken_by_another_client_meanwhile_is_skipped(lab: Lab, pve: TestPve) -> None:
    pve.steal = {100, 101, 103}  # another client creates these just before us
    body = FLEET.format(count=5, node="pve1")
    _, result = lab.apply(body, parallelism=5)
    assert result.ok, failures(result)
    vmids = _fleet(pve)
    assert len(vmids) == 5 == len(set(vmids))
    assert not set(vmids) & {100, 101, 103}
    assert not lab.plan(body).has_changes


def test_vmid_range_is_honoured_and_its_end_reported(lab: Lab, pve: TestPve) -> None:
    body = FLEET.format(count=3, node="pve1")
    _, result = lab.apply(body, vmid_range="5000-5002")
    assert result.ok, failures(result)
    assert _fleet(pve) == [5000, 5001, 5002]
    _, result = lab.apply(FLEET.format(count=4, node="pve1"),
                          vmid_range="5000-5002")
    assert not result.ok
    assert "no free VMID left in 5000-5002" in " ".join(failures(result))
