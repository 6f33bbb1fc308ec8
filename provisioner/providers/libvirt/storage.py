"""Volumes on libvirt storage pools: listing, creating (empty, as an overlay of a
base image, or as a full copy of it), growing and deleting. Names carry
ownership (see ownership.py)."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import libvirt

from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.libvirt.client import LibvirtClient
from provisioner.providers.libvirt.domain_xml import VolumeInfo
from provisioner.providers.libvirt.ownership import VolumeName, parse_volume_name

IMAGE_SUFFIXES = ("", ".qcow2", ".img", ".raw", ".vmdk")


@dataclass
class VolumeListing:
    """One pass over every active pool."""

    volumes: dict[tuple[str, str], VolumeInfo] = field(default_factory=dict)
    """This stack's volumes, by (pool, name), with their sizes."""
    keys: dict[tuple[str, str], str] = field(default_factory=dict)
    names: dict[str, set[str]] = field(default_factory=dict)
    """Every volume name of every active pool (base images included)."""


@dataclass(frozen=True)
class BaseImage:
    path: str
    format: str
    capacity: int


class Storage:
    """Volume operations for one stack on one libvirt connection."""

    def __init__(self, client: LibvirtClient, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        """``STACK.PROVIDER``: the volumes this block owns start with it."""

    def listing(self, pools: Sequence[libvirt.virStoragePool],
                sized: Mapping[str, int] | None = None) -> VolumeListing:
        """The volumes of the active ``pools``: one list call per pool. Each volume of
        this stack gets its size from ``sized`` (image path → bytes, what running
        guests' statistics reported) if it is there, else from one size read (other
        volumes are only named). A volume's key is its path in file-based pools, and
        is known without a call."""
        listing = VolumeListing()
        found: list[tuple[str, libvirt.virStorageVol, VolumeName, int | None]] = []
        for pool in pools:
            pool_name = pool.name()
            volumes = self.client.call(CallKind.LIST, f"pool {pool_name}", pool.listAllVolumes)
            listing.names[pool_name] = {volume.name() for volume in volumes}
            for volume in volumes:
                parsed = parse_volume_name(volume.name())
                if parsed is not None and parsed.owner == self.prefix:
                    found.append((pool_name, volume, parsed, (sized or {}).get(volume.key())))
        unsized = [volume for _, volume, _, capacity in found if capacity is None]
        read = dict(zip(unsized, self.client.each(self._capacity, unsized), strict=True))
        for pool_name, volume, parsed, bulk in found:
            capacity = read.get(volume) if bulk is None else bulk
            if capacity is not None:  # else deleted between the listing and this read
                key = (pool_name, volume.name())
                listing.volumes[key] = VolumeInfo(pool_name, volume.name(), capacity,
                                                  parsed.format)
                listing.keys[key] = volume.key()
        return listing

    def _capacity(self, volume: libvirt.virStorageVol) -> int | None:
        try:
            return int(self.client.call(CallKind.READ, f"volume {volume.name()}",
                                        volume.info)[1])
        except ObjectNotFoundError:
            return None

    def pool(self, name: str) -> libvirt.virStoragePool:
        try:
            return self.client.call(CallKind.READ, f"pool {name}",
                                    self.client.conn.storagePoolLookupByName, name)
        except ObjectNotFoundError:
            pools = self.client.call(CallKind.LIST, "storage pools",
                                     self.client.conn.listAllStoragePools)
            names = ", ".join(sorted(p.name() for p in pools)) or "none"
            raise ProviderError(f"storage pool '{name}' does not exist (pools: {names})",
                                hint="create the pool, or set `pool:` to one of those") from None

    def lookup(self, pool: str, name: str) -> libvirt.virStorageVol | None:
        try:
            return self.client.call(CallKind.READ, f"volume {pool}/{name}",
                                    self.pool(pool).storageVolLookupByName, name)
        except ObjectNotFoundError:
            return None

    def find(self, names: Sequence[str]) -> tuple[str, str] | None:
        """(pool, name) of the first of ``names`` found in any active pool."""
        pools = self.client.call(CallKind.LIST, "storage pools",
                                 self.client.conn.listAllStoragePools,
                                 libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)
        for pool in pools:
            for name in names:
                try:
                    self.client.call(CallKind.READ, f"volume {name}",
                                     pool.storageVolLookupByName, name)
                except ObjectNotFoundError:
                    continue
                return pool.name(), name
        return None

    def create(self, pool: str, name: str, size: int | None, fmt: str,
               image: str | None = None, copy: bool = False) -> libvirt.virStorageVol:
        """Create a volume: empty, an overlay of ``image`` or (``copy``) a full copy of
        it. A volume of this stack left with the same name by an interrupted run is
        deleted first (nothing else can own that name)."""
        leftover = self.lookup(pool, name)
        if leftover is not None:
            self.delete_volume(leftover, name)
        base = self.base_image(pool, image) if image else None
        size = size or (base.capacity if base else None)
        if size is None:
            raise ProviderError(f"volume {name}: needs a size or an image")
        if base is not None and size < base.capacity:
            raise ProviderError(f"volume {name}: {size} bytes is smaller than its image "
                                f"'{image}' ({base.capacity} bytes)",
                                hint="give the disk at least the image's size")
        what = f"volume {pool}/{name}"
        target = self.pool(pool)
        if base is not None and copy:
            source = self.client.call(CallKind.READ, what,
                                      self.client.conn.storageVolLookupByPath, base.path)
            xml = volume_xml(name, size, fmt)
            volume = self.client.call(CallKind.WRITE, what, target.createXMLFrom, xml, source, 0)
            self._grow_copy(volume, size, what)
            return volume
        backing = (base.path, base.format) if base else None
        return self.client.call(CallKind.WRITE, what, target.createXML,
                                volume_xml(name, size, fmt, backing), 0)

    def _grow_copy(self, volume: libvirt.virStorageVol, size: int, what: str) -> None:
        """A copy has its image's size whatever capacity it was asked for (libvirt's
        ``qemu-img convert``): grow it, or delete it and raise."""
        try:
            if int(self.client.call(CallKind.READ, what, volume.info)[1]) < size:
                self.client.call(CallKind.WRITE, what, volume.resize, int(size), 0)
        except ProviderError:
            self.delete_volume(volume, what.removeprefix("volume "))
            raise

    def base_image(self, pool: str, image: str) -> BaseImage:
        """A base image: an absolute path known to libvirt, or a volume of ``pool``
        (``debian-12`` finds ``debian-12``, ``debian-12.qcow2``, ``.img`` or ``.raw``)."""
        if image.startswith("/"):
            volume = self.client.call(CallKind.READ, f"image {image}",
                                      self.client.conn.storageVolLookupByPath, image)
        else:
            found = next((v for suffix in IMAGE_SUFFIXES
                          if (v := self.lookup(pool, image + suffix))), None)
            if found is None:
                raise ProviderError(f"base image '{image}' is not a volume of pool '{pool}'",
                                    hint="upload the image into the pool, or give its path")
            volume = found
        root = ET.fromstring(self.client.call(CallKind.READ, f"image {image}", volume.XMLDesc, 0))
        fmt = root.find("target/format")
        return BaseImage(root.findtext("target/path") or volume.path(),
                         fmt.get("type", "raw") if fmt is not None else "raw",
                         int(root.findtext("capacity") or 0))

    def resize(self, pool: str, name: str, size: int) -> None:
        volume = self.lookup(pool, name)
        if volume is None:
            raise ObjectNotFoundError(f"volume {pool}/{name}: not found")
        self.client.call(CallKind.WRITE, f"volume {pool}/{name}", volume.resize, int(size), 0)

    def delete(self, pool: str, name: str) -> None:
        """Delete a volume; already gone is success."""
        volume = self.lookup(pool, name)
        if volume is not None:
            self.delete_volume(volume, f"{pool}/{name}")

    def delete_volume(self, volume: libvirt.virStorageVol, what: str) -> None:
        with contextlib.suppress(ObjectNotFoundError):
            self.client.call(CallKind.WRITE, f"volume {what}", volume.delete, 0)


def volume_xml(name: str, size: int, fmt: str, backing: tuple[str, str] | None = None) -> str:
    """A new volume; ``backing`` is the (path, format) of a base image for an overlay."""
    root = ET.Element("volume")
    ET.SubElement(root, "name").text = name
    ET.SubElement(root, "capacity", {"unit": "bytes"}).text = str(int(size))
    target = ET.SubElement(root, "target")
    ET.SubElement(target, "format", {"type": fmt})
    if backing is not None:
        store = ET.SubElement(root, "backingStore")
        ET.SubElement(store, "path").text = backing[0]
        ET.SubElement(store, "format", {"type": backing[1]})
    return ET.tostring(root, encoding="unicode")
