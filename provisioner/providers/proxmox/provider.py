"""ProxmoxProvider: the provider contract on one Proxmox VE cluster.

Guests (QEMU), containers (LXC) and pools (directory storages) of one
provider block; wiring only. Field rules are ``schema``; the bulk read is
``inventory.Lister``; capacity is ``capacity``; plan-time checks are ``checks``;
each kind's changes live in its own module (``qemu`` and ``lxc`` on ``guests``,
``storages``), on the parts in ``context``; every call goes through ``client``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from provisioner.core.address import Address, Kind
from provisioner.core.problems import Problem
from provisioner.core.resources import LiveObject, Resource
from provisioner.errors import ProviderError
from provisioner.providers.base import (
    Capacity,
    Inventory,
    Owner,
    Provider,
    ProviderSchema,
    Requirements,
)
from provisioner.providers.proxmox import ProxmoxConfig
from provisioner.providers.proxmox.adopt import adopt
from provisioner.providers.proxmox.capacity import read_capacity, requirements
from provisioner.providers.proxmox.checks import Checker
from provisioner.providers.proxmox.clashes import fixed_vmids
from provisioner.providers.proxmox.client import ProxmoxClient
from provisioner.providers.proxmox.context import Context
from provisioner.providers.proxmox.guests import Guests
from provisioner.providers.proxmox.images import Images
from provisioner.providers.proxmox.inventory import Lister
from provisioner.providers.proxmox.lxc import Lxc
from provisioner.providers.proxmox.ownership import Ownership
from provisioner.providers.proxmox.qemu import Qemu
from provisioner.providers.proxmox.schema import (
    CONTAINER_SCHEMA,
    GUEST_SCHEMA,
    IMAGE_SCHEMA,
    POOL_SCHEMA,
)
from provisioner.providers.proxmox.storages import Storages


class ProxmoxProvider(Provider):
    """Guests, containers and directory storages of one provider block on one cluster."""

    type_name = "proxmox"

    def __init__(self, name: str, config: Any, owner: Owner) -> None:
        super().__init__(name, config, owner)
        self.settings: ProxmoxConfig = config
        self.client = ProxmoxClient(self.settings, self.stats)
        self.ctx = Context.build(self.settings, self.client, Ownership(owner.stack, name))
        self.qemu = Qemu(self.ctx, GUEST_SCHEMA)
        self.lxc = Lxc(self.ctx, CONTAINER_SCHEMA)
        self.storages = Storages(self.ctx)
        self.images = Images(self.ctx, owner)
        self.qemu.image_volid = self.images.volid_of
        self.lister = Lister(self.ctx, [self.qemu, self.lxc], self.storages)

    def schema(self) -> ProviderSchema:
        return ProviderSchema(
            kinds={Kind.POOL: POOL_SCHEMA, Kind.GUEST: GUEST_SCHEMA,
                   Kind.CONTAINER: CONTAINER_SCHEMA, Kind.IMAGE: IMAGE_SCHEMA},
            max_parallel=self.settings.max_parallel,
            node_parallel=self.settings.node_parallel,
            storage_parallel=self.settings.storage_parallel,
        )

    def list_managed(self) -> Inventory:
        inventory = self.lister.inventory()
        if self.uses(Kind.IMAGE):  # no image declared, recorded or being made: no listing
            images, leftovers = self.images.listed()
            inventory = replace(inventory, managed=[*inventory.managed, *images],
                                leftovers=[*inventory.leftovers, *leftovers])
        return inventory

    def check(self, resources: Sequence[Resource]) -> list[Problem]:
        # every plan checks, and apply plans first: the allocator learns here which
        # VMIDs the stack fixes, before any create could be handed one of them
        self.ctx.vmids.keep_out(fixed_vmids(resources).values())
        return Checker(self.ctx, resources).run()

    def capacity(self) -> Capacity:
        return read_capacity(self.ctx)

    def requirements(self, resource: Resource) -> Requirements:
        return requirements(self.ctx, resource)

    @property
    def default_pool(self) -> str:
        return self.settings.storage

    def create(self, resource: Resource) -> LiveObject:
        if resource.kind is Kind.POOL:
            return self.storages.create(resource)
        if resource.kind is Kind.IMAGE:
            return self.images.create(resource)
        kind = self._kind(resource.kind)
        ref = kind.create(resource)
        return self.lister.ready(kind, ref.vmid, resource)

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> LiveObject:
        if resource.kind is Kind.POOL:
            return self.storages.update(resource, changed)
        if resource.kind is Kind.IMAGE:  # options only: they apply to the next import
            return live
        kind = self._kind(resource.kind)
        vmid = kind.update(resource, live, changed)
        return self.lister.ready(kind, vmid, resource)

    def delete(self, live: LiveObject) -> None:
        if live.kind is Kind.POOL:
            self.storages.delete(live)
        elif live.kind is Kind.IMAGE:
            self.images.delete(live)
        else:
            self._kind(live.kind).delete(live)

    def adopt(self, address: Address, name: str) -> LiveObject:
        if address.kind is Kind.IMAGE:
            raise ProviderError(f"{address}: images are owned by their file name and cannot "
                                "be adopted", hint="let apply import it again")
        if address.kind is Kind.POOL:
            raise ProviderError(
                f"{address}: Proxmox storages are owned by their id and cannot be adopted",
                hint=f"add a directory storage named {self.owner.stack}_{address.name} "
                     "on the same path instead")
        kind = self._kind(address.kind)
        vmid = adopt(self.ctx, kind, address, name)
        return self.lister.one(kind, vmid, str(address))

    def close(self) -> None:
        self.client.close()

    def _kind(self, kind: Kind) -> Guests:
        if kind is Kind.GUEST:
            return self.qemu
        if kind is Kind.CONTAINER:
            return self.lxc
        raise ProviderError(f"the proxmox provider does not serve {kind.value}")
