"""The bulk read: one PowerShell pipeline returning the host, its switches and every VM
as JSON, and its parser. Pure.

``INVENTORY`` asks ``Get-VMHost``, ``Get-VMSwitch`` and ``Get-VM`` with each VM's
hard disk drives (and the size ``Get-VHD`` reports), network adapters, DVD drives
and firmware, in one script, whatever the number of VMs; ``one_vm`` is the same
projection for one VM (by id). ``ConvertTo-Json`` writes enums as integers:
``State`` (Running = 2, Off = 3, Stopping = 4, Saved = 6, Paused = 9, Starting =
10), ``ControllerType`` (IDE = 0, SCSI = 1) and ``SwitchType`` (Private = 0,
Internal = 1, External = 2); the parser also takes their names (``pwsh
-EnumsAsStrings``). Windows PowerShell 5.1 writes a one-element array as the
element itself: every list here is read either way. Sizes are bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.providers.hyperv.script import literal, read_script

VM_STATES = {1: "Other", 2: "Running", 3: "Off", 4: "Stopping", 6: "Saved", 9: "Paused",
             10: "Starting", 11: "Reset", 32773: "Saving", 32776: "Pausing",
             32777: "Resuming", 32779: "FastSaved", 32780: "FastSaving"}
CONTROLLERS = {0: "IDE", 1: "SCSI"}
SWITCH_TYPES = {0: "Private", 1: "Internal", 2: "External"}

_VM = """ForEach-Object {
  $v = $_
  $fw = if ($v.Generation -eq 2) { Get-VMFirmware -VM $v } else { $null }
  $mem = Get-VMMemory -VM $v
  [pscustomobject]@{
    Id = $v.Id.ToString(); Name = $v.Name; State = $v.State; Generation = $v.Generation
    ProcessorCount = $v.ProcessorCount; MemoryStartup = $v.MemoryStartup
    DynamicMemoryEnabled = $mem.DynamicMemoryEnabled; MemoryMinimum = $mem.Minimum
    MemoryMaximum = $mem.Maximum; Notes = $v.Notes; Path = $v.Path
    SecureBoot = if ($fw) { $fw.SecureBoot -eq 'On' } else { $false }
    SecureBootTemplate = if ($fw) { $fw.SecureBootTemplate } else { $null }
    HardDrives = @(Get-VMHardDiskDrive -VM $v | ForEach-Object { [pscustomobject]@{
      ControllerType = $_.ControllerType; ControllerNumber = $_.ControllerNumber
      ControllerLocation = $_.ControllerLocation; Path = $_.Path
      Size = if ($_.Path) { (Get-VHD -Path $_.Path).Size } else { 0 } } })
    NetworkAdapters = @(Get-VMNetworkAdapter -VM $v | ForEach-Object { [pscustomobject]@{
      Name = $_.Name; SwitchName = $_.SwitchName; MacAddress = $_.MacAddress
      DynamicMacAddressEnabled = $_.DynamicMacAddressEnabled } })
    DvdDrives = @(Get-VMDvdDrive -VM $v | ForEach-Object { [pscustomobject]@{
      ControllerType = $_.ControllerType; ControllerNumber = $_.ControllerNumber
      ControllerLocation = $_.ControllerLocation; Path = $_.Path } })
  }
}"""

INVENTORY = read_script("inventory", f"""$h = Get-VMHost
$os = Get-CimInstance -ClassName Win32_OperatingSystem
$disk = Get-PSDrive -Name $h.VirtualMachinePath.Substring(0, 1)
[pscustomobject]@{{
  Host = [pscustomobject]@{{
    ComputerName = $h.ComputerName; LogicalProcessorCount = $h.LogicalProcessorCount
    MemoryCapacity = $h.MemoryCapacity; FreeMemory = [int64]$os.FreePhysicalMemory * 1024
    VirtualMachinePath = $h.VirtualMachinePath; DiskUsed = $disk.Used; DiskFree = $disk.Free
  }}
  Switches = @(Get-VMSwitch | ForEach-Object {{ [pscustomobject]@{{
    Name = $_.Name; SwitchType = $_.SwitchType }} }})
  VMs = @(Get-VM | {_VM})
}} | ConvertTo-Json -Depth 6 -Compress""")


def one_vm(vm_id: str) -> str:
    """The read of one VM by id (``[]`` when it is gone)."""
    return read_script(f"vm {literal(vm_id)}",
                       f"ConvertTo-Json -Depth 5 -Compress -InputObject @(Get-VM -Id "
                       f"{literal(vm_id)} -ErrorAction SilentlyContinue | {_VM})")


@dataclass(frozen=True)
class Drive:
    """A hard disk or DVD drive: where it sits, and its file."""

    controller: str
    number: int
    location: int
    path: str
    size: int = 0


@dataclass(frozen=True)
class Adapter:
    name: str
    switch: str | None
    mac: str
    """As Hyper-V writes it: 12 hex digits (``00155D010203``); zeros until first start."""
    dynamic_mac: bool


@dataclass(frozen=True)
class VmInfo:
    id: str
    name: str
    state: str
    generation: int
    cpus: int
    memory: int
    dynamic_memory: bool
    memory_minimum: int
    memory_maximum: int
    notes: str
    path: str
    secure_boot: bool
    secure_boot_template: str | None
    disks: tuple[Drive, ...]
    adapters: tuple[Adapter, ...]
    dvds: tuple[Drive, ...]

    @property
    def running(self) -> bool:
        return self.state in ("Running", "Starting", "Paused", "Pausing", "Resuming",
                              "Stopping", "Saving", "Reset")


@dataclass(frozen=True)
class HostInfo:
    name: str
    cpus: int
    memory: int
    free_memory: int
    vm_path: str
    disk_used: int
    disk_free: int


@dataclass(frozen=True)
class HostRead:
    """One bulk read."""

    host: HostInfo
    switches: dict[str, str]
    """Switch name → its type (Private, Internal, External)."""
    vms: tuple[VmInfo, ...]


def listed(value: Any) -> list[Any]:
    """A JSON list as Windows PowerShell writes it: null, one object, or a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def enum_name(value: Any, names: Mapping[int, str]) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        return str(value)
    return names.get(value, str(value))


