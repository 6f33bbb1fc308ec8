"""ProxmoxProvider: the provider contract on one Proxmox VE cluster.

Guests (QEMU), containers (LXC) and pools (directory storages) of one
provider block. The bulk read is ``inventory.Lister``; capacity is ``host``;
plan-time checks are ``checks``; each kind's changes live in its own module
(``qemu``, ``lxc``, ``storages``), on the shared ``context``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Effect, LiveObject, Resource
from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.base import (
    GROWS,
    IN_PLACE,
    REPLACE,
    RESTART,
    Capacity,
    FieldProblem,
    FieldRule,
    Inventory,
    KindSchema,
    Owner,
    Provider,
    ProviderSchema,
    Requirements,
)
from provisioner.providers.proxmox import ProxmoxConfig
from provisioner.providers.proxmox.adopt import adopt
from provisioner.providers.proxmox.checks import Checker
from provisioner.providers.proxmox.clashes import fixed_vmids
from provisioner.providers.proxmox.client import ProxmoxClient
from provisioner.providers.proxmox.context import Context
from provisioner.providers.proxmox.host import read_capacity, requirements
from provisioner.providers.proxmox.hotplug import held_until_restart
from provisioner.providers.proxmox.inventory import Lister
from provisioner.providers.proxmox.lifecycle import Lifecycle, has_pending
from provisioner.providers.proxmox.lxc import Lxc
from provisioner.providers.proxmox.ownership import Ownership
from provisioner.providers.proxmox.qemu import Qemu
from provisioner.providers.proxmox.storages import Storages
from provisioner.providers.proxmox.unsupported import unsupported

ATTRIBUTES = ("vmid", "node", "state", "macs", "ip", "ips", "pending")

SETS = frozenset({"options.tags"})  # Proxmox keeps tags as a set: sorted, each once
_OPTIONS_COMMON = {"options.tags": IN_PLACE, "options.description": IN_PLACE,
                     "options.pool": IN_PLACE, "options.restart": IN_PLACE,
                     "options.vmid": REPLACE}
GUEST_FIELDS: Mapping[str, FieldRule] = {
    "cpus": RESTART, "memory": RESTART, "power": IN_PLACE, "autostart": IN_PLACE,
    "image": REPLACE, "clone": REPLACE, "node": REPLACE,
    "disks": IN_PLACE, "disks[].size": GROWS, "disks[].pool": REPLACE,
    "disks[].image": REPLACE, "disks[].volume": REPLACE, "disks[].format": REPLACE,
    "disks[].bus": REPLACE, "disks[].slot": REPLACE,
    "networks": IN_PLACE,
    "cloud_init": REPLACE,
    "options": RESTART, "options.full_clone": REPLACE, **_OPTIONS_COMMON,
}
CONTAINER_FIELDS: Mapping[str, FieldRule] = {
    "template": REPLACE, "node": REPLACE, "cpus": IN_PLACE, "memory": IN_PLACE,
    "swap": IN_PLACE, "rootfs": REPLACE, "rootfs.size": GROWS,
    "mounts": IN_PLACE, "mounts[].size": GROWS, "mounts[].path": RESTART,
    "mounts[].pool": REPLACE, "networks": IN_PLACE, "power": IN_PLACE, "autostart": IN_PLACE,
    "options": RESTART, "options.unprivileged": REPLACE, "options.ssh_keys": REPLACE,
    "options.ipconfig": IN_PLACE, **_OPTIONS_COMMON,
}


_MOUNT_POINT = re.compile(r"^mounts\[\d+\]$")


def _pending_refine(fields: Mapping[str, FieldRule]) -> Any:
    schema = KindSchema(fields=fields)

    def refine(path: str, before: Any, after: Any, live: LiveObject) -> Effect | None:
        """A change Proxmox already holds pending (or cannot make while a pending value
        waits) takes effect only at a restart: "in place" becomes "requires restart".
        So does a change the VM's hotplug option does not let Proxmox plug live, and
        removing a running container's mount point (held until it starts again)."""
        if schema.rule_for(path).effect is not Effect.IN_PLACE or not live.running:
            return None
        plugged = live.attributes.get("hotplug")
        if has_pending(live, path) or (_MOUNT_POINT.match(path) and before is not None
                                       and after is None) or (
                plugged is not None and held_until_restart(path, before, after, plugged)):
            return Effect.RESTART
        return None

    return refine


