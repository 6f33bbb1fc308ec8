"""A stateful fake of ``VBoxManage`` (VirtualBox 7.0.x output formats) for tests.

It has never met the real program: its outputs and error texts are written
from VirtualBox 7.0's documented formats (the manual's VBoxManage chapter and
transcripts users published of 7.0.x runs), and it answers only the commands
the virtualbox provider uses. It keeps VMs and media in a JSON file (the
``VBOX_FAKE_STATE`` environment variable, or ``state.json`` beside the
installed script), locked while one command runs, appends every command it is
given to ``calls.jsonl`` beside it, and refuses what the real program refuses:

- starting a running VM (``... is already locked by a session ...``);
- ``modifyvm`` (and disk changes) on a running VM (``... is already locked for
  a session (or being unlocked)``); ``controlvm`` on a VM that is not running;
- a VM name in use (``Machine settings file '...' already exists``);
- closing or deleting a disk a VM still has attached; shrinking a disk;
- unregistering a running VM.

Faults a test injects go under ``faults`` in the state file: ``ignore_acpi``
(the guest ignores the power button), ``fail`` (command name → an error text
printed once by the next such command).
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.vbox.render import hdd_block, machine_readable, vm_block

State = dict[str, Any]
PREFIX = "VBoxManage: error: "
DEFAULT_FOLDER = "/home/user/VirtualBox VMs"


class Refused(Exception):
    """A command VirtualBox refuses: its error lines, exit code 1."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(PREFIX + line for line in lines))


def empty_state(folder: str) -> State:
    return {"vms": {}, "hdds": {}, "dvds": {}, "folder": folder,
            "hostonlyifs": ["vboxnet0"], "bridgedifs": ["eth0", "eth1"],
            "host": {"cpus": 8, "memory": 16384, "available": 12000},
            "faults": {"ignore_acpi": False, "fail": {}}, "macs": 0}


def not_found(name: str) -> Refused:
    return Refused(f"Could not find a registered machine named '{name}'",
                   "Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component "
                   "VirtualBoxWrap, interface IVirtualBox, callee nsISupports",
                   'Context: "FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())" at '
                   "line 3022 of file VBoxManageInfo.cpp")


def locked(name: str) -> Refused:
    return Refused(f"The machine '{name}' is already locked for a session (or being "
                   "unlocked)", "Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), "
                   "component MachineWrap, interface IMachine, callee nsISupports",
                   'Context: "LockMachine(a->session, LockType_Write)" at line 580 of file '
                   "VBoxManageModifyVM.cpp")


