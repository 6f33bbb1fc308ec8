"""Guest snapshots on vSphere: each VM's snapshot tree (``vm.snapshot``).

A snapshot holds the VM's configuration and its disks (vSphere starts a delta
disk for each); a running VM's also holds its memory (``memory=True``), so a
revert brings it back running where it was, and a revert to a snapshot without
memory leaves it powered off. The tree's ``state`` says which: ``poweredOn`` for
one with memory. The guest's file systems are not quiesced (that needs VMware
Tools and is refused by guests without them).

vSphere allows two snapshots of one VM with the same name; names here are unique
per guest: a name the guest already has is refused before vSphere is asked, and a
revert or delete of a name that two snapshots (taken elsewhere) share is refused
rather than guessed. After a revert the VM's power state is checked against the
snapshot's and set when the server left it otherwise (vCenter does not; the
simulator never changes it). One guest's tree and power state are one READ
(``collect.read_vm``); a snapshot's faults are translated in ``faults``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pyVmomi import vim

from provisioner.core.resources import LiveObject
from provisioner.core.snapshots import SnapshotInfo
from provisioner.errors import ObjectNotFoundError, ProviderError, TransientProviderError
from provisioner.providers.kit.snapshots import (
    BUSY_HINT,
    DESCRIPTION,
    name_in_use,
    no_such_snapshot,
    refused,
)
from provisioner.providers.vsphere.changes import label
from provisioner.providers.vsphere.client import VsphereClient
from provisioner.providers.vsphere.collect import read_vm
from provisioner.providers.vsphere.power import Power

PATHS = ("snapshot", "runtime.powerState")
POWERED_ON = "poweredOn"
POWERED_OFF = "poweredOff"


def flatten(trees: Iterable[Any] | None) -> list[Any]:
    """Every node of a snapshot tree (``rootSnapshotList``), oldest first. Pure."""
    found, stack = [], list(trees or [])
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(node.childSnapshotList or [])
    return sorted(found, key=lambda node: (_utc(node.createTime), int(node.id or 0)))


def info_of(node: Any) -> SnapshotInfo:
    """One tree node as a SnapshotInfo. Pure."""
    return SnapshotInfo(name=str(node.name), created=_utc(node.createTime),
                        memory=str(node.state) == POWERED_ON)


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.min.replace(tzinfo=UTC)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class Snapshots:
    """Snapshot calls on the VMs of one provider block."""

    def __init__(self, client: VsphereClient, power: Power) -> None:
        self.client = client
        self.power = power

    def read(self, live: LiveObject) -> list[SnapshotInfo]:
        """One READ."""
        return [info_of(node) for node in self._tree(live)[0]]

    def create(self, live: LiveObject, name: str) -> SnapshotInfo:
        """One READ, the task, one READ back. Not repeated after a transient fault (a
        second attempt could make a second snapshot of that name): the tree then says
        whether it was taken."""
        what = label(live.address, live.name)
        nodes, power = self._tree(live)
        if any(node.name == name for node in nodes):
            raise name_in_use(what, name)
        vm = self.client.ref(vim.VirtualMachine, live.id)
        try:
            self.client.run_task(what, lambda _s: vm.CreateSnapshot_Task(
                name=name, description=DESCRIPTION, memory=power == POWERED_ON,
                quiesce=False), retry=False)
        except ObjectNotFoundError:
            raise
        except TransientProviderError as exc:
            if not self._named(live, name):
                raise refused("take", exc, what, name, "vSphere", BUSY_HINT) from exc
        except ProviderError as exc:
            raise refused("take", exc, what, name, "vSphere") from exc
        taken = self._named(live, name)
        if not taken:
            raise ProviderError(f"{what}: snapshot {name} is not in the VM's tree after the "
                                "task that took it", hint="see its snapshots in the vSphere "
                                                          "client")
        return info_of(taken[0])

    def revert(self, live: LiveObject, name: str) -> None:
        """One READ, the revert task, one READ of the power state (and a power change if
        it is not the snapshot's)."""
        what = label(live.address, live.name)
        node = self._one(live, name, what)
        if node is None:
            raise no_such_snapshot(what, name)
        try:
            self.client.run_task(what, lambda _s: node.snapshot.RevertToSnapshot_Task())
        except ObjectNotFoundError:
            raise
        except ProviderError as exc:
            raise refused("revert to", exc, what, name, "vSphere") from exc
        want, now = str(node.state), self.power.state(live.id, what)
        if want == POWERED_ON and now != POWERED_ON:
            self.power.start(live.id, what)
        elif want == POWERED_OFF and now == POWERED_ON:
            self.power.stop(live.id, what)

    def delete(self, live: LiveObject, name: str) -> None:
        """One READ and the task; a snapshot (or a VM) already gone is success. The
        snapshot's children are kept (vSphere folds its changes into them)."""
        what = label(live.address, live.name)
        try:
            node = self._one(live, name, what)
        except ObjectNotFoundError:
            return
        if node is None:
            return
        try:
            self.client.run_task(what, lambda _s: node.snapshot.RemoveSnapshot_Task(
                removeChildren=False))
        except ObjectNotFoundError:
            return
        except ProviderError as exc:
            raise refused("delete", exc, what, name, "vSphere") from exc

    def _tree(self, live: LiveObject) -> tuple[list[Any], str]:
        """(the VM's snapshots oldest first, its power state); ObjectNotFoundError when
        the VM is gone."""
        what = label(live.address, live.name)
        record = read_vm(self.client, live.id, what, PATHS)
        if record is None:
            raise ObjectNotFoundError(f"{what}: the VM is gone")
        snapshot = record.get("snapshot")
        nodes = flatten(snapshot.rootSnapshotList if snapshot is not None else None)
        return nodes, str(record.get("runtime.powerState", POWERED_OFF))

    def _named(self, live: LiveObject, name: str) -> list[Any]:
        return [node for node in self._tree(live)[0] if node.name == name]

    def _one(self, live: LiveObject, name: str, what: str) -> Any:
        """The snapshot called ``name``, None if there is none; refuses a name two share."""
        found = self._named(live, name)
        if len(found) > 1:
            raise ProviderError(f"{what}: {len(found)} snapshots are named {name}",
                                hint="vSphere allows that, provisioner does not guess which: "
                                     "rename or delete the others in the vSphere client")
        return found[0] if found else None

