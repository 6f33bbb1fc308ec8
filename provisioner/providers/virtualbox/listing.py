"""Parsing VBoxManage's output (VirtualBox 7.0 and 7.1). Pure.

The bulk read is ``VBoxManage list -l vms``: for every VM, the same
human-readable ``Key:   value`` block that ``showvminfo`` prints, one after the
other. A block starts at ``Name:`` at the start of a line, padded to the value
column (shared folders print ``Name: 'x'`` with one space; snapshots are
indented). What the diff needs from it, in 7.0 / 7.1 form:

- ``Name``, ``Groups`` (``/provisioner-STACK``), ``UUID``, ``Config file``,
  ``Memory size`` (``2048MB``), ``Number of CPUs``, ``Firmware`` (``BIOS``,
  ``EFI``), ``Autostart Enabled`` (``enabled``/``disabled``), ``State``
  (``running (since ...)``, ``powered off (since ...)``, ``saved``, ``paused``,
  ``aborted``);
- ``Storage Controllers:`` then per controller ``#0: 'SATA', Type: IntelAhci, ...``
  and per attachment ``  Port 0, Unit 0: UUID: <uuid>`` (or ``Empty``) followed by
  ``    Location: "<path>"``. VirtualBox 6.1 printed ``SATA (0, 0): <path> (UUID:
  <uuid>)`` instead; that form is read too;
- ``NIC 1:   MAC: 080027B9DDCA, Attachment: NAT, ..., Type: 82540EM, ...`` (or
  ``disabled``); attachments ``NAT``, ``Bridged Interface 'eth0'``, ``Host-only
  Interface 'vboxnet0'``, ``Internal Network 'lab'``, ``NAT Network 'name'``;
- ``NIC 1 Rule(0):   name = ssh, protocol = tcp, host ip = 127.0.0.1, host port =
  2222, guest ip = , guest port = 22`` (NAT port forwards).

The human-readable form changed between 6.1 and 7.0 (storage lines above); it
does not show disk sizes (``list -l hdds``: ``Capacity: 10240 MBytes``) nor
extradata (``getextradata VM enumerate``: ``Key: K, Value: V``), nor the OS type's
id (``Guest OS`` is its description). tests/unit/test_vbox_listing.py holds the
transcripts this parser is tested against, with the version each stands for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

MIB = 1024 * 1024
_BLOCK_START = re.compile(r"^Name:\s{2,}\S")
_KEY = re.compile(r"^([A-Za-z][^:]{0,40}):\s*(.*)$")
_CONTROLLER = re.compile(r"^#(\d+): '([^']*)', Type: (\w+)")
_PORT = re.compile(r"^\s+Port (\d+), Unit (\d+): (?:UUID: ([0-9a-fA-F-]+)|Empty)")
_LOCATION = re.compile(r'^\s+Location: "(.*)"\s*$')
_OLD_ATTACHMENT = re.compile(r"^(.+) \((\d+), (\d+)\): (.+?) \(UUID: ([0-9a-fA-F-]+)\)\s*$")
_NIC = re.compile(r"^NIC (\d+):\s+(.*)$")
_RULE = re.compile(r"^NIC (\d+) Rule\(\d+\):\s+(.*)$")
_ATTACHMENTS = (("Bridged Interface", "bridged"), ("Host-only Interface", "hostonly"),
                ("Host-only Network", "hostonlynet"), ("Internal Network", "intnet"),
                ("NAT Network", "natnetwork"), ("Generic", "generic"))


@dataclass(frozen=True)
class Attachment:
    """A medium on a controller port: a disk or a DVD image."""

    controller: str
    port: int
    device: int
    uuid: str
    location: str


@dataclass(frozen=True)
class Forward:
    name: str
    protocol: str
    host_ip: str
    host_port: int
    guest_ip: str
    guest_port: int


@dataclass
class Nic:
    slot: int
    """1-based, as VBoxManage numbers NICs (``--nic1``)."""
    mac: str
    """Lower case with colons."""
    attachment: str
    """nat, bridged, hostonly, hostonlynet, intnet, natnetwork, generic, null."""
    target: str | None
    """The interface or network name the attachment names."""
    type: str
    forwards: list[Forward] = field(default_factory=list)


@dataclass
class VmInfo:
    """One VM as ``list -l vms`` / ``showvminfo`` describes it."""

    name: str
    uuid: str = ""
    groups: tuple[str, ...] = ()
    config_file: str = ""
    memory: int = 0
    """Bytes."""
    cpus: int = 1
    firmware: str = "bios"
    state: str = "poweroff"
    """As ``--machinereadable``'s VMState says it: running, poweroff, saved, paused, aborted."""
    autostart: bool = False
    controllers: dict[str, str] = field(default_factory=dict)
    """Controller name → type (IntelAhci, PIIX4)."""
    attachments: list[Attachment] = field(default_factory=list)
    nics: list[Nic] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.state in ("running", "paused")


