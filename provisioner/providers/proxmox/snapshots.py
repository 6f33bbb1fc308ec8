"""Guest snapshots on Proxmox VE: each guest's own snapshot tree (``.../snapshot``).

A snapshot holds the guest's config and a snapshot of each of its disks, taken by
the disks' storage: LVM-thin, ZFS, Ceph RBD, BTRFS, or qcow2 files on a directory
or NFS storage. Any other disk (raw on a directory storage, plain LVM, iSCSI)
makes Proxmox refuse with "snapshot feature is not available", translated here
with a hint. A running QEMU guest's snapshot also holds its memory (``vmstate``,
saved to a volume on the guest's storage), so a rollback brings it back running
where it was; a rollback to a snapshot without memory leaves the guest stopped
(Proxmox stops it first). A container's snapshot never holds memory.

Proxmox does the work in tasks (UPIDs), waited for with ``tasks``: a guest locked
by another task (a backup) and config lock timeouts are retried within
``retry_timeout``, as for every write. The listing's ``current`` entry is where the
guest is now, not a snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from provisioner.core.resources import LiveObject
from provisioner.core.snapshots import SnapshotInfo
from provisioner.errors import ObjectNotFoundError, ProviderError, TransientProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.kit.snapshots import (
    BUSY_HINT,
    DESCRIPTION,
    name_in_use,
    no_such_snapshot,
    refused,
)
from provisioner.providers.proxmox.context import Context
from provisioner.providers.proxmox.props import to_bool, to_int
from provisioner.providers.proxmox.tasks import TaskFailedError

CURRENT = "current"
"""The listing's entry for the guest as it is now."""
MEMORY_KIND = "qemu"
"""Only QEMU guests' snapshots can hold memory."""


def parse_snapshots(entries: Sequence[Mapping[str, Any]] | None) -> list[SnapshotInfo]:
    """The ``/snapshot`` listing as snapshots, oldest first, without ``current``. Pure.
    ``snaptime`` counts seconds: two taken in the same second are ordered by the tree
    (a parent before its children)."""
    parents = {str(e.get("name")): str(e.get("parent") or "") for e in entries or []}
    infos = []
    for entry in entries or []:
        name = str(entry.get("name") or "")
        if not name or name == CURRENT:
            continue
        taken = to_int(entry.get("snaptime")) or 0
        infos.append((taken or None, _depth(name, parents), SnapshotInfo(
            name=name, created=datetime.fromtimestamp(taken, UTC) if taken else None,
            memory=bool(to_bool(entry.get("vmstate"))))))
    infos.sort(key=lambda item: (item[0] is None, item[0] or 0, item[1], item[2].name))
    return [info for _, _, info in infos]


def _depth(name: str, parents: Mapping[str, str]) -> int:
    """How many ancestors snapshot ``name`` has in the tree (a loop is cut)."""
    depth, seen = 0, {name}
    while (name := parents.get(name, "")) and name not in seen:
        seen.add(name)
        depth += 1
    return depth


def running_now(entries: Sequence[Mapping[str, Any]] | None) -> bool:
    """Whether the listing's ``current`` entry says the guest runs. Pure."""
    current = next((e for e in entries or [] if e.get("name") == CURRENT), {})
    return bool(to_bool(current.get("running")))


