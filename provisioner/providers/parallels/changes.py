"""Updating a guest: only the fields the plan listed, stopping it only when one needs it.

``schema.needs_halt`` decides from the rules the plan used, so the guest is
stopped exactly when the plan said "requires restart", and started again
afterwards when it should run. A running guest's NIC networks change live
(``--device-set netN --type``); everything else is written with the guest off.
"""

from __future__ import annotations

from collections.abc import Sequence

from provisioner.core.resources import PROTECTION_PATH, LiveObject, Resource
from provisioner.core.specs import GuestSpec
from provisioner.providers.kit.changes import only_changed, touched
from provisioner.providers.parallels import GuestOptions
from provisioner.providers.parallels.guests import Guests, label
from provisioner.providers.parallels.machine import Machine, mib
from provisioner.providers.parallels.ownership import OWNER_PREFIX, marker_in, with_line
from provisioner.providers.parallels.schema import needs_halt


class Changes:
    def __init__(self, guests: Guests) -> None:
        self.guests = guests
        self.prl = guests.prl

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> None:
        name, what = live.name, label(resource.address, live.name)
        desired = only_changed(resource, live, changed)
        guest = GuestSpec.of(desired.spec)
        options = guest.options_as(GuestOptions)
        power = self.guests.power
        halt = bool(live.running) and needs_halt(changed, live, desired.spec)
        if halt:
            power.stop(name, what)
        running = bool(live.running) and not halt
        machine = Machine(self.prl, name, what)
        settings = {"cpus": ["--cpus", str(guest.cpus)],
                    "memory": ["--memsize", mib(guest.memory)],
                    "autostart": ["--autostart", "on" if guest.autostart else "off"],
                    "options.distribution": ["--distribution", options.distribution]}
        machine.set(*[arg for path, args in settings.items() if touched(path, changed)
                      for arg in args])
        remember = touched("options", changed) or PROTECTION_PATH in changed
        if touched("networks", changed) or touched("disks", changed) or remember:
            vm = self.guests.lister.vm(name, what)
            if touched("networks", changed):
                machine.match_nics(vm, guest.networks, running)
            if touched("disks", changed):
                machine.match_disks(vm, guest.disks)
            if remember:
                marker = marker_in(vm.description)
                memo = {**(dict(marker.memo) if marker is not None else {}),
                        "distribution": options.distribution}
                marker = self.guests.ownership.marker(resource.address, memo,
                                                      resource.lifecycle.prevent_destroy)
                machine.set("--description", with_line(vm.description, OWNER_PREFIX, marker))
        if guest.running and not running:
            power.start(name, what)
        elif not guest.running and running:
            power.stop(name, what)
