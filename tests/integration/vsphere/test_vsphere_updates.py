"""Updates of every kind of field, each followed by a plan that shows no changes:
NICs (port group, MAC, model, add, remove), disks (add at a slot, remove), moves
(folder, resource pool, host), guest OS and notes (the ownership tag survives)."""

from __future__ import annotations

from typing import Any

import pytest
from support.vcsim import Simulator
from vsphere_lab import Lab, boot_time, failures, field_changes

GUEST = """
guests:
  app:
    provider: vc
    memory: 256MiB
    {node}
    disks: {disks}
    networks: {networks}
    options: {options}
"""


def _body(disks: str = "[ { size: 1GiB } ]",
          networks: str = "[ { host_network: VM Network } ]", options: str = "{}",
          node: str = "") -> str:
    return GUEST.format(disks=disks, networks=networks, options=options, node=node)


def _apply(lab: Lab, body: str, expected: dict[str, list[tuple[str, str]]]) -> None:
    assert field_changes(lab.plan(body)) == expected
    _, result = lab.apply(body)
    assert result.ok, failures(result)
    plan = lab.plan(body)
    assert not plan.has_changes, [(str(c.address), c.fields) for c in plan.changes]


def _nics(vm: Any) -> list[tuple[str, str, str]]:
    return [(type(d).__name__.rsplit(".", 1)[-1], d.deviceInfo.summary, d.addressType)
            for d in sorted(vm.config.hardware.device, key=lambda d: d.key)
            if hasattr(d, "macAddress")]


def test_nics_change_in_place_or_with_a_restart(lab: Lab, vcsim: Simulator) -> None:
    _, result = lab.apply(_body())
    assert result.ok, failures(result)
    other = "DC0_DVPG0" if vcsim.model == "vpx" else "VM Network"
    two = f"[ {{ host_network: VM Network }}, {{ host_network: {other} }} ]"
    _apply(lab, _body(networks=two), {"guests.app": [("networks[1]", "in place")]})
    assert len(_nics(vcsim.vm("app"))) == 2

    booted = boot_time(vcsim, "app")
    manual = (f'[ {{ host_network: VM Network, mac: "00:50:56:00:00:42", model: e1000e }}, '
              f"{{ host_network: {other} }} ]")
    _apply(lab, _body(networks=manual), {"guests.app": [
        ("networks[0].mac", "requires restart"), ("networks[0].model", "requires restart")]})
    assert boot_time(vcsim, "app") != booted
    nics = _nics(vcsim.vm("app"))
    assert sorted(n[0] for n in nics) == ["VirtualE1000e", "VirtualVmxnet3"]
    assert "00:50:56:00:00:42" in {d.macAddress for d in vcsim.vm("app").config.hardware.device
                                   if hasattr(d, "macAddress")}

    moved = [("networks[0].host_network", "in place")] if other != "VM Network" else []
    booted = boot_time(vcsim, "app")
    # mac and model dropped from the declaration: the NIC keeps them, so no change is shown
    _apply(lab, _body(networks=f"[ {{ host_network: {other} }} ]"),
           {"guests.app": [*moved, ("networks[1]", "in place")]})
    assert boot_time(vcsim, "app") == booted, "no longer managing a MAC restarted the guest"
    assert len(_nics(vcsim.vm("app"))) == 1


@pytest.mark.simulator_only("reads the simulator's datastore files on this machine")
def test_disks_are_added_at_a_slot_and_removed(lab: Lab, vcsim: Simulator) -> None:
    _, result = lab.apply(_body())
    assert result.ok, failures(result)
    three = '[ { size: 1GiB }, { size: 2GiB, pool: LocalDS_1, slot: "scsi1:3" }, { size: 3GiB } ]'
    _apply(lab, _body(disks=three), {"guests.app": [("disks[1]", "in place"),
                                                   ("disks[2]", "in place")]})
    disks = sorted((d.capacityInBytes, d.unitNumber, d.backing.fileName.split("]")[0] + "]")
                   for d in vcsim.vm("app").config.hardware.device
                   if type(d).__name__.endswith("VirtualDisk"))
    assert disks == [(1 << 30, 0, "[LocalDS_0]"), (2 << 30, 3, "[LocalDS_1]"),
                     (3 << 30, 4, "[LocalDS_0]")]  # after the previous disk: scsi1:4
    files = vcsim.datastore_files()
    _apply(lab, _body(), {"guests.app": [("disks[1]", "in place"), ("disks[2]", "in place")]})
    assert len(vcsim.datastore_files()) == len(files) - 2  # removed with their files


def test_moves_guest_os_and_notes(lab: Lab, vcsim_vpx: Simulator) -> None:
    _, result = lab.apply(_body(options="{ notes: first }"))
    assert result.ok, failures(result)
    host = next(h for h in vcsim_vpx.hosts if h != vcsim_vpx.vm("app").runtime.host.name)
    moved = "{ notes: second, folder: lab/web, resource_pool: lab, guest_id: debian10_64Guest }"
    _apply(lab, _body(options=moved, node=f"node: {host}"), {"guests.app": [
        ("node", "in place"), ("options.guest_id", "requires restart"),
        ("options.notes", "in place"), ("options.folder", "in place"),
        ("options.resource_pool", "in place")]})
    vm = vcsim_vpx.vm("app")
    assert (vm.parent.name, vm.resourcePool.name, vm.runtime.host.name) == ("web", "lab", host)
    assert (vm.config.annotation, vm.config.guestId) == ("second", "debian10_64Guest")


def test_notes_on_esxi_keep_the_ownership_line(lab: Lab, vcsim_esx: Simulator) -> None:
    _, result = lab.apply(_body(options="{ notes: first }"))
    assert result.ok, failures(result)
    _apply(lab, _body(options='{ notes: "second\\nline" }'),
           {"guests.app": [("options.notes", "in place")]})
    annotation = vcsim_esx.vm("app").config.annotation
    assert annotation.startswith("second\nline\n\nprovisioner:v1 {")


def test_removed_guest_os_and_cores_go_back_to_their_defaults(lab: Lab,
                                                              vcsim: Simulator) -> None:
    # The plan said "-> null  # requires restart"; the guest was restarted and kept
    # both values, so the restart was for nothing and the plan was not what happened.
    set_ = "{ guest_id: debian10_64Guest, cores_per_socket: 2 }"
    _, result = lab.apply(_body(options=set_).replace("memory: 256MiB",
                                                      "memory: 256MiB\n    cpus: 2"))
    assert result.ok, failures(result)
    vm = vcsim.vm("app")
    assert (vm.config.guestId, vm.config.hardware.numCoresPerSocket) == ("debian10_64Guest", 2)
    _apply(lab, _body().replace("memory: 256MiB", "memory: 256MiB\n    cpus: 2"), {
        "guests.app": [("options.cores_per_socket", "requires restart"),
                       ("options.guest_id", "requires restart")]})
    vm = vcsim.vm("app")
    assert (vm.config.guestId, vm.config.hardware.numCoresPerSocket) == ("otherLinux64Guest", 1)
