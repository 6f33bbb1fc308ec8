"""What a running QEMU guest takes without a restart, by its ``hotplug`` option.

Proxmox VE writes a running VM's config change as pending, then tries to plug
it live (qemu-server's ``vmconfig_hotplug_pending``); what it cannot plug waits
for the next start. The VM's ``hotplug`` option lists what may be plugged
(default ``network,disk,usb``; ``0`` none, ``1`` the default):

- a NIC added or removed, or its model or MAC changed, needs ``network``; its
  bridge, VLAN tag, firewall flag or rate change on the live tap device anyway;
- a disk added or removed needs ``disk``, and a bus that plugs (SCSI, VirtIO;
  never IDE or SATA); growing a disk is always live (the resize call).

The plan reads the option from the VM (``attributes["hotplug"]``), so it says
"requires restart" exactly where Proxmox will hold the change. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from provisioner.core.specs import DiskSpec

DEFAULT = frozenset({"network", "disk", "usb"})
_NIC = re.compile(r"^networks\[\d+\]$")
_NIC_DEVICE = re.compile(r"^networks\[\d+\]\.(model|mac)$")
_DISK = re.compile(r"^disks\[\d+\]$")
_UNPLUGGABLE_BUSES = ("ide", "sata")


def features(value: Any) -> list[str]:
    """The hotplug option as a sorted list of features."""
    text = str(value).strip() if value is not None else ""
    if text in ("", "1"):
        return sorted(DEFAULT)
    if text == "0":
        return []
    return sorted(part.strip() for part in text.split(",") if part.strip())


def held_until_restart(path: str, before: Any, after: Any, plugged: Collection[str]) -> bool:
    """Whether Proxmox holds a change of ``path`` on a running VM until it restarts."""
    if _NIC.match(path) or _NIC_DEVICE.match(path):
        return "network" not in plugged
    if _DISK.match(path) and (before is None or after is None):
        disk = after if after is not None else before
        return "disk" not in plugged or _bus(disk).startswith(_UNPLUGGABLE_BUSES)
    return False


def _bus(disk: Any) -> str:
    if not isinstance(disk, dict):
        return "scsi"
    spec = DiskSpec.of(disk)
    return spec.bus or spec.slot or "scsi"
