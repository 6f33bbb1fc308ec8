"""Images imported into libvirt storage pools: a volume the image's bytes are uploaded
into (``virStorageVolUpload``, streamed; remote ``qemu+ssh://`` hosts too), from which
guests' disks are made as overlays (or copies with ``image_mode: copy``).

Volumes have no metadata, so names carry everything (ownership.py): the image is
``STACK.PROVIDER__NAME__image.qcow2`` and, once its upload is complete, an empty
volume ``STACK.PROVIDER__NAME__image.sha256-HEX`` marks it and names its content.
The bulk listing reads both names, so a plan knows each image's checksum with no
call per image. An image volume without its mark is what an interrupted import left:
a leftover, deleted and imported again. A delete removes the mark first, then the
image. A volume is made in the image's format (qcow2 or raw: libvirt takes a vmdk
only as a file it probes, so it is refused at plan time) and its disk size.
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence

from provisioner.core.address import Address, Kind, image_instance, image_object_name
from provisioner.core.resources import LiveObject, Resource, address_name
from provisioner.core.specs import ImageSpec
from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.images.formats import HEADER_BYTES, virtual_size
from provisioner.images.local import image_file
from provisioner.providers.base import CallKind, Owner
from provisioner.providers.libvirt.client import LibvirtClient
from provisioner.providers.libvirt.domain_xml import VolumeInfo
from provisioner.providers.libvirt.ownership import Ownership, parse_volume_name
from provisioner.providers.libvirt.seed import send_stream
from provisioner.providers.libvirt.storage import Storage, volume_xml
from provisioner.testing import kill_point

MISSING = "(the image volume is missing)"


class Images:
    """One provider block's imported images."""

    def __init__(self, client: LibvirtClient, storage: Storage, ownership: Ownership,
                 owner: Owner) -> None:
        self.client = client
        self.storage = storage
        self.ownership = ownership
        self.owner = owner

    def create(self, resource: Resource, pool: str) -> LiveObject:
        """Fetch and verify the image, upload it into ``pool``, then mark it. If this
        raises, what is left is an unmarked volume: a leftover the next plan deletes."""
        name = image_object_name(resource.name)
        spec = ImageSpec.of(resource.spec)
        fmt, checksum = spec.format or "raw", str(spec.checksum)
        volume_name = self.ownership.image_name(name, fmt)
        what = f"{resource.address}: volume {pool}/{volume_name}"
        source = image_file(resource, self.owner.directory)
        size = source.stat().st_size
        with source.open("rb") as stream:
            disk_size = virtual_size(stream.read(HEADER_BYTES), fmt, size)
        self.storage.delete(pool, volume_name)  # an unmarked one: an interrupted import
        target = self.storage.pool(pool)
        # Made in its own format and disk size, so what libvirt knows of it is right
        # at once (guests are made from it next; the pool's own probe after an upload
        # runs later, in a thread). The upload then writes the whole file over it: a
        # new qcow2 is its header alone, never longer than an image of the same size.
        volume = self.client.call(CallKind.WRITE, what, target.createXML,
                                  volume_xml(volume_name, disk_size if fmt == "qcow2" else size,
                                             fmt), 0)
        kill_point(f"libvirt:image-volume:{resource.address}")
        with source.open("rb") as stream:
            self.client.call(CallKind.WRITE, what, send_stream, self.client.conn, volume,
                             stream, size, what)
        kill_point(f"libvirt:image-uploaded:{resource.address}")
        mark = self.ownership.image_mark(name, checksum)
        self.client.call(CallKind.WRITE, what, target.createXML, volume_xml(mark, 0, "raw"), 0)
        return image_object(self.ownership, resource.address, name, pool, fmt, checksum)

    def delete(self, live: LiveObject) -> None:
        """Remove the mark, then the image; already gone is success. Refused (nothing
        deleted) while a volume of the pool is an overlay of it: a guest of another
        stack (this stack's guests made from it are deleted before it) would break."""
        pool = str(live.attributes["pool"])
        names = [str(volume) for volume in live.attributes.get("volumes", [])]
        users = self._overlays_of(pool, names[-1]) if names else []
        if users:
            raise ProviderError(
                f"{live.address}: the image backs volumes that still exist "
                f"({', '.join(users[:3])})",
                hint="delete the guests made from it first (deleting it would break them), "
                     "or keep it with lifecycle.prevent_destroy")
        for volume in names:
            with contextlib.suppress(ObjectNotFoundError):
                self.storage.delete(pool, volume)

    def _overlays_of(self, pool: str, name: str) -> list[str]:
        """Volumes of ``pool`` whose backing file is the volume ``name``: one read of
        each volume's definition (a delete, not a plan, pays it)."""
        image = self.storage.lookup(pool, name)
        if image is None:
            return []
        path = image.path()
        found = []
        for volume in self.client.call(CallKind.LIST, f"pool {pool}",
                                       self.storage.pool(pool).listAllVolumes):
            if volume.name() == name:
                continue
            with contextlib.suppress(ObjectNotFoundError):
                text = self.client.call(CallKind.READ, f"volume {volume.name()}",
                                        volume.XMLDesc, 0)
                if ET.fromstring(text).findtext("backingStore/path") == path:
                    found.append(volume.name())
        return found



