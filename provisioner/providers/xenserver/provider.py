"""XenServerProvider: the provider contract on one XAPI pool (XenServer 8, XCP-ng 8.2/8.3).

Guests only: templates, SRs, networks and hosts are the pool's, named by the
stack and checked at plan time. The bulk read is ``inventory.Lister`` over
``facts.read_pool`` (one ``get_all_records`` per class); plan-time checks are
``checks``; capacity is ``capacity``; creates and deletes are ``guests``,
updates ``changes``, snapshots ``snapshots``; every call goes through
``client``, which owns the sessions, counts calls, waits for tasks and
translates XAPI's errors.
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
from provisioner.providers.xenserver import XenServerConfig
from provisioner.providers.xenserver.adopt import adopt
from provisioner.providers.xenserver.capacity import capacity, requirements
from provisioner.providers.xenserver.changes import Changes
from provisioner.providers.xenserver.checks import plan_checks
from provisioner.providers.xenserver.client import XapiClient
from provisioner.providers.xenserver.guests import Guests, label
from provisioner.providers.xenserver.inventory import Lister, PoolCache
from provisioner.providers.xenserver.ownership import Ownership
from provisioner.providers.xenserver.schema import GUEST_SCHEMA


class XenServerProvider(Provider):
    """The guests of one provider block on one XAPI pool."""

    type_name = "xenserver"

    def __init__(self, name: str, config: Any, owner: Owner) -> None:
        super().__init__(name, config, owner)
        self.settings: XenServerConfig = config
        self.client = XapiClient(self.settings, self.stats, owner.directory)
        self.cache = PoolCache(self.client)
        self.lister = Lister(self.client, Ownership(owner.stack, name), self.cache)
        self.guests = Guests(self.client, self.settings, self.lister, self.cache)
        self.changes = Changes(self.guests)

    def schema(self) -> ProviderSchema:
        return ProviderSchema(kinds={Kind.GUEST: GUEST_SCHEMA},
                              max_parallel=self.settings.max_parallel,
                              node_parallel=self.settings.host_parallel)

    def list_managed(self) -> Inventory:
        """One ``get_all_records`` (LIST) per class the guests touch: eleven calls,
        whatever the number of guests."""
        return self.lister.inventory()

    def check(self, resources: Sequence[Resource]) -> list[Problem]:
        """Templates, SRs, networks and hosts the guests name, against the last read;
        what XAPI cannot hold; fixed MACs another VM has."""
        guests = [r for r in resources if r.kind is Kind.GUEST]
        if not guests:
            return []
        pool = self.cache.pool()
        problems = plan_checks(guests, self.settings, pool, self.name)
        if declares_macs(guests):
            problems += mac_clashes(guests, self.lister.mac_holders(pool))
        return problems

    def capacity(self) -> Capacity:
        """Every host and SR of the pool, from the last read."""
        return capacity(self.cache.pool())

    def requirements(self, resource: Resource) -> Requirements:
        if resource.kind is not Kind.GUEST:
            return Requirements()
        return requirements(self.cache.pool(), self.default_pool, GuestSpec.of(resource.spec))

    @property
    def default_pool(self) -> str:
        """The block's SR, else the pool's default SR (by name)."""
        if self.settings.sr is not None:
            return self.settings.sr
        pool = self.cache.pool()
        return pool.name("SR", pool.default_sr()) or ""

    def create(self, resource: Resource) -> LiveObject:
        """Clone, copy or create the VM, set it up, start it (``guests``). If this raises,
        the VM was destroyed again, or CreateFailedError names it (it carries the
        creating marker: the next plan deletes it)."""
        self._guest_only(resource.kind)
        ref = self.guests.create(resource)
        return self.lister.one(ref, label(resource.address, resource.name))

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> LiveObject:
        """Change the fields in ``changed`` (``changes``), halting the guest only when one
        needs it. If this raises, the VM exists and keeps what was changed."""
        self._guest_only(resource.kind)
        self.changes.update(resource, live, list(changed))
        return self.lister.one(live.id, label(resource.address, live.name))

    def delete(self, live: LiveObject) -> None:
        """Hard shutdown and destroy the VM with its own disks (or a leftover disk);
        already gone is success."""
        self.guests.delete(live)

    def snapshots(self, live: LiveObject) -> list[SnapshotInfo]:
        """The guest's snapshot VMs, with what their disks hold (``snapshots``)."""
        return self.guests.snapshots.read(live.id, label(live.address, live.name))

    def snapshot_create(self, live: LiveObject, name: str) -> SnapshotInfo:
        """A checkpoint (disks and memory) of a running guest, else a snapshot of its
        disks, as a XAPI task; XAPI removes what it made if the task fails."""
        return self.guests.snapshots.create(live.id, name, label(live.address, live.name))

    def snapshot_revert(self, live: LiveObject, name: str) -> LiveObject:
        """``VM.revert`` (XAPI hard-shuts the guest down first), then a resume when the
        snapshot holds the memory."""
        what = label(live.address, live.name)
        self.guests.snapshots.revert(live.id, name, what)
        return self.lister.one(live.id, what)

    def snapshot_delete(self, live: LiveObject, name: str) -> None:
        """The snapshot's disks and memory image, then its VM; gone is success."""
        self.guests.snapshots.delete(live.id, name, label(live.address, live.name))

    def adopt(self, address: Address, name: str) -> LiveObject:
        """Tag the untagged VM ``name`` as ``address`` (``adopt``); the VM is unchanged
        if this raises before the marker is written."""
        self._guest_only(address.kind)
        ref = adopt(self.guests, address, name)
        return self.lister.one(ref, label(address, name))

    def close(self) -> None:
        self.client.close()

    def _guest_only(self, kind: Kind) -> None:
        if kind is not Kind.GUEST:
            raise ProviderError(f"the xenserver provider cannot do this for {kind.value}")



