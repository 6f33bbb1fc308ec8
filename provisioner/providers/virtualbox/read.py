"""One VM from the bulk read → the guest as the planner sees it (a LiveObject). Pure.

Sizes in bytes; disks are the hard disks on the SATA controller's ports 0..28
in port order (their sizes from ``list -l hdds``); the cloud-init seed is the
DVD on port 29, and its digests come from the marker's memo (VirtualBox knows
only the ISO's path). ``options.ostype`` is the memo's too: the human listing
names the OS type's description, not its id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner.core.resources import PROTECTION_MARK, LiveObject
from provisioner.providers.kit.cloudinit import blobs_of_memo as _cloud_init
from provisioner.providers.kit.marker import Marker
from provisioner.providers.virtualbox.listing import Attachment, Medium, VmInfo
from provisioner.providers.virtualbox.nics import live_nic
from provisioner.units import Bytes

CONTROLLER = "SATA"
SEED_PORT = 29
"""The SATA port of the cloud-init seed DVD; disks take ports 0..28."""
SEED_FILE = "cidata.iso"
POWER = {"running": "running", "poweroff": "stopped", "aborted": "stopped",
         "saved": "suspended", "paused": "paused"}


def disks_of(vm: VmInfo) -> list[Attachment]:
    return sorted((a for a in vm.attachments if a.controller == CONTROLLER
                   and a.port != SEED_PORT), key=lambda a: a.port)


def seed_of(vm: VmInfo) -> Attachment | None:
    return next((a for a in vm.attachments if a.controller == CONTROLLER
                 and a.port == SEED_PORT), None)


def folder_of(vm: VmInfo) -> str:
    """The VM's folder: where its settings file is (and its disks go)."""
    return vm.config_file.rsplit("/", 1)[0] if "/" in vm.config_file else vm.config_file


def live_object(vm: VmInfo, media: Mapping[str, Medium], marker: Marker,
                provider: str) -> LiveObject:
    memo = marker.memo
    seed = seed_of(vm)
    spec: dict[str, Any] = {
        "cpus": vm.cpus, "memory": Bytes(vm.memory), "image": None, "clone": None,
        "node": None,
        "disks": [_disk(a, media) for a in disks_of(vm)],
        "networks": [live_nic(nic, memo.get("ports") or {})
                     for nic in sorted(vm.nics, key=lambda n: n.slot)],
        "cloud_init": _cloud_init(memo.get("seed")) if seed is not None else None,
        "power": POWER.get(vm.state, vm.state),
        "autostart": vm.autostart,
        "options": {"ostype": str(memo.get("ostype", "Linux_64")), "firmware": vm.firmware,
                    "disk_format": _disk_format(disks_of(vm), media, memo)},
    }
    attributes: dict[str, Any] = {
        "uuid": vm.uuid, "state": vm.state, "config_file": vm.config_file,
        "macs": [nic.mac for nic in sorted(vm.nics, key=lambda n: n.slot)],
        "seed": seed.location if seed is not None else None,
        PROTECTION_MARK: marker.protected,
    }
    return LiveObject(address=marker.address, provider=provider, name=vm.name, id=vm.uuid,
                      spec=spec, attributes=attributes, running=vm.running)


def _disk_format(disks: list[Attachment], media: Mapping[str, Medium],
                 memo: Mapping[str, Any]) -> str:
    """The format of the first disk (``Storage format: VDI``), else the one remembered."""
    first = media.get(disks[0].uuid) if disks else None
    if first is not None and first.format:
        return first.format.lower()
    return str(memo.get("disk_format", "vdi"))


def _disk(attached: Attachment, media: Mapping[str, Medium]) -> dict[str, Any]:
    medium = media.get(attached.uuid)
    return {"size": Bytes(medium.capacity if medium else 0), "pool": None, "image": None,
            "volume": None, "format": None, "bus": None, "slot": None}