@dataclass(frozen=True)
class Medium:
    """A disk image from ``list -l hdds``."""

    uuid: str
    location: str
    capacity: int
    """Bytes."""
    format: str
    in_use_by: tuple[str, ...]


_STATES = {"powered off": "poweroff", "running": "running", "saved": "saved",
           "paused": "paused", "aborted": "aborted", "starting": "starting",
           "stopping": "stopping", "restoring": "restoring", "aborted-saved": "aborted"}


def state_of(text: str) -> str:
    """``running (since ...)`` → ``running``; ``powered off (since ...)`` → ``poweroff``."""
    head = text.split(" (since", 1)[0].strip()
    return _STATES.get(head, head.replace(" ", ""))


def mac_of(text: str) -> str:
    """``080027B9DDCA`` → ``08:00:27:b9:dd:ca``."""
    raw = text.strip().replace(":", "").lower()
    return ":".join(raw[i:i + 2] for i in range(0, len(raw), 2))


def megabytes(text: str) -> int:
    """``2048MB``, ``10240 MBytes``, ``15924 MByte`` → bytes."""
    match = re.match(r"\s*(\d+)", text)
    return int(match.group(1)) * MIB if match else 0


def vm_blocks(text: str) -> Iterator[list[str]]:
    """The lines of each VM's block in ``list -l vms`` output."""
    block: list[str] = []
    for line in text.splitlines():
        if _BLOCK_START.match(line) and block:
            yield block
            block = []
        if block or _BLOCK_START.match(line):
            block.append(line)
    if block:
        yield block


def parse_vms(text: str) -> list[VmInfo]:
    """Every VM of ``list -l vms`` (or the one of ``showvminfo``)."""
    return [parse_vm(block) for block in vm_blocks(text)]


def parse_vm(lines: list[str]) -> VmInfo:
    vm = VmInfo(name="")
    controller = ""
    pending: tuple[str, int, int, str] | None = None
    for line in lines:
        if pending is not None:
            location = _LOCATION.match(line)
            vm.attachments.append(Attachment(*pending, location.group(1) if location else ""))
            pending = None
            if location:
                continue
        if (found := _CONTROLLER.match(line)) is not None:
            controller = found.group(2)
            vm.controllers[controller] = found.group(3)
        elif (found := _PORT.match(line)) is not None:
            if found.group(3):
                pending = (controller, int(found.group(1)), int(found.group(2)), found.group(3))
        elif (found := _RULE.match(line)) is not None:
            _add_rule(vm, int(found.group(1)), found.group(2))
        elif (found := _NIC.match(line)) is not None:
            nic = _nic(int(found.group(1)), found.group(2))
            if nic is not None:
                vm.nics.append(nic)
        elif _old_storage(vm, line):
            continue
        elif (found := _KEY.match(line)) is not None:
            _field(vm, found.group(1), found.group(2).strip())
    if pending is not None:
        vm.attachments.append(Attachment(*pending, ""))
    return vm


def _old_storage(vm: VmInfo, line: str) -> bool:
    """VirtualBox 6.1's storage lines: ``Storage Controller Name (0): SATA`` and
    ``SATA (0, 0): /path/disk.vdi (UUID: ...)``; whether ``line`` was one."""
    if line.startswith("Storage Controller Name ("):
        vm.controllers[line.split(":", 1)[1].strip()] = ""
        return True
    found = _OLD_ATTACHMENT.match(line)
    if found is None or found.group(1) not in vm.controllers:
        return False
    vm.attachments.append(Attachment(found.group(1), int(found.group(2)), int(found.group(3)),
                                     found.group(5), found.group(4)))
    return True


