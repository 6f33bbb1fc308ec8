"""Bad input is a plan-time error that says what exists, before anything changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.vcsim import TEMPLATE, Simulator
from vsphere_lab import Lab, actions, failures

from provisioner.errors import PlanError, StackError
from provisioner.plan.model import Action

GUEST = """
guests:
  app:
    provider: vc
    memory: 256MiB
    {extra}
"""


def _refusal(lab: Lab, extra: str, **settings: object) -> str:
    vms = lab.simulator.vm_names()
    with pytest.raises(PlanError) as refused:
        lab.plan(GUEST.format(extra=extra), **settings)
    assert lab.simulator.vm_names() == vms
    return str(refused.value)


@pytest.mark.simulator_only("asserts the simulator's datastores (LocalDS_0, LocalDS_1)")
def test_unknown_datastore_lists_the_datastores(lab: Lab, vcsim: Simulator) -> None:
    message = _refusal(lab, "disks: [ { size: 1GiB, pool: ssd } ]")
    compute = vcsim.cluster or "localhost.localdomain"
    assert (f"guests.app: disks[0].pool datastore 'ssd' is not available on {compute} "
            "(datastores: LocalDS_0, LocalDS_1)") in message


@pytest.mark.simulator_only("asserts the simulator's port groups")
def test_unknown_port_group_lists_the_port_groups(lab: Lab, vcsim: Simulator) -> None:
    message = _refusal(lab, "networks: [ { host_network: DMZ } ]")
    groups = "DC0_DVPG0, DVS0-DVUplinks-9, VM Network" if vcsim.model == "vpx" else "VM Network"
    assert (f"guests.app: networks[0].host_network port group 'DMZ' does not exist in "
            f"datacenter {vcsim.datacenter} (port groups: {groups})") in message


@pytest.mark.simulator_only("asserts the simulator's datacenter DC0 and templates")
def test_unknown_template_lists_the_templates(lab: Lab, vcsim_vpx: Simulator) -> None:
    message = _refusal(lab, "clone: ubuntu-24.04")
    assert ("guests.app: clone template 'ubuntu-24.04' does not exist in datacenter DC0 "
            "(templates: debian-12)") in message


def test_a_standalone_esxi_host_cannot_clone_nor_use_folders(
    lab: Lab, vcsim_esx: Simulator
) -> None:
    """The simulator's ESXi model clones and makes folders; a real ESXi host does not."""
    message = _refusal(lab, "clone: debian-12\n    options: { folder: lab }")
    assert ("guests.app: clone needs a vCenter: a standalone ESXi host cannot clone VMs "
            "(create the guest empty, or connect the provider to the vCenter)") in message
    assert ("guests.app: options.folder cannot be used: a standalone ESXi host has no VM "
            "folders") in message


@pytest.mark.simulator_only("asserts the simulator's datacenter DC0 and folders")
def test_unknown_folder_lists_the_folders(lab: Lab, vcsim_vpx: Simulator) -> None:
    message = _refusal(lab, "options: { folder: prod }")
    assert ("guests.app: folder 'prod' does not exist in datacenter DC0 "
            "(folders: lab, lab/web)") in message


@pytest.mark.simulator_only("asserts the simulator's cluster, hosts and resource pools")
def test_unknown_resource_pool_cluster_and_host(lab: Lab, vcsim_vpx: Simulator) -> None:
    assert ("guests.app: resource pool 'gold' does not exist in DC0_C0 (pools: lab)"
            in _refusal(lab, "options: { resource_pool: gold }"))
    assert ("guests.app: cluster 'DC9' does not exist in datacenter DC0 (clusters: DC0_C0)"
            in _refusal(lab, "options: { cluster: DC9 }"))
    assert ("guests.app: host 'esx9' does not exist in datacenter DC0 (hosts: DC0_C0_H0, "
            "DC0_C0_H1, DC0_C0_H2, DC0_H0)" in _refusal(lab, "node: esx9"))
    assert ("guests.app: host 'DC0_H0' is not in cluster DC0_C0 (hosts: DC0_C0_H0, DC0_C0_H1, "
            "DC0_C0_H2)" in _refusal(lab, "node: DC0_H0"))


