"""One VM from the bulk read → the guest as the planner sees it (a LiveObject). Pure.

Sizes in bytes; disks are the VM's hard disk drives in controller order (generation
2: SCSI 0 at locations 0..62; generation 1: IDE 0:0, 0:1, 1:0), their sizes as
``Get-VHD`` reports them; NICs are the adapters named ``net0``, ``net1``... in that
order; the cloud-init seed is the DVD at the seed's place (SCSI 0:63, or IDE 1:1),
and its digests come from the marker's memo (Hyper-V knows only the ISO's path).
"""

from __future__ import annotations

from typing import Any

from provisioner.core.resources import PROTECTION_MARK, LiveObject
from provisioner.providers.hyperv.listing import Drive, VmInfo
from provisioner.providers.kit.cloudinit import memo_blobs
from provisioner.providers.kit.marker import Marker
from provisioner.units import Bytes

SEED_FILE = "cidata.iso"
DISK_FOLDER = "Virtual Hard Disks"
LINUX_TEMPLATE = "MicrosoftUEFICertificateAuthority"
WINDOWS_TEMPLATE = "MicrosoftWindows"
POWER = {"Running": "running", "Off": "stopped", "Saved": "suspended", "Paused": "paused"}
GEN1_DISKS = (("IDE", 0, 0), ("IDE", 0, 1), ("IDE", 1, 0))
GEN1_SEED = ("IDE", 1, 1)
GEN2_SEED = ("SCSI", 0, 63)


def disk_slot(generation: int, index: int) -> tuple[str, int, int]:
    """Where disk ``index`` sits: SCSI 0:index (generation 2) or the IDE slots in order."""
    return GEN1_DISKS[index] if generation == 1 else ("SCSI", 0, index)


def seed_slot(generation: int) -> tuple[str, int, int]:
    return GEN1_SEED if generation == 1 else GEN2_SEED


def slot_of(drive: Drive) -> tuple[str, int, int]:
    return (drive.controller, drive.number, drive.location)


def disks_of(vm: VmInfo) -> list[Drive]:
    return sorted(vm.disks, key=lambda d: (d.controller != "IDE", d.number, d.location))


def seed_of(vm: VmInfo) -> Drive | None:
    return next((d for d in vm.dvds if slot_of(d) == seed_slot(vm.generation) and d.path),
                None)


def nic_name(index: int) -> str:
    return f"net{index}"


def nics_of(vm: VmInfo) -> list[Any]:
    """The adapters in the order of the stack's NICs (``net0``, ``net1``, ...), then any
    other adapter by name."""
    def order(adapter: Any) -> tuple[int, str]:
        name = adapter.name
        return (int(name[3:]), "") if name.startswith("net") and name[3:].isdigit() \
            else (1 << 20, name)
    return sorted(vm.adapters, key=order)


def mac_text(mac: str) -> str:
    """``00155D010203`` → ``00:15:5d:01:02:03``."""
    mac = mac.lower()
    return ":".join(mac[i:i + 2] for i in range(0, 12, 2))


def secure_boot_of(vm: VmInfo) -> str:
    if not vm.secure_boot:
        return "off"
    return "windows" if vm.secure_boot_template == WINDOWS_TEMPLATE else "linux"


def live_object(vm: VmInfo, marker: Marker, provider: str) -> LiveObject:
    seed = seed_of(vm)
    spec: dict[str, Any] = {
        "cpus": vm.cpus, "memory": Bytes(vm.memory), "image": None, "clone": None,
        "node": None,
        "disks": [{"size": Bytes(d.size), "pool": None, "image": None, "volume": None,
                   "format": None, "bus": None, "slot": None} for d in disks_of(vm)],
        "networks": [{"network": None, "host_network": a.switch, "bridge": None,
                      "mac": None if a.dynamic_mac else mac_text(a.mac), "ip": None,
                      "model": None, "vlan": None, "firewall": None, "forwards": []}
                     for a in nics_of(vm)],
        "cloud_init": memo_blobs(marker.memo.get("seed")) if seed is not None else None,
        "power": POWER.get(vm.state, vm.state.lower()),
        "autostart": False,
        "options": {"generation": vm.generation, "secure_boot": secure_boot_of(vm),
                    "dynamic_memory": vm.dynamic_memory,
                    "memory_minimum": Bytes(vm.memory_minimum) if vm.dynamic_memory else None,
                    "memory_maximum": Bytes(vm.memory_maximum) if vm.dynamic_memory else None},
    }
    attributes: dict[str, Any] = {
        "id": vm.id, "state": vm.state, "path": vm.path,
        "folder": str(marker.memo.get("folder") or ""),
        "macs": [mac_text(a.mac) for a in nics_of(vm)],
        "seed": seed.path if seed is not None else None,
        PROTECTION_MARK: marker.protected,
    }
    return LiveObject(address=marker.address, provider=provider, name=vm.name, id=vm.id,
                      spec=spec, attributes=attributes, running=vm.running)