def image_object(ownership: Ownership, address: Address, name: str, shown_pool: str,
                 fmt: str | None, checksum: str | None, pool: str | None = None,
                 volumes: Sequence[str] | None = None) -> LiveObject:
    """An image as read back: ``shown_pool`` as the stack names it, ``pool`` as libvirt
    does; ``volumes`` its mark and its image, in the order a delete removes them."""
    if volumes is None:
        volumes = [ownership.image_mark(name, str(checksum)),
                   ownership.image_name(name, str(fmt))]
    spec: dict[str, object] = {"pool": shown_pool, "options": {}}
    if fmt is not None:  # unknown (the volume is gone): compared with the last applied
        spec["format"] = fmt
    if checksum is not None:
        spec["checksum"] = checksum
    pool = pool or shown_pool
    return LiveObject(address, ownership.provider, name, f"{pool}/{volumes[-1]}", spec,
                      {"pool": pool, "volumes": list(volumes), "format": fmt})


def image_objects(ownership: Ownership, volumes: Mapping[tuple[str, str], VolumeInfo],
                  pool_names: Mapping[str, str]) -> tuple[list[LiveObject], list[LiveObject]]:
    """The images among this block's volumes, and the unmarked ones (leftovers)."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    for pool, name in sorted(volumes):
        parsed = parse_volume_name(name)
        if parsed is None or not parsed.image or parsed.owner != ownership.prefix:
            continue
        entry = found.setdefault((pool, parsed.object), {})
        if parsed.checksum is not None:
            entry["mark"], entry["checksum"] = name, parsed.checksum
        else:
            entry["volume"], entry["format"] = name, parsed.format
    managed, leftovers = [], []
    for (pool, name), entry in found.items():
        address = Address(Kind.IMAGE, image_instance(address_name(name), ownership.provider))
        shown = pool_names.get(pool, pool)
        if "mark" not in entry:
            leftovers.append(image_object(ownership, address, name, shown, entry["format"],
                                          None, pool, [entry["volume"]]))
            continue
        names = [entry["mark"], *([entry["volume"]] if "volume" in entry else [])]
        checksum = entry["checksum"] if "volume" in entry else MISSING
        managed.append(image_object(ownership, address, name, shown, entry.get("format"),
                                    checksum, pool, names))
    return managed, leftovers


def image_base(ownership: Ownership, resource: Resource, path: str) -> str | None:
    """The volume name (without suffix: the pool lookup tries them) of the declared
    image a guest's ``image`` or ``disks[N].image`` names, or None for an image the
    host already has."""
    declared = resource.references.get(path)
    if declared is None or declared.kind is not Kind.IMAGE:
        return None
    name = ownership.image_name(image_object_name(resource.name_of(declared)), "qcow2")
    return name.removesuffix(".qcow2")
