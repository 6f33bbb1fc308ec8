"""Updating a guest: only the fields the plan listed, powering it off only when one needs it.

``schema.needs_halt`` decides from the rules the plan used, so a running guest
is powered off exactly when the plan said "requires restart", and started again
afterwards when it should run. The .vmx is read as it is after the stop (VMware
rewrites it at power-off), edited for the changed fields only, and written back
whole: every entry the provider does not own stays. A changed prevent_destroy on
a running guest (no restart) is written to the file and to the running VM's
configuration (``vmrun writeVariable runtimeConfig``), which VMware keeps when it
writes the file at power-off.
"""

from __future__ import annotations

from collections.abc import Sequence

from provisioner.core.resources import PROTECTION_PATH, LiveObject, Resource
from provisioner.core.specs import GuestSpec
from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.kit.changes import only_changed, touched
from provisioner.providers.vmware_desktop import GuestOptions
from provisioner.providers.vmware_desktop.guests import Guests, label
from provisioner.providers.vmware_desktop.listing import VmFolder
from provisioner.providers.vmware_desktop.machine import (
    disk_entries,
    disk_file,
    drop_disk,
    set_settings,
)
from provisioner.providers.vmware_desktop.nics import mac_of, nic_indexes, set_nics
from provisioner.providers.vmware_desktop.ownership import OWNER_KEY, encode, marker_in
from provisioner.providers.vmware_desktop.read import MIB, disks_of, units
from provisioner.providers.vmware_desktop.schema import needs_halt

_SETTINGS = ("cpus", "memory", "options.guest_os", "options.firmware",
             "options.hardware_version")


class Changes:
    def __init__(self, guests: Guests) -> None:
        self.guests = guests
        self.vmrun = guests.vmrun
        self.lister = guests.lister

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> None:
        name, what = live.name, label(resource.address, live.name)
        desired = only_changed(resource, live, changed)
        guest = GuestSpec.of(desired.spec)
        options = guest.options_as(GuestOptions)
        path = str(live.attributes.get("vmx") or self.lister.vmx_of(name))
        halt = bool(live.running) and needs_halt(changed, live, desired.spec)
        if halt:
            self.guests.power.stop(path, what)
        running = bool(live.running) and not halt
        edits = [p for p in changed if p != "power"]
        if edits:
            vm = self.lister.folder(name)
            if vm is None:
                raise ObjectNotFoundError(f"{what}: the VM is gone")
            self._edit(vm, resource, guest, options, edits, what)
            if running and PROTECTION_PATH in changed:
                self.vmrun.vmrun("writeVariable", path, "runtimeConfig", OWNER_KEY,
                                 vm.vmx[OWNER_KEY], what=what)
        if guest.running and not running:
            self.guests.power.start(path, what)
        elif not guest.running and running:
            self.guests.power.stop(path, what)

    def _edit(self, vm: VmFolder, resource: Resource, guest: GuestSpec,
              options: GuestOptions, changed: Sequence[str], what: str) -> None:
        vmx = vm.vmx
        if any(touched(path, changed) for path in _SETTINGS):
            set_settings(vmx, guest, options)
        if touched("networks", changed):
            set_nics(vmx, list(guest.networks),
                     [mac_of(vmx, index) for index in nic_indexes(vmx)])
        if touched("disks", changed):
            self._disks(vm, guest, options, what)
        # cloud_init is never updated (a replacement): its memo stays as the create wrote it
        before = marker_in(vmx)
        memo = {**(dict(before.memo) if before is not None else {}),
                "disk_bus": disks_of(vm)[0][0] if disks_of(vm) else options.disk_bus}
        marker = self.guests.ownership.marker(resource.address, memo,
                                              resource.lifecycle.prevent_destroy)
        vmx[OWNER_KEY] = encode(marker)
        self.guests.write(vm.path, vmx)

    def _disks(self, vm: VmFolder, guest: GuestSpec, options: GuestOptions, what: str) -> None:
        """Grow, add and remove disks so the (stopped) VM has ``guest.disks``."""
        have = disks_of(vm)
        bus = have[0][0] if have else options.disk_bus
        wanted = units(bus, len(guest.disks))
        for index, disk in enumerate(guest.disks):
            where = f"{what} disks[{index}]"
            if index < len(have):
                file_path = vm.disk_path(have[index][2])
                if disk.size is not None and disk.size > vm.disk_sizes.get(file_path, 0):
                    self.vmrun.grow_disk(file_path, disk.size, where)
                continue
            file_name = disk_file(vm.name, index)
            self.vmrun.create_disk(f"{vm.folder}/{file_name}", disk.size or MIB, where)
            vm.vmx.update(disk_entries(bus, wanted[index], file_name))
        for _bus, unit, file_name in have[len(guest.disks):]:
            drop_disk(vm.vmx, bus, unit)
            self.guests.write(vm.path, vm.vmx)  # not named by the VM before it goes
            done = self.vmrun.shell('rm -f -- "$1"', vm.disk_path(file_name),
                                    kind=CallKind.WRITE)
            if not done.ok:
                raise ProviderError(f"{what}: cannot delete {file_name}: "
                                          f"{done.stderr.strip()}")
