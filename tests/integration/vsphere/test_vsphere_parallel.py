"""20 guests at once, through the engine with parallelism 20, on both simulators:
unique names, every one complete and tagged, a clean re-plan, a parallel destroy."""

from __future__ import annotations

import collections
import time

from support.vcsim import Simulator
from vsphere_lab import Lab, failures

from provisioner.plan.model import Action

FLEET = """
guests:
  fleet:
    provider: vc
    count: 20
    {clone}
    cpus: 1
    memory: 64MiB
    disks: [ {{ size: 2GiB }}, {{ size: 1GiB }} ]
    networks: [ {{ host_network: VM Network }} ]
    cloud_init: {{ user_data: "#cloud-config\\nhostname: ${{count.index}}\\n" }}
    options: {{ notes: "fleet ${{count.index}}" }}
"""


def test_twenty_guests_in_parallel(lab: Lab, vcsim: Simulator) -> None:
    fleet = FLEET.format(clone="clone: debian-12" if vcsim.model == "vpx" else "")
    started = time.perf_counter()
    # the simulator's hosts have 2 CPUs each: allow 16 vCPUs per CPU for this lab
    settings = {"max_parallel": 20, "capacity": {"cpu_overcommit": 16}}
    plan, result = lab.apply(fleet, parallelism=20, **settings)
    elapsed = time.perf_counter() - started
    assert sum(1 for c in plan.changes if c.action is Action.CREATE) == 20
    assert result.ok, failures(result)
    names = collections.Counter(vm.name for vm in vcsim.vms() if vm.name.startswith("fleet-"))
    assert sorted(names) == sorted(f"fleet-{i}" for i in range(20))
    assert set(names.values()) == {1}, names
    for vm in vcsim.vms():
        if vm.name.startswith("fleet-"):
            assert vm.runtime.powerState == "poweredOn"
            disks = [d for d in vm.config.hardware.device if hasattr(d, "capacityInBytes")
                     and type(d).__name__.endswith("VirtualDisk")]
            assert len(disks) == 2
            marks = [o.value for o in vm.config.extraConfig if o.key == "provisioner.creating"]
            assert marks[-1:] == [""], "the create-in-progress marker was not cleared"
    assert not lab.plan(fleet, **settings).has_changes
    assert elapsed < 60

    result = lab.destroy(fleet, **settings)
    assert result.ok, failures(result)
    assert not [vm for vm in vcsim.vms() if vm.name.startswith("fleet-")]
