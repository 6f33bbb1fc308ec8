"""The ReconfigVM spec that makes a VM match a guest spec, for the fields asked. Pure.

``config_spec`` compares the VM as read (``VmRecord``) with the desired spec
and builds one ``vim.vm.ConfigSpec`` for the fields in ``changed`` (every
field for a create): vCPUs and cores, memory, hot-add flags, guest OS,
firmware, notes, the guestinfo keys of cloud-init, and the device changes for
disks (grow, add on a SCSI controller, remove) and NICs (port group, MAC,
model, add, remove). vSphere applies one spec atomically, so a failed
reconfigure changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from pyVmomi import vim

from provisioner.core.specs import DiskSpec, GuestSpec, NicSpec
from provisioner.providers.kit.changes import touched
from provisioner.providers.vsphere import GuestOptions, devices, guestinfo
from provisioner.providers.vsphere.devices import Device
from provisioner.providers.vsphere.facts import Facts, Network, VmRecord
from provisioner.providers.vsphere.ownership import CREATING_KEY

DEFAULT_GUEST_ID = "otherLinux64Guest"

MIB = 1024 * 1024
Lookup = Callable[[str], Network]
"""A port group by name (raises UnknownNameError)."""
DatastoreName = Callable[[str | None], str]
"""The datastore a new disk goes to, for the disk's ``pool:`` (None: the guest's)."""


@dataclass
class Request:
    """What to change: the desired spec, the fields asked, and how to find names."""

    name: str
    spec: Mapping[str, Any]
    changed: Collection[str]
    networks: Lookup
    datastore: DatastoreName
    facts: Facts
    annotation: str | None = None
    """The annotation to write (notes, and the marker on ESXi), or None to keep it."""
    finish_create: bool = False
    """Clear the create-in-progress marker."""
    sources: Mapping[int, str] = field(default_factory=dict)
    """{disk index: the datastore path of the vmdk the new disk is (a copy of an image)}:
    attached as it is and grown to the disk's size."""
    key: Callable[[], int] = field(default_factory=lambda: _Keys().next)

    def touches(self, prefix: str) -> bool:
        return touched(prefix, self.changed)

    @cached_property
    def guest(self) -> GuestSpec:
        return GuestSpec.of(self.spec)

    @cached_property
    def options(self) -> GuestOptions:
        return self.guest.options_as(GuestOptions)


def config_spec(record: VmRecord, request: Request) -> Any | None:
    """The spec, or None when nothing needs changing."""
    spec = vim.vm.ConfigSpec()
    touched = _hardware(spec, record, request)
    if request.annotation is not None:
        spec.annotation = request.annotation
        touched = True
    extra = []
    if request.touches("cloud_init"):
        documents = guestinfo.documents(request.name, request.guest.cloud_init)
        extra += [vim.option.OptionValue(key=k, value=v) for k, v in documents.items()]
    if request.finish_create:
        extra.append(vim.option.OptionValue(key=CREATING_KEY, value=""))
    if extra:
        spec.extraConfig = extra
        touched = True
    device_list = list(record.get("config.hardware.device", []))
    changes = _disk_changes(device_list, request) + _nic_changes(device_list, request)
    if changes:
        spec.deviceChange = changes
        touched = True
    return spec if touched else None


def _hardware(spec: Any, record: VmRecord, request: Request) -> bool:
    desired, options = request.guest, request.options
    touched = False
    if request.touches("cpus") and desired.cpus != record.get("config.hardware.numCPU"):
        spec.numCPUs = desired.cpus
        touched = True
    # Absent on an update: removed from the stack, so back to the default (the plan
    # said "-> null" and restarted the guest for it); absent on a create: as cloned.
    removed = not request.finish_create
    if request.touches("options.cores_per_socket") and (options.cores_per_socket or removed):
        spec.numCoresPerSocket = options.cores_per_socket or 1
        touched = True
    memory = desired.memory // MIB
    if request.touches("memory") and memory != record.get("config.hardware.memoryMB"):
        spec.memoryMB = memory
        touched = True
    for option, attribute in (("cpu_hot_add", "cpuHotAddEnabled"),
                              ("cpu_hot_remove", "cpuHotRemoveEnabled"),
                              ("memory_hot_add", "memoryHotAddEnabled")):
        if request.touches(f"options.{option}"):  # absent: removed, back to off (default)
            setattr(spec, attribute, bool(getattr(options, option)))
            touched = True
    if request.touches("options.guest_id") and (options.guest_id or removed):
        spec.guestId = options.guest_id or default_guest_id(desired, request.facts)
        touched = True
    if request.touches("options.firmware") and options.firmware:
        spec.firmware = options.firmware  # a removal replaces the guest (bios)
        touched = True
    return touched


def default_guest_id(desired: GuestSpec, facts: Facts) -> str:
    """The guest OS a guest has without ``options.guest_id``: its template's, or
    DEFAULT_GUEST_ID for an empty VM (or a template no longer there)."""
    clone = desired.clone
    template = next((vm for vm in facts.vms if clone and vm.name == clone), None)
    return str(template.get("config.guestId") or DEFAULT_GUEST_ID) if template \
        else DEFAULT_GUEST_ID


# -- disks ------------------------------------------------------------------------------


