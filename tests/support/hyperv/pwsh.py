"""A stateful fake of PowerShell with the Hyper-V module, for tests (standard library only).

Its outputs stand for Windows Server 2022 / Windows 11 (Hyper-V module 2.0,
Windows PowerShell 5.1): ``ConvertTo-Json`` writing enums as integers (State
Running = 2, Off = 3; ControllerType IDE = 0, SCSI = 1), sizes in bytes, MACs as
12 hex digits, and error records as ``Cmdlet : message`` with the ``At line:``
position and ``CategoryInfo``/``FullyQualifiedErrorId`` lines. It has never met the
real program: formats and error texts come from Microsoft's cmdlet documentation
and from runs published in public projects' issues (minikube, Packer, Vagrant).

It accepts only the script form of ``syntax.py`` and only the cmdlets the hyperv
provider uses. It keeps VMs, switches and VHD files in a JSON file (``state.json``
beside the program, or ``HYPERV_FAKE_STATE``), locked while one script runs, makes
and removes real files and folders for VHDs and VM folders, appends every script
to ``calls.jsonl``, and refuses what Hyper-V refuses:

- changing a running VM's processors, static memory or the dynamic memory switch,
  firmware, or a static MAC (``Failed to modify device ...``);
- adding or removing an IDE disk, or growing an IDE disk, of a running VM (a SCSI
  VHDX grows online); shrinking a disk; making a VHD where a file is;
- removing a running VM; deleting a file a running VM holds (``being used by
  another process``); an unknown VM id or switch; a seed ISO that is not there.

As Hyper-V does, it makes a second VM with a name in use, and only warns
(``WARNING: The virtual machine is already in the specified state.``) when a VM
is started or stopped twice. Faults a test injects go under ``faults``:
``ignore_shutdown`` (a graceful Stop-VM hangs until killed) and ``fail`` (cmdlet
→ a message printed once, as that cmdlet's error, by its next call).
"""

from __future__ import annotations

import json
import os
import sys

from support.hyperv.syntax import Parsed, ParseError, Stage, parse

TYPE_CHECKING = False  # not typing's: importing typing costs each call 6 ms
if TYPE_CHECKING:
    from typing import Any

    State = dict[str, Any]
# Only json, os and sys at the top: every import costs each call of the fake (uuid,
# pathlib, shutil, typing, dataclasses and re cost it 30 ms together).

RUNNING, OFF, SAVED, PAUSED = 2, 3, 6, 9
IDE, SCSI = 0, 1
ALREADY = "WARNING: The virtual machine is already in the specified state."


class Refused(Exception):
    """A cmdlet's terminating error: its message and its category."""

    def __init__(self, message: str, category: str = "InvalidOperation",
                 error_id: str = "InvalidState") -> None:
        super().__init__(message)
        self.category = category
        self.error_id = error_id
        self.cmdlet = ""
        """The cmdlet of the pipeline that failed (set where it failed)."""


def empty_state(root: str) -> State:
    return {"vms": {}, "vhds": {}, "root": root,
            "switches": [{"Name": "Default Switch", "SwitchType": 1},
                         {"Name": "External", "SwitchType": 2}],
            "host": {"ComputerName": "HV01", "LogicalProcessorCount": 8,
                     "MemoryCapacity": 17179869184, "FreeMemory": 12884901888,
                     "DiskUsed": 100 * 2**30, "DiskFree": 400 * 2**30},
            "faults": {"ignore_shutdown": False, "fail": {}}, "macs": 0}


def not_found(vm_id: str) -> Refused:
    return Refused(f'Hyper-V was unable to find a virtual machine with ID "{vm_id}".',
                   "InvalidArgument", "InvalidParameter")


def cannot_modify(vm: dict[str, Any], device: str) -> Refused:
    return Refused(f"Failed to modify device '{device}'.\n'{vm['Name']}' failed to modify "
                   f"device '{device}'. (Virtual machine ID {vm['Id'].upper()})\nThe operation "
                   "cannot be performed while the virtual machine is in its current state.")


# -- output ------------------------------------------------------------------------------

