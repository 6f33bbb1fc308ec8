"""VmwareDesktopProvider: the provider contract on one VMware Workstation, Player or
Fusion host.

Guests only: VMware's virtual networks (vmnet0, vmnet1, vmnet8, custom vmnets)
are named by the stack. The bulk read is ``inventory.Lister`` (``vmrun list``
and every .vmx under the basefolder, parsed by ``listing`` and ``read``);
checks are ``checks``; capacity ``capacity``; creates and deletes ``guests``,
updates ``changes``; the .vmx is read and written by ``vmx``; every command
goes through ``vmrun``, which runs vmrun, the disk tool and the shell here or
over SSH and translates their errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.core.problems import Problem
from provisioner.core.resources import LiveObject, Resource
from provisioner.providers.base import Capacity, Inventory, Owner
from provisioner.providers.kit.guest_provider import GuestOnlyProvider
from provisioner.providers.kit.macs import MacHolder
from provisioner.providers.kit.ownership import Ownership
from provisioner.providers.kit.refusals import refuse_create
from provisioner.providers.vmware_desktop import VmwareDesktopConfig
from provisioner.providers.vmware_desktop.capacity import POOL, capacity
from provisioner.providers.vmware_desktop.changes import Changes
from provisioner.providers.vmware_desktop.checks import plan_checks, unsupported
from provisioner.providers.vmware_desktop.guests import Guests, label
from provisioner.providers.vmware_desktop.inventory import Lister
from provisioner.providers.vmware_desktop.schema import GUEST_SCHEMA
from provisioner.providers.vmware_desktop.vmrun import Vmrun


class VmwareDesktopProvider(GuestOnlyProvider):
    """The guests of one provider block on one VMware desktop host."""

    type_name = "vmware-desktop"
    guest_schema = GUEST_SCHEMA
    pool = POOL

    def __init__(self, name: str, config: Any, owner: Owner) -> None:
        super().__init__(name, config, owner)
        self.settings: VmwareDesktopConfig = config
        self.vmrun = Vmrun(self.settings, self.stats)
        self.lister = Lister(self.vmrun, Ownership(owner.stack, name))
        self.guests = Guests(self.vmrun, self.lister)
        self.changes = Changes(self.guests)
        self._live: dict[str, LiveObject] = {}

    def list_managed(self) -> Inventory:
        """Two LIST calls (``vmrun list`` and one shell command printing every .vmx
        under the basefolder), whatever the number of VMs."""
        inventory = self.lister.inventory()
        self._live = {live.name: live for live in inventory.managed}
        return inventory

    def guest_problems(self, guests: Sequence[Resource]) -> list[Problem]:
        return plan_checks(guests, self._live, grows=not self.vmrun.qemu_img)

    def mac_holders(self) -> Mapping[str, MacHolder]:
        return self.lister.mac_holders()

    def capacity(self) -> Capacity:
        return capacity(self.vmrun, self.lister.last())

    def create(self, resource: Resource) -> LiveObject:
        """Make the folder, .vmx and disks, and start the VM (``guests``). If this
        raises, the folder was removed again, or CreateFailedError names the VM (the
        next plan deletes it)."""
        self._guest_only(resource.kind)
        refuse_create(unsupported(resource), label(resource.address, resource.name))
        name = self.guests.create(resource)
        return self.lister.one(name, label(resource.address, name))

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> LiveObject:
        """Change the fields in ``changed`` (``changes``), powering the guest off only when
        one needs it. If this raises, the VM exists and keeps what was written."""
        self._guest_only(resource.kind)
        self.changes.update(resource, live, list(changed))
        return self.lister.one(live.name, label(resource.address, live.name))

    def delete(self, live: LiveObject) -> None:
        """Power off, ``vmrun deleteVM``, remove the folder; gone is success."""
        self.guests.delete(live)

    def close(self) -> None:
        self.vmrun.close()
