"""Plan-time checks of what guests ask of VMware desktop products. Pure.

Refused at its field: what the provider does not make (images, clones, nodes,
pools, volumes, disk formats, buses, slots, per-NIC addresses, VLANs, firewalls,
port forwards, bridges by interface name, autostart, wait_for), memory that is
not a whole 4 MiB (VMware's ``memsize`` rule; the loader checks it), disk sizes
not in whole MiB, a ``host_network`` that is not one of ``nics.py``'s forms, a
NIC model VMware does not emulate, a fixed MAC outside VMware's static range,
too many NICs or disks, a guest name that cannot be a folder, and, with
``qemu-img`` as the disk tool, growing a disk (qemu-img cannot resize a vmdk).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from provisioner.core.problems import Problem
from provisioner.core.resources import LiveObject, Resource
from provisioner.core.specs import GuestSpec, NicSpec
from provisioner.providers.kit.refusals import GuestRefusals
from provisioner.providers.vmware_desktop import GuestOptions
from provisioner.providers.vmware_desktop.nics import (
    HOST_NETWORK_FORMS,
    MAX_NICS,
    MODELS,
    STATIC_MAC,
    valid_host_network,
)
from provisioner.providers.vmware_desktop.read import MIB

MAX_DISKS = {"scsi": 15, "sata": 30}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
UNSUPPORTED_GUEST = {
    "image": ("disks from images are not made by the vmware-desktop provider yet",
              "leave image: out; boot an installer, or copy a vmdk in place"),
    "clone": ("clones are not made by the vmware-desktop provider yet (vmrun clone; "
              "VMware Player has none)", "leave clone: out"),
    "node": ("a VMware desktop host is one node", "leave node: out"),
    "autostart": ("VMware Workstation starts only shared VMs at boot; vmrun cannot set it",
                  "leave autostart: out"),
}
UNSUPPORTED_DISK = {"pool": "disks live in the VM's folder (the block's basefolder)",
                    "image": "disks from images are not made yet",
                    "volume": "volumes are not managed here",
                    "format": "disks are vmdk", "bus": "set options.disk_bus for every disk",
                    "slot": "disk N is at unit N of the controller"}
UNSUPPORTED_NIC = {"network": f"VMware networks are named with host_network: "
                              f"({HOST_NETWORK_FORMS})",
                   "ip": "set addresses with cloud-init network_config",
                   "vlan": "VMware desktop NICs carry no VLAN tag",
                   "firewall": "no NIC firewall", "bridge": "write host_network: bridged "
                   "(the host interface is chosen in the Virtual Network Editor)"}

def unsupported(resource: Resource) -> list[Problem]:
    """What no VMware desktop host can hold (no lookups): create refuses these too."""
    guest = GuestSpec.of(resource.spec)
    found = GuestRefusals(resource, "vmware-desktop")
    found.unserved(guest, UNSUPPORTED_GUEST, UNSUPPORTED_DISK, UNSUPPORTED_NIC)
    found.unread_addresses("VMware Tools")
    refuse = found.refuse
    if not NAME.match(resource.name):
        refuse("", f"'{resource.name}' cannot name a VM folder", "use letters, digits, "
               "'.', '_' and '-' (at most 80)")
    if guest.power not in ("running", "stopped"):
        refuse("power", f"'{guest.power}' is not a power state vmrun keeps",
               "use running or stopped")
    bus = guest.options_as(GuestOptions).disk_bus
    if len(guest.disks) > MAX_DISKS[bus]:
        refuse("disks", f"at most {MAX_DISKS[bus]} disks on {bus}", "")
    for index, disk in enumerate(guest.disks):
        if disk.size is not None and disk.size % MIB:
            refuse(f"disks[{index}].size", "VMware sizes disks in whole MiB", "round it to MiB")
    if len(guest.networks) > MAX_NICS:
        refuse("networks", f"at most {MAX_NICS} NICs", "")
    for index, nic in enumerate(guest.networks):
        _nic(f"networks[{index}]", nic, refuse)
    return found.found


def _nic(path: str, nic: NicSpec, refuse: Callable[[str, str, str], None]) -> None:
    if nic.forwards:
        refuse(f"{path}.forwards", "port forwards are set in VMware's NAT settings, not per "
               "VM", "reach the guest at its address, or edit vmnet8's NAT configuration")
    if nic.host_network is not None and not valid_host_network(nic.host_network):
        refuse(f"{path}.host_network", f"'{nic.host_network}' is not a VMware network",
               f"write {HOST_NETWORK_FORMS}")
    if nic.model is not None and nic.model not in MODELS:
        refuse(f"{path}.model", f"'{nic.model}' is not a VMware NIC model",
               "use one of " + ", ".join(MODELS))
    if nic.mac and not STATIC_MAC.match(nic.mac):
        refuse(f"{path}.mac", f"{nic.mac} is outside VMware's static MAC range",
               "use 00:50:56:00:00:00 to 00:50:56:3f:ff:ff, or leave mac: out")


def no_growing(resource: Resource, live: LiveObject | None) -> list[Problem]:
    """With qemu-img as the disk tool: a disk larger than the live one is refused."""
    if live is None:
        return []
    have = live.spec.get("disks") or []
    problems = []
    for index, disk in enumerate(GuestSpec.of(resource.spec).disks):
        size = have[index].get("size") if index < len(have) else None
        if disk.size is not None and size and disk.size > size:
            problems.append(Problem(
                "qemu-img cannot grow a vmdk disk", resource.address, f"disks[{index}].size",
                hint="set disk_tool: vmware-vdiskmanager in the provider block, or add a "
                     "new disk instead"))
    return problems


def plan_checks(resources: Sequence[Resource], live: Mapping[str, LiveObject],
                grows: bool) -> list[Problem]:
    """Every guest's refusals; without ``grows``, also a disk grown on a guest of
    ``live`` (by name)."""
    problems: list[Problem] = []
    for resource in resources:
        problems += unsupported(resource)
        if not grows:
            problems += no_growing(resource, live.get(resource.name))
    return problems