def _disk_changes(device_list: Sequence[Any], request: Request) -> list[Any]:
    current = devices.disks(device_list)
    wanted = request.guest.disks
    changes = []
    adder = _DiskAdder(device_list, request)
    for index, want in enumerate(wanted):
        if not request.touches(f"disks[{index}]") and not request.touches("disks"):
            continue
        size = want.size or 0
        if index < len(current):
            disk = current[index]
            if size > disk.size:
                changes.append(_grow(disk.device, size))
            elif size and size < disk.size:
                raise ValueError(f"disks[{index}] is {disk.size} bytes and cannot shrink to "
                                 f"{size}")
        else:
            changes += adder.add(want, size, request.sources.get(index))
    for index in range(len(wanted), len(current)):
        if request.touches(f"disks[{index}]") or request.touches("disks"):
            changes.append(Device.VirtualDeviceSpec(
                operation="remove", fileOperation="destroy", device=current[index].device))
    return changes


def _grow(device: Any, size: int) -> Any:
    device.capacityInBytes = size
    device.capacityInKB = size // 1024
    return Device.VirtualDeviceSpec(operation="edit", device=device)


class _DiskAdder:
    """Adds disks at their slot, or at the slot after the last disk's, so that slot
    order stays declaration order; adds the SCSI controllers they need."""

    def __init__(self, device_list: Sequence[Any], request: Request) -> None:
        self.request = request
        self.scsi = {bus: device for kind, bus, device in devices.controllers(device_list).values()
                     if kind == "scsi"}
        current = devices.disks(device_list)
        self.last = current[-1].slot if current else None
        options = request.options
        self.controller_type = devices.SCSI_TYPES[options.scsi_controller or "pvscsi"]
        self.provisioning = options.disk_provisioning or "thin"

    def add(self, want: DiskSpec, size: int, source: str | None = None) -> list[Any]:
        changes = []
        slot = devices.parse_slot(want.slot) if want.slot else devices.next_slot(self.last)
        if slot is None or slot.kind != "scsi":
            raise ValueError("no SCSI slot is left after the last disk (four buses of 15)")
        self.last = slot
        if slot.bus not in self.scsi:
            controller = self.controller_type(key=self.request.key(), busNumber=slot.bus,
                                              sharedBus="noSharing")
            self.scsi[slot.bus] = controller
            changes.append(Device.VirtualDeviceSpec(operation="add", device=controller))
        controller = self.scsi[slot.bus]
        file = source or f"[{self.request.datastore(want.pool)}]"
        backing = Device.VirtualDisk.FlatVer2BackingInfo(
            fileName=file, diskMode="persistent",
            thinProvisioned=self.provisioning == "thin",
            eagerlyScrub=self.provisioning == "eager_zeroed")
        disk = Device.VirtualDisk(key=self.request.key(), controllerKey=controller.key,
                                  unitNumber=slot.unit, capacityInBytes=size,
                                  capacityInKB=size // 1024, backing=backing)
        # an existing file (an image's copy) is attached as it is, and grown to the size
        changes.append(Device.VirtualDeviceSpec(operation="add", device=disk) if source else
                       Device.VirtualDeviceSpec(operation="add", fileOperation="create",
                                                device=disk))
        return changes


# -- NICs -------------------------------------------------------------------------------


def _nic_changes(device_list: Sequence[Any], request: Request) -> list[Any]:
    current = devices.nics(device_list)
    wanted = request.guest.networks
    changes = []
    for index, want in enumerate(wanted):
        if not request.touches(f"networks[{index}]") and not request.touches("networks"):
            continue
        if index >= len(current):
            changes.append(_add_nic(want, request))
            continue
        nic = current[index]
        model = want.model or nic.model
        if model != nic.model:
            changes += [Device.VirtualDeviceSpec(operation="remove", device=nic.device),
                        _add_nic(replace(want, model=model), request)]
            continue
        edit = _edit_nic(nic, want, request)
        if edit is not None:
            changes.append(edit)
    for index in range(len(wanted), len(current)):
        if request.touches(f"networks[{index}]") or request.touches("networks"):
            changes.append(Device.VirtualDeviceSpec(operation="remove",
                                                    device=current[index].device))
    return changes


def _add_nic(want: NicSpec, request: Request) -> Any:
    model = devices.NIC_MODELS[want.model or "vmxnet3"]
    nic = model(key=request.key(), backing=_backing(want.host_network or "", request),
                connectable=Device.VirtualDevice.ConnectInfo(
                    startConnected=True, connected=True, allowGuestControl=True))
    _set_mac(nic, want.mac)
    return Device.VirtualDeviceSpec(operation="add", device=nic)


def _edit_nic(nic: devices.Nic, want: NicSpec, request: Request) -> Any | None:
    device, touched = nic.device, False
    name = want.host_network
    if name and devices.network_name(nic, request.facts) != name:
        device.backing = _backing(name, request)
        touched = True
    mac = want.mac
    if mac and mac.lower() != nic.mac:
        _set_mac(device, mac)
        touched = True
    return Device.VirtualDeviceSpec(operation="edit", device=device) if touched else None


def _set_mac(device: Any, mac: str | None) -> None:
    if mac:
        device.addressType = "manual"
        device.macAddress = mac.lower()
    else:
        device.addressType = "generated"


def _backing(name: str, request: Request) -> Any:
    network = request.networks(name)
    if network.kind == "dvpg":
        port = vim.dvs.PortConnection(switchUuid=request.facts.switches.get(network.switch or ""),
                                      portgroupKey=network.key)
        return Device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(port=port)
    if network.kind == "opaque":
        raise ValueError(f"port group '{name}' is an NSX opaque network, which this provider "
                         "cannot attach NICs to")
    return Device.VirtualEthernetCard.NetworkBackingInfo(
        deviceName=name, network=vim.Network(network.moid))


class _Keys:
    """Temporary negative device keys, unique within one spec."""

    def __init__(self) -> None:
        self.last = -100

    def next(self) -> int:
        self.last -= 1
        return self.last
