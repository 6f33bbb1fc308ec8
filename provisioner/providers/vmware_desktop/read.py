"""One VM folder from the bulk read → the guest as the planner sees it. Pure.

Everything but the cloud-init digests comes from the .vmx: ``numvcpus``,
``memsize`` (MiB), ``guestOS``, ``firmware`` (absent: BIOS), ``virtualHW.version``,
the disks on ``scsi0:N`` or ``sata0:N`` in unit order (their sizes from their
descriptors), ``ethernetN.*`` (``nics.py``), and the guestinfo cloud-init keys
(``vsphere/guestinfo.py``: the same keys the VMware datasource of cloud-init
reads on vSphere). Power: running when ``vmrun list`` names the .vmx, suspended
when the .vmx has a ``checkpoint.vmState`` (a .vmss) and it does not.
"""

from __future__ import annotations

import re
from typing import Any

from provisioner.core.resources import PROTECTION_MARK, LiveObject
from provisioner.providers.kit.marker import Marker
from provisioner.providers.vmware_desktop.listing import VmFolder
from provisioner.providers.vmware_desktop.nics import live_nic, mac_of, nic_indexes
from provisioner.providers.vsphere import guestinfo
from provisioner.units import Bytes

MIB = 1024 * 1024
BUSES = ("scsi", "sata")
SCSI_CONTROLLER_UNIT = 7
"""SCSI unit 7 is the controller's own: disks skip it."""


def units(bus: str, count: int) -> list[int]:
    """The units disks 0..count-1 take on ``bus``."""
    taken = [unit for unit in range(count + 1) if bus != "scsi" or unit != SCSI_CONTROLLER_UNIT]
    return taken[:count]


def disks_of(vm: VmFolder) -> list[tuple[str, int, str]]:
    """(bus, unit, file name) of each hard disk, by bus then unit (CD drives skipped)."""
    found = []
    for key in vm.vmx:
        match = re.match(r"(?i)^(scsi|sata)0:(\d+)\.filename$", key)
        if match is None:
            continue
        device = f"{match.group(1).lower()}0:{match.group(2)}"
        kind = (vm.vmx.get(f"{device}.deviceType") or "disk").lower()
        if vm.vmx.flag(f"{device}.present") and "cdrom" not in kind:
            found.append((match.group(1).lower(), int(match.group(2)), vm.vmx[key]))
    return sorted(found, key=lambda disk: (BUSES.index(disk[0]), disk[1]))


def power_of(vm: VmFolder) -> str:
    if vm.running:
        return "running"
    return "suspended" if vm.vmx.get("checkpoint.vmState") else "stopped"


def extra_of(vm: VmFolder) -> dict[str, str]:
    """The guestinfo cloud-init keys the .vmx holds."""
    return {key: value for key in guestinfo.KEYS if (value := vm.vmx.get(key)) is not None}


def live_object(vm: VmFolder, marker: Marker, provider: str) -> LiveObject:
    vmx = vm.vmx
    disks = disks_of(vm)
    remembered = marker.memo.get("cloud_init")
    spec: dict[str, Any] = {
        "cpus": int(vmx.get("numvcpus") or 1),
        "memory": Bytes(int(vmx.get("memsize") or 0) * MIB),
        "image": None, "clone": None, "node": None,
        "disks": [{"size": Bytes(vm.disk_sizes.get(vm.disk_path(name), 0)), "pool": None,
                   "image": None, "volume": None, "format": None, "bus": None, "slot": None}
                  for _bus, _unit, name in disks],
        "networks": [live_nic(vmx, index) for index in nic_indexes(vmx)],
        "cloud_init": guestinfo.read(extra_of(vm), remembered if isinstance(remembered, dict)
                                     else None),
        "power": power_of(vm),
        "autostart": False,
        "options": {"guest_os": vmx.get("guestOS") or "other",
                    "firmware": "efi" if (vmx.get("firmware") or "").lower() == "efi"
                    else "bios",
                    "disk_bus": disks[0][0] if disks else str(marker.memo.get("disk_bus",
                                                                              "scsi")),
                    "hardware_version": int(vmx.get("virtualHW.version") or 0)},
    }
    attributes: dict[str, Any] = {
        "vmx": vm.path, "state": spec["power"],
        "macs": [mac_of(vmx, index) for index in nic_indexes(vmx)],
        PROTECTION_MARK: marker.protected,
    }
    return LiveObject(address=marker.address, provider=provider, name=vm.name, id=vm.path,
                      spec=spec, attributes=attributes, running=vm.running)