GUEST_SCHEMA = KindSchema(fields=GUEST_FIELDS, attributes=ATTRIBUTES,
                          refine=_pending_refine(GUEST_FIELDS), unordered=SETS)
CONTAINER_SCHEMA = KindSchema(fields=CONTAINER_FIELDS, attributes=ATTRIBUTES,
                              refine=_pending_refine(CONTAINER_FIELDS), unordered=SETS)
POOL_SCHEMA = KindSchema(
    fields={"type": REPLACE, "path": REPLACE, "options": IN_PLACE},
    attributes=("storage",), unordered=frozenset({"options.content", "options.nodes"}),
)


class ProxmoxProvider(Provider):
    """Guests, containers and directory storages of one provider block on one cluster."""

    type_name = "proxmox"

    def __init__(self, name: str, config: Any, owner: Owner) -> None:
        super().__init__(name, config, owner)
        self.settings: ProxmoxConfig = config
        self.client = ProxmoxClient(self.settings, self.stats)
        self.ctx = Context(self.settings, self.client, Ownership(owner.stack, name))
        self.qemu = Qemu(self.ctx, GUEST_SCHEMA)
        self.lxc = Lxc(self.ctx, CONTAINER_SCHEMA)
        self.storages = Storages(self.ctx)
        self.lister = Lister(self.ctx, [self.qemu, self.lxc], self.storages)

    def schema(self) -> ProviderSchema:
        return ProviderSchema(
            kinds={Kind.POOL: POOL_SCHEMA, Kind.GUEST: GUEST_SCHEMA,
                   Kind.CONTAINER: CONTAINER_SCHEMA},
            max_parallel=self.settings.max_parallel,
            node_parallel=self.settings.node_parallel,
            storage_parallel=self.settings.storage_parallel,
        )

    def list_managed(self) -> Inventory:
        return self.lister.inventory()

    def check(self, resources: Sequence[Resource]) -> Sequence[str | FieldProblem]:
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
        kind = self._kind(resource.kind)
        problems = unsupported(resource)
        if problems:
            raise ProviderError(f"{resource.address}: {problems[0]}")
        ref = kind.create(resource)
        return self.lister.one(kind, ref.vmid, str(resource.address))

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> LiveObject:
        if resource.kind is Kind.POOL:
            return self.storages.update(resource, changed)
        kind = self._kind(resource.kind)
        what = str(resource.address)
        ref = self.ctx.find(kind.kind, int(live.id))
        if ref is None:
            raise ObjectNotFoundError(f"{what}: {kind.noun} {live.id} is gone",
                                      hint="plan again: it will be created")
        if ref.status == "unknown":  # what /cluster/resources says of a node it lost
            raise ProviderError(f"{what}: node {ref.node} is offline or unreachable",
                                hint="bring it back, then apply again")
        kind.configure(resource, ref, live, changed)
        return self.lister.one(kind, ref.vmid, what)

    def delete(self, live: LiveObject) -> None:
        if live.kind is Kind.POOL:
            self.storages.delete(live)
        else:
            self._kind(live.kind).delete(live)

    def adopt(self, address: Address, name: str) -> LiveObject:
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

    def _kind(self, kind: Kind) -> Lifecycle:
        if kind is Kind.GUEST:
            return self.qemu
        if kind is Kind.CONTAINER:
            return self.lxc
        raise ProviderError(f"the proxmox provider does not serve {kind.value}")
