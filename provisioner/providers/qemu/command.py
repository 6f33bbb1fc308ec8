"""The QEMU command line of a guest, from its spec: pure.

QEMU is started daemonized with a pidfile and a QMP socket, no display and no
default devices; its console goes to ``serial.log``. Disks are ``-blockdev``
nodes named ``diskN`` (what ``block_resize`` and ``query-block`` name), each on
a virtio-blk device (an attached volume is node ``volN``, N its index in
``disks``); the cloud-init seed is a read-only virtio disk after them;
NICs (``networks.py``) come last, ``-nic none`` keeping QEMU's default one out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from provisioner.core.specs import GuestSpec
from provisioner.providers.qemu import GuestOptions
from provisioner.providers.qemu.files import GuestFiles
from provisioner.providers.qemu.networks import NicDevice

DEFAULT_MACHINES = {"x86_64": "q35", "i386": "q35", "aarch64": "virt", "arm": "virt",
                    "riscv64": "virt", "riscv32": "virt", "loongarch64": "virt"}
"""The machine type of each architecture when ``options.machine`` is not set; other
architectures get QEMU's own default."""
BOOT_LETTER = {"hd": "c", "cdrom": "d", "network": "n"}
MIB = 1024 * 1024


@dataclass(frozen=True)
class DiskFile:
    """One disk of a guest as a file: its node name, path and format."""

    node: str
    path: Path
    format: str


def disk_files(files: GuestFiles, guest: GuestSpec) -> list[DiskFile]:
    """The guest's own disks, in order (an ``image:`` without ``disks:`` is disk 0)."""
    count = len(guest.own_disks) or (1 if guest.image else 0)
    formats = [disk.format or "qcow2" for disk in guest.own_disks] or ["qcow2"] * count
    return [DiskFile(f"disk{index}", files.disk(index, fmt), fmt)
            for index, fmt in enumerate(formats)]


def ordered_disks(files: GuestFiles, guest: GuestSpec,
                  volumes: Mapping[int, DiskFile]) -> list[DiskFile]:
    """Every disk in the stack's order: the guest's own, and the volumes attached
    (``volumes``: by index in ``disks``)."""
    own = iter(disk_files(files, guest))
    if not guest.disks:
        return list(own)
    return [volumes[index] if disk.attached else next(own)
            for index, disk in enumerate(guest.disks)]


def command_line(files: GuestFiles, guest: GuestSpec, accel: str,
                 seed: Path | None = None, nics: Sequence[NicDevice] = (),
                 volumes: Mapping[int, DiskFile] | None = None,
                 arch: str = "x86_64") -> list[str]:
    """Every argument after the QEMU binary's name."""
    options = guest.options_as(GuestOptions)
    machine = options.machine or DEFAULT_MACHINES.get(arch)
    arguments = [
        "-name", f"guest={files.process_name}",
        *(["-machine", machine] if machine else []), "-accel", accel,
        "-cpu", "host" if accel == "kvm" else "max",
        "-smp", str(guest.cpus), "-m", f"{max(1, guest.memory // MIB)}M",
        "-display", "none", "-nodefaults", "-no-user-config",
        "-chardev", f"file,id=console,path={_escaped(files.serial_log)},append=on",
        "-serial", "chardev:console",
        "-qmp", f"unix:{_escaped(files.socket)},server=on,wait=off",
        "-pidfile", str(files.pidfile), "-daemonize",
        "-boot", "order=" + "".join(BOOT_LETTER[device] for device in options.boot),
        "-nic", "none",
    ]
    if options.kernel:
        arguments += ["-kernel", options.kernel]
        arguments += ["-initrd", options.initrd] if options.initrd else []
        arguments += ["-append", options.cmdline] if options.cmdline else []
    for disk in ordered_disks(files, guest, volumes or {}):
        arguments += [
            "-blockdev", f"driver=file,node-name={disk.node}-file,filename={_escaped(disk.path)}",
            "-blockdev", f"driver={disk.format},node-name={disk.node},file={disk.node}-file",
            "-device", f"virtio-blk-pci,drive={disk.node},id={disk.node}-device",
        ]
    if seed is not None:
        arguments += [
            "-blockdev", f"driver=file,node-name=seed-file,filename={_escaped(seed)},read-only=on",
            "-blockdev", "driver=raw,node-name=seed,file=seed-file,read-only=on",
            "-device", "virtio-blk-pci,drive=seed,id=seed-device",
        ]
    for nic in nics:
        arguments += ["-netdev", nic.netdev, "-device", nic.device]
    return arguments


def arch_of(binary: str, configured: str) -> str:
    """The guests' architecture: the binary's (``qemu-system-ARCH``), else ``arch``."""
    name = Path(binary).name
    return name.removeprefix("qemu-system-") if name.startswith("qemu-system-") else configured


def _escaped(path: Path) -> str:
    """A path inside a QEMU option string (a comma is written twice)."""
    return str(path).replace(",", ",,")