def parse_json(text: str) -> Any:
    """The JSON a script printed (empty output: null). Raises ValueError."""
    text = text.strip().lstrip("\ufeff")
    return json.loads(text) if text else None


def parse_inventory(text: str) -> HostRead:
    document = parse_json(text) or {}
    host = document.get("Host") or {}
    return HostRead(
        host=HostInfo(str(host.get("ComputerName") or "localhost"),
                      int(host.get("LogicalProcessorCount") or 1),
                      int(host.get("MemoryCapacity") or 0), int(host.get("FreeMemory") or 0),
                      str(host.get("VirtualMachinePath") or ""),
                      int(host.get("DiskUsed") or 0), int(host.get("DiskFree") or 0)),
        switches={str(s["Name"]): enum_name(s.get("SwitchType"), SWITCH_TYPES)
                  for s in listed(document.get("Switches"))},
        vms=tuple(parse_vm(vm) for vm in listed(document.get("VMs"))))


def parse_vms(text: str) -> list[VmInfo]:
    """The VMs a ``one_vm`` read printed (none: the VM is gone)."""
    return [parse_vm(vm) for vm in listed(parse_json(text))]


def parse_vm(vm: Mapping[str, Any]) -> VmInfo:
    return VmInfo(
        id=str(vm["Id"]).lower(), name=str(vm["Name"]),
        state=enum_name(vm.get("State"), VM_STATES), generation=int(vm.get("Generation") or 1),
        cpus=int(vm.get("ProcessorCount") or 1), memory=int(vm.get("MemoryStartup") or 0),
        dynamic_memory=bool(vm.get("DynamicMemoryEnabled")),
        memory_minimum=int(vm.get("MemoryMinimum") or 0),
        memory_maximum=int(vm.get("MemoryMaximum") or 0),
        notes=str(vm.get("Notes") or ""), path=str(vm.get("Path") or ""),
        secure_boot=bool(vm.get("SecureBoot")),
        secure_boot_template=vm.get("SecureBootTemplate") or None,
        disks=tuple(_drive(d) for d in listed(vm.get("HardDrives"))),
        adapters=tuple(Adapter(str(a.get("Name") or ""), a.get("SwitchName") or None,
                               str(a.get("MacAddress") or "000000000000").upper(),
                               bool(a.get("DynamicMacAddressEnabled", True)))
                       for a in listed(vm.get("NetworkAdapters"))),
        dvds=tuple(_drive(d) for d in listed(vm.get("DvdDrives"))))


def _drive(drive: Mapping[str, Any]) -> Drive:
    return Drive(enum_name(drive.get("ControllerType"), CONTROLLERS),
                 int(drive.get("ControllerNumber") or 0),
                 int(drive.get("ControllerLocation") or 0), str(drive.get("Path") or ""),
                 int(drive.get("Size") or 0))
