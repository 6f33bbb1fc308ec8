"""Where a guest lives: names in the stack → managed objects, from the last bulk read. Pure.

(Not the planner's placement, plan/placement.py, which picks a provider block for
a guest: this looks up, within one block, what the guest's names mean.)

A guest's datacenter is the block's (or the only one); its compute resource
is ``options.cluster`` or the block's ``cluster``, else the compute resource
of its ``node:`` or of the block's ``host``, else the datacenter's only one;
its resource pool, folder and datastore are paths and names below those.
Every lookup that fails says what exists instead (``datastore 'ssd' is not
available on cluster DC0_C0 (datastores: LocalDS_0, nfs-1)``): the plan-time
checks report them all, a create raises the first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from provisioner.core.specs import GuestSpec
from provisioner.providers.vsphere import GuestOptions, VsphereConfig
from provisioner.providers.vsphere.facts import (
    Compute,
    Datacenter,
    Datastore,
    Facts,
    Network,
    VmRecord,
)


class UnknownNameError(ValueError):
    """A name in the stack or the provider block that the inventory does not have."""


@dataclass(frozen=True)
class Location:
    """The managed objects a guest is made in and on."""

    datacenter: Datacenter
    compute: Compute
    pool: str
    host: str | None
    folder: str
    datastore: Datastore


def listing(names: Iterable[str]) -> str:
    shown = sorted(set(names))
    return ", ".join(shown) if shown else "none"


class Locator:
    """Looks names up in one bulk read, for one provider block."""

    def __init__(self, settings: VsphereConfig, facts: Facts) -> None:
        self.settings = settings
        self.facts = facts

    def datacenter(self) -> Datacenter:
        found = list(self.facts.datacenters.values())
        wanted = self.settings.datacenter
        if wanted is not None:
            match = [dc for dc in found if dc.name == wanted]
            if not match:
                raise UnknownNameError(f"datacenter '{wanted}' does not exist "
                                     f"(datacenters: {listing(dc.name for dc in found)})")
            return match[0]
        if len(found) != 1:
            raise UnknownNameError("set `datacenter:` in the provider block: the server has "
                                 f"{len(found)} (datacenters: {listing(dc.name for dc in found)})")
        return found[0]

    def locate(self, guest: GuestSpec) -> Location:
        """The location of a guest. Raises UnknownNameError."""
        options = guest.options_as(GuestOptions)
        datacenter = self.datacenter()
        host = self.host(datacenter, guest.node or self.settings.host)
        compute = self.compute(datacenter, options.cluster or self.settings.cluster, host)
        if host is not None and host not in compute.hosts:
            raise UnknownNameError(
                f"host '{self.facts.name_of(host)}' is not in cluster {compute.name} (hosts: "
                f"{listing(self.facts.name_of(h) or h for h in compute.hosts)})")
        pool = self.pool(compute, options.resource_pool or self.settings.resource_pool)
        folder = self.folder(datacenter, options.folder or self.settings.folder)
        datastore = self.datastore(compute, options.datastore or self.settings.datastore)
        return Location(datacenter, compute, pool, host, folder, datastore)

    def host(self, datacenter: Datacenter, name: str | None) -> str | None:
        if name is None:
            return None
        hosts = self.facts.in_datacenter(self.facts.hosts, datacenter)
        match = [h.moid for h in hosts if h.name == name]
        if not match:
            raise UnknownNameError(f"host '{name}' does not exist in datacenter {datacenter.name} "
                                 f"(hosts: {listing(h.name for h in hosts)})")
        return str(match[0])

    def compute(self, datacenter: Datacenter, cluster: str | None, host: str | None) -> Compute:
        computes: list[Compute] = self.facts.in_datacenter(self.facts.computes, datacenter)
        if cluster is not None:
            clusters = [c for c in computes if c.cluster]
            match = [c for c in clusters if c.name == cluster]
            if not match:
                raise UnknownNameError(f"cluster '{cluster}' does not exist in datacenter "
                                     f"{datacenter.name} (clusters: "
                                     f"{listing(c.name for c in clusters)})")
            return match[0]
        if host is not None:
            return next(c for c in computes if host in c.hosts)
        if len(computes) != 1:
            raise UnknownNameError(
                f"set `cluster:` or `host:` in the provider block, or `node:`: datacenter "
                f"{datacenter.name} has {len(computes)} clusters and standalone hosts "
                f"(clusters: {listing(c.name for c in computes if c.cluster)}; hosts: "
                f"{listing(c.name for c in computes if not c.cluster)})")
        return computes[0]

    def pool(self, compute: Compute, path: str | None) -> str:
        if not path:
            return compute.root_pool
        pools = {self.facts.pool_path(p.moid): p.moid for p in self.facts.pools.values()
                 if self._under(p.moid, compute.root_pool)}
        if path not in pools:
            raise UnknownNameError(f"resource pool '{path}' does not exist in {compute.name} "
                                 f"(pools: {listing(p for p in pools if p)})")
        return pools[path]

    def folder(self, datacenter: Datacenter, path: str | None) -> str:
        if not path:
            return datacenter.vm_folder
        folders = {self.facts.folder_path(f.moid): f.moid for f in self.facts.folders.values()
                   if self._under(f.moid, datacenter.vm_folder)}
        if path not in folders:
            raise UnknownNameError(f"folder '{path}' does not exist in datacenter "
                                 f"{datacenter.name} (folders: "
                                 f"{listing(p for p in folders if p)})")
        return folders[path]

    def datastore(self, compute: Compute, name: str | None) -> Datastore:
        available = [self.facts.datastores[d] for d in compute.datastores
                     if d in self.facts.datastores]
        if name is None:
            if len(available) != 1:
                raise UnknownNameError(
                    f"set `datastore:` in the provider block: {compute.name} has "
                    f"{len(available)} (datastores: {listing(d.name for d in available)})")
            return available[0]
        match = [d for d in available if d.name == name]
        if not match:
            raise UnknownNameError(f"datastore '{name}' is not available on {compute.name} "
                                 f"(datastores: {listing(d.name for d in available)})")
        if not match[0].accessible:
            raise UnknownNameError(f"datastore '{name}' is not accessible")
        return match[0]

    def network(self, datacenter: Datacenter, name: str) -> Network:
        networks: list[Network] = self.facts.in_datacenter(self.facts.networks, datacenter)
        match = [n for n in networks if n.name == name]
        if not match:
            raise UnknownNameError(f"port group '{name}' does not exist in datacenter "
                                 f"{datacenter.name} (port groups: "
                                 f"{listing(n.name for n in networks)})")
        return match[0]

    def template(self, datacenter: Datacenter, name: str) -> VmRecord:
        vms = [vm for vm in self.facts.vms
               if self.facts.datacenter_of(_moid(vm.get("parent"))) == datacenter]
        match = [vm for vm in vms if vm.name == name]
        templates = [vm.name for vm in vms if vm.template]
        if not match:
            raise UnknownNameError(f"template '{name}' does not exist in datacenter "
                                 f"{datacenter.name} (templates: {listing(templates)})")
        if len(match) > 1:
            raise UnknownNameError(f"{len(match)} VMs or templates are named '{name}' in "
                                 f"datacenter {datacenter.name}: rename all but one")
        return match[0]

    def _under(self, moid: str, root: str) -> bool:
        return any(entity.moid == root for entity in self.facts.ancestors(moid))


def _moid(value: Any) -> str | None:
    return None if value is None else str(value._moId)
