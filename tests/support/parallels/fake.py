"""A stateful fake of ``prlctl`` and ``prlsrvctl`` (Parallels Desktop 20 Pro) for tests.

It has never met the real programs: its JSON is written from what public
projects record of real ``prlctl list --info --json`` and ``prlsrvctl net list
--json`` output (Parallels' own vagrant-parallels plugin and its test
fixtures, Parallels' VS Code extension's models of Desktop 20 output), its
error texts from those and from Parallels' documentation; the ones no public
record confirms are marked ``# unconfirmed`` below. It answers only the
commands the parallels provider uses. It keeps VMs in a JSON file (the
``PRL_FAKE_STATE`` environment variable, or ``state.json`` beside the installed
script), locked while one command runs, appends every command it is given to
``calls.jsonl`` beside it (``argv[0]`` is ``prlctl`` or ``prlsrvctl``), and
refuses what the real program refuses:

- an unknown VM (``The virtual machine could not be found.``);
- starting a running VM; stopping a stopped or a paused one; deleting a
  running one;
- changing a running VM's hardware (vCPUs, memory, autostart, adding or removing
  a disk, CD drive or NIC, growing a disk, a NIC's MAC or adapter type); only a
  NIC's network and the description change while it runs;
- a VM name in use; shrinking a disk; a device, image or network that is not there.

Faults a test injects go under ``faults`` in the state file: ``ignore_shutdown``
(the guest ignores ``prlctl stop``: the command waits, as the real one does,
until it is ended), ``fail`` (command name → an error text printed once by the
next such command).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from support.parallels.render import networks, server_info, vm_info

State = dict[str, Any]
NOT_FOUND = "The virtual machine could not be found."
HANG = 120.0
"""Seconds a ``prlctl stop`` of a guest that ignores it waits (it is ended before)."""


class Refused(Exception):
    """A command prlctl refuses: its message on stderr, exit code 1."""


def empty_state(home: str) -> State:
    return {"vms": {}, "home": home, "macs": 0,
            "networks": [{"id": "Shared", "type": "shared", "bound_to": "vnic0"},
                         {"id": "Host-Only", "type": "host-only", "bound_to": "vnic1"},
                         {"id": "Default", "type": "bridged", "bound_to": "en0"},
                         {"id": "lab", "type": "host-only", "bound_to": "vnic2"}],
            "faults": {"ignore_shutdown": False, "fail": {}}}


def options(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """``--key value`` options (``--kill``, ``--no-hdd``... without a value) and the rest."""
    flags = ("--kill", "--no-hdd", "--all", "--info", "--json", "--destroy-image",
             "--detach-only", "--connect", "--disconnect")
    found: dict[str, str] = {}
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in flags or arg in ("-a", "-i", "-j"):
            found[arg.lstrip("-")] = ""
        elif arg.startswith("--") and index + 1 < len(args):
            found[arg[2:]] = args[index + 1]
            index += 1
        else:
            rest.append(arg)
        index += 1
    return found, rest


class Fake:
    def __init__(self, state: State) -> None:
        self.state = state
        self.hang = False

    def vm(self, ref: str) -> dict[str, Any]:
        for vm in self.state["vms"].values():
            if ref in (vm["name"], vm["uuid"], "{" + vm["uuid"] + "}"):
                return vm
        raise Refused(NOT_FOUND)

    def mac(self) -> str:
        self.state["macs"] += 1
        return f"001C42{self.state['macs']:06X}"

    # -- prlsrvctl ----------------------------------------------------------------------

    def srv(self, args: list[str]) -> str:
        if args[:2] == ["net", "list"]:
            return json.dumps(networks(self.state["networks"]), indent=1) + "\n"
        if args[:1] == ["info"]:
            return json.dumps(server_info(self.state["home"]), indent=1) + "\n"
        raise Refused(f"Unknown command: {' '.join(args)}")

    # -- prlctl -------------------------------------------------------------------------

    def list(self, args: list[str]) -> str:
        opts, rest = options(args)
        vms = [self.vm(rest[0])] if rest else list(self.state["vms"].values())
        if "json" not in opts or "info" not in opts:
            raise Refused("the fake prlctl answers only `list [NAME] --all --info --json`")
        return json.dumps([vm_info(vm) for vm in vms], indent=1) + "\n"

    def create(self, args: list[str]) -> str:
        opts, rest = options(args)
        name = rest[0]
        if any(vm["name"] == name for vm in self.state["vms"].values()):
            raise Refused(f'Failed to create the VM: The virtual machine "{name}" already '
                          "exists.")  # unconfirmed wording
        folder = Path(opts.get("dst") or self.state["home"])
        home = folder / f"{name}.pvm"
        if home.exists():
            raise Refused(f"Failed to create the VM: The directory {home} already exists.")
        home.mkdir(parents=True)
        vm_id = str(uuid.uuid4())
        vm: dict[str, Any] = {
            "name": name, "uuid": vm_id, "description": "", "state": "stopped",
            "home": f"{home}/", "os": opts.get("distribution") or opts.get("ostype", "linux"),
            "cpus": 2, "memory": 1024, "autostart": False, "ports": 0, "devices": {}}
        if "no-hdd" not in opts:
            self._add_hdd(vm, 65536)
        vm["devices"]["cdrom0"] = {"port": self._port(vm), "image": ""}
        vm["devices"]["net0"] = {"type": "shared", "iface": None, "mac": self.mac(),
                                 "card": "virtio"}
        self.state["vms"][vm_id] = vm
        return (f"Creating the virtual machine...\nGenerate the VM configuration for "
                f"{vm['os']}.\nThe VM has been successfully created.\n")

    @staticmethod
    def _port(vm: dict[str, Any]) -> str:
        vm["ports"] += 1
        return f"sata:{vm['ports'] - 1}"

    def _add_hdd(self, vm: dict[str, Any], size: int) -> str:
        index = _free(vm, "hdd")
        image = f"{vm['home']}harddisk{index or ''}.hdd"
        Path(image).write_bytes(b"")
        vm["devices"][f"hdd{index}"] = {"port": self._port(vm), "image": image, "size": size}
        return (f"Created hdd{index} (+) {vm['devices'][f'hdd{index}']['port']} "
                f"image='{image}' type='expanded' {size}Mb subtype=virtio-scsi\n")

    def set(self, args: list[str]) -> str:
        opts, rest = options(args)
        vm = self.vm(rest[0])
        running = vm["state"] != "stopped"
        hardware = {"cpus", "memsize", "autostart", "distribution", "device-add",
                    "device-del"}
        if running and (hardware & set(opts) or self._hardware_set(opts)):
            raise Refused("Failed to configure the VM: Unable to commit the changes: the "
                          "virtual machine is running. Stop the virtual machine and try "
                          "again.")  # unconfirmed wording
        out = "Configure the VM...\n"
        if "description" in opts:
            vm["description"] = opts["description"]
            out += "Set description\n"
        if "cpus" in opts:
            vm["cpus"] = int(opts["cpus"])
            out += f"set cpus({opts['cpus']})\n"
        if "memsize" in opts:
            vm["memory"] = int(opts["memsize"])
            out += f"Set the memsize parameter to {opts['memsize']}Mb.\n"
        if "autostart" in opts:
            vm["autostart"] = opts["autostart"] == "on"
        if "distribution" in opts:
            vm["os"] = opts["distribution"]
        if "device-add" in opts:
            out += self._device_add(vm, opts["device-add"], opts)
        if "device-set" in opts:
            out += self._device_set(vm, opts["device-set"], opts)
        if "device-del" in opts:
            out += self._device_del(vm, opts["device-del"], opts)
        return out + "The VM has been successfully configured.\n"

    @staticmethod
    def _hardware_set(opts: dict[str, str]) -> bool:
        device = opts.get("device-set", "")
        return bool(device) and (device.startswith(("hdd", "cdrom")) or
                                 bool({"mac", "adapter-type"} & set(opts)))

    def _device_add(self, vm: dict[str, Any], kind: str, opts: dict[str, str]) -> str:
        if kind == "hdd":
            return self._add_hdd(vm, int(opts.get("size", "65536")))
        if kind == "cdrom":
            image = opts.get("image", "")
            if image and not Path(image).exists():
                raise Refused(f"Failed to configure the VM: The file {image} does not "
                              "exist.")  # unconfirmed wording
            index = _free(vm, "cdrom")
            vm["devices"][f"cdrom{index}"] = {"port": self._port(vm), "image": image}
            return f"Created cdrom{index} (+) {vm['devices'][f'cdrom{index}']['port']}\n"
        if kind == "net":
            index = _free(vm, "net")
            vm["devices"][f"net{index}"] = {"type": "shared", "iface": None,
                                            "mac": self.mac(), "card": "virtio"}
            self._set_nic(vm["devices"][f"net{index}"], opts)
            return f"Created net{index} (+) type={opts.get('type', 'shared')}\n"
        raise Refused(f"Failed to configure the VM: invalid device type {kind}")

    def _device_set(self, vm: dict[str, Any], key: str, opts: dict[str, str]) -> str:
        device = _device(vm, key)
        if key.startswith("hdd") and "size" in opts:
            size = int(opts["size"])
            if size < device["size"]:
                raise Refused("Failed to configure the VM: The new size of the virtual "
                              "hard disk is smaller than the current one.")  # unconfirmed
            device["size"] = size
        elif key.startswith("net"):
            self._set_nic(device, opts)
        return f"The {key} has been successfully configured.\n"

    def _set_nic(self, nic: dict[str, Any], opts: dict[str, str]) -> None:
        if "type" in opts:
            kind, iface = opts["type"], opts.get("iface")
            names = {n["type"]: set() for n in self.state["networks"]}
            for net in self.state["networks"]:
                names[net["type"]] |= {net["id"], net["bound_to"]}
            known = names.get("host-only" if kind == "host" else kind, set())
            if kind not in ("shared", "host", "bridged") or (iface and iface not in known):
                raise Refused(f"Failed to configure the VM: The network adapter "
                              f"{iface or kind} does not exist.")  # unconfirmed wording
            nic.update(type=kind, iface=iface if kind != "shared" else None)
        if "mac" in opts:
            nic["mac"] = opts["mac"].replace(":", "").upper()
        if "adapter-type" in opts:
            nic["card"] = opts["adapter-type"]

    @staticmethod
    def _device_del(vm: dict[str, Any], key: str, opts: dict[str, str]) -> str:
        device = _device(vm, key)
        del vm["devices"][key]
        if key.startswith("hdd") and "destroy-image" in opts:
            Path(device["image"]).unlink(missing_ok=True)
        return f"Remove the {key} device.\n"

    def start(self, args: list[str]) -> str:
        vm = self.vm(args[0])
        if vm["state"] in ("running", "paused"):
            raise Refused(f'Failed to start the VM: The virtual machine "{vm["name"]}" is '
                          "already running.")  # unconfirmed wording
        vm["state"] = "running"
        return "Starting the VM...\nThe VM has been successfully started.\n"

    def resume(self, args: list[str]) -> str:
        vm = self.vm(args[0])
        if vm["state"] not in ("paused", "suspended"):
            raise Refused("Failed to resume the VM: The virtual machine is not paused or "
                          "suspended.")  # unconfirmed wording
        vm["state"] = "running"
        return "Resuming the VM...\nThe VM has been successfully resumed.\n"

    def stop(self, args: list[str]) -> str:
        opts, rest = options(args)
        vm = self.vm(rest[0])
        if vm["state"] == "stopped":
            raise Refused(f'Failed to stop the VM: The virtual machine "{vm["name"]}" is '
                          "not running.")  # unconfirmed wording
        if vm["state"] == "paused":
            raise Refused("Failed to stop the VM: Unable to complete the operation. This "
                          "operation cannot be completed because the virtual machine "
                          f'"{vm["name"]} is in the "paused" state.')
        if "kill" not in opts and self.state["faults"].get("ignore_shutdown"):
            self.hang = True
            return "Stopping the VM...\n"
        vm["state"] = "stopped"
        return "Stopping the VM...\nThe VM has been successfully stopped.\n"

    def delete(self, args: list[str]) -> str:
        vm = self.vm(args[0])
        if vm["state"] != "stopped":
            raise Refused("Failed to remove the VM: Unable to perform the action because the "
                          "virtual machine is busy. The virtual machine is currently "
                          "running. Please try again later.")
        del self.state["vms"][vm["uuid"]]
        shutil.rmtree(vm["home"], ignore_errors=True)
        return "Removing the VM...\nThe VM has been successfully removed.\n"


def _free(vm: dict[str, Any], kind: str) -> int:
    index = 0
    while f"{kind}{index}" in vm["devices"]:
        index += 1
    return index


def _device(vm: dict[str, Any], key: str) -> dict[str, Any]:
    if key not in vm["devices"]:
        raise Refused(f"Failed to configure the VM: The device {key} does not exist.")
    device: dict[str, Any] = vm["devices"][key]
    return device


COMMANDS = ("list", "create", "set", "start", "resume", "stop", "delete")


def run(program: str, argv: list[str], state: State) -> tuple[int, str, str, bool]:
    """(exit code, stdout, stderr, whether the command then hangs)."""
    fake = Fake(state)
    if program == "prlsrvctl":
        command = f"prlsrvctl {argv[0] if argv else ''}"
    else:
        command = argv[0] if argv else ""
    failing = state["faults"]["fail"].pop(command, None)
    if failing:
        return 1, "", failing + "\n", False
    try:
        if program == "prlsrvctl":
            return 0, fake.srv(argv), "", False
        if command not in COMMANDS:
            return 1, "", f"Unknown command: {command}\n", False
        out = getattr(fake, command)(argv[1:])
        return 0, out, "", fake.hang
    except Refused as exc:
        return 1, "", f"{exc}\n", False


def main() -> None:
    program = Path(sys.argv[0]).name
    state_path = Path(os.environ.get("PRL_FAKE_STATE") or Path(sys.argv[0]).with_name(
        "state.json"))
    with open(state_path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.loads(state_path.read_text()) if state_path.exists() else \
            empty_state(str(state_path.parent / "Parallels"))
        code, out, err, hang = run(program, sys.argv[1:], state)
        state_path.write_text(json.dumps(state, indent=1))
        with open(state_path.with_name("calls.jsonl"), "a") as log:
            log.write(json.dumps({"argv": [program, *sys.argv[1:]], "code": code}) + "\n")
    sys.stdout.write(out)
    sys.stdout.flush()
    if hang:
        time.sleep(HANG)  # the lock is free: other commands run meanwhile
    sys.stderr.write(err)
    sys.exit(code)
