"""Plan-time checks of what guests ask of Hyper-V. Pure, but for the switch list.

What Hyper-V cannot hold is refused at its field: images, clones, nodes, autostart,
pools, volumes, disk formats, buses and slots, managed networks, bridges, NIC models,
per-NIC addresses, VLANs, firewalls and port forwards, more disks than the
controller's places (3 on generation 1's IDE, 63 on generation 2's SCSI), more than
8 NICs, disk sizes that are not whole MiB, secure boot on generation 1, dynamic
memory bounds around a static memory or outside it, and names a script cannot
carry. Each NIC names a virtual switch (``host_network:``), which must exist on the
host: the switches come with the plan's bulk read.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.core.specs import GuestSpec, NicSpec
from provisioner.providers.hyperv import GuestOptions
from provisioner.providers.kit.refusals import GuestRefusals
from provisioner.stack.interpolate import did_you_mean

MIB = 1024 * 1024
MAX_NICS = 8
MAX_NAME = 100
UNSUPPORTED_GUEST = {
    "image": ("disks from images are not made by the hyperv provider yet",
              "leave image: out; boot an installer ISO or a seed instead"),
    "clone": ("clones are not made by the hyperv provider yet", "leave clone: out"),
    "node": ("a Hyper-V host is one node", "leave node: out"),
    "autostart": ("is not managed by the hyperv provider yet (AutomaticStartAction)",
                  "leave autostart: out"),
}
UNSUPPORTED_DISK = {"pool": "disks live in the VM's folder (the block's path)",
                    "image": "disks from images are not made yet",
                    "volume": "volumes are not managed on Hyper-V",
                    "format": "disks are dynamically expanding VHDX",
                    "bus": "disks are on SCSI (generation 2) or IDE (generation 1)",
                    "slot": "disk N is at the controller's place N"}
UNSUPPORTED_NIC = {"network": "name a Hyper-V virtual switch with host_network:",
                   "bridge": "name a Hyper-V virtual switch with host_network: (an "
                             "external switch bridges to a host NIC)",
                   "model": "Hyper-V adapters are synthetic",
                   "ip": "set addresses with cloud-init network_config",
                   "vlan": "VLAN tags are not set by the hyperv provider yet",
                   "firewall": "no NIC firewall",
                   "forwards": "Hyper-V switches forward no ports (use a NAT switch's "
                               "Add-NetNatStaticMapping by hand)"}

Refuse = Callable[[str, str, str], None]


def unsupported(resource: Resource) -> list[Problem]:
    """What no Hyper-V host can hold (no lookups): create refuses these too."""
    guest = GuestSpec.of(resource.spec)
    options = guest.options_as(GuestOptions)
    found = GuestRefusals(resource, "hyperv")
    found.unserved(guest, UNSUPPORTED_GUEST, UNSUPPORTED_DISK, UNSUPPORTED_NIC)
    found.unread_addresses("its integration services")
    refuse = found.refuse
    if any(ord(c) < 32 or ord(c) == 127 for c in resource.name) or len(resource.name) > MAX_NAME:
        refuse("name", f"a Hyper-V VM name has at most {MAX_NAME} characters and no "
               "control characters", "rename the guest")
    _disks(guest, options, refuse)
    if len(guest.networks) > MAX_NICS:
        refuse("networks", f"at most {MAX_NICS} network adapters", "")
    for index, nic in enumerate(guest.networks):
        _nic(index, nic, refuse)
    _options(guest, options, refuse)
    return found.found


def _disks(guest: GuestSpec, options: GuestOptions, refuse: Refuse) -> None:
    places = 3 if options.generation == 1 else 63
    if len(guest.disks) > places:
        refuse("disks", f"at most {places} disks on a generation {options.generation} VM",
               "")
    for index, disk in enumerate(guest.disks):
        if disk.size is None and disk.volume is None:
            refuse(f"disks[{index}].size", "a Hyper-V disk needs a size", "give size: 10GiB")
        elif disk.size is not None and disk.size % MIB:
            refuse(f"disks[{index}].size", "VHDX sizes are whole MiB", "round it to MiB")


def _nic(index: int, nic: NicSpec, refuse: Refuse) -> None:
    path = f"networks[{index}]"
    if nic.host_network is None and nic.network is None and nic.bridge is None:
        refuse(f"{path}.host_network", "each NIC names a Hyper-V virtual switch",
               "write host_network: SWITCH (see Get-VMSwitch)")


def _options(guest: GuestSpec, options: GuestOptions, refuse: Refuse) -> None:
    if options.generation == 1 and options.secure_boot != "off":
        refuse("options.secure_boot", "generation 1 VMs have no UEFI secure boot",
               "use generation: 2, or secure_boot: off")
    for key in ("memory_minimum", "memory_maximum"):
        size = getattr(options, key)
        if size is None:
            continue
        if not options.dynamic_memory:
            refuse(f"options.{key}", "applies to dynamic memory only",
                   "set options.dynamic_memory: true, or drop it")
        elif size % (2 * MIB):
            refuse(f"options.{key}", "Hyper-V sets memory in multiples of 2 MiB", "round it")
    low, high = options.memory_minimum, options.memory_maximum
    if options.dynamic_memory and low is not None and low > guest.memory:
        refuse("options.memory_minimum", "is above memory (the startup size)", "lower it")
    if options.dynamic_memory and high is not None and high < guest.memory:
        refuse("options.memory_maximum", "is below memory (the startup size)", "raise it")


def plan_checks(resources: Sequence[Resource], switches: Collection[str]) -> list[Problem]:
    problems: list[Problem] = []
    for resource in resources:
        problems += unsupported(resource)
        for index, nic in enumerate(GuestSpec.of(resource.spec).networks):
            if nic.host_network is not None and nic.host_network not in switches:
                problems.append(Problem(
                    f"'{nic.host_network}': no such virtual switch on the Hyper-V host",
                    resource.address, f"networks[{index}].host_network",
                    hint=did_you_mean(nic.host_network, sorted(switches)) or
                    "see Get-VMSwitch; make one with New-VMSwitch"))
    return problems
