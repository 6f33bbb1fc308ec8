"""One VM from the bulk read → the guest as the planner sees it (a LiveObject). Pure.

Sizes in bytes; disks are the VM's ``hddN`` devices in index order; the
cloud-init seed is the CD drive whose image is the VM's ``cidata.iso``, and its
digests come from the marker's memo (Parallels knows only the ISO's path), as
does ``options.distribution`` (``OS`` names a family, not what was asked for).
"""

from __future__ import annotations

from typing import Any

from provisioner.core.resources import PROTECTION_MARK, LiveObject
from provisioner.providers.kit.cloudinit import memo_blobs
from provisioner.providers.kit.marker import Marker
from provisioner.providers.parallels.listing import Cdrom, VmInfo
from provisioner.providers.parallels.nics import live_nic
from provisioner.units import Bytes

SEED_FILE = "cidata.iso"
POWER = {"running": "running", "stopped": "stopped", "suspended": "suspended",
         "paused": "paused"}


def seed_of(vm: VmInfo) -> Cdrom | None:
    return next((c for c in vm.cdroms if c.image.endswith("/" + SEED_FILE)), None)


def bundle_of(vm: VmInfo) -> str:
    """The VM's ``.pvm`` folder, without the trailing slash."""
    return vm.home.rstrip("/")


def live_object(vm: VmInfo, marker: Marker, provider: str) -> LiveObject:
    memo = marker.memo
    seed = seed_of(vm)
    spec: dict[str, Any] = {
        "cpus": vm.cpus, "memory": Bytes(vm.memory), "image": None, "clone": None,
        "node": None,
        "disks": [{"size": Bytes(disk.size), "pool": None, "image": None, "volume": None,
                   "format": None, "bus": None, "slot": None} for disk in vm.disks],
        "networks": [live_nic(nic) for nic in vm.nics],
        "cloud_init": memo_blobs(memo.get("seed")) if seed is not None else None,
        "power": POWER.get(vm.state, vm.state),
        "autostart": vm.autostart,
        "options": {"distribution": str(memo.get("distribution", "linux"))},
    }
    attributes: dict[str, Any] = {
        "uuid": vm.uuid, "state": vm.state, "home": vm.home,
        "macs": [nic.mac for nic in vm.nics],
        "seed": seed.image if seed is not None else None,
        PROTECTION_MARK: marker.protected,
    }
    return LiveObject(address=marker.address, provider=provider, name=vm.name, id=vm.uuid,
                      spec=spec, attributes=attributes, running=vm.running)