def _field(vm: VmInfo, key: str, value: str) -> None:
    if key == "Name" and not vm.name:
        vm.name = value
    elif key == "Groups":
        vm.groups = tuple(group for group in value.split(",") if group)
    elif key == "UUID" and not vm.uuid:
        vm.uuid = value
    elif key == "Config file":
        vm.config_file = value
    elif key == "Memory size":
        vm.memory = megabytes(value)
    elif key == "Number of CPUs":
        vm.cpus = int(value or 1)
    elif key == "Firmware":
        vm.firmware = "efi" if value.upper().startswith("EFI") else "bios"
    elif key == "State":
        vm.state = state_of(value)
    elif key == "Autostart Enabled":
        vm.autostart = value in ("enabled", "on")


def _parts(text: str) -> dict[str, str]:
    """``MAC: x, Attachment: y, ...`` → {MAC: x, ...} (a value may hold ``, `` only in
    quotes, which these keys never have but an interface name may)."""
    found: dict[str, str] = {}
    for match in re.finditer(r"(?:^|, )([A-Za-z][A-Za-z ]*): ('[^']*'|[^,]*(?:'[^']*'[^,]*)?)",
                             text):
        found.setdefault(match.group(1), match.group(2).strip())
    return found


def _nic(slot: int, text: str) -> Nic | None:
    if text.strip() == "disabled":
        return None
    parts = _parts(text)
    attachment_text = parts.get("Attachment", "none")
    kind, target = "null", None
    if attachment_text == "NAT":
        kind = "nat"
    else:
        for prefix, name in _ATTACHMENTS:
            if attachment_text.startswith(prefix):
                kind = name
                quoted = re.search(r"'(.*)'", attachment_text)
                target = quoted.group(1) if quoted else None
    return Nic(slot, mac_of(parts.get("MAC", "")), kind, target, parts.get("Type", ""))


def _add_rule(vm: VmInfo, slot: int, text: str) -> None:
    values = {key.strip(): value.strip() for key, _, value in
              (item.partition("=") for item in text.split(","))}
    for nic in vm.nics:
        if nic.slot == slot:
            nic.forwards.append(Forward(
                values.get("name", ""), values.get("protocol", "tcp"), values.get("host ip", ""),
                int(values.get("host port") or 0), values.get("guest ip", ""),
                int(values.get("guest port") or 0)))


def records(text: str) -> Iterator[dict[str, str]]:
    """Blank-line separated ``Key: value`` records (``list -l hdds``, ``list hostonlyifs``,
    ``list bridgedifs``)."""
    record: dict[str, str] = {}
    for line in [*text.splitlines(), ""]:
        if not line.strip():
            if record:
                yield record
            record = {}
            continue
        key, sep, value = line.partition(":")
        if sep and not line.startswith(" "):
            record.setdefault(key.strip(), value.strip())
    if record:
        yield record


def parse_hdds(text: str) -> list[Medium]:
    """Every disk image of ``list -l hdds``."""
    found = []
    for record in records(text):
        users = record.get("In use by VMs", "")
        names = tuple(match.group(1) for match in re.finditer(r"([^,(]+?) \(UUID: [^)]*\)",
                                                                users))
        found.append(Medium(record.get("UUID", ""), record.get("Location", ""),
                            megabytes(record.get("Capacity", "")),
                            record.get("Storage format", record.get("Format", "")),
                            tuple(name.strip() for name in names)))
    return found


def key_values(text: str, separator: str = ":") -> dict[str, str]:
    """``Key: value`` lines (``list hostinfo``, ``list systemproperties``), first wins;
    with ``separator="="``, ``key="value"`` lines."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(separator)
        if sep:
            found.setdefault(key.strip().strip('"'), value.strip().strip('"'))
    return found


def extradata(text: str) -> dict[str, str]:
    """``getextradata VM enumerate``: ``Key: K, Value: V`` lines."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("Key: ") and ", Value: " in line:
            key, _, value = line[len("Key: "):].partition(", Value: ")
            found[key] = value
    return found


def machine_readable(text: str) -> Mapping[str, str]:
    """``showvminfo --machinereadable``: ``key="value"`` or ``key=value`` lines."""
    return key_values(text, "=")
