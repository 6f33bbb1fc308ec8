"""VsphereProvider: the provider contract on one vCenter or standalone ESXi host.

Guests and images (vSphere networks, datastores and templates are the
infrastructure guests refer to by name; images are vmdk files uploaded to a
datastore, ``images``). The bulk read is
``inventory.Lister`` over ``collect.read_all`` (one PropertyCollector
retrieval); plan-time checks are ``checks``; capacity is ``capacity``; VM
changes are ``guests`` and ``changes``; snapshots are ``snapshots``; every call
goes through ``client``, which owns the session and translates faults.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from provisioner.core.address import Address, Kind
from provisioner.core.problems import Problem
from provisioner.core.resources import LiveObject, Resource
from provisioner.core.snapshots import SnapshotInfo
from provisioner.core.specs import GuestSpec
from provisioner.errors import ProviderError
from provisioner.providers.base import (
    Capacity,
    Inventory,
    Owner,
    Provider,
    ProviderSchema,
    Requirements,
)
from provisioner.providers.kit.macs import declares_macs, mac_clashes
from provisioner.providers.vsphere import VsphereConfig
from provisioner.providers.vsphere.adopt import adopt
from provisioner.providers.vsphere.capacity import capacity, requirements
from provisioner.providers.vsphere.changes import label
from provisioner.providers.vsphere.checks import plan_checks
from provisioner.providers.vsphere.client import VsphereClient
from provisioner.providers.vsphere.guests import Guests
from provisioner.providers.vsphere.images import Images
from provisioner.providers.vsphere.inventory import FactsCache, Lister
from provisioner.providers.vsphere.locations import UnknownNameError
from provisioner.providers.vsphere.ovaimages import OvaImages
from provisioner.providers.vsphere.ownership import Ownership
from provisioner.providers.vsphere.schema import GUEST_SCHEMA, IMAGE_SCHEMA
from provisioner.providers.vsphere.snapshots import Snapshots


class VsphereProvider(Provider):
    """The guests of one provider block on one vCenter or ESXi host."""

    type_name = "vsphere"

    def __init__(self, name: str, config: Any, owner: Owner) -> None:
        super().__init__(name, config, owner)
        self.settings: VsphereConfig = config
        self.client = VsphereClient(self.settings, self.stats)
        self.cache = FactsCache(self.client, self.settings)
        self.lister = Lister(self.client, Ownership(owner.stack, name), self.cache)
        self.images = Images(self.client, self.settings, self.cache, self.lister.ownership,
                             owner.directory)
        self.guests = Guests(self.client, self.settings, self.lister, self.cache, self.images)
        self.ova = OvaImages(self.client, self.settings, self.cache, self.lister,
                             owner.directory, self.guests.changer.tag, self.guests.delete_vm)
        self.guests.templates = self.ova.template_of
        self.snapshot_ops = Snapshots(self.client, self.guests.power)

    def schema(self) -> ProviderSchema:
        return ProviderSchema(kinds={Kind.GUEST: GUEST_SCHEMA, Kind.IMAGE: IMAGE_SCHEMA},
                              max_parallel=self.settings.max_parallel)

    def list_managed(self) -> Inventory:
        """One PropertyCollector retrieval (LIST) of the whole inventory, and one
        datastore browser search (LIST) per datastore for the block's images (none
        when the stack has no image on this block: ``uses``)."""
        found = self.lister.inventory()
        if not self.uses(Kind.IMAGE):  # no image declared, recorded or being made
            return found
        images, half_uploaded = self.images.inventory(self.cache.facts())
        return Inventory(managed=[*found.managed, *images], foreign=found.foreign,
                         leftovers=[*found.leftovers, *half_uploaded])

    def check(self, resources: Sequence[Resource]) -> list[Problem]:
        """Names the stack uses (datacenter, cluster, host, pool, folder, datastore, port
        group, template) against the last read, what vSphere (or a standalone ESXi host)
        cannot honour, and fixed MACs that a VM outside the stack has (its devices are
        in the last read: no further call)."""
        guests = [r for r in resources if r.kind is Kind.GUEST]
        images = [r for r in resources if r.kind is Kind.IMAGE]
        if not guests and not images:
            return []
        facts = self.cache.facts()
        problems = plan_checks(resources, self.settings, facts, self.client.is_vcenter)
        if declares_macs(guests):
            problems += mac_clashes(guests, self.lister.mac_holders(facts))
        return problems

    def capacity(self) -> Capacity:
        """The block's clusters or hosts and their datastores, from the last read."""
        try:
            return capacity(self.settings, self.cache.facts())
        except UnknownNameError as exc:
            raise ProviderError(f"provider {self.name}: {exc}",
                                hint="fix the provider block") from None

    def requirements(self, resource: Resource) -> Requirements:
        if resource.kind is Kind.IMAGE:
            return super().requirements(resource)
        if resource.kind is not Kind.GUEST:
            return Requirements()
        return requirements(self.settings, self.cache.facts(), GuestSpec.of(resource.spec))

    @property
    def default_pool(self) -> str:
        """The block's datastore (an image without `pool:` goes there)."""
        try:
            return self.images.where(None)[1].name
        except UnknownNameError:
            return self.settings.datastore or ""

    def create(self, resource: Resource) -> LiveObject:
        """Clone or create the VM, tag it, configure it, start it (``guests``). If this
        raises, the VM was deleted again, or CreateFailedError names it (it carries the
        create-in-progress marker: the next plan deletes it)."""
        if resource.kind is Kind.IMAGE:
            if resource.spec.get("format") == "ova":
                return self.ova.create(resource)
            return self.images.create(resource)
        self._guest_only(resource.kind)
        moid = self.guests.create(resource)
        return self.lister.one(moid, label(resource.address, resource.name))

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> LiveObject:
        """Change the fields in ``changed`` (``changes``), powering the guest off only
        when one needs it. If this raises, the VM exists and keeps what was changed."""
        if resource.kind is Kind.IMAGE:  # only options: nothing on the datastore changes
            return live
        self._guest_only(resource.kind)
        self.guests.update(resource, live, list(changed))
        return self.lister.one(live.id, label(resource.address, live.name))

    def delete(self, live: LiveObject) -> None:
        """Power off and destroy the VM (or an OVA image's template) with its disks, or
        delete a vmdk image's folder; already gone is success."""
        if live.kind is Kind.IMAGE and live.id.startswith("["):
            self.images.delete(live)  # a folder on a datastore
            return
        self.guests.delete_vm(live.id, label(live.address, live.name))

    def adopt(self, address: Address, name: str) -> LiveObject:
        self._guest_only(address.kind)
        moid = adopt(self.client, self.lister, self.cache, self.guests.changer, address, name)
        return self.lister.one(moid, label(address, name))

    def snapshots(self, live: LiveObject) -> list[SnapshotInfo]:
        return self.snapshot_ops.read(live)

    def snapshot_create(self, live: LiveObject, name: str) -> SnapshotInfo:
        return self.snapshot_ops.create(live, name)

    def snapshot_revert(self, live: LiveObject, name: str) -> LiveObject:
        self.snapshot_ops.revert(live, name)
        return self.lister.one(live.id, label(live.address, live.name))

    def snapshot_delete(self, live: LiveObject, name: str) -> None:
        self.snapshot_ops.delete(live, name)

    def close(self) -> None:
        self.client.close()

    def _guest_only(self, kind: Kind) -> None:
        if kind is not Kind.GUEST:
            raise ProviderError(f"the vsphere provider cannot do this for {kind.value}")
