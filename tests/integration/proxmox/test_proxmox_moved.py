"""A guest moved into a module (``moved:``) keeps its VM; deleted later from there,
the VM goes, though its marker still names the address it was made under."""

from __future__ import annotations

import pytest
from pve_harness import Lab, TestPve, failures

GUEST = """
guests:
  web: {provider: pve, clone: debian-12, node: pve1, memory: 512MiB}
"""
MODULE = """\
apiVersion: provisioner/v1
guests:
  web: {provider: pve, clone: debian-12, node: pve1, memory: 512MiB}
"""
IN_A_MODULE = """
modules:
  site: {source: modules/site, name_prefix: ""}
moved:
  - {from: guests.web, to: module.site.guests.web}
"""


@pytest.mark.simulator_only("lists the fake's VMs by name")
def test_a_moved_guest_keeps_its_vm_and_is_deleted_from_its_new_place(
        lab: Lab, pve: TestPve) -> None:
    _, result = lab.apply(GUEST)
    assert result.ok, failures(result)
    vmids = {vm.vmid for vm in pve.vms if vm.name == "web"}
    (lab.root / "modules" / "site").mkdir(parents=True)
    (lab.root / "modules" / "site" / "main.yaml").write_text(MODULE)
    plan, result = lab.apply(IN_A_MODULE)
    assert result.ok, failures(result)
    assert [(str(a), str(b)) for a, b in plan.moved] == [
        ("guests.web", "module.site.guests.web")]
    assert [c for c in plan.changes if c.action.is_change] == []
    assert {vm.vmid for vm in pve.vms if vm.name == "web"} == vmids
    plan, result = lab.apply(IN_A_MODULE.replace("moved:\n  - {from: guests.web, to: "
                                                 "module.site.guests.web}\n", ""))
    assert result.ok and not plan.has_changes, failures(result)
    plan, result = lab.apply("guests: {}\n")
    assert result.ok, failures(result)
    assert [(str(c.address), c.action.value) for c in plan.changes] == [
        ("module.site.guests.web", "delete")]
    assert [vm for vm in pve.vms if vm.name == "web"] == []
