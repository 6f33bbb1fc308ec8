"""Plan-time checks of vSphere guests against the last bulk read. Pure.

Every problem starts with the guest's address and says what exists instead,
so a typo in a datastore, port group, template, folder, cluster or host is
reported by ``plan`` with the right names, before anything changes. Fields
vSphere cannot honour (``image:``, ``autostart:``, VLAN tags on a NIC, ...)
are refused here too, with the vSphere way of doing it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.core.address import Kind
from provisioner.core.resources import Resource
from provisioner.providers.vsphere import VsphereConfig, devices, guestinfo
from provisioner.providers.vsphere.facts import Facts, VmRecord
from provisioner.providers.vsphere.locations import Locator, UnknownNameError
from provisioner.units import Bytes

MAX_NAME = 80
MEMORY_STEP = 4 * 1024 * 1024
MAC_LOW, MAC_HIGH = 0x005056000000, 0x0050563FFFFF
_UNSUPPORTED = {
    "image": "vSphere has no base images: clone the guest from a template with `clone:`",
}
_UNSUPPORTED_DISK = {
    "image": "a disk cannot start from an image here: clone a template that has the disk",
    "volume": "the vSphere provider serves no volumes: declare the disk with `size:`",
    "format": "vSphere disks are VMDKs: choose thin or thick with options.disk_provisioning",
}
_UNSUPPORTED_NIC = {
    "network": "the vSphere provider serves no networks: use `host_network:` with a port group",
    "bridge": "vSphere NICs attach to port groups: use `host_network:`",
    "ip": "vSphere cannot reserve addresses: set them with cloud_init.network_config",
    "vlan": "the VLAN is a setting of the port group: pick a port group on that VLAN",
    "firewall": "vSphere has no per-NIC firewall",
}


def plan_checks(resources: Sequence[Resource], settings: VsphereConfig, facts: Facts,
                vcenter: bool) -> list[str]:
    problems: list[str] = []
    locator = Locator(settings, facts)
    for resource in resources:
        if resource.kind is Kind.GUEST:
            found = guest_problems(resource, locator, vcenter)
            problems += [f"{resource.address}: {problem}" for problem in found]
    return problems


def guest_problems(resource: Resource, locator: Locator, vcenter: bool) -> list[str]:
    spec = resource.spec
    problems = _unsupported(spec) + _values(resource.name, spec)
    if not vcenter:
        problems += _esxi_only(spec, locator.settings)
    try:
        location = locator.locate(spec)
    except UnknownNameError as exc:
        return [*problems, str(exc)]
    for index, disk in enumerate(spec.get("disks") or []):
        if disk.get("pool"):
            problems += _lookup(lambda p=disk["pool"]: locator.datastore(location.compute, p),
                                f"disks[{index}].pool: ")
    for index, nic in enumerate(spec.get("networks") or []):
        if nic.get("host_network"):
            name = nic["host_network"]
            problems += _lookup(lambda n=name: locator.network(location.datacenter, n),
                                f"networks[{index}].host_network: ")
    if spec.get("clone") and vcenter:
        try:
            template = locator.template(location.datacenter, spec["clone"])
        except UnknownNameError as exc:
            problems.append(str(exc))
        else:
            problems += clone_problems(spec, template, locator.facts)
            hardware = list(template.get("config.hardware.device", []))
            problems += slot_problems(spec, [d.slot for d in devices.disks(hardware)])
    else:
        problems += slot_problems(spec, [])
    if not spec.get("clone") and any(not disk.get("size") for disk in spec.get("disks") or []):
        problems.append("every disk needs `size:` (only a clone's disks can leave it to the "
                        "template)")
    return problems


def _esxi_only(spec: Mapping[str, Any], settings: VsphereConfig) -> list[str]:
    """What a standalone ESXi host cannot do, though the simulator's ESXi model can."""
    problems = []
    if spec.get("clone"):
        problems.append("`clone:` needs a vCenter: a standalone ESXi host cannot clone VMs "
                        "(create the guest empty, or connect the provider to the vCenter)")
    if (spec.get("options") or {}).get("folder") or settings.folder:
        problems.append("a standalone ESXi host has no VM folders: drop `folder:`")
    return problems


def _lookup(lookup: Any, prefix: str) -> list[str]:
    try:
        lookup()
    except UnknownNameError as exc:
        return [prefix + str(exc)]
    return []


