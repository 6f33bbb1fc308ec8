"""Plan-time checks of vSphere guests against the last bulk read. Pure.

Every problem names the guest and, where one is at fault, the field (so the plan
shows it at the line that declares it), and says what exists instead,
so a typo in a datastore, port group, template, folder, cluster or host is
reported by ``plan`` with the right names, before anything changes. Fields
vSphere cannot honour (an ``image:`` the stack does not declare, ``autostart:``,
VLAN tags on a NIC, ...) are refused here too, with the vSphere way of doing it.
Images: their datastore exists, their format is one the provider imports, and
a disk is not smaller than the image it starts from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from provisioner.core.address import Kind
from provisioner.core.problems import Problem
from provisioner.core.resources import Resource
from provisioner.core.specs import GuestSpec
from provisioner.providers.kit.images import declared_images, image_problems
from provisioner.providers.vsphere import GuestOptions, VsphereConfig, devices, guestinfo
from provisioner.providers.vsphere.facts import Facts, VmRecord
from provisioner.providers.vsphere.locations import Locator, UnknownNameError
from provisioner.units import Bytes

MAX_NAME = 80
MEMORY_STEP = 4 * 1024 * 1024
MAC_LOW, MAC_HIGH = 0x005056000000, 0x0050563FFFFF
Finding = tuple[str, str]
"""(the field at fault, or "" for the guest as a whole; what is wrong)."""
IMAGE_FORMATS = ("vmdk", "ova")
"""What the provider imports (a qcow2 or raw image is converted first: qemu-img convert -O
vmdk)."""
_NOT_DECLARED = ("names no image of the stack: vSphere disks start from an image declared "
                 "under `images:` (a vmdk), or clone a template with `clone:`")
_UNSUPPORTED_DISK = {
    "volume": "the vSphere provider serves no volumes: declare the disk with `size:`",
    "format": "vSphere disks are VMDKs: choose thin or thick with options.disk_provisioning",
}
_UNSUPPORTED_NIC = {
    "network": "the vSphere provider serves no networks: use `host_network:` with a port group",
    "bridge": "vSphere NICs attach to port groups: use `host_network:`",
    "ip": "vSphere cannot reserve addresses: set them with cloud_init.network_config",
    "vlan": "the VLAN is a setting of the port group: pick a port group on that VLAN",
    "firewall": "vSphere has no per-NIC firewall",
    "forwards": "port forwards are for QEMU's user-mode networks (qemu provider)",
}


def plan_checks(resources: Sequence[Resource], settings: VsphereConfig, facts: Facts,
                vcenter: bool) -> list[Problem]:
    locator = Locator(settings, facts)
    found = [Problem(summary, resource.address, path)
             for resource in resources if resource.kind is Kind.GUEST
             for path, summary in guest_problems(resource, locator, vcenter)]
    found += [Problem(summary, resource.address, path)
              for resource in resources if resource.kind is Kind.IMAGE
              for path, summary in image_location_problems(resource, locator, vcenter)]
    return found + image_problems(resources, IMAGE_FORMATS, "vsphere")


def image_location_problems(resource: Resource, locator: Locator,
                            vcenter: bool) -> list[Finding]:
    """The datastore an image goes to exists on the block's cluster or host; an OVA
    needs a vCenter (it becomes a template)."""
    settings = locator.settings
    pool = resource.spec.get("pool")
    if resource.spec.get("format") == "ova" and not vcenter:
        return [("format", "ova needs a vCenter: a standalone ESXi host has no templates "
                           "(use a vmdk image)")]
    try:
        datacenter = locator.datacenter()
        compute = locator.compute(datacenter, settings.cluster,
                                  locator.host(datacenter, settings.host))
        locator.datastore(compute, pool or settings.datastore)
    except UnknownNameError as exc:
        return [("pool" if pool else "", str(exc))]
    return []


def guest_problems(resource: Resource, locator: Locator, vcenter: bool) -> list[Finding]:
    guest = GuestSpec.of(resource.spec)
    problems = _unsupported(guest, set(declared_images(resource)))
    problems += _values(resource.name, guest)
    if not vcenter:
        problems += _esxi_only(guest, locator.settings)
    try:
        location = locator.locate(guest)
    except UnknownNameError as exc:
        return [*problems, ("", str(exc))]
    for index, disk in enumerate(guest.disks):
        if disk.pool:
            problems += _lookup(partial(locator.datastore, location.compute, disk.pool),
                                f"disks[{index}].pool")
    for index, nic in enumerate(guest.networks):
        if nic.host_network:
            problems += _lookup(partial(locator.network, location.datacenter, nic.host_network),
                                f"networks[{index}].host_network")
    if guest.clone and vcenter:
        try:
            template = locator.template(location.datacenter, guest.clone)
        except UnknownNameError as exc:
            problems.append(("clone", str(exc)))
        else:
            problems += clone_problems(guest, template, locator.facts)
            hardware = list(template.get("config.hardware.device", []))
            problems += slot_problems(guest, [d.slot for d in devices.disks(hardware)])
    else:
        problems += slot_problems(guest, [])
    if not guest.clone and any(not disk.size for disk in guest.disks):
        problems.append(("disks", "every disk needs `size:` (only a clone's disks can leave "
                                  "it to the template)"))
    return problems


def _esxi_only(guest: GuestSpec, settings: VsphereConfig) -> list[Finding]:
    """What a standalone ESXi host cannot do, though the simulator's ESXi model can."""
    problems = []
    if guest.clone:
        problems.append(("clone", "needs a vCenter: a standalone ESXi host cannot clone VMs "
                                  "(create the guest empty, or connect the provider to the "
                                  "vCenter)"))
    if guest.options_as(GuestOptions).folder:
        problems.append(("options.folder", "cannot be used: a standalone ESXi host has no VM "
                                           "folders (drop it)"))
    elif settings.folder:
        problems.append(("", "a standalone ESXi host has no VM folders: drop `folder:` from "
                             "the provider block"))
    return problems