@pytest.mark.simulator_only("asserts the simulator's datacenters, clusters, hosts and datastores")
def test_a_provider_block_naming_nothing_that_exists(lab: Lab, vcsim_vpx: Simulator) -> None:
    message = _refusal(lab, "", datacenter="DC7")
    assert "guests.app: datacenter 'DC7' does not exist (datacenters: DC0)" in message
    message = _refusal(lab, "", cluster=None)
    assert ("guests.app: set `cluster:` or `host:` in the provider block, or `node:`: "
            "datacenter DC0 has 2 clusters and standalone hosts (clusters: DC0_C0; hosts: "
            "DC0_H0)") in message
    message = _refusal(lab, "", datastore=None)
    assert ("guests.app: set `datastore:` in the provider block: DC0_C0 has 2 (datastores: "
            "LocalDS_0, LocalDS_1)") in message


def test_what_vsphere_cannot_do_is_refused_with_its_way(lab: Lab, vcsim: Simulator) -> None:
    message = _refusal(lab, "image: debian-12\n    autostart: true\n    networks: [ "
                            "{ host_network: VM Network, vlan: 10, ip: 10.0.0.5,\n"
                            "      forwards: [{ host: 2222, guest: 22 }] } ]\n"
                            "    disks: [ { size: 1GiB, bus: virtio, format: qcow2 } ]")
    for expected in (
        "guests.app: image 'debian-12' names no image of the stack: vSphere disks start "
        "from an image declared under `images:`",
        "guests.app: autostart is not supported",
        "guests.app: networks[0].ip is not supported: vSphere cannot reserve addresses",
        "guests.app: networks[0].vlan is not supported: the VLAN is a setting of the port "
        "group",
        "guests.app: networks[0].forwards is not supported: port forwards are for QEMU's",
        "guests.app: disks[0].bus virtio is not supported",
        "guests.app: disks[0].format is not supported",
    ):
        assert expected in message


def test_values_vsphere_refuses(lab: Lab, vcsim: Simulator) -> None:
    message = _refusal(lab, "cpus: 3\n    options: { cores_per_socket: 2 }\n    networks: "
                            "[ { host_network: VM Network, mac: \"52:54:00:12:34:56\" } ]")
    assert "guests.app: cpus 3 is not a multiple of options.cores_per_socket 2" in message
    assert "guests.app: networks[0].mac 52:54:00:12:34:56 is outside the range vSphere " \
           "allows" in message


def test_memory_must_be_a_multiple_of_4mib(lab: Lab, vcsim: Simulator) -> None:
    """Refused when the stack loads, at the field's line (tests/hostile: values the
    apply would refuse), with the nearest values vSphere takes."""
    body = GUEST.replace("memory: 256MiB", "memory: 258MiB").format(extra="")
    with pytest.raises(StackError) as refused:
        lab.plan(body)
    text = str(refused.value)
    assert "guests.app.memory: 258MiB is not a whole number of 4 MiB" in text, text
    assert "write 256MiB or 260MiB" in text


def test_a_clone_declares_the_templates_disks_and_nics_first(
    lab: Lab, vcsim_vpx: Simulator
) -> None:
    message = _refusal(lab, "clone: debian-12")
    assert ("guests.app: disks must list the 1 disk(s) of template 'debian-12' first "
            "({size: 2GiB}), then any disks to add") in message
    assert ("guests.app: networks must list the 1 NIC(s) of template 'debian-12' first "
            "({host_network: VM Network}), then any NICs to add") in message
    message = _refusal(lab, "clone: debian-12\n    disks: [ { size: 1GiB } ]\n"
                            "    networks: [ { host_network: VM Network } ]")
    assert ("guests.app: disks[0].size 1GiB is smaller than the template's disk (2GiB): "
            "disks can only grow") in message


