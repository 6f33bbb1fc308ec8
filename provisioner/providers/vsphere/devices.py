"""A VM's virtual hardware as the stack sees it: disks by slot, NICs in order.

Pure functions over pyVmomi device objects. A disk's slot is its
controller's kind and bus number and its unit number: ``scsi0:1`` is unit 1
on SCSI controller 0 (the vSphere client shows "SCSI(0:1)"); disks are listed
in slot order, controllers by kind (SCSI, SATA, NVMe, IDE). NICs are listed in
the order of their unit numbers on the PCI bus (then device keys): a NIC added
later takes the next free unit, and one that replaces another in the same
reconfigure (a new model) takes the unit it freed, so its place in the list
stays (keys are reused by vSphere, and are no order).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyVmomi import vim

from provisioner.providers.vsphere.facts import Facts

Device = vim.vm.device

SCSI_TYPES: Mapping[str, type[Any]] = {
    "pvscsi": Device.ParaVirtualSCSIController,
    "lsilogic": Device.VirtualLsiLogicController,
    "lsilogic-sas": Device.VirtualLsiLogicSASController,
}
NIC_MODELS: Mapping[str, type[Any]] = {
    "vmxnet3": Device.VirtualVmxnet3,
    "e1000e": Device.VirtualE1000e,
    "e1000": Device.VirtualE1000,
}
CONTROLLER_ORDER = ("scsi", "sata", "nvme", "ide")
SCSI_UNITS = tuple(unit for unit in range(16) if unit != 7)
"""Unit 7 of a SCSI bus is the controller itself."""
_SLOT_RE = re.compile(r"^(scsi|sata|nvme|ide)(\d):(\d{1,2})$")


@dataclass(frozen=True)
class Slot:
    kind: str
    bus: int
    unit: int

    def __str__(self) -> str:
        return f"{self.kind}{self.bus}:{self.unit}"


def parse_slot(text: str) -> Slot | None:
    match = _SLOT_RE.match(text)
    if match is None:
        return None
    return Slot(match.group(1), int(match.group(2)), int(match.group(3)))


@dataclass(frozen=True)
class Disk:
    device: Any
    slot: Slot
    size: int
    datastore: str | None
    """The datastore's moid, when the backing names it."""
    file: str
    thin: bool | None


@dataclass(frozen=True)
class Nic:
    device: Any
    model: str
    network: str | None
    """The moid of a standard port group's network."""
    portgroup_key: str | None
    switch_uuid: str | None
    mac: str | None
    manual_mac: bool


def controller_kind(device: Any) -> str | None:
    if isinstance(device, Device.VirtualSCSIController):
        return "scsi"
    if isinstance(device, Device.VirtualSATAController):
        return "sata"
    if isinstance(device, Device.VirtualNVMEController):
        return "nvme"
    if isinstance(device, Device.VirtualIDEController):
        return "ide"
    return None


def scsi_type_name(device: Any) -> str | None:
    """The options.scsi_controller name of a SCSI controller."""
    return next((name for name, kind in SCSI_TYPES.items() if type(device) is kind), None)


def controllers(devices: Sequence[Any]) -> dict[int, tuple[str, int, Any]]:
    """Controller device key → (kind, bus number, device)."""
    found = {}
    for device in devices:
        kind = controller_kind(device)
        if kind is not None:
            found[int(device.key)] = (kind, int(device.busNumber or 0), device)
    return found


def disks(devices: Sequence[Any]) -> list[Disk]:
    """The VM's disks in slot order."""
    owners = controllers(devices)
    found = []
    for device in devices:
        if not isinstance(device, Device.VirtualDisk):
            continue
        kind, bus, _ = owners.get(int(device.controllerKey or 0), ("scsi", 0, None))
        backing = device.backing
        datastore = getattr(backing, "datastore", None)
        size = int(device.capacityInBytes or 0) or int(device.capacityInKB or 0) * 1024
        found.append(Disk(device, Slot(kind, bus, int(device.unitNumber or 0)), size,
                          None if datastore is None else str(datastore._moId),
                          str(getattr(backing, "fileName", "") or ""),
                          getattr(backing, "thinProvisioned", None)))
    return sorted(found, key=lambda d: (CONTROLLER_ORDER.index(d.slot.kind), d.slot.bus,
                                        d.slot.unit))


def nics(devices: Sequence[Any]) -> list[Nic]:
    """The VM's NICs in the order they were added."""
    found = []
    for device in devices:
        if not isinstance(device, Device.VirtualEthernetCard):
            continue
        model = next((name for name, kind in NIC_MODELS.items() if type(device) is kind),
                     type(device).__name__.rsplit(".", 1)[-1].removeprefix("Virtual").lower())
        backing = device.backing
        network = getattr(backing, "network", None)
        port = getattr(backing, "port", None)
        found.append(Nic(
            device, model,
            network=None if network is None else str(network._moId),
            portgroup_key=getattr(port, "portgroupKey", None),
            switch_uuid=getattr(port, "switchUuid", None),
            mac=(str(device.macAddress).lower() if device.macAddress else None),
            manual_mac=str(device.addressType or "").lower() == "manual"))
    return sorted(found, key=lambda n: (n.device.unitNumber is None,
                                        int(n.device.unitNumber or 0), int(n.device.key)))


def datastore_name_of_file(path: str) -> str | None:
    """``[LocalDS_0] web/web.vmdk`` → ``LocalDS_0``."""
    match = re.match(r"^\[([^\]]+)\]", path)
    return match.group(1) if match else None


def next_slot(after: Slot | None) -> Slot | None:
    """The SCSI slot after ``after`` (unit 7 skipped; then the next bus), or None when
    the four SCSI buses are full."""
    if after is None or after.kind != "scsi":
        return Slot("scsi", 0, 0) if after is None else None
    later = [unit for unit in SCSI_UNITS if unit > after.unit]
    if later:
        return Slot("scsi", after.bus, later[0])
    return Slot("scsi", after.bus + 1, 0) if after.bus < 3 else None


def network_name(nic: Nic, facts: Facts) -> str | None:
    """The port group a NIC is on, by name (its key when the inventory lacks it)."""
    if nic.network is not None:
        return facts.name_of(nic.network)
    for network in facts.networks.values():
        if network.kind == "dvpg" and network.key == nic.portgroup_key and \
                facts.switches.get(network.switch or "") == nic.switch_uuid:
            return network.name
    return nic.portgroup_key
