"""Capacity at plan time: the block's cluster (effective memory, its hosts' CPUs) or
host, and its datastores' free space; a plan that does not fit is refused."""

from __future__ import annotations

import pytest
from support.vcsim import Simulator
from vsphere_lab import Lab, failures

from provisioner.errors import PlanError

GIB = 1024**3
BIG = """
guests:
  big: {{ provider: vc, cpus: {cpus}, memory: {memory}, disks: [ {{ size: {disk} }} ] }}
"""


@pytest.mark.simulator_only(
    "asserts the simulator's hosts' CPUs and memory, its own VMs' use and its datastores "
    "LocalDS_0 and LocalDS_1")
def test_capacity_reports_the_cluster_or_host_and_its_datastores(
    lab: Lab, vcsim: Simulator
) -> None:
    with lab.engine(BIG.format(cpus=1, memory="256MiB", disk="1GiB")) as engine:
        engine.plan()
        capacity = engine.providers()["vc"].capacity()
    (node,) = capacity.hosts
    hosts = len(vcsim.hosts)
    assert node.node == (vcsim.cluster or vcsim.hosts[0])
    assert node.cpus == 2 * hosts  # the simulator's hosts have 2 threads each
    assert node.memory_total == hosts * 4294430720
    assert node.running_cpus == 2 and node.running_memory == 2 * 32 * 1024**2  # its own VMs
    assert {pool.pool for pool in capacity.pools} == {"LocalDS_0", "LocalDS_1"}
    assert all(0 < pool.available <= pool.capacity for pool in capacity.pools)


@pytest.mark.simulator_only(
    "counts on the simulator's sizes (a 64GiB, 64-vCPU guest never fits) and names its "
    "datastore LocalDS_0")
def test_a_plan_that_does_not_fit_is_refused(lab: Lab, vcsim: Simulator) -> None:
    node = vcsim.cluster or vcsim.hosts[0]
    with pytest.raises(PlanError) as memory:
        lab.plan(BIG.format(cpus=1, memory="64GiB", disk="1GiB"))
    assert f"provider vc, node {node}: " in str(memory.value)
    assert "the plan needs 64GiB more (guests.big: 64GiB)" in str(memory.value)
    with pytest.raises(PlanError) as cpus:
        lab.plan(BIG.format(cpus=64, memory="256MiB", disk="1GiB"))
    assert "the plan needs 64 more (guests.big: 64)" in str(cpus.value)
    with pytest.raises(PlanError) as disk:
        lab.plan(BIG.format(cpus=1, memory="256MiB", disk="900TiB"))
    assert "pool 'LocalDS_0' has" in str(disk.value)
    assert not vcsim.vms("big")


@pytest.mark.simulator_only(
    "makes a stopped 64GiB guest, which fits only on the simulator's lax datastores and hosts")
def test_a_stopped_guest_reserves_no_memory(lab: Lab, vcsim: Simulator) -> None:
    body = BIG.format(cpus=1, memory="64GiB", disk="1GiB").replace("disks", "power: stopped, "
                                                                            "disks")
    _, result = lab.apply(body)
    assert result.ok, failures(result)
    assert vcsim.vm("big").runtime.powerState == "poweredOff"
