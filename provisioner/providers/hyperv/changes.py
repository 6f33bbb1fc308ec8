"""Updating a guest: only the fields the plan listed, turning it off only when one needs it.

``kit.changes.needs_halt`` decides from the rules the plan used, so the guest is shut
down exactly when the plan said "requires restart", and started again afterwards
when it should run. Every change is one script (``machine.py`` writes its lines).
"""

from __future__ import annotations

from collections.abc import Sequence

from provisioner.core.resources import PROTECTION_PATH, LiveObject, Resource
from provisioner.core.specs import GuestSpec
from provisioner.providers.hyperv import GuestOptions
from provisioner.providers.hyperv.guests import Guests, label
from provisioner.providers.hyperv.machine import (
    firmware,
    match_disks,
    match_nics,
    memory,
    processor,
)
from provisioner.providers.hyperv.ownership import marker_in, notes
from provisioner.providers.hyperv.power import start_into
from provisioner.providers.hyperv.schema import GUEST_SCHEMA
from provisioner.providers.hyperv.script import Script
from provisioner.providers.kit.changes import needs_halt, only_changed, touched

_MEMORY = ("memory", "options.dynamic_memory", "options.memory_minimum",
           "options.memory_maximum")


class Changes:
    def __init__(self, guests: Guests) -> None:
        self.guests = guests
        self.lister = guests.lister

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> None:
        vm_id, what = str(live.id), label(resource.address, live.name)
        desired = only_changed(resource, live, changed)
        guest = GuestSpec.of(desired.spec)
        options = guest.options_as(GuestOptions)
        halt = bool(live.running) and needs_halt(GUEST_SCHEMA, changed, live, desired.spec)
        state = str(live.attributes.get("state") or "") or None
        if halt:
            self.guests.power.stop(vm_id, what, state=state)
            state = "Off"
        running = bool(live.running) and not halt
        script = Script()
        if touched("cpus", changed):
            processor(script, vm_id, guest)
        if any(touched(path, changed) for path in _MEMORY):
            memory(script, vm_id, guest, options)
        if touched("options.secure_boot", changed):
            firmware(script, vm_id, options)
        if touched("networks", changed) or touched("disks", changed):
            vm = self.lister.vm(vm_id, what)
            if touched("networks", changed):
                match_nics(script, vm_id, vm, guest.networks)
            if touched("disks", changed):
                match_disks(script, vm, guest.disks,
                            str(live.attributes.get("folder") or "") or vm.path)
        if PROTECTION_PATH in changed:
            marker = marker_in(self.lister.vm(vm_id, what).notes)
            memo = dict(marker.memo) if marker is not None else {}
            script.call("Set-VM", vm=vm_id, Notes=notes(self.guests.ownership.marker(
                resource.address, memo, resource.lifecycle.prevent_destroy)))
        if guest.running and not running:
            start_into(script, vm_id, state or self.guests.power.state(vm_id, what))
        if script:
            self.guests.ps.run(script, what=what)
        if not guest.running and running:
            self.guests.power.stop(vm_id, what, state=state)
