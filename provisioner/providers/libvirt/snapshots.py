"""Guest snapshots: libvirt internal snapshots, kept inside the guest's qcow2 disks.

A stopped guest's snapshot holds its disks; a running guest's also holds its memory
(libvirt's default for a running domain), so a revert brings back a running guest
exactly where it was, and a revert to a stopped guest's snapshot leaves it stopped.
That is what a user expects of "snapshot before an experiment, revert after".

Internal snapshots need every writable disk in qcow2: a raw disk (an attached
``volumes:`` volume in raw format, say) is refused before libvirt is asked, naming
the disk. Read-only disks (the cloud-init seed CD) are left out of the snapshot.
What else libvirt refuses (a UEFI guest with pflash firmware on many versions) is
its own message, translated once here with a hint. The snapshots live in the
guest's disks and its definition: deleting the guest deletes them (``Guests.delete``
undefines with the snapshot-metadata flag).
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import libvirt

from provisioner.core.resources import LiveObject
from provisioner.core.snapshots import SnapshotInfo
from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.libvirt.client import LibvirtClient

SNAPSHOT_DISK_FORMAT = "qcow2"


def snapshot_xml(name: str, disks: list[str], skipped: list[str]) -> str:
    """The ``<domainsnapshot>`` document: ``disks`` (targets) snapshotted internally,
    ``skipped`` left out. Built with ElementTree: the name is never formatted in."""
    root = ET.Element("domainsnapshot")
    ET.SubElement(root, "name").text = name
    ET.SubElement(root, "description").text = "taken by provisioner"
    if disks or skipped:
        element = ET.SubElement(root, "disks")
        for target in disks:
            ET.SubElement(element, "disk", name=target, snapshot="internal")
        for target in skipped:
            ET.SubElement(element, "disk", name=target, snapshot="no")
    return ET.tostring(root, encoding="unicode")


def snapshot_disks(domain: ET.Element, what: str) -> tuple[list[str], list[str]]:
    """(targets to snapshot, read-only targets left out) of a domain definition;
    ProviderError naming the first writable disk that is not qcow2."""
    disks, skipped = [], []
    for disk in domain.findall("devices/disk"):
        target = disk.find("target")
        name = target.get("dev") if target is not None else None
        if not name:
            continue
        if disk.get("device") in ("cdrom", "floppy") or disk.find("readonly") is not None:
            skipped.append(name)
            continue
        driver = disk.find("driver")
        disk_format = driver.get("type") if driver is not None else None
        if disk_format != SNAPSHOT_DISK_FORMAT:
            source = disk.find("source")
            where = ""
            if source is not None:
                where = source.get("volume") or source.get("file") or source.get("dev") or ""
            shown = f" ({where})" if where else ""
            raise ProviderError(
                f"{what}: disk {name}{shown} is {disk_format or 'of unknown format'}: libvirt "
                "takes snapshots only of guests whose disks are all qcow2",
                hint="use format: qcow2 for the guest's disks and attached volumes, or leave "
                     "this guest out with --target")
        disks.append(name)
    return disks, skipped


def parse_snapshot(xml: str) -> SnapshotInfo:
    """A ``<domainsnapshot>`` description as a SnapshotInfo."""
    root = ET.fromstring(xml)
    created_text = root.findtext("creationTime")
    created = (datetime.fromtimestamp(int(created_text), UTC)
               if created_text and created_text.isdigit() else None)
    memory = root.find("memory")
    state = root.findtext("state") or ""
    holds_memory = (memory.get("snapshot", "no") != "no" if memory is not None
                    else state in ("running", "paused"))
    return SnapshotInfo(name=root.findtext("name") or "", created=created, size=None,
                        memory=holds_memory)


class Snapshots:
    """Snapshot calls on the domains of one provider block."""

    def __init__(self, client: LibvirtClient) -> None:
        self.client = client

    def read(self, live: LiveObject) -> list[SnapshotInfo]:
        what = str(live.address)
        domain = self._domain(live)
        found = self.client.call(CallKind.READ, what, domain.listAllSnapshots, 0)
        infos = [parse_snapshot(self.client.call(CallKind.READ, what, snap.getXMLDesc, 0))
                 for snap in found]
        return sorted(infos, key=lambda info: (info.created is None, info.created, info.name))

    def create(self, live: LiveObject, name: str) -> SnapshotInfo:
        what = str(live.address)
        domain = self._domain(live)
        if self._lookup(domain, name, what) is not None:
            raise ProviderError(f"{what} already has a snapshot named {name}",
                                hint=f"pick another name, or delete it first: provisioner "
                                     f"snapshot delete {name}")
        definition = ET.fromstring(self.client.call(CallKind.READ, what, domain.XMLDesc, 0))
        disks, skipped = snapshot_disks(definition, what)
        xml = snapshot_xml(name, disks, skipped)
        try:
            snap = self.client.call(CallKind.WRITE, what, domain.snapshotCreateXML, xml, 0,
                                    retry=False)
        except ObjectNotFoundError:
            raise
        except ProviderError as exc:  # libvirt's reason, translated once
            raise _refused(exc, what) from exc
        return parse_snapshot(self.client.call(CallKind.READ, what, snap.getXMLDesc, 0))

    def revert(self, live: LiveObject, name: str) -> None:
        what = str(live.address)
        domain = self._domain(live)
        snap = self._lookup(domain, name, what)
        if snap is None:
            raise ProviderError(f"{what} has no snapshot named {name}",
                                hint="see them with: provisioner snapshot list")
        try:
            self.client.call(CallKind.WRITE, what, domain.revertToSnapshot, snap, 0,
                             retry=False)
        except ObjectNotFoundError:
            raise
        except ProviderError as exc:
            raise _revert_refused(exc, what) from exc

    def delete(self, live: LiveObject, name: str) -> None:
        what = str(live.address)
        try:
            domain = self._domain(live)
        except ObjectNotFoundError:
            return
        snap = self._lookup(domain, name, what)
        if snap is None:
            return
        with contextlib.suppress(ObjectNotFoundError):  # deleted meanwhile: gone is success
            self.client.call(CallKind.WRITE, what, snap.delete, 0)

    def _domain(self, live: LiveObject) -> libvirt.virDomain:
        return self.client.call(CallKind.READ, str(live.address),
                                self.client.conn.lookupByUUIDString, live.id)

    def _lookup(self, domain: libvirt.virDomain, name: str,
                what: str) -> libvirt.virDomainSnapshot | None:
        try:
            return self.client.call(CallKind.READ, what, domain.snapshotLookupByName, name, 0)
        except ObjectNotFoundError:
            return None


def _refused(exc: ProviderError, what: str) -> ProviderError:
    """libvirt's refusal to take a snapshot, with what to do about it."""
    message = exc.message.removeprefix(f"{what}: ")
    if "pflash" in message or "uefi" in message.lower():
        hint = ("libvirt cannot take internal snapshots of this UEFI guest (pflash "
                "firmware); boot it with BIOS firmware to take snapshots")
    else:
        hint = "libvirt refused the snapshot; its message says why"
    return ProviderError(f"{what}: cannot take a snapshot: {message}", hint=hint)


def _revert_refused(exc: ProviderError, what: str) -> ProviderError:
    """libvirt's refusal to revert, with what to do about it."""
    message = exc.message.removeprefix(f"{what}: ")
    if "force" in message.lower():
        hint = ("the guest changed since the snapshot in a way libvirt will not revert a "
                "running state over (its vCPUs, memory or devices); stop the guest and "
                "revert again, or take a new snapshot")
    else:
        hint = "libvirt refused the revert; its message says why"
    return ProviderError(f"{what}: cannot revert: {message}", hint=hint)
