"""A stateful fake of ``vmrun`` and ``vmware-vdiskmanager`` (VMware Workstation 17.5 /
Fusion 13.5, vmrun 1.17) for tests.

It has never met the real programs: its outputs and error texts are written from
VMware's vmrun documentation ("Using vmrun to Control Virtual Machines", VIX
1.17) and the texts public projects recorded of real runs (Packer's and
Vagrant's VMware drivers, users' reports); the error texts this fake prints that
no such record confirmed are marked ``unconfirmed`` below. The VMs are the
``.vmx`` files on disk, as with VMware; the fake's JSON state (``state.json``
beside the installed program, or ``$VMWARE_FAKE_STATE``; locked with fcntl
while one command runs) holds what VMware keeps in memory: which VMs run, and
each running VM's configuration as read at power-on. Every call is appended to
``calls.jsonl`` beside it. The same module answers as either program, by the
name it was run as. Standard library only: it is run as ``python -S``.

What it does as VMware does:

- ``vmrun start`` reads the .vmx, writes ``ethernetN.generatedAddress`` for NICs
  without a static MAC and ``uuid.bios`` (keys VMware adds at power-on), and
  keeps that configuration; ``vmrun stop`` writes it back to the .vmx, so an
  edit of the file made while the VM ran is lost, as with VMware;
- ``writeVariable VMX runtimeConfig KEY VALUE`` changes the running copy;
- refused: starting a running VM, stopping or writing to one that is off,
  deleting a running VM, a .vmx or disk that does not exist, a static MAC outside
  00:50:56:00:00:00-3F:FF:FF, ``memsize`` not a multiple of 4, growing or
  creating a disk a running VM holds (its lock), shrinking a disk, clones and
  snapshots under ``-T player``.

Disks are real, empty monolithicSparse vmdk files (``vmdk.py``); a grow makes the
file again at the new size (a fake's disks hold no data).

Faults a test injects in the state: ``faults.no_tools`` (``stop soft`` fails: no
VMware Tools in the guest), ``faults.fail`` (command → error text printed once
by the next such command: ``start``, ``stop``, ``deleteVM``, ``create-disk``,
``grow-disk``).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sys
from typing import Any

try:
    from vmdk import capacity_of, write_sparse  # run as a program: its folder is on sys.path
except ImportError:
    from support.vmware_desktop.vmdk import capacity_of, write_sparse

State = dict[str, Any]
HERE = os.path.dirname(os.path.abspath(__file__))
_LINE = re.compile(r'^\s*([^=\s][^=]*?)\s*=\s*"(.*)"\s*$')
_STATIC = re.compile(r"^00:50:56:[0-3][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$", re.IGNORECASE)
PLAYER_LACKS = ("clone", "snapshot", "revertToSnapshot", "deleteSnapshot", "listSnapshots")


class Refused(Exception):
    """What the program prints when it refuses, and its exit code."""

    def __init__(self, text: str, code: int = 255) -> None:
        super().__init__(text)
        self.code = code


def empty_state() -> State:
    return {"running": {}, "faults": {"no_tools": False, "fail": {}}, "macs": 0}


def entries(text: str) -> dict[str, str]:
    """A .vmx's entries, keys lower-cased (the fake's own reading)."""
    return {m.group(1).lower(): m.group(2) for line in text.splitlines()
            if (m := _LINE.match(line))}


def not_found(path: str) -> Refused:
    return Refused(f"Error: Cannot open VM: {path}, The virtual machine cannot be found")


def _failing(state: State, command: str) -> None:
    text = state["faults"]["fail"].pop(command, None)
    if text is not None:
        raise Refused(text if text.startswith(("Error", "Failed")) else f"Error: {text}")


class Vmrun:
    def __init__(self, state: State, product: str) -> None:
        self.state = state
        self.product = product

    def run(self, command: str, args: list[str]) -> str:
        if self.product == "player" and command in PLAYER_LACKS:
            raise Refused("Error: The operation is not supported for the specified parameters")
        handler = {"list": self.list, "start": self.start, "stop": self.stop,
                   "deleteVM": self.delete, "writeVariable": self.write_variable,
                   "readVariable": self.read_variable}.get(command)
        if handler is None:
            raise Refused(f"Error: Unrecognized command: {command}")
        _failing(self.state, command)
        return handler(args)

    def list(self, args: list[str]) -> str:
        running = sorted(self.state["running"])
        return "".join([f"Total running VMs: {len(running)}\n", *(f"{p}\n" for p in running)])

    def _vmx(self, args: list[str]) -> tuple[str, str]:
        if not args:
            raise Refused("Error: Invalid argument")
        path = args[0]
        if not os.path.isfile(path):
            raise not_found(path)
        with open(path, encoding="utf-8") as file:
            return path, file.read()

    def start(self, args: list[str]) -> str:
        path, text = self._vmx(args)
        if path in self.state["running"]:
            raise Refused("Error: The virtual machine should not be powered on. It is already "
                          "running.")  # VIX_E_VM_IS_RUNNING; unconfirmed for start
        found = entries(text)
        memory = found.get("memsize", "0")
        if not memory.isdigit() or int(memory) % 4:
            raise Refused(f"Error: The specified memory size ({memory} MB) is not a multiple "
                          "of 4 MB")  # unconfirmed
        folder = os.path.dirname(path)
        for key, value in found.items():
            device = key[:-len(".filename")]
            if key.endswith(".filename") and re.match(r"^(scsi|sata|ide|nvme)\d+:\d+$", device) \
                    and found.get(f"{device}.present", "").lower() == "true" \
                    and "cdrom" not in found.get(f"{device}.devicetype", ""):
                disk = value if value.startswith("/") else os.path.join(folder, value)
                if not os.path.isfile(disk):
                    raise Refused(f"Error: Cannot open the disk '{disk}' or one of the "
                                  "snapshot disks it depends on.")
        added = []
        for nic in sorted({k.split(".")[0] for k in found if k.startswith("ethernet")}):
            kind = found.get(f"{nic}.addresstype", "generated").lower()
            if kind == "static" and not _STATIC.match(found.get(f"{nic}.address", "")):
                raise Refused(f"Error: Invalid MAC address specified for {nic}")  # unconfirmed
            if kind != "static" and f"{nic}.generatedaddress" not in found:
                self.state["macs"] += 1
                number = self.state["macs"]
                mac = f"00:0c:29:{number >> 16 & 255:02x}:{number >> 8 & 255:02x}:" \
                      f"{number & 255:02x}"
                added += [f'{nic}.generatedAddress = "{mac}"',
                          f'{nic}.generatedAddressOffset = "0"']
        if "uuid.bios" not in found:
            added.append('uuid.bios = "56 4d 12 34 56 78 9a bc-de f0 12 34 56 78 9a bc"')
        if added:
            text = text.rstrip("\n") + "\n" + "\n".join(added) + "\n"
            with open(path, "w", encoding="utf-8") as file:
                file.write(text)
        self.state["running"][path] = text
        return ""

    def stop(self, args: list[str]) -> str:
        path, _text = self._vmx(args)
        if path not in self.state["running"]:
            raise Refused(f"Error: The virtual machine is not powered on: {path}")
        if (args[1:] or ["soft"])[0] == "soft" and self.state["faults"]["no_tools"]:
            raise Refused("Error: The VMware Tools are not running in the virtual machine: "
                          f"{path}")  # unconfirmed
        with open(path, "w", encoding="utf-8") as file:  # VMware writes its own copy back
            file.write(self.state["running"].pop(path))
        return ""

    def write_variable(self, args: list[str]) -> str:
        path, _text = self._vmx(args)
        if len(args) != 4 or args[1] not in ("runtimeConfig", "guestEnv", "guestVar"):
            raise Refused("Error: Invalid argument")
        if path not in self.state["running"]:
            raise Refused(f"Error: The virtual machine is not powered on: {path}")
        if args[1] == "runtimeConfig":
            config = self.state["running"][path]
            lines = [line for line in config.splitlines()
                     if not line.lower().startswith(args[2].lower() + " =")]
            lines.append(f'{args[2]} = "{args[3]}"')
            self.state["running"][path] = "\n".join(lines) + "\n"
        return ""

    def read_variable(self, args: list[str]) -> str:
        path, text = self._vmx(args)
        config = self.state["running"].get(path, text)
        return entries(config).get(args[2].lower(), "") + "\n"

    def delete(self, args: list[str]) -> str:
        path, text = self._vmx(args)
        if path in self.state["running"]:
            raise Refused("Error: The virtual machine should not be powered on. It is already "
                          "running.")
        folder = os.path.dirname(path)
        stem = os.path.splitext(os.path.basename(path))[0]
        doomed = [path, os.path.join(folder, f"{stem}.nvram"), os.path.join(folder, "vmware.log")]
        for key, value in entries(text).items():
            if key.endswith(".filename") and value.lower().endswith(".vmdk"):
                doomed.append(value if value.startswith("/") else os.path.join(folder, value))
        for victim in doomed:
            if os.path.isfile(victim):
                os.remove(victim)
        if os.path.isdir(folder) and not os.listdir(folder):
            os.rmdir(folder)
        return ""


def held(state: State, disk: str) -> bool:
    """Whether a running VM names ``disk`` (VMware holds a lock on it)."""
    for vmx, config in state["running"].items():
        folder = os.path.dirname(vmx)
        for key, value in entries(config).items():
            if key.endswith(".filename") and os.path.normpath(
                    value if value.startswith("/") else os.path.join(folder, value)) == \
                    os.path.normpath(disk):
                return True
    return False


def megabytes(text: str) -> int:
    match = re.fullmatch(r"(\d+)(KB|MB|GB)", text)
    if match is None:
        raise Refused(f"Invalid size: {text}", 1)
    return int(match.group(1)) * {"KB": 1024, "MB": 1 << 20, "GB": 1 << 30}[match.group(2)]


def vdiskmanager(state: State, args: list[str]) -> str:
    """``-c -s SIZE -a ADAPTER -t 0 PATH`` and ``-x SIZE PATH``."""
    if not args:
        raise Refused("VMware Virtual Disk Manager - build 22583795.\nUsage: "
                      "vmware-vdiskmanager OPTIONS <disk-name>", 1)
    path = args[-1]
    options = dict(zip(args[:-1:2], args[1:-1:2], strict=False))
    if args[0] == "-c":
        options = dict(zip(args[1:-1:2], args[2:-1:2], strict=False))
        _failing(state, "create-disk")
        if os.path.exists(path):
            raise Refused(f"Creating disk '{path}'\nFailed to create the disk '{path}' : The "
                          "file already exists (0x3e8c00000003).", 1)  # unconfirmed code
        if options.get("-t", "0") != "0":
            raise Refused(f"Failed to create the disk '{path}': this fake makes -t 0 only", 1)
        write_sparse(path, megabytes(options.get("-s", "")), options.get("-a", "lsilogic"))
        return f"Creating disk '{path}'\n  Create: 100% done.\nVirtual disk creation successful.\n"
    if "-x" in options:
        _failing(state, "grow-disk")
        if not os.path.isfile(path):
            raise Refused(f"Failed to open the disk '{path}' : The system cannot find the file "
                          "specified (0x3e800000004).", 1)  # unconfirmed code
        if held(state, path):
            raise Refused(f"Failed to open the disk '{path}' : Failed to lock the file "
                          "(0x400000003).", 1)  # unconfirmed code
        size = megabytes(options["-x"])
        if size <= capacity_of(path):
            raise Refused(f"Failed to expand the disk '{path}': The new capacity must be "
                          "larger than the current capacity.", 1)  # unconfirmed
        os.remove(path)
        write_sparse(path, size)
        return "  Grow: 100% done.\nDisk expansion completed successfully.\n"
    raise Refused(f"Invalid option: {args[0]}", 1)


def run(program: str, argv: list[str], state: State) -> tuple[int, str]:
    """One command against ``state`` (changed in place): (exit code, stdout)."""
    try:
        if program == "vmrun":
            product = "ws"
            if argv[:1] == ["-T"]:
                product, argv = argv[1], argv[2:]
            if not argv:
                raise Refused("vmrun version 1.17.0 build-22583795\n\nUsage: vmrun [AUTHENTICATION"
                              "-FLAGS] COMMAND [PARAMETERS]", 255)
            return 0, Vmrun(state, product).run(argv[0], argv[1:])
        return 0, vdiskmanager(state, argv)
    except Refused as refused:
        return refused.code, str(refused) + "\n"


def main() -> None:
    program = "vmrun" if os.path.basename(sys.argv[0]).startswith("vmrun") else "vdiskmanager"
    directory = os.path.dirname(os.path.abspath(sys.argv[0]))
    state_path = os.environ.get("VMWARE_FAKE_STATE") or os.path.join(directory, "state.json")
    with open(state_path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(os.path.join(directory, "calls.jsonl"), "a", encoding="utf-8") as log:
            log.write(json.dumps({"program": program, "argv": sys.argv[1:]}) + "\n")
        with open(state_path, encoding="utf-8") as file:
            state = json.load(file)
        code, out = run(program, sys.argv[1:], state)
        with open(state_path, "w", encoding="utf-8") as file:
            json.dump(state, file, indent=1)
    sys.stdout.write(out)
    sys.exit(code)
