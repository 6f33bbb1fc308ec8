"""A guest's spec resolved against the host: which pool and volume each disk is, its
target (vda, sdb ...), the cloud-init seed disk, and each NIC's source and MAC.

The layout is what the domain XML is written from (``domain_xml``); computing it
reads only the last storage listing (no call per disk).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from provisioner.core.address import Kind
from provisioner.core.resources import LiveObject, Resource
from provisioner.errors import ProviderError
from provisioner.providers.kit.references import pool_of, referenced
from provisioner.providers.libvirt.domain_xml import (
    TARGET_PREFIX,
    DiskPlan,
    GuestLayout,
    NicPlan,
    default_mac,
)
from provisioner.providers.libvirt.ownership import Ownership, VolumeName
from provisioner.providers.libvirt.storage import Storage


class Layouts:
    """Layouts of one provider block's guests."""

    def __init__(self, storage: Storage, owner: Ownership, default_pool: str,
                 domain_type: Callable[[], str]) -> None:
        self.storage = storage
        self.owner = owner
        self.default_pool = default_pool
        self.domain_type = domain_type

    def layout(self, resource: Resource, live: LiveObject | None = None) -> GuestLayout:
        """Resolve the spec against the hypervisor: pools, volumes, networks, MACs."""
        spec = resource.spec
        disks = list(spec.get("disks") or [])
        if not disks and spec.get("image"):
            disks = [{"size": None, "image": None, "volume": None}]
        used = {disk["slot"] for disk in disks if disk.get("slot")}
        plans = [self._disk(resource, index, disk, used) for index, disk in enumerate(disks)]
        seed = None
        if spec.get("cloud_init"):
            pool = next((d.pool for d in plans if d.own), self.default_pool)
            target = _next_target("virtio", used)
            seed = DiskPlan(len(plans), target, "virtio", "raw", pool,
                            str(VolumeName(self.owner.prefix, resource.name, None, "raw",
                                           seed=True)),
                            own=True, readonly=True)
        current = list(live.spec.get("networks") or []) if live else []
        nics = [self._nic(resource, index, nic, current)
                for index, nic in enumerate(spec.get("networks") or [])]
        return GuestLayout(self.domain_type(), plans, nics, seed)

    def _disk(self, resource: Resource, index: int, disk: Mapping[str, Any],
              used: set[str]) -> DiskPlan:
        bus = disk.get("bus") or "virtio"
        target = disk.get("slot") or _next_target(bus, used)
        if disk.get("volume"):
            object_name = referenced(resource, Kind.VOLUME, disk["volume"])
            names = [self.owner.volume_name(object_name, fmt) for fmt in ("qcow2", "raw")]
            found = self.storage.find(names)
            if found is None:
                raise ProviderError(f"{resource.address}: volume '{disk['volume']}' does not "
                                    f"exist", hint=f"apply volumes.{disk['volume']} first")
            fmt = "raw" if found[1].endswith(".img") else "qcow2"
            return DiskPlan(index, target, bus, fmt, found[0], found[1], own=False,
                            shareable=fmt == "raw")
        fmt = disk.get("format") or "qcow2"
        image = disk.get("image") or (resource.spec.get("image") if index == 0 else None)
        name = str(VolumeName(self.owner.prefix, resource.name, index, fmt))
        pool = self.pool_of(resource, f"disks[{index}].pool", disk.get("pool"))
        return DiskPlan(index, target, bus, fmt, pool, name, own=True, size=disk.get("size"),
                        image=image)

    def pool_of(self, resource: Resource, path: str, declared: str | None) -> str:
        """The libvirt pool a ``pool:`` value means: a pool of the stack, a pool the
        host has, or the provider's default."""
        return pool_of(resource, path, declared, default=self.default_pool,
                       stack_pool=self.owner.pool_name)

    def _nic(self, resource: Resource, index: int, nic: Mapping[str, Any],
             current: Sequence[Mapping[str, Any]]) -> NicPlan:
        if nic.get("bridge"):
            kind, source = "bridge", nic["bridge"]
        elif nic.get("network"):
            kind, source = "network", referenced(resource, Kind.NETWORK, nic["network"])
        else:
            kind, source = "network", nic["host_network"]
        mac = nic.get("mac")
        old = current[index] if index < len(current) else None
        if mac is None and old is not None and all(
                old.get(k) == nic.get(k) for k in ("network", "host_network", "bridge")):
            mac = old.get("mac")  # keep the address libvirt or an earlier apply gave it
        return NicPlan(kind, source, mac or default_mac(self.owner.stack, resource.address,
                                                        index), nic.get("model") or "virtio")


def _next_target(bus: str, used: set[str]) -> str:
    """The first free device name of the bus's kind (``vda``, ``vdb``, ...)."""
    prefix = TARGET_PREFIX[bus]
    letter = 0
    while f"{prefix}{chr(ord('a') + letter)}" in used:
        letter += 1
    target = f"{prefix}{chr(ord('a') + letter)}"
    used.add(target)
    return target
