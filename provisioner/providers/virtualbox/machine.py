"""A VM's settings, disks and seed DVD, written with ``modifyvm``, ``storageattach``,
``createmedium`` and ``modifymedium``.

Every disk is a VDI (or a VMDK: ``options.disk_format``) in the VM's folder, on
the ``SATA`` controller: disk N of the spec at port N (a disk grows with
``modifymedium --resize``, in MiB; a disk the spec no longer has is detached
and deleted with ``closemedium --delete``).
The cloud-init seed is a NoCloud ISO (``kit/nocloud``) written next to the
disks and attached as a DVD at port 29.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence

from provisioner.core.specs import CloudInitSpec, DiskSpec, GuestSpec, NicSpec
from provisioner.errors import ObjectNotFoundError
from provisioner.providers.kit.nocloud import seed_iso
from provisioner.providers.virtualbox import GuestOptions
from provisioner.providers.virtualbox.listing import MIB, Medium, VmInfo, parse_hdds
from provisioner.providers.virtualbox.nics import live_args, rule, set_args
from provisioner.providers.virtualbox.read import (
    CONTROLLER,
    SEED_FILE,
    SEED_PORT,
    disks_of,
    folder_of,
)
from provisioner.providers.virtualbox.vboxmanage import VBoxManage

PORTS = 30
_CREATED = re.compile(r"UUID: ([0-9a-fA-F-]+)")


def mib(size: int) -> str:
    """Bytes → whole MiB, rounded up (VBoxManage sizes are MiB)."""
    return str(-(-size // MIB))


def settings_args(guest: GuestSpec, options: GuestOptions) -> list[str]:
    return [f"--memory={mib(guest.memory)}", f"--cpus={guest.cpus}",
            f"--firmware={options.firmware}", f"--os-type={options.ostype}",
            f"--autostart-enabled={'on' if guest.autostart else 'off'}"]


class Machine:
    """The writes to one VM (``name``); ``what`` names it in errors."""

    def __init__(self, vbox: VBoxManage, name: str, what: str) -> None:
        self.vbox = vbox
        self.name = name
        self.what = what

    def modify(self, *args: str) -> None:
        if args:
            self.vbox.run("modifyvm", self.name, *args, what=self.what)

    def add_controller(self) -> None:
        self.vbox.run("storagectl", self.name, f"--name={CONTROLLER}", "--add=sata",
                      "--controller=IntelAhci", f"--portcount={PORTS}", "--bootable=on",
                      what=self.what)

    # -- disks ---------------------------------------------------------------------------

    def add_disk(self, folder: str, index: int, disk: DiskSpec, made: list[str],
                 disk_format: str) -> None:
        """A new disk image as disk ``index``; its path goes into ``made`` as soon as it
        exists."""
        what = f"{self.what} disks[{index}]"
        path = f"{folder}/{self.name}-disk{index}.{disk_format}"
        out = self.vbox.run("createmedium", "disk", f"--filename={path}",
                            f"--size={mib(disk.size or MIB)}", f"--format={disk_format.upper()}",
                            what=what, retry=False)
        made.append(path)
        found = _CREATED.search(out)
        self.vbox.run("storageattach", self.name, f"--storagectl={CONTROLLER}",
                      f"--port={index}", "--device=0", "--type=hdd",
                      f"--medium={found.group(1) if found else path}", what=what)

    def match_disks(self, vm: VmInfo, disks: Sequence[DiskSpec], disk_format: str) -> None:
        """Grow, add and remove disks so the (stopped) VM has ``disks``."""
        media = {m.uuid: m for m in parse_hdds(self.vbox.list("-l", "hdds"))}
        have = {attached.port: attached for attached in disks_of(vm)}
        for index, disk in enumerate(disks):
            attached = have.pop(index, None)
            if attached is None:
                self.add_disk(folder_of(vm), index, disk, [], disk_format)
            elif disk.size is not None:
                self._grow(media.get(attached.uuid), attached.uuid, disk.size, index)
        for port, attached in sorted(have.items()):
            self.vbox.run("storageattach", self.name, f"--storagectl={CONTROLLER}",
                          f"--port={port}", "--device=0", "--medium=none", what=self.what)
            self.vbox.run("closemedium", "disk", attached.uuid, "--delete", what=self.what)

    def _grow(self, medium: Medium | None, uuid: str, size: int, index: int) -> None:
        if medium is not None and size > medium.capacity:
            self.vbox.run("modifymedium", "disk", uuid, f"--resize={mib(size)}",
                          what=f"{self.what} disks[{index}]")

    def delete_media(self, paths: Sequence[str]) -> None:
        """Delete disk images a failed create made (attached or not); gone is fine."""
        for path in paths:
            with contextlib.suppress(ObjectNotFoundError):
                self.vbox.run("closemedium", "disk", path, "--delete", what=self.what)

    # -- NICs ----------------------------------------------------------------------------

    def nics_args(self, nics: Sequence[NicSpec], have: int) -> list[str]:
        """``modifyvm`` arguments for every NIC (and ``none`` for the extra ones)."""
        args: list[str] = []
        for index, nic in enumerate(nics):
            args += set_args(index + 1, nic)
        args += [f"--nic{slot}=none" for slot in range(len(nics) + 1, have + 1)]
        return args

    def match_nics(self, vm: VmInfo, nics: Sequence[NicSpec], running: bool) -> None:
        """Make the VM's NICs ``nics``: live (``controlvm``) for attachments and port
        forwards when it runs, else with ``modifyvm``."""
        if not running:
            rules = [f"--nat-pf{nic.slot}=delete={found.name}" for nic in vm.nics
                     for found in nic.forwards]
            self.modify(*rules, *self.nics_args(nics, len(vm.nics)))
            return
        current = {nic.slot: nic for nic in vm.nics}
        for index, nic in enumerate(nics):
            slot = index + 1
            self.vbox.run("controlvm", self.name, *live_args(slot, nic), what=self.what)
            for found in current[slot].forwards if slot in current else ():
                self.vbox.run("controlvm", self.name, f"natpf{slot}", "delete", found.name,
                              what=self.what)
            for forward in nic.forwards:
                self.vbox.run("controlvm", self.name, f"natpf{slot}", rule(forward),
                              what=self.what)

    # -- cloud-init ----------------------------------------------------------------------

    def attach_seed(self, folder: str, cloud_init: CloudInitSpec) -> str:
        """Write the NoCloud ISO into the VM's folder and attach it as the seed DVD."""
        path = f"{folder}/{SEED_FILE}"
        self.vbox.write_file(path, seed_iso(self.name, cloud_init, self.what))
        self.vbox.run("storageattach", self.name, f"--storagectl={CONTROLLER}",
                      f"--port={SEED_PORT}", "--device=0", "--type=dvddrive",
                      f"--medium={path}", what=self.what)
        return path
