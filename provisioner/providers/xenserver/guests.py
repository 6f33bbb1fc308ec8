"""Creating and deleting guests.

A guest with ``clone:`` is made from that template: ``VM.clone`` (fast,
copy-on-write, on the template's SR) or, with ``options.full_copy`` or when its
first disk goes to another SR, ``VM.copy`` onto that SR; an installer template
that describes disks instead of having them is then provisioned
(``VM.provision``). A guest without ``clone:`` is created from a full record
(``VM.create``: HVM, BIOS or UEFI). Then, in this order: the owner marker, the
settings (``settings.py``), the disks and NICs (``devices.py``), the cloud-init
config drive (``drive.py``), the start, and last the real name. A delete takes the
guest's snapshots with it (``snapshots.py``).

The VM carries the creating name and key until its last step (see
``ownership.py``); a create that fails destroys what it made, and one that is
killed leaves a VM the next plan finds as a leftover and deletes.
"""

from __future__ import annotations

import contextlib
from typing import Any

from provisioner.core.address import Address
from provisioner.core.resources import LiveObject, Resource
from provisioner.core.specs import GuestSpec
from provisioner.errors import CreateFailedError, ObjectNotFoundError, ProviderError
from provisioner.providers.kit.ownership import name_taken
from provisioner.providers.xenserver import GuestOptions, XenServerConfig
from provisioner.providers.xenserver.client import NULL_REF, XapiClient
from provisioner.providers.xenserver.devices import VmDevices
from provisioner.providers.xenserver.drive import ConfigDrive
from provisioner.providers.xenserver.inventory import LEFTOVER_DISK, Lister, PoolCache
from provisioner.providers.xenserver.ownership import (
    CREATING_KEY,
    OWNER_KEY,
    Ownership,
    creating_marker,
    encode,
    marker_of,
)
from provisioner.providers.xenserver.power import Power
from provisioner.providers.xenserver.read import memo_of
from provisioner.providers.xenserver.settings import Settings, scratch_record
from provisioner.providers.xenserver.snapshots import Snapshots
from provisioner.providers.xenserver.targets import Targets
from provisioner.testing import kill_point


def label(address: Address, name: str) -> str:
    """How errors name a guest: its address and its VM."""
    return f"{address}: VM '{name}'"


