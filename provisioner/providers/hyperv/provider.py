"""HyperVProvider: the provider contract on one Hyper-V host.

Guests only: Hyper-V's virtual switches are named by the stack and checked at plan
time. The bulk read is ``inventory.Lister`` (one script, parsed by ``listing``);
checks are ``checks``; capacity ``capacity``; creates and deletes ``guests``,
updates ``changes``; every script is written by ``script``/``machine`` and run by
``powershell``, here or over WinRM (``psrp``), which translates Hyper-V's errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.core.problems import Problem
from provisioner.core.resources import LiveObject, Resource
from provisioner.providers.base import Capacity, Inventory, Owner
from provisioner.providers.hyperv import HyperVConfig
from provisioner.providers.hyperv.capacity import POOL, capacity
from provisioner.providers.hyperv.changes import Changes
from provisioner.providers.hyperv.checks import plan_checks, unsupported
from provisioner.providers.hyperv.guests import Guests, label
from provisioner.providers.hyperv.inventory import Lister
from provisioner.providers.hyperv.powershell import PowerShell
from provisioner.providers.hyperv.schema import GUEST_SCHEMA
from provisioner.providers.kit.guest_provider import GuestOnlyProvider
from provisioner.providers.kit.macs import MacHolder
from provisioner.providers.kit.ownership import Ownership
from provisioner.providers.kit.refusals import refuse_create


class HyperVProvider(GuestOnlyProvider):
    """The guests of one provider block on one Hyper-V host."""

    type_name = "hyperv"
    guest_schema = GUEST_SCHEMA
    pool = POOL

    def __init__(self, name: str, config: Any, owner: Owner) -> None:
        super().__init__(name, config, owner)
        self.settings: HyperVConfig = config
        self._ps: PowerShell | None = None
        self._parts: tuple[Lister, Guests, Changes] | None = None

    @property
    def parts(self) -> tuple[Lister, Guests, Changes]:
        """Built on first use: a WinRM runner reads its password then, not in __init__."""
        if self._parts is None:
            self._ps = PowerShell(self.settings, self.stats)
            lister = Lister(self._ps, Ownership(self.owner.stack, self.name))
            guests = Guests(self._ps, self.settings, lister)
            self._parts = (lister, guests, Changes(guests))
        return self._parts

    def list_managed(self) -> Inventory:
        """One LIST call: the inventory script (host, switches, every VM)."""
        return self.parts[0].inventory()

    def guest_problems(self, guests: Sequence[Resource]) -> list[Problem]:
        return plan_checks(guests, self.parts[0].last().switches)

    def mac_holders(self) -> Mapping[str, MacHolder]:
        return self.parts[0].mac_holders()

    def capacity(self) -> Capacity:
        return capacity(self.parts[0].last())

    def create(self, resource: Resource) -> LiveObject:
        """Make, set up and start the VM (``guests``). If this raises, the VM was removed
        again, or CreateFailedError names it (the next plan deletes it)."""
        self._guest_only(resource.kind)
        refuse_create(unsupported(resource), label(resource.address, resource.name))
        lister, guests, _ = self.parts
        vm_id = guests.create(resource)
        return lister.one(vm_id, label(resource.address, resource.name))

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> LiveObject:
        """Change the fields in ``changed`` (``changes``), turning the guest off only when
        one needs it. If this raises, the VM exists and keeps what was changed."""
        self._guest_only(resource.kind)
        lister, _, changes = self.parts
        changes.update(resource, live, list(changed))
        return lister.one(str(live.id), label(resource.address, live.name))

    def delete(self, live: LiveObject) -> None:
        """Turn off and remove the VM with its folder (disks, seed); gone is success."""
        self.parts[1].delete(live)

    def close(self) -> None:
        if self._ps is not None:
            self._ps.close()
