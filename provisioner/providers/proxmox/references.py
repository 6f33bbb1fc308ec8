"""What a ``pool:`` value names on the cluster: a storage of the stack (``STACK_NAME``,
see ownership.py), a storage the cluster has, or the block's default storage; and
back, the stack's name for a storage (``kit/references.py``)."""

from __future__ import annotations

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Resource, address_name
from provisioner.providers.kit.references import pool_of
from provisioner.providers.proxmox.cluster import Cluster
from provisioner.providers.proxmox.ownership import Ownership


class StorageNames:
    """Storage ids ↔ the stack's pool names, for one provider block."""

    def __init__(self, default: str, owner: Ownership, cluster: Cluster) -> None:
        self.default = default
        self.owner = owner
        self.cluster = cluster

    def storage_id(self, resource: Resource, path: str, pool: str | None) -> str:
        """The storage a ``pool:`` value means: a pool of the stack, a storage the cluster
        has, or the provider's default. A guest read back from the cluster (what an
        update or a delete frees) names the stack's storages by their pool name and
        carries no references: a name the cluster has only as a storage of the stack
        is that storage."""
        storages = self.cluster.facts.storages
        if pool is not None and path not in resource.references:
            ours = self.owner.storage_id(pool)
            if pool not in storages and ours in storages:
                return ours
        return pool_of(resource, path, pool, default=self.default,
                       stack_pool=self.owner.storage_id)

    def pool_of(self, storage_id: str) -> str:
        """The stack's name for a storage: a pool of the stack, or the id itself."""
        name = self.owner.pool_name(storage_id)
        return address_name(name) if name is not None else storage_id

    def pool_deps(self, storages: list[str]) -> tuple[Address, ...]:
        names = [self.owner.pool_name(s) for s in storages]
        return tuple(Address(Kind.POOL, address_name(n)) for n in names if n is not None)