class Guests:
    """Creates and deletes one provider block's VMs."""

    def __init__(self, client: XapiClient, settings: XenServerConfig, lister: Lister,
                 cache: PoolCache) -> None:
        self.client = client
        self.settings = settings
        self.lister = lister
        self.cache = cache
        self.ownership: Ownership = lister.ownership
        self.power = Power(client, settings)
        self.snapshots = Snapshots(client, self.power)
        self.drive = ConfigDrive(client, self.ownership)
        self.vm_settings = Settings(client)

    # -- create -------------------------------------------------------------------------

    def create(self, resource: Resource) -> str:
        """Make the VM of ``resource`` and return its reference (see the module)."""
        address, name = resource.address, resource.name
        what = label(address, name)
        done = self._made_before(address, name, what)
        if done is not None:  # a retried create: the first attempt finished
            return done
        guest = GuestSpec.of(resource.spec)
        options = guest.options_as(GuestOptions)
        pool = self.cache.pool()
        targets = Targets(pool, self.settings, what)
        memo = memo_of(guest, options)
        ref = self._make(address, guest, options, targets, what)
        kill_point(f"xenserver:made:{address}")
        try:
            self._finish(ref, resource, guest, options, targets, memo, what)
        except BaseException as exc:
            self._undo(ref, what, exc)
            raise
        return ref

    def _made_before(self, address: Address, name: str, what: str) -> str | None:
        """The VM an earlier attempt of this create finished, if any (READ calls for the
        VMs of that name only). Raises when another owner's VM has the name: XAPI
        allows it, a plan never means it."""
        for ref in self.client.call("VM.get_by_name_label", name, what=what) or ():
            vm = self.client.call("VM.get_record", ref, what=what)
            if vm.get("is_a_template") or vm.get("is_a_snapshot"):
                continue
            marker = marker_of(vm)
            if self.ownership.owns_at(marker, address) and creating_marker(vm) is None:
                return str(ref)
            if not self.ownership.owns(marker) and creating_marker(vm) is None:
                raise name_taken(what, "VM", name, self.ownership.whose(marker))
        return None

    def _make(self, address: Address, guest: GuestSpec, options: GuestOptions,
              targets: Targets, what: str) -> str:
        creating = self.ownership.creating_name(address)
        if guest.clone is None:
            marker = encode(self.ownership.marker(address))
            record = scratch_record(creating, guest, options, marker, targets.affinity(guest))
            return str(self.client.call("VM.create", record, what=what, retry=False))
        template = targets.template(guest.clone)
        sr = targets.copy_sr(template, guest, options)
        if sr is not None:
            ref = self.client.task("VM.copy", template, creating, sr, what=what)
        else:
            ref = self.client.task("VM.clone", template, creating, what=what)
        return str(ref)

    def _finish(self, ref: str, resource: Resource, guest: GuestSpec, options: GuestOptions,
                targets: Targets, memo: dict[str, Any], what: str) -> None:
        address, name = resource.address, resource.name
        marker = encode(self.ownership.marker(address, memo, resource.lifecycle.prevent_destroy))
        self.vm_settings.put_other(ref, CREATING_KEY, marker, what)
        self.vm_settings.put_other(ref, OWNER_KEY, marker, what)
        record = self.client.call("VM.get_record", ref, what=what)
        if record.get("is_a_template"):
            self.client.call("VM.set_is_a_template", ref, False, what=what)
            if "disks" in (record.get("other_config") or {}):
                self.client.call("VM.provision", ref, what=what)
        kill_point(f"xenserver:marked:{address}")
        devices = VmDevices(self.client, self.ownership, ref, what)
        devices.tag_disks(address)
        self.vm_settings.write(ref, guest, options, record, targets.affinity(guest), what)
        self.vm_settings.tag(ref, self.ownership.stack, what)
        devices.match_disks(address, name, guest.disks, targets.pool, targets.default_sr,
                            running=False)
        devices.match_nics(guest.networks, targets.networks(guest), running=False)
        if guest.cloud_init is not None:
            self.drive.attach(devices, address, name, guest.cloud_init,
                              targets.drive_sr(guest), running=False)
        kill_point(f"xenserver:devices-made:{address}")
        if guest.running:
            self.power.start(ref, targets.start_host(guest), what)
        kill_point(f"xenserver:started:{address}")
        self.client.call("VM.set_name_label", ref, name, what=what)
        self.client.call("VM.remove_from_other_config", ref, CREATING_KEY, what=what)

    def _undo(self, ref: str, what: str, cause: BaseException) -> None:
        """Destroy a VM whose create failed; if that fails too, say what is left."""
        if not isinstance(cause, Exception):  # interrupted: the next plan finds a leftover
            return
        try:
            self.destroy(ref, what)
        except ProviderError as exc:
            raise CreateFailedError(
                f"{what}: the create failed and its VM could not be removed ({exc})",
                hint="the next plan deletes it (it is marked as being created)",
                leftovers=[ref]) from cause

    # -- delete -------------------------------------------------------------------------

    def delete(self, live: LiveObject) -> None:
        """Destroy the VM and its own disks, or a leftover disk; gone is success."""
        what = label(live.address, live.name)
        if live.attributes.get("leftover") == LEFTOVER_DISK:
            with contextlib.suppress(ObjectNotFoundError):
                self.client.call("VDI.destroy", live.id, what=what)
            return
        self.destroy(live.id, what, live.address)

    def destroy(self, ref: str, what: str, address: Address | None = None) -> None:
        """Hard shutdown, delete its snapshots (XAPI would keep them), mark its disks as
        this guest's (so none is orphaned if this is cut short), destroy the VM, then
        the disks. Gone is success."""
        try:
            self.power.stop(ref, what, clean=False)
            self.snapshots.destroy_all(ref, what)
            vdis = self._own_disks(ref, what)
            self.client.call("VM.destroy", ref, what=what)
        except ObjectNotFoundError:
            return
        kill_point(f"xenserver:vm-destroyed:{address}")
        for vdi in vdis:
            with contextlib.suppress(ObjectNotFoundError):
                self.client.call("VDI.destroy", vdi, what=what)

    def _own_disks(self, ref: str, what: str) -> list[str]:
        """The disks only this VM uses (not CDs, not disks another VM has too), marked
        with the VM's owner so that a cut-short delete leaves leftovers, not orphans."""
        vm = self.client.call("VM.get_record", ref, what=what)
        marker = (vm.get("other_config") or {}).get(OWNER_KEY) or \
            (vm.get("other_config") or {}).get(CREATING_KEY) or \
            _creating_value(str(vm.get("name_label", "")))
        devices = VmDevices(self.client, self.ownership, ref, what)
        found = []
        for _ref, vbd in devices.vbds():
            vdi_ref = vbd.get("VDI")
            if vbd.get("type") != "Disk" or not vdi_ref or vdi_ref == NULL_REF:
                continue
            vdi = self.client.call("VDI.get_record", vdi_ref, what=what)
            if len(vdi.get("VBDs") or ()) > 1 or vdi.get("sharable"):
                continue
            if marker and OWNER_KEY not in (vdi.get("other_config") or {}):
                self.client.call("VDI.add_to_other_config", vdi_ref, OWNER_KEY, marker,
                                 what=what)
            found.append(str(vdi_ref))
        return found


def _creating_value(name: str) -> str | None:
    marker = creating_marker({"name_label": name})
    return None if marker is None else encode(marker)
