"""Updating a guest: only the fields the plan listed, halting it only when one needs it.

``schema.needs_halt`` decides from the same rules the plan used, so the guest
is shut down exactly when the plan said "requires restart", and started again
afterwards when it should run. Each changed field is written by its own
setter (``settings.py``, ``devices.py``, ``drive.py``); a setter writes nothing
when the VM already has the value.
"""

from __future__ import annotations

from collections.abc import Sequence

from provisioner.core.resources import PROTECTION_PATH, LiveObject, Resource
from provisioner.core.specs import GuestSpec
from provisioner.providers.kit.changes import only_changed, touched
from provisioner.providers.xenserver import GuestOptions
from provisioner.providers.xenserver.devices import VmDevices
from provisioner.providers.xenserver.guests import Guests, label
from provisioner.providers.xenserver.ownership import OWNER_KEY, encode
from provisioner.providers.xenserver.read import memo_of
from provisioner.providers.xenserver.schema import needs_halt
from provisioner.providers.xenserver.targets import Targets

_VCPUS = ("cpus", "options.cpus_max")
_MEMORY = ("memory", "options.memory_max", "options.memory_min")
_BOOT = ("options.platform", "options.boot_order", "options.firmware", "options.xenstore_data")
_NOTES = ("options.description", "options.tags")
_MEMO = ("clone", "options.full_copy")


class Changes:
    """Writes the changes of ``update``."""

    def __init__(self, guests: Guests) -> None:
        self.guests = guests
        self.client = guests.client
        self.settings = guests.vm_settings

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> None:
        what = label(resource.address, live.name)
        desired = only_changed(resource, live, changed)
        guest = GuestSpec.of(desired.spec)
        options = guest.options_as(GuestOptions)
        targets = Targets(self.guests.cache.pool(), self.guests.settings, what)
        ref = live.id
        halt = bool(live.running) and needs_halt(changed, live, desired.spec)
        if halt:
            self.guests.power.stop(ref, what)
        running = bool(live.running) and not halt
        self._write(ref, resource, guest, options, targets, changed, running, what)
        if guest.running and not running:
            self.guests.power.start(ref, targets.start_host(guest), what)
        elif not guest.running and running:
            self.guests.power.stop(ref, what)

    def _write(self, ref: str, resource: Resource, guest: GuestSpec, options: GuestOptions,
               targets: Targets, changed: Sequence[str], running: bool, what: str) -> None:
        record = self.client.call("VM.get_record", ref, what=what)

        def wants(*paths: str) -> bool:
            return any(touched(path, changed) for path in paths)

        if wants(*_VCPUS):
            self.settings.vcpus(ref, guest, options, record, what)
        if wants(*_MEMORY):
            self.settings.memory(ref, guest, options, record, what, live=running)
        if wants("node"):
            self.settings.affinity(ref, targets.affinity(guest), record, what)
        if wants("autostart"):
            self.settings.autostart(ref, guest.autostart, record, what)
        if wants(*_NOTES):
            self.settings.notes(ref, options, record, what)
        if wants(*_BOOT):
            self.settings.boot(ref, options, record, what)
        devices = VmDevices(self.client, self.guests.ownership, ref, what)
        if wants("disks"):
            devices.match_disks(resource.address, resource.name, guest.disks, targets.pool,
                                targets.default_sr, running)
        if wants("networks"):
            devices.match_nics(guest.networks, targets.networks(guest), running)
        if wants("cloud_init"):
            self.guests.drive.remove(devices, running)
            if guest.cloud_init is not None:
                self.guests.drive.attach(devices, resource.address, resource.name,
                                         guest.cloud_init, targets.drive_sr(guest), running)
        if wants(*_MEMO, PROTECTION_PATH):
            marker = encode(self.guests.ownership.marker(resource.address,
                                                         memo_of(guest, options),
                                                         resource.lifecycle.prevent_destroy))
            self.settings.put_other(ref, OWNER_KEY, marker, what)
