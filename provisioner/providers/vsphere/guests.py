"""Guests (VMs): create from a template or empty, update, delete.

A create makes the VM in one task (a clone, or an empty VM) carrying the
create-in-progress marker, tags it, reconfigures it to the spec in a second
task that also clears the marker, moves it to its host if the clone did not,
and starts it. If any step fails, the VM is deleted again; a VM that cannot
be deleted is named in the CreateFailedError (it still carries the marker, so
the next plan deletes it as a leftover). Names are checked by the provider
(vCenter refuses a second VM of the same name in a folder, the simulator does
not): a VM of that name that is not this guest is never touched.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from pyVmomi import vim

from provisioner.core.address import Address, Kind
from provisioner.core.resources import LiveObject, Resource
from provisioner.core.specs import GuestSpec
from provisioner.errors import (
    CreateFailedError,
    ObjectNotFoundError,
    ProviderError,
    TransientProviderError,
)
from provisioner.providers.kit.images import declared_images
from provisioner.providers.kit.marker import Marker
from provisioner.providers.kit.ownership import name_taken
from provisioner.providers.vsphere import GuestOptions, VsphereConfig
from provisioner.providers.vsphere.changes import Changer, label
from provisioner.providers.vsphere.client import VsphereClient
from provisioner.providers.vsphere.collect import vms_named
from provisioner.providers.vsphere.configspec import DEFAULT_GUEST_ID
from provisioner.providers.vsphere.facts import VmRecord
from provisioner.providers.vsphere.faults import TaskTimeoutError
from provisioner.providers.vsphere.images import Images
from provisioner.providers.vsphere.inventory import FactsCache, Lister, creating_marker
from provisioner.providers.vsphere.locations import Location, Locator, UnknownNameError
from provisioner.providers.vsphere.ownership import CREATING_KEY
from provisioner.providers.vsphere.power import Power
from provisioner.testing import kill_point


class Guests:
    """VM operations for one provider block."""

    def __init__(self, client: VsphereClient, settings: VsphereConfig, lister: Lister,
                 cache: FactsCache, images: Images | None = None) -> None:
        self.client = client
        self.settings = settings
        self.lister = lister
        self.ownership = lister.ownership
        self.cache = cache
        self.power = Power(client, settings)
        self.changer = Changer(client, settings, lister, cache, self.power)
        self.changer.images = images
        self.templates: Callable[[Address], VmRecord | None] = lambda _address: None
        """The template of a declared OVA image (set by the provider)."""
        self.changer.templates = self.templates_of
        self._claims: set[str] = set()
        self._claims_lock = threading.Condition()

    # -- create -----------------------------------------------------------------------

    def create(self, resource: Resource) -> str:
        """The VM's moid. See the module docstring for what a failure leaves."""
        what = label(resource.address, resource.name)
        locator = Locator(self.settings, self.cache.facts())
        try:
            guest = GuestSpec.of(resource.spec)
            location = locator.locate(guest)
            clone = guest.clone
            template = locator.template(location.datacenter, clone) if clone else None
            if template is None and "image" in declared_images(resource):
                template = self.templates_of(declared_images(resource)["image"])
            _references(locator, location, resource)  # fail before anything is made
        except UnknownNameError as exc:
            raise ProviderError(f"{what}: {exc}",
                                hint="fix the stack, or plan again if the inventory changed"
                                ) from None
        self.changer.memo_of(resource, what)  # cloud-init documents that cannot be written
        with self._claim(resource.name):
            earlier = self._earlier_attempt(resource, what)
            if earlier is not None:
                self.changer.settle_power(earlier, resource, what)
                return earlier
            moid = self._make(resource, location, template, what)
        kill_point(f"vsphere:made:{resource.address}")
        try:
            self.changer.finish_create(moid, resource, location, what)
        except ProviderError as exc:
            leftovers = self._roll_back(moid, what)
            raise CreateFailedError(exc.message.removeprefix(f"{resource.address}: "), exc.hint,
                                    address=str(resource.address), leftovers=leftovers) from exc
        return moid

    @contextlib.contextmanager
    def _claim(self, key: str) -> Iterator[None]:
        """One create per name at a time in this process (the name check and the create
        are two calls)."""
        with self._claims_lock:
            while key in self._claims:
                self._claims_lock.wait()
            self._claims.add(key)
        try:
            yield
        finally:
            with self._claims_lock:
                self._claims.discard(key)
                self._claims_lock.notify_all()

    def _earlier_attempt(self, resource: Resource, what: str) -> str | None:
        """The VM an earlier create of this guest made, if complete; an incomplete one is
        deleted first. A VM or template of that name owned by anything else, anywhere in
        the inventory, is refused: names are unique per provider (vCenter only refuses
        them within a folder, the simulator nowhere)."""
        earlier = None
        for record in vms_named(self.client, resource.name, what):
            _notes, marker = self.lister.marker_of(record, self.cache.facts())
            creating = creating_marker(record)
            if self.ownership.owns_at(creating, resource.address):
                self.delete_vm(record.moid, what)  # an interrupted create: start over
            elif self.ownership.owns_at(marker, resource.address) and not record.template:
                earlier = record.moid
            else:
                self._refuse(resource, record, creating or marker, what)
        return earlier

    def _refuse(self, resource: Resource, record: VmRecord, marker: Marker | None,
                what: str) -> None:
        folder = self.cache.facts().folder_path(_moid(record.get("parent"))) or "/"
        noun = "template" if record.template else "VM"
        raise name_taken(what, noun, resource.name, self.ownership.whose(marker),
                         where=f" in folder {folder}",
                         hint="rename the guest, or remove or rename that VM (an untagged one "
                              f"can be adopted: provisioner import {resource.address} "
                              f"{resource.name})")

    def _make(self, resource: Resource, location: Location, template: VmRecord | None,
              what: str) -> str:
        """The VM in one task, marked as being created. Raises CreateFailedError."""
        client, name = self.client, resource.name
        creating = [vim.option.OptionValue(key=CREATING_KEY,
                                           value=self.ownership.creating(resource.address))]
        pool = client.ref(vim.ResourcePool, location.pool)
        host = None if location.host is None else client.ref(vim.HostSystem, location.host)
        folder = client.ref(vim.Folder, location.folder)
        start: Any
        if template is not None:
            source = client.ref(vim.VirtualMachine, template.moid)
            location = vim.vm.RelocateSpec(
                pool=pool, host=host,
                datastore=client.ref(vim.Datastore, location.datastore.moid))
            clone_spec = vim.vm.CloneSpec(location=location, powerOn=False, template=False,
                                          config=vim.vm.ConfigSpec(extraConfig=creating))

            def start(_s: Any) -> Any:
                return source.CloneVM_Task(folder=folder, name=name, spec=clone_spec)
        else:
            options = GuestSpec.of(resource.spec).options_as(GuestOptions)
            config = vim.vm.ConfigSpec(
                name=name, guestId=options.guest_id or DEFAULT_GUEST_ID,
                files=vim.vm.FileInfo(vmPathName=f"[{location.datastore.name}]"),
                extraConfig=creating)

            def start(_s: Any) -> Any:
                return folder.CreateVM_Task(config=config, pool=pool, host=host)
        try:
            made = client.run_task(what, start, retry=False)
        except ProviderError as exc:
            # vSphere makes a VM in one step: a refused task left nothing; a lost answer or
            # a timeout may have left one, marked as being created (the next plan deletes it)
            unsure = isinstance(exc, TaskTimeoutError | TransientProviderError)
            raise CreateFailedError(exc.message.removeprefix(f"{resource.address}: "), exc.hint,
                                    address=str(resource.address),
                                    leftovers=(name,) if unsure else ()) from exc
        return str(made._moId)

    def _roll_back(self, moid: str, what: str) -> tuple[str, ...]:
        try:
            self.delete_vm(moid, what)
        except ProviderError:
            return (f"VM {moid}",)
        return ()

    def templates_of(self, address: Address) -> VmRecord | None:
        """The template of OVA image ``address`` (read again if the last read predates
        it: it was deployed in this run), or None for a vmdk image."""
        found = self.templates(address)
        if found is not None or address.kind is not Kind.IMAGE:
            return found
        images = self.changer.images
        if images is not None and images.knows(address):
            return None  # a vmdk image
        self.cache.refresh()
        return self.templates(address)

    # -- update and delete ------------------------------------------------------------

    def update(self, resource: Resource, live: LiveObject, changed: list[str]) -> None:
        self.changer.update(resource, live, changed)

    def delete_vm(self, moid: str, what: str) -> None:
        """Power off (it is going away) and destroy, with its disks. Already gone is
        success; if this raises, the VM may still exist and is deleted by the next apply."""
        try:
            state = self.power.state(moid, what)
            if state != "poweredOff":
                self.power.stop(moid, what)
            vm = self.client.ref(vim.VirtualMachine, moid)
            self.client.run_task(what, lambda _s: vm.Destroy_Task())
        except ObjectNotFoundError:
            return


def _moid(value: Any) -> str | None:
    return None if value is None else str(value._moId)


def _references(locator: Locator, location: Location, resource: Resource) -> None:
    """Every datastore and port group the guest names exists (raises UnknownNameError)."""
    guest = GuestSpec.of(resource.spec)
    for disk in guest.disks:
        if disk.pool:
            locator.datastore(location.compute, disk.pool)
    for nic in guest.networks:
        if nic.host_network:
            locator.network(location.datacenter, nic.host_network)
