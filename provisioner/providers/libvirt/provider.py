"""LibvirtProvider: the provider contract on one libvirt connection.

Pools, networks, volumes and guests of one provider block; wiring only. Field
rules are ``schema``; the bulk read is ``inventory.Lister``; the host's capacity
is ``capacity``; plan-time checks are ``checks``; each kind's changes live in its
own module (pools, networks, storage, guests); every call goes through ``client``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from provisioner.core.address import Address, Kind
from provisioner.core.problems import Problem
from provisioner.core.resources import LiveObject, Resource
from provisioner.core.snapshots import SnapshotInfo
from provisioner.core.specs import GuestSpec, VolumeSpec
from provisioner.providers.base import (
    Capacity,
    Inventory,
    Lane,
    Owner,
    Provider,
    ProviderSchema,
)
from provisioner.providers.libvirt import GuestOptions, LibvirtConfig
from provisioner.providers.libvirt.adopt import adopt
from provisioner.providers.libvirt.capacity import (
    detect_domain_type,
    machine_types,
    read_capacity,
)
from provisioner.providers.libvirt.checks import HostQueries, plan_checks
from provisioner.providers.libvirt.client import LibvirtClient
from provisioner.providers.libvirt.guests import Guests
from provisioner.providers.libvirt.images import Images
from provisioner.providers.libvirt.inventory import Lister, ReadBack
from provisioner.providers.libvirt.networks import Networks
from provisioner.providers.libvirt.ownership import Ownership
from provisioner.providers.libvirt.pools import Pools
from provisioner.providers.libvirt.schema import (
    GUEST_SCHEMA,
    IMAGE_SCHEMA,
    NETWORK_SCHEMA,
    POOL_SCHEMA,
    VOLUME_SCHEMA,
)
from provisioner.providers.libvirt.snapshots import Snapshots
from provisioner.providers.libvirt.storage import Storage


class LibvirtProvider(Provider):
    """Pools, networks, volumes and guests of one provider block on one libvirt URI."""

    type_name = "libvirt"

    def __init__(self, name: str, config: Any, owner: Owner) -> None:
        super().__init__(name, config, owner)
        self.settings: LibvirtConfig = config
        password = self.settings.password
        credentials = None if password is None else (self.settings.username or "",
                                                     password.get_secret_value())
        self.client = LibvirtClient(self.settings.uri, self.stats, credentials)
        self.ownership = Ownership(owner.stack, name)
        self.storage = Storage(self.client, self.ownership.prefix)
        self.networks = Networks(self.client, self.ownership)
        self.pools = Pools(self.client, self.ownership)
        self.guests = Guests(self.client, self.storage, self.networks, self.ownership,
                             self.settings.pool, self.domain_type)
        self.images = Images(self.client, self.storage, self.ownership, owner)
        self.lister = Lister(self.client, self.ownership, self.storage, self.pools)
        self.read_back = ReadBack(self.lister)
        self.snapshot_ops = Snapshots(self.client)
        self._domain_type: str | None = None
        self._machines: frozenset[str] | None = None

    def quick_probe(self) -> tuple[str, dict[str, str]] | None:
        """The host as ``quick/probe_libvirt.py`` reads it: the URI, the prefix of this
        block's volumes, and the capabilities if a check asked for them."""
        if self.settings.password is not None:
            return None  # the quick read connects without credentials
        params = {"uri": self.settings.uri, "sizes_of": self.ownership.prefix}
        if self._machines is not None or (self._domain_type is not None
                                          and self.settings.domain_type == "auto"):
            params["capabilities"] = "read"
        return "libvirt", params

    def schema(self) -> ProviderSchema:
        return ProviderSchema(
            kinds={Kind.POOL: POOL_SCHEMA, Kind.GUEST: GUEST_SCHEMA,
                   Kind.NETWORK: NETWORK_SCHEMA, Kind.VOLUME: VOLUME_SCHEMA,
                   Kind.IMAGE: IMAGE_SCHEMA},
            max_parallel=self.settings.max_parallel,
            storage_parallel=self.settings.pool_parallel,
        )

    def domain_type(self) -> str:
        """kvm when it really runs guests here, else qemu; or what the block says."""
        if self._domain_type is None:
            wanted = self.settings.domain_type
            self._domain_type = detect_domain_type(self.client) if wanted == "auto" else wanted
        return self._domain_type

    def machine_types(self) -> frozenset[str]:
        """The machine types this host offers (one capabilities read, when a guest
        names one)."""
        if self._machines is None:
            self._machines = machine_types(self.client)
        return self._machines

    def list_managed(self) -> Inventory:
        return self.lister.inventory()

    def check(self, resources: Sequence[Resource]) -> list[Problem]:
        return plan_checks(resources, self.lister.facts, self.guests,
                           HostQueries(self.domain_type, self.machine_types), local=self._local())

    def capacity(self) -> Capacity:
        return read_capacity(self.client)

    @property
    def default_pool(self) -> str:
        return self.settings.pool

    def lanes(self, resource: Resource) -> list[Lane]:
        """A pool's lane (``pool_parallel``) bounds the changes that copy data into it:
        images imported, guests whose disks are copies of an image. An empty disk, an
        overlay or a cloud-init seed writes a few KiB, and starting QEMU writes none:
        such guests are made ``max_parallel`` at a time (10 guests converged about 60 ms
        sooner than 4 at a time on 2 cores: QEMU's starts overlap their waits)."""
        if resource.kind is Kind.IMAGE or _copies_an_image(resource):
            return super().lanes(resource)
        return []

    def create(self, resource: Resource) -> LiveObject:
        with self.client.dedicated():  # changes spread over a few connections
            return self._create(resource)

    def create_ahead(self, resource: Resource) -> frozenset[Kind]:
        """A guest's disks and seed need no network: they are made while its networks
        are, and so is its definition unless it reserves an address (the reservations
        and the start wait)."""
        return frozenset({Kind.NETWORK}) if resource.kind is Kind.GUEST else frozenset()

    def create_when(self, resource: Resource, ready: Callable[[], None]) -> LiveObject:
        if resource.kind is not Kind.GUEST:
            return super().create_when(resource, ready)
        with self.client.dedicated():
            return self._create(resource, ready)

    def _create(self, resource: Resource, ready: Callable[[], None] | None = None
                ) -> LiveObject:
        if resource.kind is Kind.GUEST:
            self.guests.create(resource, ready)
            # defined and started a moment ago: the next plan reads its statistics
            return self.read_back.guest(resource.name, str(resource.address),
                                        just_started=True)
        if resource.kind is Kind.NETWORK:
            self.networks.create(resource)
        elif resource.kind is Kind.POOL:
            self.pools.create(resource)
        elif resource.kind is Kind.IMAGE:
            pool = self.guests.pool_of(resource, "pool", resource.spec.get("pool"))
            return self.images.create(resource, pool)
        else:
            self._create_volume(resource)
        return self._read(resource)

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> LiveObject:
        with self.client.dedicated():  # changes spread over a few connections
            return self._update(resource, live, changed)

    def _update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> LiveObject:
        if resource.kind is Kind.GUEST:
            self.guests.update(resource, live, changed)
        elif resource.kind is Kind.NETWORK:
            self.networks.update(resource, live, changed)
        elif resource.kind is Kind.VOLUME and "size" in changed:
            self.storage.resize(str(live.attributes["pool"]), str(live.attributes["volume"]),
                                VolumeSpec.of(resource.spec).size)
        elif resource.kind is Kind.IMAGE:  # only options: the volume does not change
            return live
        return self._read(resource)

    def delete(self, live: LiveObject) -> None:
        with self.client.dedicated():  # changes spread over a few connections
            self._delete(live)

    def _delete(self, live: LiveObject) -> None:
        if live.kind is Kind.GUEST:
            self.guests.delete(live)
        elif live.kind is Kind.NETWORK:
            self.networks.delete(live)
        elif live.kind is Kind.POOL:
            self.pools.delete(live)
        elif live.kind is Kind.IMAGE:
            self.images.delete(live)
        else:
            self.storage.delete(str(live.attributes["pool"]), str(live.attributes["volume"]))

    def snapshots(self, live: LiveObject) -> list[SnapshotInfo]:
        return self.snapshot_ops.read(live)

    def snapshot_create(self, live: LiveObject, name: str) -> SnapshotInfo:
        with self.client.dedicated():
            return self.snapshot_ops.create(live, name)

    def snapshot_revert(self, live: LiveObject, name: str) -> LiveObject:
        with self.client.dedicated():
            self.snapshot_ops.revert(live, name)
            return self.read_back.guest(live.name, str(live.address))

    def snapshot_delete(self, live: LiveObject, name: str) -> None:
        with self.client.dedicated():
            self.snapshot_ops.delete(live, name)

    def adopt(self, address: Address, name: str) -> LiveObject:
        adopt(self.client, self.ownership, address, name)
        return self._read(Resource(address, self.name, {}, object_name=name))

    def close(self) -> None:
        self.client.close()

    def _create_volume(self, resource: Resource) -> None:
        volume = VolumeSpec.of(resource.spec)
        pool = self.guests.pool_of(resource, "pool", volume.pool)
        name = self._volume_name(resource)
        if self.storage.lookup(pool, name) is not None:
            return  # an earlier attempt made it; recreating would lose its data
        self.storage.create(pool, name, volume.size, volume.format)

    def _volume_name(self, resource: Resource) -> str:
        return self.ownership.volume_name(resource.name, VolumeSpec.of(resource.spec).format)

    def _read(self, resource: Resource) -> LiveObject:
        what = str(resource.address)
        if resource.kind is Kind.GUEST:
            return self.read_back.guest(resource.name, what)
        if resource.kind is Kind.NETWORK:
            return self.read_back.network(resource.name, what)
        if resource.kind is Kind.POOL:
            return self.read_back.pool(self.ownership.pool_name(resource.name), what)
        pool = self.guests.pool_of(resource, "pool", VolumeSpec.of(resource.spec).pool)
        return self.read_back.volume(pool, self._volume_name(resource), resource.name, what)

    def _local(self) -> bool:
        """Whether files named in the stack are on this machine: qemu:///system, or
        qemu+unix:///system?socket=... (not qemu+ssh://host/...)."""
        uri = self.settings.uri
        return uri.startswith(("qemu:///", "qemu+unix:///"))


def _copies_an_image(resource: Resource) -> bool:
    if resource.kind is not Kind.GUEST:
        return False
    guest = GuestSpec.of(resource.spec)
    return (guest.options_as(GuestOptions).image_mode == "copy"
            and bool(guest.image or any(disk.image for disk in guest.disks)))