# -- fixed MACs held outside the stack (issue 11, defect 4) ------------------------------

MAC = "00:50:56:00:aa:01"
NIC = f'networks: [ {{ host_network: VM Network, mac: "{MAC}" }} ]'
TAKEN = ("guests.app: networks[0].mac {mac} is already used by VM '{name}' ({owner})\n"
         "  hint: choose another MAC, or leave mac: out to have one generated")


def _legacy(simulator: Simulator, mac: str) -> Any:
    """An untagged VM whose NIC an administrator gave a static MAC (the simulator's
    reset deletes it; its own VMs are shared by every test and stay untouched)."""
    from pyVmomi import vim

    vm = simulator.make_vm("legacy")
    nic = next(d for d in vm.config.hardware.device
               if isinstance(d, vim.vm.device.VirtualEthernetCard))
    nic.macAddress, nic.addressType = mac, "manual"
    change = vim.vm.device.VirtualDeviceSpec(operation="edit", device=nic)
    simulator.wait(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(deviceChange=[change])))
    assert _macs(simulator, "legacy") == [mac]
    return vm


@pytest.mark.simulator_only("makes the untagged VM legacy in the simulator, outside the provider")
def test_a_fixed_mac_an_untagged_vm_has_is_refused(lab: Lab, vcsim: Simulator) -> None:
    _legacy(vcsim, MAC)
    message = _refusal(lab, NIC)
    assert TAKEN.format(mac=MAC, name="legacy", owner="untagged") in message


@pytest.mark.simulator_only("uses the MACs the simulator generated for its own VMs")
def test_the_simulators_own_generated_macs_count_too(lab: Lab, vcsim: Simulator) -> None:
    holder = min((vm for vm in vcsim.vms() if vm.name != TEMPLATE), key=lambda vm: vm.name)
    (mac,) = [d.macAddress for d in holder.config.hardware.device if hasattr(d, "macAddress")]
    message = _refusal(lab, f'networks: [ {{ host_network: VM Network, mac: "{mac}" }} ]')
    assert "is outside the range vSphere allows" in message
    assert TAKEN.format(mac=mac, name=holder.name, owner="untagged") in message


@pytest.mark.simulator_only(
    "makes a second stack, other, that the lab's clean-up does not destroy")
def test_a_fixed_mac_another_stacks_vm_has_is_refused(lab: Lab, vcsim: Simulator,
                                                      tmp_path: Path) -> None:
    other = Lab(tmp_path / "other", vcsim, name="other")
    _, result = other.apply(GUEST.replace("app:", "db:").format(extra=NIC))
    assert result.ok, failures(result)
    assert _macs(vcsim, "db") == [MAC]
    message = _refusal(lab, NIC)
    assert TAKEN.format(mac=MAC, name="db", owner="stack other") in message


def test_a_guest_keeps_its_own_fixed_mac(lab: Lab, vcsim: Simulator) -> None:
    _, result = lab.apply(GUEST.format(extra=NIC))
    assert result.ok, failures(result)
    plan, result = lab.apply(GUEST.replace("256MiB", "512MiB").format(extra=NIC))
    assert actions(plan) == {"guests.app": Action.UPDATE}
    assert result.ok, failures(result)
    assert _macs(vcsim, "app") == [MAC]


@pytest.mark.simulator_only("makes the untagged VM legacy in the simulator, outside the provider")
def test_fixed_macs_are_checked_from_the_one_bulk_read(lab: Lab, vcsim: Simulator) -> None:
    _legacy(vcsim, MAC)
    with lab.engine(GUEST.format(extra=NIC.replace("aa:01", "aa:02"))) as engine:
        assert engine.plan().has_changes
        (report,) = engine.stats()
    assert report.calls == {"connect": 2, "list": 1}, report.calls


def _macs(simulator: Simulator, name: str) -> list[str]:
    return [d.macAddress for d in simulator.vm(name).config.hardware.device
            if hasattr(d, "macAddress")]
