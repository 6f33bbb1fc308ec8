"""Clones of one template are separate VMs: each owns its disk files and NICs, and
changing one changes neither the template nor its siblings (what the simulator saw).

The simulator of Debian's govmomi 0.24 handed the template's own device objects to
every clone (govmomi issue 2706): clones shared one disk and one NIC with the
template, and two clones made at once raced on that disk's file name, so a lab
whose clones grew their disks failed now and then with ``FileNotFound
.../api-0/api-0_1-flat.vmdk`` (issue 11, defect 10). tests/vcsim/main.go gives
each clone its own copies, as vCenter does.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.vcsim import TEMPLATE, Simulator
from vsphere_lab import Lab, failures

from provisioner.plan.model import Action

GIB = 1024**3

TWINS = """
guests:
  twin:
    provider: vc
    count: 2
    clone: debian-12
    memory: 256MiB
    disks: [ {{ size: {size} }} ]
    networks: [ {{ host_network: VM Network }} ]
"""

LAB = """
guests:
  db:
    provider: vc
    clone: debian-12
    memory: 256MiB
    disks: [ { size: 4GiB }, { size: 1GiB, pool: LocalDS_1, slot: "scsi1:0" } ]
    networks: [ { host_network: VM Network }, { host_network: DC0_DVPG0 } ]
  cache:
    provider: vc
    clone: debian-12
    memory: 256MiB
    disks: [ { size: 2GiB } ]
    networks: [ { host_network: VM Network }, { host_network: DC0_DVPG0 } ]
    depends_on: [guests.db]
  api:
    provider: vc
    count: 2
    clone: debian-12
    memory: 256MiB
    disks: [ { size: 4GiB } ]
    networks: [ { host_network: VM Network }, { host_network: DC0_DVPG0 } ]
    options: { notes: "api ${count.index}" }
    depends_on: [guests.db, guests.cache]
  web:
    provider: vc
    count: 2
    clone: debian-12
    memory: 256MiB
    disks: [ { size: 3GiB } ]
    networks: [ { host_network: VM Network } ]
    options: { folder: lab/web }
    depends_on: [guests.api]
outputs:
  db_name: ${guests.db.name}
  api_names: ${guests.api[*].name}
  api_first: ${guests.api-0.name}
  web_macs: ${guests.web[*].macs}
  cache_host: ${guests.cache.host}
"""


def _hardware(simulator: Simulator, name: str) -> tuple[list[tuple[str, int]], list[str]]:
    """(file and size of each disk, MAC of each NIC) of a VM, as the simulator holds them."""
    devices: list[Any] = list(simulator.vm(name).config.hardware.device)
    disks = [(d.backing.fileName, int(d.capacityInBytes)) for d in devices
             if type(d).__name__.endswith("VirtualDisk")]
    macs = [str(d.macAddress) for d in devices if hasattr(d, "macAddress")]
    return disks, macs


@pytest.mark.simulator_only("reads the simulator's datastore files on this machine")
def test_each_clone_owns_its_disk_and_nic(lab: Lab, vcsim_vpx: Simulator) -> None:
    template = _hardware(vcsim_vpx, TEMPLATE)
    plan, result = lab.apply(TWINS.format(size="2GiB"), parallelism=1)  # one after the other
    assert result.ok, failures(result)
    twins = [_hardware(vcsim_vpx, f"twin-{index}") for index in range(2)]
    assert _hardware(vcsim_vpx, TEMPLATE) == template, "cloning changed the template"
    assert [disks for disks, _ in twins] == [
        [(f"[LocalDS_0] twin-{index}/twin-{index}.vmdk", 2 * GIB)] for index in range(2)]
    macs = [mac for _, nic_macs in [template, *twins] for mac in nic_macs]
    assert len(set(macs)) == len(macs) == 3, f"clones share a MAC: {macs}"
    assert {"LocalDS_0/twin-0/twin-0.vmdk", "LocalDS_0/twin-1/twin-1.vmdk"} <= \
        vcsim_vpx.datastore_files()

    plan, result = lab.apply(TWINS.format(size="3GiB"), parallelism=1)
    assert {str(c.address) for c in plan.changes if c.action is Action.UPDATE} == \
        {"guests.twin-0", "guests.twin-1"}
    assert result.ok, failures(result)
    assert _hardware(vcsim_vpx, TEMPLATE) == template, "growing a clone's disk grew the template"
    assert [_hardware(vcsim_vpx, f"twin-{index}")[0] for index in range(2)] == [
        [(f"[LocalDS_0] twin-{index}/twin-{index}.vmdk", 3 * GIB)] for index in range(2)]


@pytest.mark.simulator_only("reads the simulator's datastore files on this machine")
def test_a_lab_of_clones_in_dependency_chains(lab: Lab, vcsim_vpx: Simulator) -> None:
    """The shape of the held-out lab of issue 11: six clones over two port groups, in
    depends_on chains, with two pairs made at once; every output has its value."""
    _, result = lab.apply(LAB)
    assert result.ok, failures(result)
    with lab.engine(LAB) as engine:
        outputs = engine.outputs()
        assert not engine.plan().has_changes
    assert outputs.warnings == []
    assert outputs.values["api_names"] == ["api-0", "api-1"]
    assert outputs.values["api_first"] == "api-0"
    web_macs = outputs.values["web_macs"]
    assert len(web_macs) == 2 and web_macs[0] != web_macs[1]
    files = vcsim_vpx.datastore_files()
    for name in ("db", "cache", "api-0", "api-1", "web-0", "web-1"):
        assert f"LocalDS_0/{name}/{name}.vmdk" in files