def _unsupported(spec: Mapping[str, Any]) -> list[str]:
    problems = [f"`{key}:` is not supported: {why}" for key, why in _UNSUPPORTED.items()
                if spec.get(key) is not None]
    if spec.get("autostart"):
        problems.append("`autostart:` is not supported: vSphere HA restarts guests in a "
                        "cluster; on a host, set the VM startup policy in the vSphere client")
    for index, disk in enumerate(spec.get("disks") or []):
        problems += [f"disks[{index}].{key} is not supported: {why}"
                     for key, why in _UNSUPPORTED_DISK.items() if disk.get(key) is not None]
        if disk.get("bus") not in (None, "scsi"):
            problems.append(f"disks[{index}].bus {disk['bus']} is not supported: the vSphere "
                            "provider adds disks on SCSI controllers")
        slot = devices.parse_slot(disk["slot"]) if disk.get("slot") else None
        if disk.get("slot") and (slot is None or slot.kind != "scsi" or slot.bus > 3
                                 or slot.unit not in devices.SCSI_UNITS):
            problems.append(f"disks[{index}].slot '{disk['slot']}' is not a SCSI slot: "
                            "scsiB:U with bus B 0-3 and unit U 0-15 except 7")
    for index, nic in enumerate(spec.get("networks") or []):
        problems += [f"networks[{index}].{key} is not supported: {why}"
                     for key, why in _UNSUPPORTED_NIC.items() if nic.get(key) is not None]
        if nic.get("model") not in (None, *devices.NIC_MODELS):
            problems.append(f"networks[{index}].model '{nic['model']}' is not one vSphere "
                            f"offers here ({', '.join(devices.NIC_MODELS)})")
    return problems


def _values(name: str, spec: Mapping[str, Any]) -> list[str]:
    problems = []
    if len(name) > MAX_NAME:
        problems.append(f"the VM name is {len(name)} characters long; vSphere allows {MAX_NAME}")
    memory = int(spec.get("memory") or 0)
    if memory % MEMORY_STEP:
        problems.append(f"memory {Bytes(memory)!r} is not a multiple of 4MiB, as vSphere needs")
    cores = (spec.get("options") or {}).get("cores_per_socket")
    if cores and int(spec.get("cpus") or 1) % cores:
        problems.append(f"cpus {spec.get('cpus')} is not a multiple of "
                        f"options.cores_per_socket {cores}")
    for index, disk in enumerate(spec.get("disks") or []):
        if disk.get("size") and int(disk["size"]) % 1024:
            problems.append(f"disks[{index}].size is not a whole number of KiB")
    for index, nic in enumerate(spec.get("networks") or []):
        mac = nic.get("mac")
        if mac and not MAC_LOW <= int(mac.replace(":", ""), 16) <= MAC_HIGH:
            problems.append(f"networks[{index}].mac {mac} is outside the range vSphere allows "
                            "for static MACs (00:50:56:00:00:00 to 00:50:56:3f:ff:ff)")
    try:
        guestinfo.metadata(name, spec.get("cloud_init") or {})
    except ValueError as exc:
        problems.append(str(exc))
    return problems


def slot_problems(spec: Mapping[str, Any], inherited: Sequence[devices.Slot]) -> list[str]:
    """Disks are read back in slot order, so declared slots must follow each other:
    the first disks sit at the template's slots, a disk without `slot:` goes to the
    slot after the previous disk's."""
    last = inherited[-1] if inherited else None
    problems = []
    for index, disk in enumerate(spec.get("disks") or []):
        if index < len(inherited):
            continue
        slot = devices.parse_slot(disk["slot"]) if disk.get("slot") else devices.next_slot(last)
        if slot is None:
            problems.append(f"disks[{index}]: no SCSI slot is left after the previous disk's")
            break
        if last is not None and (slot.bus, slot.unit) <= (last.bus, last.unit):
            problems.append(f"disks[{index}].slot {slot} does not come after the previous "
                            f"disk's ({last}): list disks in slot order")
        last = slot
    return problems


def clone_problems(spec: Mapping[str, Any], template: VmRecord, facts: Facts) -> list[str]:
    """A clone starts with the template's disks and NICs: the stack declares them first."""
    hardware = list(template.get("config.hardware.device", []))
    theirs, declared = devices.disks(hardware), list(spec.get("disks") or [])
    problems = []
    if len(declared) < len(theirs):
        sizes = ", ".join(f"{{size: {Bytes(d.size)!r}}}" for d in theirs)
        problems.append(f"template '{template.name}' has {len(theirs)} disk(s): declare them "
                        f"first in `disks:` ({sizes}), then any disks to add")
    for index, (disk, mine) in enumerate(zip(theirs, declared, strict=False)):
        if mine.get("size") and int(mine["size"]) < disk.size:
            problems.append(f"disks[{index}].size {Bytes(int(mine['size']))!r} is smaller than "
                            f"the template's disk ({Bytes(disk.size)!r}): disks can only grow")
    nics, wanted = devices.nics(hardware), list(spec.get("networks") or [])
    if len(wanted) < len(nics):
        names = ", ".join(f"{{host_network: {devices.network_name(n, facts)}}}" for n in nics)
        problems.append(f"template '{template.name}' has {len(nics)} NIC(s): declare them first "
                        f"in `networks:` ({names}), then any NICs to add")
    return problems