class Snapshots:
    """Snapshot calls on the guests and containers of one provider block."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.client = ctx.client

    def read(self, kind: str, live: LiveObject) -> list[SnapshotInfo]:
        """One READ. ``kind`` is ``qemu`` or ``lxc``."""
        return parse_snapshots(self._listing(kind, live))

    def create(self, kind: str, live: LiveObject, name: str) -> SnapshotInfo:
        """One READ, the task, one READ back. A lost answer is not repeated: the listing
        then says whether the snapshot was taken."""
        what, path, node = self._where(kind, live)
        entries = self._listing(kind, live)
        if any(info.name == name for info in parse_snapshots(entries)):
            raise name_in_use(what, name)
        params: dict[str, Any] = {"snapname": name, "description": DESCRIPTION}
        if kind == MEMORY_KIND and running_now(entries):
            params["vmstate"] = 1
        try:
            with self.ctx.limits.hold(node):
                self.ctx.tasks.run(what, lambda: self.client.post(
                    what, f"{path}/snapshot", idempotent=False, **params), idempotent=False)
        except ObjectNotFoundError:
            raise
        except TransientProviderError as exc:
            if self._taken(kind, live, name) is None:
                raise _refused("take", exc, what, name) from exc
        except ProviderError as exc:
            raise _create_refused(exc, what, name) from exc
        taken = self._taken(kind, live, name)
        if taken is None:
            raise ProviderError(f"{what}: the snapshot {name} Proxmox reported as taken is "
                                "not in its listing", hint="see the guest's snapshots in the "
                                                           "Proxmox UI")
        return taken

    def revert(self, kind: str, live: LiveObject, name: str) -> None:
        """One READ and the rollback task. A snapshot with memory is rolled back with
        ``start=1``: Proxmox resumes such a guest anyway (the parameter then changes
        nothing), and a server that does not model the resume starts it too."""
        what, path, node = self._where(kind, live)
        info = next((i for i in self.read(kind, live) if i.name == name), None)
        if info is None:
            raise no_such_snapshot(what, name)
        params: dict[str, Any] = {"start": 1} if info.memory else {}
        try:
            with self.ctx.limits.hold(node):
                self.ctx.tasks.run(what, lambda: self.client.post(
                    what, f"{path}/snapshot/{name}/rollback", **params))
        except ObjectNotFoundError:
            raise
        except ProviderError as exc:
            raise _refused("revert to", exc, what, name) from exc

    def delete(self, kind: str, live: LiveObject, name: str) -> None:
        """One READ and the task; no task for a snapshot (or a guest) already gone."""
        what, path, node = self._where(kind, live)
        try:
            if all(info.name != name for info in self.read(kind, live)):
                return
            with self.ctx.limits.hold(node):
                self.ctx.tasks.run(what, lambda: self.client.delete(
                    what, f"{path}/snapshot/{name}"))
        except ObjectNotFoundError:
            return
        except ProviderError as exc:
            if isinstance(exc, TaskFailedError) and "does not exist" in exc.exitstatus:
                return  # deleted meanwhile: gone is success
            raise _refused("delete", exc, what, name) from exc

    def _where(self, kind: str, live: LiveObject) -> tuple[str, str, str]:
        """(what, API path, node) of the guest, on the node the last listing saw it."""
        node = str(live.attributes.get("node") or "")
        return str(live.address), f"nodes/{node}/{kind}/{live.id}", node

    def _listing(self, kind: str, live: LiveObject) -> Any:
        what, path, _ = self._where(kind, live)
        return self.client.get(CallKind.READ, what, f"{path}/snapshot")

    def _taken(self, kind: str, live: LiveObject, name: str) -> SnapshotInfo | None:
        return next((info for info in self.read(kind, live) if info.name == name), None)


def _create_refused(exc: ProviderError, what: str, name: str) -> ProviderError:
    """Proxmox's refusal to take a snapshot, with what to do about it: its own words
    (a failed task's exit status, without the log that repeats them) and a hint."""
    message = exc.exitstatus if isinstance(exc, TaskFailedError) else \
        exc.message.removeprefix(f"{what}: ")
    if "already used" in message:
        return name_in_use(what, name)
    if "snapshot feature is not available" in message:
        hint = ("Proxmox snapshots need every disk on a storage that takes them (LVM-thin, "
                "ZFS, Ceph RBD, BTRFS) or in qcow2 on a directory or NFS storage; move the "
                "disk there (Disk Action > Move Storage), or leave this guest out with "
                "--target")
    elif "template" in message:
        hint = "Proxmox takes no snapshots of templates"
    elif "snapshot (with RAM)" in message:
        hint = ("a device of the guest (PCI passthrough, a local resource) keeps its memory "
                "from being saved; stop the guest and take the snapshot without memory")
    else:
        return _refused("take", exc, what, name)
    return ProviderError(f"{what}: cannot take snapshot {name}: {message}", hint=hint)


def _refused(doing: str, exc: ProviderError, what: str, name: str) -> ProviderError:
    """Any other refusal: Proxmox's words. A lock held past ``retry_timeout`` says which
    lock (a task's exit status, without the log that repeats it) and what to do."""
    if isinstance(exc, TaskFailedError) and isinstance(exc, TransientProviderError):
        return ProviderError(f"{what}: cannot {doing} snapshot {name}: {exc.exitstatus}",
                             hint=BUSY_HINT)
    return refused(doing, exc, what, name, "Proxmox")
