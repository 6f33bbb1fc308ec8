"""Guest snapshots: XAPI snapshot VMs (``VM.snapshot``, ``VM.checkpoint``, ``VM.revert``).

A running guest's snapshot is a checkpoint (``VM.checkpoint``): its disks and its
memory (a suspend image), so a revert brings the guest back running where it was
(XAPI leaves it suspended; the revert resumes it). A halted, paused or suspended
guest's snapshot holds its disks only (``VM.snapshot``; a paused or suspended
guest's memory is not kept); after a revert to it the guest is halted. Both run as
XAPI tasks.

A snapshot is a VM of its own (``is_a_snapshot``, ``snapshot_of`` the guest),
listed in the guest's ``snapshots`` field, with a copy of each disk
(``is_a_snapshot`` VDIs carrying the guest's disks' markers). The bulk read
(``facts.Pool.vms``) leaves snapshot VMs out, and a snapshot's disks hang on its
VBDs, so neither is ever a guest or a leftover. XAPI does not delete a VM's
snapshots with it: deleting a guest deletes them first (``destroy_all``).
A snapshot is deleted disks first (``VDI.destroy`` takes the snapshot VM's VBDs with
it), then its VM, so a delete cut short leaves a snapshot with fewer disks, never a
disk without its snapshot. Sizes are the snapshot disks' ``physical_utilisation``
(and the memory image's): what they hold on the SRs.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from provisioner.core.snapshots import SnapshotInfo
from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.xenserver.client import NULL_REF, XapiClient
from provisioner.providers.xenserver.facts import Record, number
from provisioner.providers.xenserver.power import Power

CHECKPOINT_STATES = ("Running",)
"""Power states whose snapshot keeps the memory (a checkpoint)."""
WITH_MEMORY = "Suspended"
"""The power state of a snapshot that holds the memory."""
NO_ROOM = ("a snapshot copies the guest's disks (and a running guest's memory) on their "
           "SRs: free space there (`provisioner snapshot list` shows what older snapshots "
           "hold), or leave this guest out with --target")


def snapshot_time(value: Any) -> datetime | None:
    """XAPI's ``snapshot_time`` (``20240501T10:00:00Z``, an XML-RPC DateTime) in UTC."""
    text = str(getattr(value, "value", value) or "").rstrip("Z")
    for form in ("%Y%m%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        with contextlib.suppress(ValueError):
            taken = datetime.strptime(text, form).replace(tzinfo=UTC)
            return None if taken.year <= 1970 else taken
    return None


class Snapshots:
    """Snapshot calls on the VMs of one provider block."""

    def __init__(self, client: XapiClient, power: Power) -> None:
        self.client = client
        self.power = power

    def read(self, vm: str, what: str) -> list[SnapshotInfo]:
        """VM ``vm``'s snapshots, oldest first (READ calls: the VM, each snapshot and
        its disks). ``what`` names the guest in errors."""
        found = [self._info(record, what) for _ref, record in self._of(vm, what)]
        return sorted(found, key=lambda info: (info.created is None, info.created, info.name))

    def create(self, vm: str, name: str, what: str) -> SnapshotInfo:
        if self._named(vm, name, what) is not None:
            raise ProviderError(f"{what} already has a snapshot named {name}",
                                hint=f"pick another name, or delete it first: provisioner "
                                     f"snapshot delete {name}")
        method = "VM.checkpoint" if self.power.state(vm, what) in CHECKPOINT_STATES \
            else "VM.snapshot"
        try:
            ref = str(self.client.task(method, vm, name, what=what))
        except ProviderError as exc:
            if "SR_FULL" not in exc.message:
                raise
            raise ProviderError(exc.message, hint=NO_ROOM) from exc
        return self._info(self.client.call("VM.get_record", ref, what=what), what)

    def revert(self, vm: str, name: str, what: str) -> None:
        """XAPI hard-shuts the guest down, puts the snapshot's disks and settings back
        and leaves it in the snapshot's power state; a checkpoint is then resumed."""
        found = self._named(vm, name, what)
        if found is None:
            raise ProviderError(f"{what} has no snapshot named {name}",
                                hint="see them with: provisioner snapshot list")
        ref, record = found
        self.client.task("VM.revert", ref, what=what)
        if str(record.get("power_state")) == WITH_MEMORY:
            self.power.start(vm, None, what)

    def delete(self, vm: str, name: str, what: str) -> None:
        """Delete snapshot ``name`` of VM ``vm``; gone (or the VM gone) is success."""
        try:
            found = self._named(vm, name, what)
        except ObjectNotFoundError:
            return
        if found is not None:
            self._destroy(*found, what)

    def destroy_all(self, ref: str, what: str) -> None:
        """Delete every snapshot of VM ``ref`` (before the VM itself: XAPI keeps them)."""
        for snap, record in self._of(ref, what):
            self._destroy(snap, record, what)

    def _destroy(self, ref: str, record: Record, what: str) -> None:
        """The snapshot's own disks and memory image, then its VM; gone is success."""
        for vdi in [*self._disks(record, what), str(record.get("suspend_VDI") or NULL_REF)]:
            if vdi != NULL_REF:
                with contextlib.suppress(ObjectNotFoundError):
                    self.client.call("VDI.destroy", vdi, what=what)
        with contextlib.suppress(ObjectNotFoundError):
            self.client.call("VM.destroy", ref, what=what)

    def _of(self, ref: str, what: str) -> list[tuple[str, Record]]:
        """(reference, record) of each snapshot of VM ``ref``."""
        found = []
        for snap in self.client.call("VM.get_snapshots", ref, what=what) or ():
            with contextlib.suppress(ObjectNotFoundError):  # deleted meanwhile
                found.append((str(snap), self.client.call("VM.get_record", snap, what=what)))
        return found

    def _named(self, ref: str, name: str, what: str) -> tuple[str, Record] | None:
        return next(((snap, record) for snap, record in self._of(ref, what)
                     if record.get("name_label") == name), None)

    def _disks(self, record: Record, what: str) -> list[str]:
        """The snapshot's own disks: its VBDs' VDIs that are snapshots (not CDs' images)."""
        found = []
        for vbd in record.get("VBDs") or ():
            with contextlib.suppress(ObjectNotFoundError):
                vdi = str(self.client.call("VBD.get_VDI", vbd, what=what))
                if vdi != NULL_REF and self.client.call("VDI.get_is_a_snapshot", vdi,
                                                        what=what):
                    found.append(vdi)
        return found

    def _info(self, record: Record, what: str) -> SnapshotInfo:
        vdis = [*self._disks(record, what), str(record.get("suspend_VDI") or NULL_REF)]
        size = 0
        for vdi in vdis:
            if vdi != NULL_REF:
                with contextlib.suppress(ObjectNotFoundError):
                    size += number(self.client.call("VDI.get_physical_utilisation", vdi,
                                                    what=what))
        return SnapshotInfo(name=str(record.get("name_label", "")),
                            created=snapshot_time(record.get("snapshot_time")), size=size,
                            memory=str(record.get("power_state")) == WITH_MEMORY)
