"""A guest's spec resolved against the host: which pool and volume each disk is, its
target (vda, sdb ...), the cloud-init seed disk, and each NIC's source and MAC.

The layout is what the domain XML is written from (``domain_xml``); computing it
reads only the last storage listing (no call per disk).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from provisioner.core.address import Kind
from provisioner.core.resources import LiveObject, Resource
from provisioner.core.specs import DiskSpec, GuestSpec, NicSpec
from provisioner.errors import ProviderError
from provisioner.providers.kit.references import pool_of, referenced
from provisioner.providers.libvirt.domain_xml import (
    TARGET_PREFIX,
    DiskPlan,
    GuestLayout,
    NicPlan,
    default_mac,
)
from provisioner.providers.libvirt.images import image_base
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
        guest = GuestSpec.of(resource.spec)
        disks = list(guest.disks)
        if not disks and guest.image:
            disks = [DiskSpec()]
        used = {disk.slot for disk in disks if disk.slot}
        plans = [self._disk(resource, guest, index, disk, used)
                 for index, disk in enumerate(disks)]
        seed = None
        if guest.cloud_init is not None:
            pool = next((d.pool for d in plans if d.own), self.default_pool)
            target = _next_target("virtio", used)
            seed = DiskPlan(len(plans), target, "virtio", "raw", pool,
                            str(VolumeName(self.owner.prefix, resource.name, None, "raw",
                                           seed=True)),
                            own=True, readonly=True)
        current = GuestSpec.of(live.spec).networks if live else ()
        nics = [self._nic(resource, index, nic, current)
                for index, nic in enumerate(guest.networks)]
        return GuestLayout(self.domain_type(), plans, nics, seed)

    def _disk(self, resource: Resource, guest: GuestSpec, index: int, disk: DiskSpec,
              used: set[str]) -> DiskPlan:
        bus = disk.bus or "virtio"
        target = disk.slot or _next_target(bus, used)
        if disk.volume:
            object_name = referenced(resource, Kind.VOLUME, disk.volume)
            names = [self.owner.volume_name(object_name, fmt) for fmt in ("qcow2", "raw")]
            found = self.storage.find(names)
            if found is None:
                raise ProviderError(f"{resource.address}: volume '{disk.volume}' does not "
                                    f"exist", hint=f"apply volumes.{disk.volume} first")
            fmt = "raw" if found[1].endswith(".img") else "qcow2"
            return DiskPlan(index, target, bus, fmt, found[0], found[1], own=False,
                            shareable=fmt == "raw")
        fmt = disk.format or "qcow2"
        image = disk.image or (guest.image if index == 0 else None)
        if image is not None:  # a declared image: the volume it was imported as
            image = image_base(self.owner, resource,
                               f"disks[{index}].image" if disk.image else "image") or image
        name = str(VolumeName(self.owner.prefix, resource.name, index, fmt))
        pool = self.pool_of(resource, f"disks[{index}].pool", disk.pool)
        return DiskPlan(index, target, bus, fmt, pool, name, own=True, size=disk.size,
                        image=image)

    def pool_of(self, resource: Resource, path: str, declared: str | None) -> str:
        """The libvirt pool a ``pool:`` value means: a pool of the stack, a pool the
        host has, or the provider's default."""
        return pool_of(resource, path, declared, default=self.default_pool,
                       stack_pool=self.owner.pool_name)

    def _nic(self, resource: Resource, index: int, nic: NicSpec,
             current: Sequence[NicSpec]) -> NicPlan:
        if nic.bridge:
            kind, source = "bridge", nic.bridge
        elif nic.network:
            kind, source = "network", referenced(resource, Kind.NETWORK, nic.network)
        else:
            kind, source = "network", nic.host_network or ""
        mac = nic.mac
        old = current[index] if index < len(current) else None
        if mac is None and old is not None and (old.network, old.host_network, old.bridge) == (
                nic.network, nic.host_network, nic.bridge):
            mac = old.mac  # keep the address libvirt or an earlier apply gave it
        return NicPlan(kind, source, mac or default_mac(self.owner.stack, resource.address,
                                                        index), nic.model or "virtio")


def _next_target(bus: str, used: set[str]) -> str:
    """The first free device name of the bus's kind (``vda``, ``vdb``, ...)."""
    prefix = TARGET_PREFIX[bus]
    letter = 0
    while f"{prefix}{chr(ord('a') + letter)}" in used:
        letter += 1
    target = f"{prefix}{chr(ord('a') + letter)}"
    used.add(target)
    return target
