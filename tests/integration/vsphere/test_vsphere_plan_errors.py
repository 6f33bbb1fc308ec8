"""Bad input is a plan-time error that says what exists, before anything changes."""

from __future__ import annotations

import pytest
from support.vcsim import Simulator
from vsphere_lab import Lab

from provisioner.errors import PlanError

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


def test_unknown_datastore_lists_the_datastores(lab: Lab, vcsim: Simulator) -> None:
    message = _refusal(lab, "disks: [ { size: 1GiB, pool: ssd } ]")
    compute = vcsim.cluster or "localhost.localdomain"
    assert (f"guests.app: disks[0].pool: datastore 'ssd' is not available on {compute} "
            "(datastores: LocalDS_0, LocalDS_1)") in message


def test_unknown_port_group_lists_the_port_groups(lab: Lab, vcsim: Simulator) -> None:
    message = _refusal(lab, "networks: [ { host_network: DMZ } ]")
    groups = "DC0_DVPG0, DVS0-DVUplinks-9, VM Network" if vcsim.model == "vpx" else "VM Network"
    assert (f"guests.app: networks[0].host_network: port group 'DMZ' does not exist in "
            f"datacenter {vcsim.datacenter} (port groups: {groups})") in message


def test_unknown_template_lists_the_templates(lab: Lab, vcsim_vpx: Simulator) -> None:
    message = _refusal(lab, "clone: ubuntu-24.04")
    assert ("guests.app: template 'ubuntu-24.04' does not exist in datacenter DC0 "
            "(templates: debian-12)") in message


def test_a_standalone_esxi_host_cannot_clone_nor_use_folders(
    lab: Lab, vcsim_esx: Simulator
) -> None:
    """The simulator's ESXi model clones and makes folders; a real ESXi host does not."""
    message = _refusal(lab, "clone: debian-12\n    options: { folder: lab }")
    assert ("guests.app: `clone:` needs a vCenter: a standalone ESXi host cannot clone VMs "
            "(create the guest empty, or connect the provider to the vCenter)") in message
    assert "guests.app: a standalone ESXi host has no VM folders: drop `folder:`" in message


def test_unknown_folder_lists_the_folders(lab: Lab, vcsim_vpx: Simulator) -> None:
    message = _refusal(lab, "options: { folder: prod }")
    assert ("guests.app: folder 'prod' does not exist in datacenter DC0 "
            "(folders: lab, lab/web)") in message


def test_unknown_resource_pool_cluster_and_host(lab: Lab, vcsim_vpx: Simulator) -> None:
    assert ("guests.app: resource pool 'gold' does not exist in DC0_C0 (pools: lab)"
            in _refusal(lab, "options: { resource_pool: gold }"))
    assert ("guests.app: cluster 'DC9' does not exist in datacenter DC0 (clusters: DC0_C0)"
            in _refusal(lab, "options: { cluster: DC9 }"))
    assert ("guests.app: host 'esx9' does not exist in datacenter DC0 (hosts: DC0_C0_H0, "
            "DC0_C0_H1, DC0_C0_H2, DC0_H0)" in _refusal(lab, "node: esx9"))
    assert ("guests.app: host 'DC0_H0' is not in cluster DC0_C0 (hosts: DC0_C0_H0, DC0_C0_H1, "
            "DC0_C0_H2)" in _refusal(lab, "node: DC0_H0"))


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
                            "{ host_network: VM Network, vlan: 10, ip: 10.0.0.5 } ]\n"
                            "    disks: [ { size: 1GiB, bus: virtio, format: qcow2 } ]")
    for expected in (
        "guests.app: `image:` is not supported: vSphere has no base images: clone the guest "
        "from a template with `clone:`",
        "guests.app: `autostart:` is not supported",
        "guests.app: networks[0].ip is not supported: vSphere cannot reserve addresses",
        "guests.app: networks[0].vlan is not supported: the VLAN is a setting of the port "
        "group",
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
    body = GUEST.replace("memory: 256MiB", "memory: 258MiB").format(extra="")
    with pytest.raises(PlanError) as refused:
        lab.plan(body)
    assert "guests.app: memory 258MiB is not a multiple of 4MiB, as vSphere needs" in \
        str(refused.value)


def test_a_clone_declares_the_templates_disks_and_nics_first(
    lab: Lab, vcsim_vpx: Simulator
) -> None:
    message = _refusal(lab, "clone: debian-12")
    assert ("guests.app: template 'debian-12' has 1 disk(s): declare them first in `disks:` "
            "({size: 2GiB}), then any disks to add") in message
    assert ("guests.app: template 'debian-12' has 1 NIC(s): declare them first in "
            "`networks:` ({host_network: VM Network}), then any NICs to add") in message
    message = _refusal(lab, "clone: debian-12\n    disks: [ { size: 1GiB } ]\n"
                            "    networks: [ { host_network: VM Network } ]")
    assert ("guests.app: disks[0].size 1GiB is smaller than the template's disk (2GiB): "
            "disks can only grow") in message