def options(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """``--key=value`` and ``--key value`` options, and the other arguments."""
    found: dict[str, str] = {}
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg.startswith("--"):
            key, sep, value = arg[2:].partition("=")
            if not sep and key not in ("register", "delete") and index + 1 < len(args) \
                    and not args[index + 1].startswith("--"):
                index += 1
                value = args[index]
            found.setdefault(key, value)
            if key.startswith("nat-pf"):
                found[f"{key}#{index}"] = value
        else:
            rest.append(arg)
        index += 1
    return found, rest


class Fake:
    def __init__(self, state: State) -> None:
        self.state = state

    # -- lookups ----------------------------------------------------------------------

    def vm(self, name: str) -> dict[str, Any]:
        for vm in self.state["vms"].values():
            if name in (vm["name"], vm["uuid"]):
                return dict(vm) and vm
        raise not_found(name)

    def medium(self, kind: str, ref: str) -> tuple[str, dict[str, Any]]:
        table = self.state["hdds" if kind == "disk" else "dvds"]
        for key, medium in table.items():
            if ref in (key, medium["location"]):
                return key, medium
        raise Refused(f"Could not find file for the medium '{ref}' (VERR_FILE_NOT_FOUND)")

    def users(self, medium_uuid: str) -> list[dict[str, Any]]:
        return [vm for vm in self.state["vms"].values()
                if any(a["medium"] == medium_uuid for a in vm["attachments"])]

    def writable(self, vm: dict[str, Any]) -> None:
        if vm["state"] in ("running", "paused"):
            raise locked(vm["name"])

    # -- list / show ------------------------------------------------------------------

    def list(self, args: list[str]) -> str:
        what = args[-1]
        vms = list(self.state["vms"].values())
        if what == "vms" and "-l" in args:
            return "\n".join(vm_block(vm, self.state["hdds"], self.state["dvds"]) for vm in vms)
        if what == "vms":
            return "".join(f'"{vm["name"]}" {{{vm["uuid"]}}}\n' for vm in vms)
        if what == "runningvms":
            return "".join(f'"{vm["name"]}" {{{vm["uuid"]}}}\n' for vm in vms
                           if vm["state"] == "running")
        if what == "hdds":
            return "\n".join(hdd_block(m, self.users(key))
                             for key, m in self.state["hdds"].items())
        if what == "hostinfo":
            host = self.state["host"]
            return (f"Host Information:\n\nHost time: 2026-01-01T00:00:00.000000000Z\n"
                    f"Processor online count: {host['cpus']}\nProcessor count: {host['cpus']}\n"
                    f"Memory size: {host['memory']} MByte\n"
                    f"Memory available: {host['available']} MByte\n"
                    "Operating system: Linux\nOperating system version: 6.1.0\n")
        if what == "systemproperties":
            return (f"API version:                     7_0\nDefault machine folder:          "
                    f"{self.state['folder']}\n")
        if what in ("hostonlyifs", "bridgedifs"):
            return "\n".join(f"Name:            {name}\nGUID:            {uuid.uuid4()}\n"
                             f"DHCP:            Disabled\nStatus:          Up\n"
                             for name in self.state[what])
        raise Refused(f"Unknown list type '{what}'")

    def showvminfo(self, args: list[str]) -> str:
        vm = self.vm(args[0])
        if "--machinereadable" in args:
            return machine_readable(vm)
        return vm_block(vm, self.state["hdds"], self.state["dvds"])

    def getextradata(self, args: list[str]) -> str:
        extra = self.vm(args[0])["extradata"]
        if args[1] == "enumerate":
            return "".join(f"Key: {key}, Value: {value}\n" for key, value in extra.items())
        return f"Value: {extra[args[1]]}\n" if args[1] in extra else "No value set!\n"

    def setextradata(self, args: list[str]) -> str:
        vm = self.vm(args[0])
        if len(args) > 2:
            vm["extradata"][args[1]] = args[2]
        else:
            vm["extradata"].pop(args[1], None)
        return ""

    # -- machines ---------------------------------------------------------------------

    def createvm(self, args: list[str]) -> str:
        opts, _ = options(args)
        name = opts["name"]
        folder = opts.get("basefolder") or self.state["folder"]
        config = f"{folder}/{name}/{name}.vbox"
        if any(vm["config_file"] == config for vm in self.state["vms"].values()):
            raise Refused(f"Machine settings file '{config}' already exists",
                          "Details: code VBOX_E_FILE_ERROR (0x80bb0004), component "
                          "MachineWrap, interface IMachine")
        vm_id = str(uuid.uuid4())
        self.state["vms"][vm_id] = {
            "name": name, "uuid": vm_id, "groups": [g for g in opts.get("groups", "").split(",")
                                                    if g],
            "ostype": opts.get("ostype", "Other"), "config_file": config, "memory": 128,
            "cpus": 1, "firmware": "bios", "state": "poweroff", "autostart": False,
            "extradata": {}, "controllers": {}, "attachments": [], "nics": {
                "1": {"kind": "nat", "target": None, "mac": self.mac(), "type": "82540EM",
                      "forwards": []}}}
        Path(config).parent.mkdir(parents=True, exist_ok=True)
        return (f"Virtual machine '{name}' is created and registered.\nUUID: {vm_id}\n"
                f"Settings file: '{config}'\n")

    def mac(self) -> str:
        self.state["macs"] += 1
        return f"080027{self.state['macs']:06X}"

    def modifyvm(self, args: list[str]) -> str:
        vm = self.vm(args[0])
        self.writable(vm)
        opts, _ = options(args[1:])
        simple = {"memory": ("memory", int), "cpus": ("cpus", int),
                  "firmware": ("firmware", str), "os-type": ("ostype", str),
                  "autostart-enabled": ("autostart", lambda v: v == "on")}
        for key, value in opts.items():
            if key in simple:
                field, cast = simple[key]
                vm[field] = cast(value)
            elif key.startswith("nic") and key[3:].isdigit():
                self._set_nic(vm, key[3:], value)
        for key, value in opts.items():
            slot = "".join(ch for ch in key.split("#")[0] if ch.isdigit())
            nic = vm["nics"].get(slot)
            if nic is None:
                continue
            if key.startswith(("bridge-adapter", "host-only-adapter", "intnet", "nat-network")):
                nic["target"] = value
            elif key.startswith("mac-address"):
                nic["mac"] = value.upper()
            elif key.startswith("nic-type"):
                nic["type"] = value
            elif key.startswith("nat-pf") and "#" in key:
                self._natpf(nic, value.replace("delete=", "delete,", 1))
        return ""

    def _set_nic(self, vm: dict[str, Any], slot: str, kind: str) -> None:
        if kind == "none":
            vm["nics"].pop(slot, None)
            return
        nic = vm["nics"].setdefault(slot, {"kind": kind, "target": None, "mac": self.mac(),
                                           "type": "82540EM", "forwards": []})
        if nic["kind"] != kind:
            nic.update(kind=kind, target=None)
        if kind != "nat":
            nic["forwards"] = []

    @staticmethod
    def _natpf(nic: dict[str, Any], text: str) -> None:
        parts = text.split(",")
        if parts[0] == "delete":
            nic["forwards"] = [r for r in nic["forwards"] if r["name"] != parts[1]]
            return
        if any(r["name"] == parts[0] for r in nic["forwards"]):
            raise Refused(f"A NAT rule of this name already exists ('{parts[0]}')")
        nic["forwards"].append({"name": parts[0], "protocol": parts[1], "host_ip": parts[2],
                                "host_port": int(parts[3]), "guest_ip": parts[4],
                                "guest_port": int(parts[5])})

    def storagectl(self, args: list[str]) -> str:
        vm = self.vm(args[0])
        self.writable(vm)
        opts, _ = options(args[1:])
        vm["controllers"][opts["name"]] = opts.get("controller", "IntelAhci")
        return ""

    def unregistervm(self, args: list[str]) -> str:
        vm = self.vm(args[0])
        if vm["state"] in ("running", "paused"):
            raise Refused(f"Cannot unregister the machine '{vm['name']}' while it is locked",
                          "Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007)")
        del self.state["vms"][vm["uuid"]]
        if "--delete" in args:
            for attached in vm["attachments"]:
                self.state["hdds"].pop(attached["medium"], None)
        return "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n"

    # -- media ------------------------------------------------------------------------

    def createmedium(self, args: list[str]) -> str:
        opts, _ = options(args[1:])
        path = opts["filename"]
        if any(m["location"] == path for m in self.state["hdds"].values()):
            raise Refused("Failed to create medium", f"Could not create the medium storage "
                          f"unit '{path}'.", "VBox status code: -105 (VERR_ALREADY_EXISTS)")
        medium_id = str(uuid.uuid4())
        self.state["hdds"][medium_id] = {"uuid": medium_id, "location": path,
                                         "capacity": int(opts["size"]),
                                         "format": opts.get("format", "VDI").upper()}
        return ("0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n"
                f"Medium created. UUID: {medium_id}\n")

    def storageattach(self, args: list[str]) -> str:
        vm = self.vm(args[0])
        opts, _ = options(args[1:])
        controller = opts["storagectl"]
        if controller not in vm["controllers"]:
            raise Refused(f"Could not find a controller named '{controller}'")
        port, device, medium = int(opts["port"]), int(opts.get("device", 0)), opts["medium"]
        if opts.get("type") != "dvddrive":
            self.writable(vm)
        vm["attachments"] = [a for a in vm["attachments"] if not (
            a["controller"] == controller and a["port"] == port and a["device"] == device)]
        if medium in ("none", "emptydrive"):
            return ""
        if opts.get("type") == "dvddrive":
            key = next((k for k, m in self.state["dvds"].items() if m["location"] == medium),
                       None)
            if key is None:
                if not Path(medium).exists():
                    raise Refused(f"Could not find file for the medium '{medium}' "
                                  "(VERR_FILE_NOT_FOUND)")
                key = str(uuid.uuid4())
                self.state["dvds"][key] = {"uuid": key, "location": medium}
        else:
            key, _ = self.medium("disk", medium)
        vm["attachments"].append({"controller": controller, "port": port, "device": device,
                                  "type": opts.get("type", "hdd"), "medium": key})
        return ""

    def modifymedium(self, args: list[str]) -> str:
        opts, rest = options(args[1:])
        key, medium = self.medium("disk", rest[0])
        if any(vm["state"] in ("running", "paused") for vm in self.users(key)):
            raise Refused(f"Medium '{medium['location']}' is locked for writing by another "
                          "task")
        size = int(opts["resize"])
        if size < medium["capacity"]:
            raise Refused("Resize medium operation for this format is not implemented yet!")
        medium["capacity"] = size
        return "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n"

    def closemedium(self, args: list[str]) -> str:
        kind = args[0]
        key, medium = self.medium(kind, args[1])
        users = self.users(key)
        if users:
            raise Refused(f"Cannot close medium '{medium['location']}' because it is still "
                          f"attached to {len(users)} virtual machines")
        del self.state["hdds" if kind == "disk" else "dvds"][key]
        if "--delete" in args and kind == "dvd":
            Path(medium["location"]).unlink(missing_ok=True)
        return "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n" \
            if "--delete" in args else ""

    # -- power ------------------------------------------------------------------------

    def startvm(self, args: list[str]) -> str:
        vm = self.vm(args[0])
        if vm["state"] in ("running", "paused"):
            raise Refused(f"The machine '{vm['name']}' is already locked by a session (or "
                          "being locked or unlocked)",
                          "Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007)")
        vm["state"] = "running"
        return (f'Waiting for VM "{vm["name"]}" to power on...\n'
                f'VM "{vm["name"]}" has been successfully started.\n')

    def controlvm(self, args: list[str]) -> str:
        vm = self.vm(args[0])
        action = args[1]
        if vm["state"] not in ("running", "paused"):
            raise Refused(f"Machine '{vm['name']}' is not currently running")
        if action == "poweroff":
            vm["state"] = "poweroff"
            return "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n"
        if action == "acpipowerbutton":
            if not self.state["faults"].get("ignore_acpi"):
                vm["state"] = "poweroff"
            return ""
        if action == "resume":
            vm["state"] = "running"
            return ""
        slot = action[len("natpf"):] if action.startswith("natpf") else action[len("nic"):]
        nic = vm["nics"].get(slot)
        if nic is None:
            raise Refused(f"Network adapter {slot} is disabled")
        if action.startswith("natpf"):
            self._natpf(nic, ",".join(["delete", args[3]]) if args[2] == "delete" else args[2])
        elif action.startswith("nic"):
            nic.update(kind=args[2], target=args[3] if len(args) > 3 else None)
            if args[2] != "nat":
                nic["forwards"] = []
        else:
            raise Refused(f"Invalid parameter '{action}'")
        return ""

    def discardstate(self, args: list[str]) -> str:
        self.vm(args[0])["state"] = "poweroff"
        return ""


def run(argv: list[str], state: State) -> tuple[int, str, str]:
    args = [a for a in argv if a not in ("-q", "--nologo")]
    if not args:
        return 1, "", "Usage: VBoxManage ...\n"
    command, rest = args[0], args[1:]
    failing = state["faults"]["fail"].pop(command, None)
    if failing:
        return 1, "", PREFIX + failing + "\n"
    handler: Callable[[list[str]], str] | None = getattr(Fake(state), command, None)
    if handler is None or command.startswith("_"):
        return 1, "", f"{PREFIX}Unknown command '{command}'\n"
    try:
        return 0, handler(rest), ""
    except Refused as exc:
        return 1, "", f"{exc}\n"


def main() -> None:
    state_path = Path(os.environ.get("VBOX_FAKE_STATE") or Path(sys.argv[0]).with_name(
        "state.json"))
    with open(state_path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.loads(state_path.read_text()) if state_path.exists() else \
            empty_state(str(state_path.parent / "VirtualBox VMs"))
        code, out, err = run(sys.argv[1:], state)
        state_path.write_text(json.dumps(state, indent=1))
        with open(state_path.with_name("calls.jsonl"), "a") as log:
            log.write(json.dumps({"argv": sys.argv[1:], "code": code}) + "\n")
    sys.stdout.write(out)
    sys.stderr.write(err)
    sys.exit(code)
