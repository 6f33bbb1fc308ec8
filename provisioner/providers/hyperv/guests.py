"""Creating and deleting VMs.

A create (``Guests.create``), in this order: one script makes the VM in its own
folder under the block's ``path`` (``New-VM -NoVHD``; the folder is ``NAME-RANDOM``,
new for each create and kept in the marker's memo, so that a delete removes what
its create made and nothing a person had there), writes the creating line
into its Notes and removes the adapter New-VM adds; a second gives it its
processors, memory, firmware, NICs and disks; then the seed ISO is copied and
attached, the owner's line replaces the creating one, and the VM starts. A create
that fails removes the VM and its folder; one killed half-way leaves a VM with the
creating line, a leftover the next plan deletes. A retried create whose first
attempt finished finds that VM and returns it.

Hyper-V accepts a second VM with a name in use: the create refuses it instead (a
VM of this stack at that address is the one it made; any other is in the way).

A delete turns the VM off, then removes it and its folder (disks and seed) in one
script (Remove-VM leaves a VM's disks behind).
"""

from __future__ import annotations

import secrets

from provisioner.core.address import Address
from provisioner.core.resources import LiveObject, Resource
from provisioner.core.specs import GuestSpec
from provisioner.errors import CreateFailedError, ObjectNotFoundError, ProviderError
from provisioner.providers.hyperv import GuestOptions, HyperVConfig
from provisioner.providers.hyperv.inventory import Lister
from provisioner.providers.hyperv.machine import (
    add_disk,
    attach_seed,
    disk_path,
    firmware,
    join,
    match_nics,
    memory,
    processor,
    write_seed,
)
from provisioner.providers.hyperv.ownership import marker_in, notes
from provisioner.providers.hyperv.power import Power, start_into
from provisioner.providers.hyperv.powershell import PowerShell
from provisioner.providers.hyperv.script import NEW_VM, SWITCH, Script
from provisioner.providers.kit.cloudinit import seed_memo
from provisioner.providers.kit.ownership import name_taken
from provisioner.testing import kill_point


def label(address: Address, name: str) -> str:
    """How errors name a guest: its address and its VM."""
    return f"{address}: VM '{name}'"


class Guests:
    """Creates and deletes one provider block's VMs."""

    def __init__(self, ps: PowerShell, settings: HyperVConfig, lister: Lister) -> None:
        self.ps = ps
        self.settings = settings
        self.lister = lister
        self.ownership = lister.ownership
        self.power = Power(ps, settings, lister)

    def root(self) -> str:
        return self.settings.path or self.lister.last().host.vm_path

    # -- create -------------------------------------------------------------------------

    def create(self, resource: Resource) -> str:
        """Make the VM of ``resource`` and return its id (see the module)."""
        address, name = resource.address, resource.name
        what = label(address, name)
        found = self._made_before(address, name, what)
        if found is not None:
            return found
        guest = GuestSpec.of(resource.spec)
        options = guest.options_as(GuestOptions)
        folder = join(self.root(), f"{name}-{secrets.token_hex(3)}")
        made = Script().new_vm(Name=name, Generation=options.generation,
                               MemoryStartupBytes=guest.memory, Path=folder, NoVHD=SWITCH)
        made.call("Set-VM", vm=NEW_VM, Notes=notes(self.ownership.marker(
            address, {"folder": folder}), creating=True))
        made.call("Remove-VMNetworkAdapter", vm=NEW_VM, via=("Get-VMNetworkAdapter", {}))
        lines = self.ps.run(made.print_new_id(), what=what).strip().splitlines()
        if not lines:
            raise ProviderError(f"{what}: New-VM did not print the new VM's id")
        vm_id = lines[-1].strip().lower()
        try:
            self._finish(resource, guest, options, vm_id, folder, what)
        except BaseException as exc:
            self._undo(vm_id, what, folder, exc)
            raise
        return vm_id

    def _made_before(self, address: Address, name: str, what: str) -> str | None:
        """The id of the VM an earlier attempt of this create finished, or None (a
        half-made VM of this create is removed first). Raises when another VM has
        the name."""
        for vm in self.lister.named(name):
            marker, creating = marker_in(vm.notes), marker_in(vm.notes, creating=True)
            if creating is not None and self.ownership.owns_at(creating, address):
                self.destroy(vm.id, what, str(creating.memo.get("folder") or ""),
                             state=vm.state)
            elif marker is not None and self.ownership.owns_at(marker, address):
                return vm.id
            else:
                raise name_taken(what, "VM", name, self.ownership.whose(marker or creating),
                                 hint="Hyper-V would make a second VM of that name; rename "
                                      "the guest in the stack, or remove or rename that VM")
        return None

    def _finish(self, resource: Resource, guest: GuestSpec, options: GuestOptions,
                vm_id: str, folder: str, what: str) -> None:
        address, name = resource.address, resource.name
        kill_point(f"hyperv:made:{address}")
        script = Script()
        processor(script, vm_id, guest)
        memory(script, vm_id, guest, options)
        firmware(script, vm_id, options)
        match_nics(script, vm_id, None, guest.networks)
        for index, disk in enumerate(guest.disks):
            add_disk(script, vm_id, options.generation, disk_path(folder, name, index), index,
                     disk)
        memo: dict[str, object] = {"folder": folder}
        if guest.cloud_init is not None:
            attach_seed(script, vm_id, options.generation,
                        write_seed(self.ps, folder, name, guest.cloud_init, what))
            memo["seed"] = seed_memo(resource.spec.get("cloud_init"))
        marker = self.ownership.marker(address, memo, resource.lifecycle.prevent_destroy)
        script.call("Set-VM", vm=vm_id, Notes=notes(marker))
        if guest.running:
            start_into(script, vm_id, "Off")
        self.ps.run(script, what=what)
        kill_point(f"hyperv:devices-made:{address}")

    def _undo(self, vm_id: str, what: str, folder: str, cause: BaseException) -> None:
        """Remove a VM whose create failed; if that fails too, say what is left."""
        if not isinstance(cause, Exception):  # interrupted: the next plan finds a leftover
            return
        try:
            self.destroy(vm_id, what, folder)
        except ProviderError as exc:
            raise CreateFailedError(
                f"{what}: the create failed and its VM could not be removed ({exc})",
                hint="the next plan deletes it (its Notes mark it as being created)",
                leftovers=[vm_id]) from cause

    # -- delete -------------------------------------------------------------------------

    def delete(self, live: LiveObject) -> None:
        """Turn off, remove the VM and its folder; gone is success."""
        what = label(live.address, live.name)
        self.destroy(str(live.id), what, str(live.attributes.get("folder") or ""),
                     state=str(live.attributes.get("state") or "") or None)
        kill_point(f"hyperv:removed:{live.name}")

    def destroy(self, vm_id: str, what: str, folder: str, state: str | None = None) -> None:
        """Turn the VM off, then remove it and its folder in one script. The folder is
        the one its create made (``NAME-RANDOM``, in the marker's memo): never a folder
        someone else had, and never one of a VM whose marker does not name it."""
        try:
            self.power.stop(vm_id, what, clean=False, state=state)
            script = Script().call("Remove-VM", vm=vm_id, Force=SWITCH)
            if folder:
                script.call("Remove-Item", LiteralPath=folder, Recurse=SWITCH, Force=SWITCH)
            self.ps.run(script, what=what)
        except ObjectNotFoundError:
            pass
