"""Creating and deleting VMs.

A create (``Guests.create``), in this order: ``createvm --register`` in this
stack's group, the creating key, the settings and NICs (``modifyvm``), the SATA
controller, each disk (``createmedium`` then ``storageattach``), the seed DVD,
the owner marker, the start, and last the creating key's removal. A create that
fails unregisters the VM with its disks (``unregistervm --delete``) and deletes
the disk images it made; one killed half-way leaves a VM with the creating key
(a leftover the next plan deletes), or, killed before that key, a VM in the
group without any marker, which the next create of that name deletes and makes
again. A retried create whose first attempt finished finds that VM and returns it.
"""

from __future__ import annotations

import contextlib
import re

from provisioner.core.address import Address
from provisioner.core.resources import LiveObject, Resource
from provisioner.core.specs import GuestSpec
from provisioner.errors import CreateFailedError, ObjectNotFoundError, ProviderError
from provisioner.providers.kit.cloudinit import seed_memo
from provisioner.providers.kit.ownership import name_taken, stack_owner
from provisioner.providers.virtualbox import GuestOptions, VirtualBoxConfig
from provisioner.providers.virtualbox.inventory import Lister
from provisioner.providers.virtualbox.listing import parse_vms
from provisioner.providers.virtualbox.machine import Machine, settings_args
from provisioner.providers.virtualbox.nics import MAX_NICS, declared_ports
from provisioner.providers.virtualbox.ownership import (
    CREATING_KEY,
    OWNER_KEY,
    encode,
    marker_in,
    stack_of_groups,
)
from provisioner.providers.virtualbox.power import Power
from provisioner.providers.virtualbox.read import (
    CONTROLLER,
    SEED_FILE,
    SEED_PORT,
    folder_of,
)
from provisioner.providers.virtualbox.vboxmanage import VBoxManage
from provisioner.testing import kill_point

_SETTINGS_FILE = re.compile(r"Settings file: '(.*)'")
_LISTED = re.compile(r'^"(.*)" \{([0-9a-fA-F-]+)\}$')


def label(address: Address, name: str) -> str:
    """How errors name a guest: its address and its VM."""
    return f"{address}: VM '{name}'"


