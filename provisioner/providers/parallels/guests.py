"""Creating and deleting VMs.

A create (``Guests.create``), in this order: ``prlctl create`` into this
stack's folder (``--dst BASE/provisioner-STACK``, made first with ``mkdir
-p``; without a disk), the creating line in its description with the
settings, the NICs, each disk, the seed CD, the owner marker in place of the
creating line, and the start. A
create that fails deletes the VM (``prlctl delete`` takes its bundle: disks
and seed); one killed half-way leaves a VM with the creating line (a leftover
the next plan deletes), or, killed before that line, a VM in the stack's
folder without any marker, which the next create of that name deletes and
makes again. A retried create whose first attempt finished finds that VM and
returns it.
"""

from __future__ import annotations

from provisioner.core.address import Address
from provisioner.core.resources import LiveObject, Resource
from provisioner.core.specs import GuestSpec
from provisioner.errors import CreateFailedError, ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.kit.cloudinit import seed_memo
from provisioner.providers.kit.ownership import name_taken, stack_owner
from provisioner.providers.parallels import GuestOptions, ParallelsConfig
from provisioner.providers.parallels.inventory import Lister, stack_of
from provisioner.providers.parallels.machine import Machine, settings_args
from provisioner.providers.parallels.ownership import (
    CREATING_PREFIX,
    OWNER_PREFIX,
    marker_in,
    with_line,
)
from provisioner.providers.parallels.power import Power
from provisioner.providers.parallels.prlctl import Prlctl
from provisioner.testing import kill_point


def label(address: Address, name: str) -> str:
    """How errors name a guest: its address and its VM."""
    return f"{address}: VM '{name}'"


class Guests:
    """Creates and deletes one provider block's VMs."""

    def __init__(self, prl: Prlctl, settings: ParallelsConfig, lister: Lister) -> None:
        self.prl = prl
        self.settings = settings
        self.lister = lister
        self.ownership = lister.ownership
        self.power = Power(prl, settings, lister)
        self._home: str | None = None
        """Parallels' VM home, once asked (``prlsrvctl info``)."""

    # -- create -------------------------------------------------------------------------

    def create(self, resource: Resource) -> str:
        """Make the VM of ``resource`` and return its name (see the module)."""
        address, name = resource.address, resource.name
        what = label(address, name)
        if self._made_before(address, name, what):
            return name
        guest = GuestSpec.of(resource.spec)
        options = guest.options_as(GuestOptions)
        folder = f"{self._base(what)}/{self.ownership.folder}"
        # prlctl create --dst wants a folder that exists (a delete removes an empty one)
        self.prl.host_command("mkdir", "-p", folder, kind=CallKind.WRITE)
        self.prl.run("create", name, "--distribution", options.distribution, "--dst", folder,
                     "--no-hdd", what=what, retry=False)
        try:
            self._finish(resource, guest, options, what)
        except BaseException as exc:
            self._undo(name, what, exc)
            raise
        return name

    def _base(self, what: str) -> str:
        """The folder the stack's folder is made in: basefolder, else Parallels' VM home."""
        if self.settings.basefolder:
            return self.settings.basefolder.rstrip("/")
        if self._home is None:
            info = self.prl.srv("info")
            home = str(info.get("VM home", "")) if isinstance(info, dict) else ""
            if not home:
                raise ProviderError(f"{what}: prlsrvctl info did not say where VMs are made",
                                    hint="set basefolder in the provider block")
            self._home = home.rstrip("/")
        return self._home

    def _made_before(self, address: Address, name: str, what: str) -> bool:
        """Whether an earlier attempt of this create finished (True), or nothing of it
        is left (False: a half-made VM of this stack with the name is removed first).
        Raises when the name is another owner's."""
        try:
            vm = self.lister.vm(name, what)
        except ObjectNotFoundError:
            return False
        stack = stack_of(vm)
        if stack != self.ownership.stack:
            raise name_taken(what, "VM", name, stack_owner(stack))
        marker = marker_in(vm.description)
        creating = marker_in(vm.description, CREATING_PREFIX)
        verdict = self.ownership.earlier_create(marker, creating, address)
        if verdict is None:
            raise name_taken(what, "VM", name, self.ownership.whose(marker or creating))
        if not verdict:
            self.destroy(name, what, vm.state)
        return verdict

    def _finish(self, resource: Resource, guest: GuestSpec, options: GuestOptions,
                what: str) -> None:
        address, name = resource.address, resource.name
        machine = Machine(self.prl, name, what)
        creating = with_line("", CREATING_PREFIX, self.ownership.marker(address))
        machine.set("--description", creating, *settings_args(guest))
        kill_point(f"parallels:made:{address}")
        vm = self.lister.vm(name, what)
        machine.match_nics(vm, guest.networks, running=False)
        for index, disk in enumerate(guest.disks):
            machine.add_disk(index, disk)
        memo: dict[str, object] = {"distribution": options.distribution}
        if guest.cloud_init is not None:
            machine.attach_seed(vm, guest.cloud_init)
            memo["seed"] = seed_memo(resource.spec.get("cloud_init"))
        marker = self.ownership.marker(address, memo, resource.lifecycle.prevent_destroy)
        # the creating line goes as the marker comes: a VM killed before its start is
        # whole, and the next plan starts it as a power change
        machine.set("--description", with_line("", OWNER_PREFIX, marker))
        kill_point(f"parallels:devices-made:{address}")
        if guest.running:
            self.power.start(name, what, state="stopped")
        kill_point(f"parallels:started:{address}")

    def _undo(self, name: str, what: str, cause: BaseException) -> None:
        """Delete a VM whose create failed; if that fails too, say what is left."""
        if not isinstance(cause, Exception):  # interrupted: the next plan finds a leftover
            return
        try:
            self.destroy(name, what)
        except ProviderError as exc:
            raise CreateFailedError(
                f"{what}: the create failed and its VM could not be removed ({exc})",
                hint="the next plan deletes it (it is marked as being created)",
                leftovers=[name]) from cause

    # -- delete -------------------------------------------------------------------------

    def delete(self, live: LiveObject) -> None:
        """Stop the VM and delete it with its bundle (disks, seed); gone is success. The
        stack's folder goes with its last VM (``rmdir``: a folder still holding anything
        stays)."""
        self.destroy(live.name, label(live.address, live.name))
        home = str(live.attributes.get("home") or "").rstrip("/")
        if "/" in home:
            self.prl.host_command("rmdir", home.rsplit("/", 1)[0], kind=CallKind.WRITE)

    def destroy(self, name: str, what: str, state: str | None = None) -> None:
        try:
            self.power.stop(name, what, clean=False, state=state)
            self.prl.run("delete", name, what=what)
        except ObjectNotFoundError:
            pass
        kill_point(f"parallels:deleted:{name}")
