"""What a VM is given, as script lines: settings, NICs, disks and the seed DVD.

Each function appends to a ``Script`` the lines that make one part of a VM match
its spec, so a create or an update runs one script per step, not one per field.
Disks are dynamically expanding VHDX files in the VM's folder (``Virtual Hard
Disks\\NAME-diskN.vhdx``, ``New-VHD -Dynamic``), attached at disk N's place
(``read.disk_slot``) and grown with ``Resize-VHD``; a disk the spec no longer has
is detached and its file deleted. NICs are adapters named ``netN`` on a switch
(``Add-VMNetworkAdapter``, ``Connect-VMNetworkAdapter``), with a static MAC when
the stack fixes one. The seed is a NoCloud ISO (``kit/nocloud``) copied into the
VM's folder and attached as a DVD (``Add-VMDvdDrive``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from provisioner.core.specs import CloudInitSpec, DiskSpec, GuestSpec, NicSpec
from provisioner.errors import ProviderError
from provisioner.providers.hyperv import GuestOptions
from provisioner.providers.hyperv.listing import VmInfo
from provisioner.providers.hyperv.powershell import PowerShell
from provisioner.providers.hyperv.read import (
    DISK_FOLDER,
    LINUX_TEMPLATE,
    SEED_FILE,
    WINDOWS_TEMPLATE,
    disk_slot,
    disks_of,
    seed_slot,
    slot_of,
)
from provisioner.providers.hyperv.script import SWITCH, Script, Stage, Value
from provisioner.providers.kit.nocloud import build_iso, seed_files

_DRIVE = re.compile(r"^[A-Za-z]:")


def join(base: str, *parts: str) -> str:
    """A path on the Hyper-V host: Windows separators under a Windows path."""
    sep = "\\" if "\\" in base or _DRIVE.match(base) else "/"
    return sep.join([base.rstrip("\\/"), *parts])


def disk_path(folder: str, name: str, index: int) -> str:
    return join(folder, DISK_FOLDER, f"{name}-disk{index}.vhdx")


def processor(script: Script, vm: str, guest: GuestSpec) -> None:
    script.call("Set-VMProcessor", vm=vm, Count=guest.cpus)


def memory(script: Script, vm: str, guest: GuestSpec, options: GuestOptions) -> None:
    if not options.dynamic_memory:
        script.call("Set-VMMemory", vm=vm, DynamicMemoryEnabled=False, StartupBytes=guest.memory)
        return
    params: dict[str, Value] = {"DynamicMemoryEnabled": True, "StartupBytes": guest.memory}
    for key, size in (("MinimumBytes", options.memory_minimum),
                      ("MaximumBytes", options.memory_maximum)):
        if size:
            params[key] = size
    script.add("Set-VMMemory", params, vm=vm)


def firmware(script: Script, vm: str, options: GuestOptions) -> None:
    if options.generation == 1:
        return
    if options.secure_boot == "off":
        script.call("Set-VMFirmware", vm=vm, EnableSecureBoot="Off")
        return
    template = LINUX_TEMPLATE if options.secure_boot == "linux" else WINDOWS_TEMPLATE
    script.call("Set-VMFirmware", vm=vm, EnableSecureBoot="On", SecureBootTemplate=template)


def _adapter(index: int) -> Stage:
    return ("Get-VMNetworkAdapter", {"Name": f"net{index}"})


def _mac(nic: NicSpec) -> str:
    return (nic.mac or "").replace(":", "").replace("-", "").upper()


def match_nics(script: Script, vm: str, have: VmInfo | None, nics: Sequence[NicSpec]) -> None:
    """Adapters ``net0``.. for ``nics``: added, reconnected, given their MAC, removed."""
    current = {a.name: a for a in have.adapters} if have is not None else {}
    for index, nic in enumerate(nics):
        found = current.pop(f"net{index}", None)
        if found is None:
            params: dict[str, Value] = {"Name": f"net{index}",
                                        "SwitchName": str(nic.host_network)}
            if nic.mac:
                params["StaticMacAddress"] = _mac(nic)
            script.add("Add-VMNetworkAdapter", params, vm=vm)
            continue
        if found.switch != nic.host_network:
            script.call("Connect-VMNetworkAdapter", vm=vm, via=_adapter(index),
                        SwitchName=str(nic.host_network))
        if nic.mac and (found.dynamic_mac or found.mac != _mac(nic)):
            script.call("Set-VMNetworkAdapter", vm=vm, via=_adapter(index),
                        StaticMacAddress=_mac(nic))
    for name in sorted(current):
        if name.startswith("net") and name[3:].isdigit():
            script.call("Remove-VMNetworkAdapter", vm=vm, via=("Get-VMNetworkAdapter",
                                                                {"Name": name}))


def _drive(slot: tuple[str, int, int]) -> Stage:
    kind, number, location = slot
    return ("Get-VMHardDiskDrive", {"ControllerType": kind, "ControllerNumber": number,
                                    "ControllerLocation": location})


def add_disk(script: Script, vm: str, generation: int, path: str, index: int,
             disk: DiskSpec) -> None:
    kind, number, location = disk_slot(generation, index)
    script.call("New-VHD", Path=path, SizeBytes=int(disk.size or 0), Dynamic=SWITCH)
    script.call("Add-VMHardDiskDrive", vm=vm, ControllerType=kind, ControllerNumber=number,
                ControllerLocation=location, Path=path)


def match_disks(script: Script, vm: VmInfo, disks: Sequence[DiskSpec], folder: str) -> None:
    """Grow, add and remove disks so the VM has ``disks`` (new ones in ``folder``)."""
    have = {slot_of(drive): drive for drive in disks_of(vm)}
    for index, disk in enumerate(disks):
        found = have.pop(disk_slot(vm.generation, index), None)
        if found is None:
            add_disk(script, vm.id, vm.generation, disk_path(folder, vm.name, index), index,
                     disk)
        elif disk.size is not None and disk.size > found.size:
            script.call("Resize-VHD", Path=found.path, SizeBytes=disk.size)
    for slot, found in sorted(have.items()):
        script.call("Remove-VMHardDiskDrive", vm=vm.id, via=_drive(slot))
        if found.path:
            script.call("Remove-Item", LiteralPath=found.path, Force=SWITCH)


def write_seed(ps: PowerShell, folder: str, name: str, cloud_init: CloudInitSpec,
               what: str) -> str:
    """Build the NoCloud ISO and copy it into the VM's folder; its path."""
    try:
        files = seed_files(name, cloud_init)
    except ValueError as exc:
        raise ProviderError(f"{what}: {exc}") from None
    if files is None:
        raise ProviderError(f"{what}: cloud_init has nothing to seed")
    path = join(folder, SEED_FILE)
    ps.write_file(path, build_iso(files))
    return path


def attach_seed(script: Script, vm: str, generation: int, path: str) -> None:
    _kind, number, location = seed_slot(generation)
    script.call("Add-VMDvdDrive", vm=vm, ControllerNumber=number, ControllerLocation=location,
                Path=path)