def vm_json(state: State, vm: dict[str, Any]) -> dict[str, Any]:
    shown = {key: vm[key] for key in ("Id", "Name", "State", "Generation", "ProcessorCount",
                                      "MemoryStartup", "DynamicMemoryEnabled", "MemoryMinimum",
                                      "MemoryMaximum", "Notes", "Path", "SecureBoot",
                                      "SecureBootTemplate", "NetworkAdapters", "DvdDrives")}
    if vm["Generation"] == 1:
        shown["SecureBoot"], shown["SecureBootTemplate"] = False, None
    shown["HardDrives"] = [{**drive, "Size": state["vhds"].get(drive["Path"], {}).get("Size", 0)}
                           for drive in vm["HardDrives"]]
    return shown


def inventory(state: State) -> str:
    host = {**state["host"], "VirtualMachinePath": state["root"]}
    document = {"Host": host, "Switches": state["switches"],
                "VMs": [vm_json(state, vm) for vm in state["vms"].values()]}
    return json.dumps(document, separators=(",", ":"))


def answer_read(state: State, what: str) -> str:
    if what == "inventory":
        return inventory(state)
    if what.startswith("vm '") and what.endswith("'"):
        vm = state["vms"].get(what[4:-1].lower())
        return json.dumps([vm_json(state, vm)] if vm else [], separators=(",", ":"))
    raise ParseError(f"no such read: {what}")


# -- cmdlets -----------------------------------------------------------------------------

def _vm_of(items: list[Any]) -> dict[str, Any]:
    for item in items:
        if "ProcessorCount" in item:
            return dict(item)
    raise Refused("The input object cannot be bound to any parameters for the command.",
                  "InvalidArgument", "InputObjectNotBound")


