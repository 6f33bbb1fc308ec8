"""Guest snapshots: qcow2 internal snapshots of a stopped guest's own disks.

``qemu-img snapshot -c/-a/-d`` on each of the guest's own disks (the seed is not
part of it: cloud-init data comes from the stack). Only a stopped guest: a running
QEMU holds its disks, and a snapshot with the running state (``savevm``) is not
done yet; the refusal says to stop it first. A guest with an attached ``volumes:``
volume, or a raw disk, is refused: reverting only some of its disks would mix
two points in time. ``list`` reads the first disk's snapshots (``qemu-img info``,
shared with a running QEMU). The snapshots live in the disk files: deleting the
guest deletes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from provisioner.core.resources import LiveObject
from provisioner.core.snapshots import SnapshotInfo
from provisioner.core.specs import GuestSpec
from provisioner.errors import ProviderError
from provisioner.providers.qemu.client import QemuHost
from provisioner.providers.qemu.command import DiskFile, disk_files
from provisioner.providers.qemu.files import Tree


def parse_snapshots(info: Mapping[str, Any]) -> list[SnapshotInfo]:
    """The snapshots ``qemu-img info --output=json`` lists, oldest first."""
    found = []
    for item in info.get("snapshots") or []:
        seconds = item.get("date-sec")
        created = datetime.fromtimestamp(int(seconds), UTC) if seconds is not None else None
        found.append(SnapshotInfo(name=str(item.get("name", "")), created=created,
                                  size=None, memory=int(item.get("vm-state-size") or 0) > 0))
    return sorted(found, key=lambda s: (s.created is None, s.created, s.name))


class Snapshots:
    """Snapshot operations on the guests of one provider block."""

    def __init__(self, host: QemuHost, tree: Tree) -> None:
        self.host = host
        self.tree = tree

    def read(self, live: LiveObject) -> list[SnapshotInfo]:
        disks = self._disks(live, check=False)
        if not disks:
            return []
        running = self._running(live)
        return parse_snapshots(self.host.image_info(disks[0].path, str(live.address),
                                                    shared=running))

    def create(self, live: LiveObject, name: str) -> SnapshotInfo:
        what = str(live.address)
        disks = self._stopped_disks(live)
        if any(s.name == name for s in self.read(live)):
            raise ProviderError(f"{what} already has a snapshot named {name}",
                                hint=f"pick another name, or delete it first: provisioner "
                                     f"snapshot delete {name}")
        made: list[DiskFile] = []
        try:
            for disk in disks:
                self.host.image_snapshot(disk.path, "-c", name, what)
                made.append(disk)
        except ProviderError:
            for disk in made:  # all disks or none
                self.host.image_snapshot(disk.path, "-d", name, what)
            raise
        return next(s for s in self.read(live) if s.name == name)

    def revert(self, live: LiveObject, name: str) -> None:
        what = str(live.address)
        disks = self._stopped_disks(live)
        for disk in disks:
            names = {s.name for s in parse_snapshots(self.host.image_info(disk.path, what))}
            if name not in names:
                raise ProviderError(f"{what} has no snapshot named {name} on {disk.node}",
                                    hint="see them with: provisioner snapshot list")
        for disk in disks:
            self.host.image_snapshot(disk.path, "-a", name, what)

    def delete(self, live: LiveObject, name: str) -> None:
        what = str(live.address)
        if not self.tree.guest(live.name).directory.exists():
            return  # the guest is gone, and its snapshots with it
        for disk in self._stopped_disks(live):
            if not disk.path.exists():
                continue
            names = {s.name for s in parse_snapshots(self.host.image_info(disk.path, what))}
            if name in names:
                self.host.image_snapshot(disk.path, "-d", name, what)

    def _running(self, live: LiveObject) -> bool:
        files = self.tree.guest(live.name)
        return self.host.process(files.pidfile, files.process_name) is not None

    def _stopped_disks(self, live: LiveObject) -> list[DiskFile]:
        if self._running(live):
            raise ProviderError(
                f"{live.address} is running: the qemu provider takes, reverts and deletes "
                "snapshots of stopped guests only",
                hint="stop it first (power: stopped, then provisioner apply), or use the "
                     "libvirt provider for snapshots of running guests")
        return self._disks(live, check=True)

    def _disks(self, live: LiveObject, *, check: bool) -> list[DiskFile]:
        what = str(live.address)
        guest = GuestSpec.of(live.spec)
        disks = disk_files(self.tree.guest(live.name), guest)
        if not check:
            return disks
        if any(disk.attached for disk in guest.disks):
            raise ProviderError(f"{what} has an attached volume: the qemu provider takes "
                                "snapshots of guests with their own disks only",
                                hint="leave this guest out with --target")
        if not disks:
            raise ProviderError(f"{what} has no disk to take a snapshot of")
        for disk in disks:
            if disk.format != "qcow2":
                raise ProviderError(f"{what}: disk {disk.node} is {disk.format}: snapshots "
                                    "need qcow2 disks", hint="use format: qcow2")
        return disks