class Guests:
    """Creates and deletes one provider block's VMs."""

    def __init__(self, vbox: VBoxManage, settings: VirtualBoxConfig, lister: Lister) -> None:
        self.vbox = vbox
        self.settings = settings
        self.lister = lister
        self.ownership = lister.ownership
        self.power = Power(vbox, settings)

    # -- create -------------------------------------------------------------------------

    def create(self, resource: Resource) -> str:
        """Make the VM of ``resource`` and return its name (see the module)."""
        address, name = resource.address, resource.name
        what = label(address, name)
        if self._made_before(address, name, what):
            return name
        guest = GuestSpec.of(resource.spec)
        options = guest.options_as(GuestOptions)
        folder = self._createvm(name, options, what)
        made: list[str] = []
        try:
            self._finish(resource, guest, options, folder, made, what)
        except BaseException as exc:
            self._undo(name, made, what, exc)
            raise
        return name

    def _made_before(self, address: Address, name: str, what: str) -> bool:
        """Whether an earlier attempt of this create finished (True), or nothing of it
        is left (False: a half-made VM of this stack with the name is removed first).
        Raises when the name is another owner's."""
        listed = {m.group(1) for line in self.vbox.list("vms").splitlines()
                  if (m := _LISTED.match(line.strip()))}
        if name not in listed:
            return False
        vms = parse_vms(self.vbox.read("showvminfo", name, what=what))
        stack = stack_of_groups(vms[0].groups) if vms else None
        if stack != self.ownership.stack:
            raise name_taken(what, "VM", name, stack_owner(stack))
        extra = self.lister.extradata(name)
        marker, creating = marker_in(extra), marker_in(extra, CREATING_KEY)
        verdict = self.ownership.earlier_create(marker, creating, address)
        if verdict is None:
            raise name_taken(what, "VM", name, self.ownership.whose(marker or creating))
        if not verdict:
            self.destroy(name, what, folder_of(vms[0]) if vms else None)
        return verdict

    def _createvm(self, name: str, options: GuestOptions, what: str) -> str:
        args = ["createvm", f"--name={name}", f"--groups={self.ownership.group}",
                f"--ostype={options.ostype}", "--register"]
        if self.settings.basefolder:
            args.append(f"--basefolder={self.settings.basefolder}")
        out = self.vbox.run(*args, what=what, retry=False)
        found = _SETTINGS_FILE.search(out)
        if found is None:
            raise ProviderError(f"{what}: VBoxManage createvm did not say where the VM is "
                                f"({out.strip()!r})")
        return found.group(1).rsplit("/", 1)[0]

    def _finish(self, resource: Resource, guest: GuestSpec, options: GuestOptions,
                folder: str, made: list[str], what: str) -> None:
        address, name = resource.address, resource.name
        machine = Machine(self.vbox, name, what)
        self.vbox.run("setextradata", name, CREATING_KEY,
                      encode(self.ownership.marker(address)), what=what)
        kill_point(f"virtualbox:made:{address}")
        # createvm gives NIC 1 on NAT: every NIC the stack does not declare is removed
        machine.modify(*settings_args(guest, options), "--boot1=disk", "--boot2=dvd",
                       "--boot3=none", "--boot4=none",
                       *machine.nics_args(guest.networks, MAX_NICS))
        machine.add_controller()
        for index, disk in enumerate(guest.disks):
            machine.add_disk(folder, index, disk, made, options.disk_format)
        memo: dict[str, object] = {"ostype": options.ostype, "disk_format": options.disk_format,
                                   "ports": declared_ports(resource.spec.get("networks"))}
        if guest.cloud_init is not None:
            made.append(machine.attach_seed(folder, guest.cloud_init))
            memo["seed"] = seed_memo(resource.spec.get("cloud_init"))
        marker = self.ownership.marker(address, memo, resource.lifecycle.prevent_destroy)
        self.vbox.run("setextradata", name, OWNER_KEY, encode(marker), what=what)
        kill_point(f"virtualbox:devices-made:{address}")
        if guest.running:
            self.power.start(name, what)
        kill_point(f"virtualbox:started:{address}")
        self.vbox.run("setextradata", name, CREATING_KEY, what=what)

    def _undo(self, name: str, made: list[str], what: str, cause: BaseException) -> None:
        """Remove a VM whose create failed; if that fails too, say what is left."""
        if not isinstance(cause, Exception):  # interrupted: the next plan finds a leftover
            return
        try:
            self.destroy(name, what, None)
            Machine(self.vbox, name, what).delete_media(
                [path for path in made if not path.endswith(SEED_FILE)])
            self._drop_seed(next((p for p in made if p.endswith(SEED_FILE)), None), what)
        except ProviderError as exc:
            raise CreateFailedError(
                f"{what}: the create failed and its VM could not be removed ({exc})",
                hint="the next plan deletes it (it is marked as being created)",
                leftovers=[name]) from cause

    # -- delete -------------------------------------------------------------------------

    def delete(self, live: LiveObject) -> None:
        """Power off, delete the seed ISO, unregister the VM with its disks; gone is
        success."""
        what = label(live.address, live.name)
        config = str(live.attributes.get("config_file") or "")
        self.destroy(live.name, what, config.rsplit("/", 1)[0] if config else None)

    def destroy(self, name: str, what: str, folder: str | None) -> None:
        """Power off, take the seed out and delete it, unregister with the disks. The
        seed goes first: ``unregistervm --delete`` deletes hard disks only, and a delete
        cut short after it would leave the seed with no VM to find it by."""
        try:
            self.power.stop(name, what, clean=False)
            with contextlib.suppress(ProviderError):  # no seed, no controller: nothing to do
                self.vbox.run("storageattach", name, f"--storagectl={CONTROLLER}",
                              f"--port={SEED_PORT}", "--device=0", "--medium=none", what=what,
                              retry=False)
            self._drop_seed(f"{folder}/{SEED_FILE}" if folder else None, what)
            kill_point(f"virtualbox:seed-dropped:{name}")
            self.vbox.run("unregistervm", name, "--delete", what=what)
        except ObjectNotFoundError:
            pass
        kill_point(f"virtualbox:unregistered:{name}")

    def _drop_seed(self, path: str | None, what: str) -> None:
        """``unregistervm --delete`` deletes hard disks only: the seed DVD goes here."""
        if path is not None:
            with contextlib.suppress(ObjectNotFoundError):
                self.vbox.run("closemedium", "dvd", path, "--delete", what=what)