class Session:
    """One script's run against the state."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.out: list[str] = []
        self.new_vm: dict[str, Any] | None = None

    def vm(self, vm_id: str) -> dict[str, Any]:
        found = self.state["vms"].get(str(vm_id).lower())
        if found is None:
            raise not_found(str(vm_id))
        return dict(found)

    def pipeline(self, stages: list[Stage]) -> list[Any]:
        items: list[Any] = []
        for stage in stages:
            try:
                items = self._stage(stage, items)
            except Refused as refused:
                refused.cmdlet = refused.cmdlet or stage.cmdlet
                raise
        return items

    def _stage(self, stage: Stage, items: list[Any]) -> list[Any]:
        fail = self.state["faults"]["fail"].pop(stage.cmdlet, None)
        if fail:
            raise Refused(fail)
        if stage.cmdlet == "$vm":
            if self.new_vm is None:
                raise Refused("You cannot call a method on a null-valued expression.")
            return [self.new_vm]
        handler = getattr(self, "c_" + stage.cmdlet.replace("-", "_"), None)
        if handler is None:
            raise Refused(f"The term '{stage.cmdlet}' is not recognized as the name of a "
                          "cmdlet, function, script file, or operable program.",
                          "ObjectNotFound", "CommandNotFoundException")
        found: list[Any] = handler(stage.params, items)
        return found

    def _vm_stage(self, items: list[Any]) -> dict[str, Any]:
        """The VM a device or VM stage acts on (fresh from the state)."""
        vm = _vm_of(items) if any("ProcessorCount" in i for i in items) else \
            self.vm(items[0]["VMId"]) if items else _vm_of(items)
        found: dict[str, Any] = self.state["vms"][vm["Id"]]
        return found

    # reads ------------------------------------------------------------------------------
    def c_Get_VM(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        return [self.vm(str(p["Id"]))]

    def c_Get_VMNetworkAdapter(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        vm = self._vm_stage(items)
        return [{**a, "VMId": vm["Id"]} for a in vm["NetworkAdapters"]
                if "Name" not in p or a["Name"] == p["Name"]]

    def c_Get_VMHardDiskDrive(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        vm = self._vm_stage(items)
        return [{**d, "VMId": vm["Id"], "kind": "disk"} for d in vm["HardDrives"]
                if _at(d, p)]

    def c_Get_VMDvdDrive(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        vm = self._vm_stage(items)
        return [{**d, "VMId": vm["Id"], "kind": "dvd"} for d in vm["DvdDrives"] if _at(d, p)]

    # the VM -----------------------------------------------------------------------------
    def c_New_VM(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        generation = int(p.get("Generation") or 1)
        name, vm_id = str(p["Name"]), _new_id()
        path = os.path.join(str(p.get("Path") or self.state["root"]), name)
        os.makedirs(os.path.join(path, "Virtual Machines"), exist_ok=True)
        _write(os.path.join(path, "Virtual Machines", f"{vm_id.upper()}.vmcx"), b"{}")
        vm: dict[str, Any] = {"Id": vm_id, "Name": name, "State": OFF, "Generation": generation,
              "ProcessorCount": 1, "MemoryStartup": int(p.get("MemoryStartupBytes") or 2**30),
              "DynamicMemoryEnabled": False, "MemoryMinimum": 512 * 2**20,
              "MemoryMaximum": 1048576 * 2**20, "Notes": "", "Path": path,
              "SecureBoot": generation == 2, "SecureBootTemplate": "MicrosoftWindows",
              "HardDrives": [], "DvdDrives": [],
              "NetworkAdapters": [{"Name": "Network Adapter", "SwitchName": None,
                                   "MacAddress": "000000000000",
                                   "DynamicMacAddressEnabled": True}]}
        if generation == 1:  # New-VM gives a generation 1 VM an empty DVD drive at IDE 1:0
            vm["DvdDrives"].append({"ControllerType": IDE, "ControllerNumber": 1,
                                    "ControllerLocation": 0, "Path": None})
        self.state["vms"][vm_id] = vm
        return [vm]

    def c_Set_VM(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        vm = self._vm_stage(items)
        if "Notes" in p:
            vm["Notes"] = str(p["Notes"])
        return []

    def c_Set_VMProcessor(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        vm = self._vm_stage(items)
        if vm["State"] != OFF and int(p["Count"]) != vm["ProcessorCount"]:
            raise cannot_modify(vm, "Processor")
        vm["ProcessorCount"] = int(p["Count"])
        return []

    def c_Set_VMMemory(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        vm = self._vm_stage(items)
        dynamic = bool(p.get("DynamicMemoryEnabled", vm["DynamicMemoryEnabled"]))
        startup = int(p.get("StartupBytes", vm["MemoryStartup"]))
        if vm["State"] != OFF and (dynamic != vm["DynamicMemoryEnabled"] or
                                   startup != vm["MemoryStartup"]):
            raise cannot_modify(vm, "Memory")
        if startup % (2 * 2**20):
            raise Refused(f"Failed to modify device 'Memory'.\nInvalid startup memory amount "
                          f"assigned for '{vm['Name']}'. The amount of memory must be a "
                          "multiple of 2 MB.")
        vm.update(DynamicMemoryEnabled=dynamic, MemoryStartup=startup,
                  MemoryMinimum=int(p.get("MinimumBytes", vm["MemoryMinimum"])),
                  MemoryMaximum=int(p.get("MaximumBytes", vm["MemoryMaximum"])))
        return []

    def c_Set_VMFirmware(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        vm = self._vm_stage(items)
        if vm["Generation"] != 2:
            raise Refused("The operation is not supported on a generation 1 virtual machine.")
        if vm["State"] != OFF:
            raise cannot_modify(vm, "Firmware")
        vm["SecureBoot"] = p.get("EnableSecureBoot", "On") == "On"
        vm["SecureBootTemplate"] = p.get("SecureBootTemplate", vm["SecureBootTemplate"])
        return []

    def c_Start_VM(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        vm = self._vm_stage(items)
        if vm["State"] == RUNNING:
            self.out.append(ALREADY)
            return []
        for adapter in vm["NetworkAdapters"]:
            if adapter["DynamicMacAddressEnabled"] and adapter["MacAddress"] == "000000000000":
                self.state["macs"] += 1
                adapter["MacAddress"] = f"00155D{self.state['macs']:06X}"
        vm["State"] = RUNNING
        return []

    def c_Resume_VM(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        self._vm_stage(items)["State"] = RUNNING
        return []

    def c_Stop_VM(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        vm = self._vm_stage(items)
        if vm["State"] == OFF:
            self.out.append(ALREADY)
            return []
        if "TurnOff" not in p and self.state["faults"]["ignore_shutdown"]:
            import time

            time.sleep(60)  # the guest ignores the request: the caller's timeout kills us
        vm["State"] = OFF
        return []

    def c_Remove_VMSavedState(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        self._vm_stage(items)["State"] = OFF
        return []

    def c_Remove_VM(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        vm = self._vm_stage(items)
        if vm["State"] != OFF:
            raise Refused(f"'{vm['Name']}' failed to delete. The operation cannot be performed "
                          "while the virtual machine is in its current state.")
        import shutil

        shutil.rmtree(os.path.join(vm["Path"], "Virtual Machines"), ignore_errors=True)
        del self.state["vms"][vm["Id"]]
        return []

    # NICs -------------------------------------------------------------------------------
    def _switch(self, name: Any) -> str:
        if name not in {s["Name"] for s in self.state["switches"]}:
            raise Refused(f'Hyper-V was unable to find a virtual switch with name "{name}".',
                          "InvalidArgument", "InvalidParameter")
        return str(name)

    def c_Add_VMNetworkAdapter(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        vm = self._vm_stage(items)
        if vm["State"] != OFF and vm["Generation"] == 1:
            raise Refused(f"Failed to add device 'Network Adapter'.\n'{vm['Name']}' failed to "
                          "add device 'Network Adapter'. The operation cannot be performed "
                          "while the virtual machine is in its current state.")
        mac = str(p.get("StaticMacAddress") or "")
        vm["NetworkAdapters"].append({"Name": str(p.get("Name") or "Network Adapter"),
                                      "SwitchName": self._switch(p["SwitchName"])
                                      if p.get("SwitchName") else None,
                                      "MacAddress": mac or "000000000000",
                                      "DynamicMacAddressEnabled": not mac})
        return []

    def _adapter(self, items: list[Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        vm = self.state["vms"][items[0]["VMId"]] if items else _vm_of(items)
        names = {item["Name"] for item in items}
        return vm, [a for a in vm["NetworkAdapters"] if a["Name"] in names]

    def c_Connect_VMNetworkAdapter(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        _vm, adapters = self._adapter(items)
        for adapter in adapters:
            adapter["SwitchName"] = self._switch(p["SwitchName"])
        return []

    def c_Set_VMNetworkAdapter(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        vm, adapters = self._adapter(items)
        if vm["State"] != OFF:
            raise cannot_modify(vm, "Network Adapter")
        for adapter in adapters:
            adapter.update(MacAddress=str(p["StaticMacAddress"]), DynamicMacAddressEnabled=False)
        return []

    def c_Remove_VMNetworkAdapter(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        if not items:
            return []
        vm, adapters = self._adapter(items)
        if vm["State"] != OFF and vm["Generation"] == 1:
            raise Refused(f"Failed to remove device 'Network Adapter'.\n'{vm['Name']}' failed "
                          "to remove device. The operation cannot be performed while the "
                          "virtual machine is in its current state.")
        vm["NetworkAdapters"] = [a for a in vm["NetworkAdapters"] if a not in adapters]
        return []

    # disks and DVDs ---------------------------------------------------------------------
    def c_New_VHD(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        path, size = str(p["Path"]), int(p["SizeBytes"])
        if os.path.exists(path):
            raise Refused(f"Failed to create the virtual hard disk.\nThe system failed to "
                          f"create '{path}': The file exists. (0x80070050).")
        if size % 2**20:
            raise Refused("Failed to create the virtual hard disk.\nThe size of the virtual "
                          "hard disk must be a multiple of 1 MB.")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _write(path, b"vhdxfile")
        self.state["vhds"][path] = {"Size": size, "VhdType": 3, "VhdFormat": 3}
        self.out += ["", f"ComputerName            : {self.state['host']['ComputerName']}",
                     f"Path                    : {path}", "VhdFormat               : VHDX",
                     "VhdType                 : Dynamic", f"Size                    : {size}"]
        return []

    def _holder(self, path: str) -> dict[str, Any] | None:
        for vm in self.state["vms"].values():
            for drive in vm["HardDrives"] + vm["DvdDrives"]:
                if drive["Path"] and (drive["Path"] == path or
                                      drive["Path"].startswith(path.rstrip("/\\") + os.sep)):
                    return dict(vm)
        return None

    def c_Add_VMHardDiskDrive(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        vm = self._vm_stage(items)
        kind = {"IDE": IDE, "SCSI": SCSI}[str(p.get("ControllerType", "IDE"))]
        drive = {"ControllerType": kind, "ControllerNumber": int(p.get("ControllerNumber", 0)),
                 "ControllerLocation": int(p.get("ControllerLocation", 0)),
                 "Path": str(p["Path"])}
        if (kind, vm["Generation"]) in ((SCSI, 1), (IDE, 2)):
            raise Refused("Failed to add device 'Virtual Hard Disk'.\nThe controller type is "
                          "not supported by this generation of virtual machine.")
        if kind == IDE and vm["State"] != OFF:
            raise Refused(f"Failed to add device 'Virtual Hard Disk'.\n'{vm['Name']}' failed to "
                          "add device 'Virtual Hard Disk'. The operation cannot be performed "
                          "while the virtual machine is in its current state.")
        if str(p["Path"]) not in self.state["vhds"]:
            raise Refused(f"Failed to add device 'Virtual Hard Disk'.\nThe system cannot find "
                          f"the file '{p['Path']}'. (0x80070002).", "ObjectNotFound")
        if any(_at(d, p) for d in vm["HardDrives"] + vm["DvdDrives"]):
            raise Refused("Failed to add device 'Virtual Hard Disk'.\nThe specified location "
                          "is already in use.")
        vm["HardDrives"].append(drive)
        return []

    def c_Remove_VMHardDiskDrive(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        for item in items:
            vm = self.state["vms"][item["VMId"]]
            if item["ControllerType"] == IDE and vm["State"] != OFF:
                raise Refused(f"Failed to remove device 'Virtual Hard Disk'.\n'{vm['Name']}' "
                              "failed to remove device. The operation cannot be performed "
                              "while the virtual machine is in its current state.")
            vm["HardDrives"] = [d for d in vm["HardDrives"] if not _same(d, item)]
        return []

    def c_Resize_VHD(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        path, size = str(p["Path"]), int(p["SizeBytes"])
        vhd = self.state["vhds"].get(path)
        if vhd is None:
            raise Refused(f"Cannot find path '{path}' because it does not exist.",
                          "ObjectNotFound", "PathNotFound")
        holder = self._holder(path)
        if holder is not None and holder["State"] != OFF and any(
                d["Path"] == path and d["ControllerType"] == IDE for d in holder["HardDrives"]):
            raise Refused(f"Failed to resize the virtual disk.\nThe system failed to resize "
                          f"'{path}': The process cannot access the file because it is being "
                          "used by another process. (0x80070020).")
        if size < vhd["Size"]:
            raise Refused("Failed to resize the virtual disk.\nThe requested size is smaller "
                          "than the minimum size supported by the virtual disk.")
        vhd["Size"] = size
        return []

    def c_Add_VMDvdDrive(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        vm = self._vm_stage(items)
        path = str(p.get("Path") or "")
        if path and not os.path.exists(path):
            raise Refused(f"Failed to add device 'DVD Drive'.\nThe system cannot find the file "
                          f"'{path}'. (0x80070002).", "ObjectNotFound")
        kind = IDE if vm["Generation"] == 1 else SCSI
        if kind == IDE and vm["State"] != OFF:
            raise cannot_modify(vm, "DVD Drive")
        drive = {"ControllerType": kind, "ControllerNumber": int(p.get("ControllerNumber", 0)),
                 "ControllerLocation": int(p.get("ControllerLocation", 0)), "Path": path or None}
        if any(_same(d, drive) for d in vm["HardDrives"] + vm["DvdDrives"]):
            raise Refused("Failed to add device 'DVD Drive'.\nThe specified location is "
                          "already in use.")
        vm["DvdDrives"].append(drive)
        return []

    def c_Remove_VMDvdDrive(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        for item in items:
            vm = self.state["vms"][item["VMId"]]
            vm["DvdDrives"] = [d for d in vm["DvdDrives"] if not _same(d, item)]
        return []

    # files ------------------------------------------------------------------------------
    def c_Remove_Item(self, p: dict[str, Any], items: list[Any]) -> list[Any]:
        path = str(p["LiteralPath"])
        if not os.path.lexists(path):
            raise Refused(f"Cannot find path '{path}' because it does not exist.",
                          "ObjectNotFound", "PathNotFound,Microsoft.PowerShell.Commands."
                          "RemoveItemCommand")
        holder = self._holder(path)
        if holder is not None and holder["State"] != OFF:
            raise Refused(f"Cannot remove item {path}: The process cannot access the file "
                          f"'{path}' because it is being used by another process.",
                          "WriteError", "RemoveFileSystemItemIOError")
        if os.path.isdir(path):
            if "Recurse" not in p and os.listdir(path):
                raise Refused(f"The item at {path} has children and the Recurse parameter "
                              "was not specified.", "NotSpecified")
            import shutil

            shutil.rmtree(path)
        else:
            os.remove(path)
        prefix = path.rstrip("/\\") + os.sep
        for vhd in [v for v in self.state["vhds"] if v == path or v.startswith(prefix)]:
            del self.state["vhds"][vhd]
        return []


def _new_id() -> str:
    raw = os.urandom(16).hex()
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-{raw[20:]}"


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)


def _at(drive: dict[str, Any], p: dict[str, Any]) -> bool:
    kinds = {"IDE": IDE, "SCSI": SCSI}
    return all(p.get(key) is None or drive[key] == (kinds.get(p[key], p[key])
                                                    if key == "ControllerType" else p[key])
               for key in ("ControllerType", "ControllerNumber", "ControllerLocation"))


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a[key] == b[key] for key in ("ControllerType", "ControllerNumber",
                                             "ControllerLocation"))


# -- running a script ----------------------------------------------------------------------

def error_record(cmdlet: str, line: str, number: int, refused: Refused) -> str:
    column = max(line.find(cmdlet), 0)
    lines = str(refused).split("\n")
    return "\n".join([
        f"{cmdlet} : {lines[0]}", *lines[1:], f"At line:{number} char:{column + 1}",
        f"+ {line}", f"+ {' ' * column}{'~' * len(cmdlet)}",
        f"    + CategoryInfo          : {refused.category}: (:) [{cmdlet}], "
        "VirtualizationException",
        f"    + FullyQualifiedErrorId : {refused.error_id},Microsoft.HyperV.PowerShell."
        f"Commands.{cmdlet.replace('-', '')}", ""])


def run(text: str, state: State) -> tuple[int, str, str]:
    """Run one script against ``state`` (changed in place): exit code, stdout, stderr."""
    try:
        parsed: Parsed = parse(text)
    except ParseError as exc:
        return 1, "", (f"At line:1 char:1\n+ {exc}\n    + CategoryInfo          : ParserError: "
                       "(:) [], ParentContainsErrorRecordException\n    + "
                       "FullyQualifiedErrorId : UnexpectedToken\n")
    session = Session(state)
    if parsed.read is not None:
        try:
            return 0, answer_read(state, parsed.read) + "\n", ""
        except ParseError as exc:
            return 1, "", f"{exc}\n"
    for number, statement in enumerate(parsed.statements, start=3):
        if statement.print_id:
            session.out.append(session.new_vm["Id"] if session.new_vm else "")
            continue
        try:
            result = session.pipeline(statement.stages)
        except Refused as refused:
            return 1, "\n".join(session.out), error_record(refused.cmdlet, statement.line,
                                                           number, refused)
        if statement.assign:
            session.new_vm = result[0] if result else None
    return 0, "\n".join(session.out) + ("\n" if session.out else ""), ""


def state_file() -> str:
    given = os.environ.get("HYPERV_FAKE_STATE")
    return given or os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "state.json")


def parse_changes(script: str) -> bool:
    """Whether a script may have changed the state (reads do not: no write-back)."""
    return "\n# read: " not in script


def main() -> None:
    args = sys.argv[1:]
    if "-Command" not in args:
        sys.stderr.write("the fake PowerShell runs scripts given with -Command\n")
        sys.exit(64)
    script = sys.stdin.buffer.read().decode("utf-8")
    path = state_file()
    import fcntl

    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(os.path.join(os.path.dirname(path), "calls.jsonl"), "a",
                  encoding="utf-8") as log:
            log.write(json.dumps({"argv": args, "script": script}) + "\n")
        with open(path, encoding="utf-8") as file:
            state = json.load(file)
        code, out, err = run(script, state)
        if parse_changes(script):
            with open(path, "w", encoding="utf-8") as file:
                json.dump(state, file)
    sys.stdout.write(out)
    sys.stderr.write(err)
    sys.exit(code)
