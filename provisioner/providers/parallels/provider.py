"""ParallelsProvider: the provider contract on one Mac with Parallels Desktop Pro/Business.

Guests only: Parallels' networks (Shared, Host-Only, host-only networks,
bridges) are named by the stack and checked at plan time. The bulk read is
``inventory.Lister`` (``prlctl list --all --info --json`` and ``prlsrvctl net
list --json``, parsed by ``listing``); checks are ``checks``; capacity
``capacity``; creates and deletes ``guests``, updates ``changes``; every
command goes through ``prlctl``, which runs the programs here or over SSH and
translates their errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.core.problems import Problem
from provisioner.core.resources import LiveObject, Resource
from provisioner.providers.base import Capacity, Inventory, Owner
from provisioner.providers.kit.guest_provider import GuestOnlyProvider
from provisioner.providers.kit.macs import MacHolder
from provisioner.providers.kit.refusals import refuse_create
from provisioner.providers.parallels import ParallelsConfig
from provisioner.providers.parallels.capacity import POOL, capacity
from provisioner.providers.parallels.changes import Changes
from provisioner.providers.parallels.checks import plan_checks, unsupported
from provisioner.providers.parallels.guests import Guests, label
from provisioner.providers.parallels.inventory import Lister
from provisioner.providers.parallels.ownership import Ownership
from provisioner.providers.parallels.prlctl import Prlctl
from provisioner.providers.parallels.schema import GUEST_SCHEMA


class ParallelsProvider(GuestOnlyProvider):
    """The guests of one provider block on one Mac."""

    type_name = "parallels"
    guest_schema = GUEST_SCHEMA
    pool = POOL

    def __init__(self, name: str, config: Any, owner: Owner) -> None:
        super().__init__(name, config, owner)
        self.settings: ParallelsConfig = config
        self.prl = Prlctl(self.settings, self.stats)
        self.lister = Lister(self.prl, Ownership(owner.stack, name))
        self.guests = Guests(self.prl, self.settings, self.lister)
        self.changes = Changes(self.guests)

    def list_managed(self) -> Inventory:
        """Two LIST calls (``prlctl list --all --info --json``, ``prlsrvctl net list
        --json``), whatever the number of VMs."""
        return self.lister.inventory()

    def guest_problems(self, guests: Sequence[Resource]) -> list[Problem]:
        return plan_checks(guests, self.lister.last().networks)

    def mac_holders(self) -> Mapping[str, MacHolder]:
        return self.lister.mac_holders()

    def capacity(self) -> Capacity:
        return capacity(self.prl, self.settings, self.lister.last())

    def create(self, resource: Resource) -> LiveObject:
        """Make, set up and start the VM (``guests``). If this raises, the VM was deleted
        again, or CreateFailedError names it (the next plan deletes it)."""
        self._guest_only(resource.kind)
        refuse_create(unsupported(resource), label(resource.address, resource.name))
        name = self.guests.create(resource)
        return self.lister.one(name, label(resource.address, name))

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> LiveObject:
        """Change the fields in ``changed`` (``changes``), stopping the guest only when one
        needs it. If this raises, the VM exists and keeps what was changed."""
        self._guest_only(resource.kind)
        self.changes.update(resource, live, list(changed))
        return self.lister.one(live.name, label(resource.address, live.name))

    def delete(self, live: LiveObject) -> None:
        """Stop and delete the VM with its bundle (disks, seed); gone is success."""
        self.guests.delete(live)

    def close(self) -> None:
        self.prl.close()
