"""Updating a guest: only the fields the plan listed, powering it off only when one needs it.

``kit.changes.needs_halt`` decides from the rules the plan used, so the guest is
powered off exactly when the plan said "requires restart", and started again
afterwards when it should run. A running guest's NIC attachments and port
forwards change live (``controlvm``); everything else is written with the
guest off.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from provisioner.core.resources import PROTECTION_PATH, LiveObject, Resource
from provisioner.core.specs import GuestSpec
from provisioner.providers.kit.changes import needs_halt, only_changed, touched
from provisioner.providers.virtualbox import GuestOptions
from provisioner.providers.virtualbox.guests import Guests, label
from provisioner.providers.virtualbox.listing import parse_vms
from provisioner.providers.virtualbox.machine import Machine, mib
from provisioner.providers.virtualbox.nics import declared_ports
from provisioner.providers.virtualbox.ownership import OWNER_KEY, encode, marker_in
from provisioner.providers.virtualbox.schema import GUEST_SCHEMA

_SETTINGS: dict[str, Callable[[GuestSpec, GuestOptions], str]] = {
    "cpus": lambda g, o: f"--cpus={g.cpus}",
    "memory": lambda g, o: f"--memory={mib(g.memory)}",
    "autostart": lambda g, o: f"--autostart-enabled={'on' if g.autostart else 'off'}",
    "options.firmware": lambda g, o: f"--firmware={o.firmware}",
    "options.ostype": lambda g, o: f"--os-type={o.ostype}",
}
"""The ``modifyvm`` argument of each setting an update may change."""


class Changes:
    def __init__(self, guests: Guests) -> None:
        self.guests = guests
        self.vbox = guests.vbox

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> None:
        name, what = live.name, label(resource.address, live.name)
        desired = only_changed(resource, live, changed)
        guest = GuestSpec.of(desired.spec)
        options = guest.options_as(GuestOptions)
        halt = bool(live.running) and needs_halt(GUEST_SCHEMA, changed, live, desired.spec)
        if halt:
            self.guests.power.stop(name, what)
        running = bool(live.running) and not halt
        machine = Machine(self.vbox, name, what)
        machine.modify(*[setter(guest, options) for path, setter in _SETTINGS.items()
                         if touched(path, changed)])
        if touched("options.ostype", changed) or touched("networks", changed) or \
                PROTECTION_PATH in changed:
            self._remember(resource, name, {"ostype": options.ostype,
                                            "ports": declared_ports(desired.spec.get("networks"))},
                           what)
        if touched("networks", changed) or touched("disks", changed):
            vm = parse_vms(self.vbox.read("showvminfo", name, what=what))[0]
            if touched("networks", changed):
                machine.match_nics(vm, guest.networks, running)
            if touched("disks", changed):
                machine.match_disks(vm, guest.disks, options.disk_format)
        if guest.running and not running:
            self.guests.power.start(name, what)
        elif not guest.running and running:
            self.guests.power.stop(name, what)

    def _remember(self, resource: Resource, name: str, values: dict[str, object],
                  what: str) -> None:
        """What is read back from the marker's memo (the OS type id, the declared form of
        port numbers): keep it current."""
        marker = marker_in(self.guests.lister.extradata(name))
        memo = {**(dict(marker.memo) if marker is not None else {}), **values}
        marker = self.guests.ownership.marker(resource.address, memo,
                                              resource.lifecycle.prevent_destroy)
        self.vbox.run("setextradata", name, OWNER_KEY, encode(marker), what=what)