def _lookup(lookup: Callable[[], object], path: str) -> list[Finding]:
    try:
        lookup()
    except UnknownNameError as exc:
        return [(path, str(exc))]
    return []


def _unsupported(guest: GuestSpec, declared: set[str]) -> list[Finding]:
    """``declared``: the fields that name a declared image (``image``, ``disks[N].image``)."""
    problems = [("image", f"'{guest.image}' {_NOT_DECLARED}")] \
        if guest.image and "image" not in declared else []
    if guest.image and guest.clone:
        problems.append(("image", "and `clone:` cannot both be set: the first disk is a copy "
                                  "of the image, or the template's"))
    if guest.image and not guest.disks:
        problems.append(("image", "needs `disks: [{size: ...}]`: the first disk is the "
                                  "image's copy, grown to that size"))
    if guest.autostart:
        problems.append(("autostart", "is not supported: vSphere HA restarts guests in a "
                         "cluster; on a host, set the VM startup policy in the vSphere client"))
    for index, disk in enumerate(guest.disks):
        if disk.image and f"disks[{index}].image" not in declared:
            problems.append((f"disks[{index}].image", f"'{disk.image}' {_NOT_DECLARED}"))
        given = {"volume": disk.volume, "format": disk.format}
        problems += [(f"disks[{index}].{key}", f"is not supported: {why}")
                     for key, why in _UNSUPPORTED_DISK.items() if given[key] is not None]
        if disk.bus not in (None, "scsi"):
            problems.append((f"disks[{index}].bus", f"{disk.bus} is not supported: the vSphere "
                             "provider adds disks on SCSI controllers"))
        slot = devices.parse_slot(disk.slot) if disk.slot else None
        if disk.slot and (slot is None or slot.kind != "scsi" or slot.bus > 3
                          or slot.unit not in devices.SCSI_UNITS):
            problems.append((f"disks[{index}].slot", f"'{disk.slot}' is not a SCSI slot: "
                             "scsiB:U with bus B 0-3 and unit U 0-15 except 7"))
    for index, nic in enumerate(guest.networks):
        declared_nic = {"network": nic.network, "bridge": nic.bridge, "ip": nic.ip,
                        "vlan": nic.vlan, "firewall": nic.firewall,
                        "forwards": nic.forwards or None}
        problems += [(f"networks[{index}].{key}", f"is not supported: {why}")
                     for key, why in _UNSUPPORTED_NIC.items() if declared_nic[key] is not None]
        if nic.model not in (None, *devices.NIC_MODELS):
            problems.append((f"networks[{index}].model", f"'{nic.model}' is not one vSphere "
                             f"offers here ({', '.join(devices.NIC_MODELS)})"))
    return problems


