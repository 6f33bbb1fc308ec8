"""Guest snapshots: qcow2 internal snapshots of a guest's own disks, with its memory
when it runs.

A stopped guest: ``qemu-img snapshot -c/-a/-d`` on each of its own disks (the seed
is not part of it: cloud-init data comes from the stack). A running guest: QEMU's
``snapshot-save`` / ``snapshot-load`` / ``snapshot-delete`` jobs over QMP, on the
same disks, its running state (memory, devices) saved in the first one, as
``savevm`` does; QEMU pauses the guest while it writes. So a running guest's
snapshot brings it back running, exactly where it was: reverted while it runs,
QEMU loads it in place; while it is stopped, QEMU starts with ``-loadvm``. A
stopped guest's snapshot leaves it stopped: a running guest is powered off
before its disks are reverted. A guest with an attached ``volumes:`` volume, or a
raw disk, is refused: reverting only some of its disks would mix two points in
time. ``list`` reads the first disk's snapshots (``qemu-img info``, shared with a
running QEMU). The snapshots live in the disk files: deleting the guest deletes
them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from provisioner.core.resources import LiveObject
from provisioner.core.snapshots import SnapshotInfo
from provisioner.core.specs import GuestSpec
from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.qemu.client import QemuHost, Qmp
from provisioner.providers.qemu.command import DiskFile, disk_files
from provisioner.providers.qemu.files import Tree

if TYPE_CHECKING:
    from provisioner.providers.qemu.guests import Guests

JOB_TIMEOUT = 600.0
"""Seconds a snapshot job of a running guest may take (writing its memory)."""
JOB_POLL = 0.2


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

    def __init__(self, host: QemuHost, tree: Tree, guests: Guests) -> None:
        self.host = host
        self.tree = tree
        self.guests = guests

    def read(self, live: LiveObject) -> list[SnapshotInfo]:
        disks = self._disks(live, check=False)
        if not disks:
            return []
        return self._listed(disks[0], live, self._running(live))

    def create(self, live: LiveObject, name: str) -> SnapshotInfo:
        what = str(live.address)
        disks = self._disks(live, check=True)
        if any(s.name == name for s in self.read(live)):
            raise ProviderError(f"{what} already has a snapshot named {name}",
                                hint=f"pick another name, or delete it first: provisioner "
                                     f"snapshot delete {name}")
        if self._running(live):
            try:
                self._job(live, "snapshot-save", name, disks, vmstate=disks[0].node)
            except ProviderError:
                with contextlib.suppress(ProviderError):  # all disks or none
                    self.delete(live, name)
                raise
        else:
            self._on_each(disks, "-c", name, what)
        return next(s for s in self.read(live) if s.name == name)

    def revert(self, live: LiveObject, name: str) -> None:
        what = str(live.address)
        disks = self._disks(live, check=True)
        running = self._running(live)
        found: list[SnapshotInfo] = []
        for disk in disks:
            match = [s for s in self._listed(disk, live, running) if s.name == name]
            if not match:
                raise ProviderError(f"{what} has no snapshot named {name} on {disk.node}",
                                    hint="see them with: provisioner snapshot list")
            found.append(match[0])
        memory = found[0].memory  # the first disk holds the running state
        if memory and running:
            self._job(live, "snapshot-load", name, disks, vmstate=disks[0].node)
        elif memory:
            self.guests.power_on(live, loadvm=name)
        else:
            if running:
                self.guests.power_off(live)
            for disk in disks:
                self.host.image_snapshot(disk.path, "-a", name, what)

    def delete(self, live: LiveObject, name: str) -> None:
        what = str(live.address)
        if not self.tree.guest(live.name).directory.exists():
            return  # the guest is gone, and its snapshots with it
        disks = [disk for disk in self._disks(live, check=True) if disk.path.exists()]
        running = self._running(live)
        holding = [disk for disk in disks
                   if name in {s.name for s in self._listed(disk, live, running)}]
        if holding and running:
            self._job(live, "snapshot-delete", name, holding)
        elif holding:
            for disk in holding:
                self.host.image_snapshot(disk.path, "-d", name, what)

    def _listed(self, disk: DiskFile, live: LiveObject, running: bool) -> list[SnapshotInfo]:
        return parse_snapshots(self.host.image_info(disk.path, str(live.address),
                                                    shared=running))

    def _on_each(self, disks: Sequence[DiskFile], flag: str, name: str, what: str) -> None:
        """``qemu-img snapshot -c`` on every disk, or on none."""
        made: list[DiskFile] = []
        try:
            for disk in disks:
                self.host.image_snapshot(disk.path, flag, name, what)
                made.append(disk)
        except ProviderError:
            for disk in made:
                self.host.image_snapshot(disk.path, "-d", name, what)
            raise

    def _job(self, live: LiveObject, command: str, name: str, disks: Sequence[DiskFile],
             vmstate: str | None = None) -> None:
        """Run QEMU's snapshot job ``command`` on the running guest and wait for it;
        ProviderError with QEMU's reason when it fails."""
        what = str(live.address)
        job = f"provisioner-{command}"
        arguments: dict[str, Any] = {"job-id": job, "tag": name,
                                     "devices": [disk.node for disk in disks]}
        if vmstate is not None:
            arguments["vmstate"] = vmstate
        files = self.tree.guest(live.name)
        with self.host.qmp(files.socket, what, CallKind.WRITE) as qmp:
            _dismiss(qmp, job)  # left by an interrupted run
            qmp(command, **arguments)
            error = _wait_job(qmp, job, what, command)
        if error:
            raise ProviderError(f"{what}: QEMU's {command} failed: {error}",
                                hint="see the guest's console log, and provisioner "
                                     "snapshot list for what exists now")

    def _running(self, live: LiveObject) -> bool:
        files = self.tree.guest(live.name)
        return self.host.process(files.pidfile, files.process_name) is not None

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


def _wait_job(qmp: Qmp, job: str, what: str, command: str) -> str | None:
    """Wait until job ``job`` has concluded, dismiss it; its error, if any."""
    deadline = time.monotonic() + JOB_TIMEOUT
    while True:
        found = [j for j in qmp("query-jobs") if j.get("id") == job]
        if not found:
            return None
        if found[0].get("status") == "concluded":
            qmp("job-dismiss", id=job)
            return str(found[0]["error"]) if found[0].get("error") else None
        if time.monotonic() > deadline:
            raise ProviderError(f"{what}: QEMU's {command} did not finish in "
                                f"{JOB_TIMEOUT:.0f}s", hint="see provisioner snapshot list")
        time.sleep(JOB_POLL)


def _dismiss(qmp: Qmp, job: str) -> None:
    for found in qmp("query-jobs"):
        if found.get("id") == job and found.get("status") == "concluded":
            qmp("job-dismiss", id=job)
