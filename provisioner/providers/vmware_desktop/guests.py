"""Creating and deleting VMs.

A create, in this order: the VM's folder and its first .vmx (settings, NICs,
cloud-init, and the creating key), each disk (made with the disk tool, then
named in the .vmx), the .vmx with the owner marker instead of the creating key,
and the start. A create that fails removes the VM's folder. One killed
half-way leaves a .vmx with the creating key (a leftover the next plan deletes);
one killed after the marker, a complete stopped VM (the next plan starts it). A
retried create whose first attempt finished finds that VM and returns it.

A delete powers the VM off (hard), runs ``vmrun deleteVM`` (VMware deletes the
VM's files and forgets it) and removes what is left of its folder.
"""

from __future__ import annotations

from provisioner.core.address import Address
from provisioner.core.resources import LiveObject, Resource
from provisioner.core.specs import GuestSpec
from provisioner.errors import CreateFailedError, ObjectNotFoundError
from provisioner.providers.kit.ownership import Ownership, name_taken
from provisioner.providers.vmware_desktop import GuestOptions
from provisioner.providers.vmware_desktop.inventory import Lister
from provisioner.providers.vmware_desktop.machine import (
    disk_entries,
    disk_file,
    new_vmx,
    set_cloud_init,
)
from provisioner.providers.vmware_desktop.nics import set_nics
from provisioner.providers.vmware_desktop.ownership import (
    CREATING_KEY,
    OWNER_KEY,
    encode,
    marker_in,
)
from provisioner.providers.vmware_desktop.power import Power
from provisioner.providers.vmware_desktop.read import MIB, units
from provisioner.providers.vmware_desktop.vmrun import Vmrun
from provisioner.providers.vmware_desktop.vmx import Vmx
from provisioner.providers.vsphere import guestinfo
from provisioner.testing import kill_point


def label(address: Address, name: str) -> str:
    """How errors name a guest: its address and its VM."""
    return f"{address}: VM '{name}'"


def owner_memo(name: str, guest: GuestSpec, options: GuestOptions) -> dict[str, object]:
    return {"cloud_init": guestinfo.memo(name, guest.cloud_init), "disk_bus": options.disk_bus}


class Guests:
    """Creates and deletes one provider block's VMs."""

    def __init__(self, vmrun: Vmrun, lister: Lister) -> None:
        self.vmrun = vmrun
        self.lister = lister
        self.ownership: Ownership = lister.ownership
        self.power = Power(vmrun)

    def write(self, path: str, vmx: Vmx) -> None:
        self.vmrun.write_file(path, vmx.text().encode())

    # -- create -------------------------------------------------------------------------

    def create(self, resource: Resource) -> str:
        """Make the VM of ``resource`` and return its name (see the module)."""
        address, name = resource.address, resource.name
        what = label(address, name)
        guest = GuestSpec.of(resource.spec)
        if self._made_before(address, name, what):
            if guest.running:
                self.power.start(self.lister.vmx_of(name), what)
            return name
        try:
            self._make(resource, guest, what)
        except Exception as exc:
            self._undo(name, what, exc)
            raise
        return name

    def _made_before(self, address: Address, name: str, what: str) -> bool:
        """Whether an earlier attempt of this create finished (True), or nothing of it
        is left (False: a half-made VM of this create is removed first). Raises when the
        name is another owner's."""
        vm = self.lister.folder(name)
        if vm is None:
            return False
        marker, creating = marker_in(vm.vmx), marker_in(vm.vmx, CREATING_KEY)
        if creating is None and self.ownership.owns_at(marker, address):
            return True
        if creating is not None and self.ownership.owns_at(creating, address):
            self.destroy(vm.path, vm.folder, what)
            return False
        raise name_taken(what, "VM", name, self.ownership.whose(marker or creating),
                         where=f" in {vm.folder}")

    def _make(self, resource: Resource, guest: GuestSpec, what: str) -> None:
        address, name = resource.address, resource.name
        options = guest.options_as(GuestOptions)
        path, folder = self.lister.vmx_of(name), self.lister.folder_of(name)
        vmx = new_vmx(name, guest, options)
        set_nics(vmx, list(guest.networks), [])
        set_cloud_init(vmx, name, guest)
        vmx[CREATING_KEY] = encode(self.ownership.marker(address))
        self.write(path, vmx)
        kill_point(f"vmware-desktop:made:{address}")
        for index, unit in enumerate(units(options.disk_bus, len(guest.disks))):
            file_name = disk_file(name, index)
            self.vmrun.create_disk(f"{folder}/{file_name}", guest.disks[index].size or MIB,
                                   f"{what} disks[{index}]")
            vmx.update(disk_entries(options.disk_bus, unit, file_name))
        del vmx[CREATING_KEY]
        marker = self.ownership.marker(address, owner_memo(name, guest, options),
                                       resource.lifecycle.prevent_destroy)
        vmx[OWNER_KEY] = encode(marker)
        self.write(path, vmx)
        kill_point(f"vmware-desktop:devices-made:{address}")
        if guest.running:
            self.power.start(path, what)
        kill_point(f"vmware-desktop:started:{address}")

    def _undo(self, name: str, what: str, cause: Exception) -> None:
        """Remove a VM whose create failed; if that fails too, say what is left."""
        try:
            self.destroy(self.lister.vmx_of(name), self.lister.folder_of(name), what)
        except Exception as exc:
            raise CreateFailedError(
                f"{what}: the create failed and its VM could not be removed ({exc})",
                hint="the next plan deletes it (it is marked as being created)",
                leftovers=[name]) from cause

    # -- delete -------------------------------------------------------------------------

    def delete(self, live: LiveObject) -> None:
        """Power off, ``vmrun deleteVM``, remove the folder; gone is success."""
        what = label(live.address, live.name)
        path = str(live.attributes.get("vmx") or self.lister.vmx_of(live.name))
        self.destroy(path, path.rsplit("/", 1)[0], what)

    def destroy(self, path: str, folder: str, what: str) -> None:
        try:
            self.power.stop(path, what, clean=False)
            self.vmrun.vmrun("deleteVM", path, what=what)
        except ObjectNotFoundError:
            pass
        kill_point(f"vmware-desktop:deleted:{folder.rsplit('/', 1)[-1]}")
        self.vmrun.remove_folder(folder, what)