def _values(name: str, guest: GuestSpec) -> list[Finding]:
    problems = []
    if len(name) > MAX_NAME:
        problems.append(("", f"the VM name is {len(name)} characters long; vSphere allows "
                             f"{MAX_NAME}"))
    if guest.memory % MEMORY_STEP:
        problems.append(("memory", f"{Bytes(guest.memory)!r} is not a multiple of 4MiB, as "
                                   "vSphere needs"))
    cores = guest.options_as(GuestOptions).cores_per_socket
    if cores and guest.cpus % cores:
        problems.append(("cpus", f"{guest.cpus} is not a multiple of "
                                 f"options.cores_per_socket {cores}"))
    for index, disk in enumerate(guest.disks):
        if disk.size and disk.size % 1024:
            problems.append((f"disks[{index}].size", "is not a whole number of KiB"))
    for index, nic in enumerate(guest.networks):
        if nic.mac and not MAC_LOW <= int(nic.mac.replace(":", ""), 16) <= MAC_HIGH:
            problems.append((f"networks[{index}].mac", f"{nic.mac} is outside the range "
                             "vSphere allows for static MACs (00:50:56:00:00:00 to "
                             "00:50:56:3f:ff:ff)"))
    try:
        guestinfo.metadata(name, guestinfo.blobs(guest.cloud_init))
    except ValueError as exc:
        problems.append(("cloud_init", str(exc)))
    return problems


def slot_problems(guest: GuestSpec, inherited: Sequence[devices.Slot]) -> list[Finding]:
    """Disks are read back in slot order, so declared slots must follow each other:
    the first disks sit at the template's slots, a disk without `slot:` goes to the
    slot after the previous disk's."""
    last = inherited[-1] if inherited else None
    problems = []
    for index, disk in enumerate(guest.disks):
        if index < len(inherited):
            continue
        slot = devices.parse_slot(disk.slot) if disk.slot else devices.next_slot(last)
        if slot is None:
            problems.append((f"disks[{index}]", "no SCSI slot is left after the previous "
                                                "disk's"))
            break
        if last is not None and (slot.bus, slot.unit) <= (last.bus, last.unit):
            problems.append((f"disks[{index}].slot", f"{slot} does not come after the previous "
                             f"disk's ({last}): list disks in slot order"))
        last = slot
    return problems


def clone_problems(guest: GuestSpec, template: VmRecord, facts: Facts) -> list[Finding]:
    """A clone starts with the template's disks and NICs: the stack declares them first."""
    hardware = list(template.get("config.hardware.device", []))
    theirs, declared = devices.disks(hardware), guest.disks
    problems = []
    if len(declared) < len(theirs):
        sizes = ", ".join(f"{{size: {Bytes(d.size)!r}}}" for d in theirs)
        problems.append(("disks", f"must list the {len(theirs)} disk(s) of template "
                         f"'{template.name}' first ({sizes}), then any disks to add"))
    for index, (disk, mine) in enumerate(zip(theirs, declared, strict=False)):
        if mine.size and mine.size < disk.size:
            problems.append((f"disks[{index}].size", f"{Bytes(mine.size)!r} is smaller than "
                             f"the template's disk ({Bytes(disk.size)!r}): disks can only "
                             "grow"))
    nics, wanted = devices.nics(hardware), guest.networks
    if len(wanted) < len(nics):
        names = ", ".join(f"{{host_network: {devices.network_name(n, facts)}}}" for n in nics)
        problems.append(("networks", f"must list the {len(nics)} NIC(s) of template "
                         f"'{template.name}' first ({names}), then any NICs to add"))
    return problems
