"""VirtualBoxProvider: the provider contract on one VirtualBox host (7.0, 7.1).

Guests only: VirtualBox's networks (NAT, host-only interfaces, internal
networks, bridges) are named by the stack and checked at plan time. The bulk
read is ``inventory.Lister`` (``list -l vms`` and ``list -l hdds``, parsed by
``listing``); checks are ``checks``; capacity ``capacity``; creates and deletes
``guests``, updates ``changes``; every command goes through ``vboxmanage``,
which runs VBoxManage here or over SSH and translates its errors.
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
from provisioner.providers.virtualbox import VirtualBoxConfig
from provisioner.providers.virtualbox.capacity import POOL, capacity
from provisioner.providers.virtualbox.changes import Changes
from provisioner.providers.virtualbox.checks import plan_checks, unsupported
from provisioner.providers.virtualbox.guests import Guests, label
from provisioner.providers.virtualbox.inventory import Lister
from provisioner.providers.virtualbox.ownership import Ownership
from provisioner.providers.virtualbox.schema import GUEST_SCHEMA
from provisioner.providers.virtualbox.vboxmanage import VBoxManage


class VirtualBoxProvider(GuestOnlyProvider):
    """The guests of one provider block on one VirtualBox host."""

    type_name = "virtualbox"
    guest_schema = GUEST_SCHEMA
    pool = POOL

    def __init__(self, name: str, config: Any, owner: Owner) -> None:
        super().__init__(name, config, owner)
        self.settings: VirtualBoxConfig = config
        self.vbox = VBoxManage(self.settings, self.stats)
        self.lister = Lister(self.vbox, Ownership(owner.stack, name))
        self.guests = Guests(self.vbox, self.settings, self.lister)
        self.changes = Changes(self.guests)

    def list_managed(self) -> Inventory:
        """Two LIST calls (``list -l vms``, ``list -l hdds``) and one READ per VM of this
        stack's group (its extradata)."""
        return self.lister.inventory()

    def guest_problems(self, guests: Sequence[Resource]) -> list[Problem]:
        return plan_checks(guests, self.vbox)

    def mac_holders(self) -> Mapping[str, MacHolder]:
        return self.lister.mac_holders()

    def capacity(self) -> Capacity:
        return capacity(self.vbox, self.settings, self.lister.last())

    def create(self, resource: Resource) -> LiveObject:
        """Make, set up and start the VM (``guests``). If this raises, the VM was removed
        again, or CreateFailedError names it (the next plan deletes it)."""
        self._guest_only(resource.kind)
        refuse_create(unsupported(resource), label(resource.address, resource.name))
        name = self.guests.create(resource)
        return self.lister.one(name, label(resource.address, name))

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> LiveObject:
        """Change the fields in ``changed`` (``changes``), powering the guest off only when
        one needs it. If this raises, the VM exists and keeps what was changed."""
        self._guest_only(resource.kind)
        self.changes.update(resource, live, list(changed))
        return self.lister.one(live.name, label(resource.address, live.name))

    def delete(self, live: LiveObject) -> None:
        """Power off and unregister the VM with its disks and seed; gone is success."""
        self.guests.delete(live)

    def close(self) -> None:
        self.vbox.close()
