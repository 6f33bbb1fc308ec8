"""Storage pools (``pools:``): directory pools, defined, built, started, autostarted.

A pool's libvirt name carries its owner (``STACK__NAME``, see ownership.py). On
delete the directory is removed only when empty: images someone put there
are never deleted with the pool's definition.
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET

import libvirt

from provisioner.core.resources import LiveObject, Resource
from provisioner.core.specs import PoolSpec
from provisioner.errors import CreateFailedError, ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.libvirt.client import LibvirtClient
from provisioner.providers.libvirt.ownership import Ownership


class Pools:
    """Pool operations for one provider block."""

    def __init__(self, client: LibvirtClient, owner: Ownership) -> None:
        self.client = client
        self.owner = owner

    def live_object(self, pool: libvirt.virStoragePool, provider: str) -> LiveObject | None:
        """The pool as a LiveObject if this stack owns it (by name), else None."""
        address = self.owner.pool_address(pool.name())
        object_name = self.owner.parse_pool(pool.name())
        if address is None or object_name is None:
            return None
        try:
            root = ET.fromstring(self.client.call(CallKind.READ, pool.name(), pool.XMLDesc, 0))
        except ObjectNotFoundError:
            return None
        return LiveObject(
            address=address, provider=provider, name=object_name, id=pool.UUIDString(),
            spec={"type": root.get("type", "dir"), "path": root.findtext("target/path"),
                  "options": {}},
            attributes={"uuid": pool.UUIDString(), "pool": pool.name()},
        )

    def create(self, resource: Resource) -> libvirt.virStoragePool:
        """Define, build (mkdir), start and autostart; an earlier attempt is finished."""
        what = str(resource.address)
        name = self.owner.pool_name(resource.name)
        conn = self.client.conn
        try:
            pool = self.client.call(CallKind.READ, what, conn.storagePoolLookupByName, name)
        except ObjectNotFoundError:
            pool = self.client.call(CallKind.WRITE, what, conn.storagePoolDefineXML,
                                    pool_xml(name, PoolSpec.of(resource.spec).path), 0)
        try:
            if not self.client.call(CallKind.READ, what, pool.isActive):
                self.client.call(CallKind.WRITE, what, pool.build, 0)  # dir: mkdir -p
                self.client.call(CallKind.WRITE, what, pool.create, 0)
            self.client.call(CallKind.WRITE, what, pool.setAutostart, 1)
        except ProviderError as exc:
            leftovers = self._remove(pool)
            raise CreateFailedError(exc.message.removeprefix(f"{what}: "), exc.hint,
                                    address=what, leftovers=leftovers) from exc
        return pool

    def delete(self, live: LiveObject) -> None:
        """Stop, remove the directory if empty, undefine; already gone is success."""
        what = str(live.address)
        try:
            pool = self.client.call(CallKind.READ, what,
                                    self.client.conn.storagePoolLookupByUUIDString, live.id)
        except ObjectNotFoundError:
            return
        with contextlib.suppress(ObjectNotFoundError):
            if self.client.call(CallKind.READ, what, pool.isActive):
                self.client.call(CallKind.WRITE, what, pool.destroy)
            with contextlib.suppress(ProviderError):  # not empty: the files stay
                self.client.call(CallKind.WRITE, what, pool.delete, 0)
            self.client.call(CallKind.WRITE, what, pool.undefine)

    @staticmethod
    def _remove(pool: libvirt.virStoragePool) -> list[str]:
        try:
            if pool.isActive():
                pool.destroy()
            pool.undefine()
        except libvirt.libvirtError:
            return [f"pool {pool.name()}"]
        return []


def pool_xml(name: str, path: str) -> str:
    root = ET.Element("pool", {"type": "dir"})
    ET.SubElement(root, "name").text = name
    target = ET.SubElement(root, "target")
    ET.SubElement(target, "path").text = path
    return ET.tostring(root, encoding="unicode")
