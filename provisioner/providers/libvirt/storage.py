"""Volumes on libvirt storage pools: listing, creating (optionally over a base
image), growing and deleting. Names carry ownership (see naming.py)."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field

import libvirt

from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.libvirt.client import LibvirtClient
from provisioner.providers.libvirt.mapping import VolumeInfo, volume_xml
from provisioner.providers.libvirt.naming import parse_volume_name

_IMAGE_SUFFIXES = ("", ".qcow2", ".img", ".raw")


@dataclass
class VolumeListing:
    """One pass over every active pool: this stack's volumes, by (pool, name)."""

    volumes: dict[tuple[str, str], VolumeInfo] = field(default_factory=dict)
    keys: dict[tuple[str, str], str] = field(default_factory=dict)
    pools: list[str] = field(default_factory=list)


class Storage:
    """Volume operations for one stack on one libvirt connection."""

    def __init__(self, client: LibvirtClient, stack: str) -> None:
        self.client = client
        self.stack = stack

    def list(self) -> VolumeListing:
        """This stack's volumes in every active pool: 1 + pools list calls, one info per volume."""
        listing = VolumeListing()
        pools = self.client.call(CallKind.LIST, "storage pools",
                                 self.client.conn.listAllStoragePools,
                                 libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)
        for pool in pools:
            pool_name = pool.name()
            listing.pools.append(pool_name)
            volumes = self.client.call(CallKind.LIST, f"pool {pool_name}", pool.listAllVolumes)
            for volume in volumes:
                parsed = parse_volume_name(volume.name())
                if parsed is None or parsed.stack != self.stack:
                    continue
                info = self.client.call(CallKind.READ, f"volume {volume.name()}", volume.info)
                key = (pool_name, volume.name())
                listing.volumes[key] = VolumeInfo(pool_name, volume.name(), int(info[1]),
                                                  parsed.format)
                listing.keys[key] = volume.key()
        return listing

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

    def find(self, names: Iterable[str]) -> tuple[str, str] | None:
        """(pool, name) of the first of ``names`` found in any active pool."""
        wanted = list(names)
        pools = self.client.call(CallKind.LIST, "storage pools",
                                 self.client.conn.listAllStoragePools,
                                 libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)
        for pool in pools:
            for name in wanted:
                try:
                    self.client.call(CallKind.READ, f"volume {name}",
                                     pool.storageVolLookupByName, name)
                except ObjectNotFoundError:
                    continue
                return pool.name(), name
        return None

    def create(
        self, pool: str, name: str, size: int | None, fmt: str, image: str | None = None
    ) -> libvirt.virStorageVol:
        """Create a volume; a volume of this stack left with the same name by an
        interrupted run is deleted first (nothing else can own that name)."""
        leftover = self.lookup(pool, name)
        if leftover is not None:
            self.delete_volume(leftover, name)
        backing = self._base_image(pool, image) if image else None
        if size is None:
            if backing is None:
                raise ProviderError(f"volume {name}: needs a size or an image")
            size = backing[2]
        xml = volume_xml(name, size, fmt, backing[:2] if backing else None)
        return self.client.call(CallKind.WRITE, f"volume {pool}/{name}",
                                self.pool(pool).createXML, xml, 0)

    def _base_image(self, pool: str, image: str) -> tuple[str, str, int]:
        """(path, format, capacity) of a base image: a path, or a volume in ``pool``."""
        if image.startswith("/"):
            volume = self.client.call(CallKind.READ, f"image {image}",
                                      self.client.conn.storageVolLookupByPath, image)
        else:
            found = next((v for s in _IMAGE_SUFFIXES if (v := self.lookup(pool, image + s))), None)
            if found is None:
                raise ProviderError(f"base image '{image}' is not a volume of pool '{pool}'",
                                    hint="upload the image into the pool, or give its path")
            volume = found
        root = ET.fromstring(self.client.call(CallKind.READ, f"image {image}", volume.XMLDesc, 0))
        fmt = root.find("target/format")
        capacity = int(root.findtext("capacity") or 0)
        path = root.findtext("target/path") or volume.path()
        return path, fmt.get("type", "raw") if fmt is not None else "raw", capacity

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
