"""OVA images: templates deployed from the OVA (``ovfdeploy``), named as the image.

The template carries the ownership tag like a guest (the custom attribute, vCenter
only: a standalone ESXi host has no templates), with the image's address and a memo
of its checksum and format, so the bulk read finds it again (``image_live``). A
guest whose ``image:`` names an OVA image is a clone of its template.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyVmomi import vim

from provisioner.core.address import Kind, image_object_name
from provisioner.core.resources import LiveObject, Resource
from provisioner.errors import ProviderError
from provisioner.images.local import image_file
from provisioner.providers.base import CallKind
from provisioner.providers.kit.marker import Marker
from provisioner.providers.kit.ownership import name_taken
from provisioner.providers.vsphere import VsphereConfig
from provisioner.providers.vsphere.client import VsphereClient
from provisioner.providers.vsphere.collect import read_vm, vms_named
from provisioner.providers.vsphere.facts import VmRecord
from provisioner.providers.vsphere.inventory import FactsCache, Lister, creating_marker
from provisioner.providers.vsphere.locations import Locator, UnknownNameError
from provisioner.providers.vsphere.ovfdeploy import Target, deploy
from provisioner.providers.vsphere.ownership import CREATING_KEY
from provisioner.providers.vsphere.read import image_live
from provisioner.testing import kill_point

Tag = Callable[[str, Marker, str], None]
"""Writes the ownership tag on a VM (moid, marker, what)."""
Delete = Callable[[str, str], None]
"""Deletes a VM (moid, what); already gone is success."""


class OvaImages:
    """One provider block's OVA images."""

    def __init__(self, client: VsphereClient, settings: VsphereConfig, cache: FactsCache,
                 lister: Lister, directory: Path | None, tag: Tag, delete: Delete) -> None:
        self.client = client
        self.settings = settings
        self.cache = cache
        self.lister = lister
        self.ownership = lister.ownership
        self.directory = directory
        self.tag = tag
        self.delete_vm = delete

    def create(self, resource: Resource) -> LiveObject:
        what, name = str(resource.address), image_object_name(resource.name)
        target = self._target(resource, name, what)
        cached = image_file(resource, self.directory)  # verified: a mismatch stops here
        earlier = self._earlier(resource, name, what)
        if earlier is not None:
            return earlier
        memo = {"checksum": str(resource.spec["checksum"]), "format": "ova"}
        marker = self.ownership.marker(resource.address, memo)
        moid = deploy(self.client, self.settings, cached, target,
                      self.ownership.creating(resource.address), what)
        kill_point(f"vsphere:ova-deployed:{resource.address}")
        try:
            self.tag(moid, marker, what)
            vm = self.client.ref(vim.VirtualMachine, moid)
            spec = vim.vm.ConfigSpec(extraConfig=[vim.option.OptionValue(key=CREATING_KEY,
                                                                         value="")])
            self.client.run_task(what, lambda _s: vm.ReconfigVM_Task(spec=spec))
            self.client.call(CallKind.WRITE, what, lambda _s: vm.MarkAsTemplate())
        except ProviderError:
            self.delete_vm(moid, what)
            raise
        record = read_vm(self.client, moid, what)
        if record is None:
            raise ProviderError(f"{what}: the template is gone right after it was made")
        return image_live(record, marker, self.ownership.provider)

    def _target(self, resource: Resource, name: str, what: str) -> Target:
        locator = Locator(self.settings, self.cache.facts())
        settings = self.settings
        try:
            datacenter = locator.datacenter()
            host = locator.host(datacenter, settings.host)
            compute = locator.compute(datacenter, settings.cluster, host)
            return Target(name=name, datacenter=datacenter.moid,
                          datastore=locator.datastore(
                              compute, resource.spec.get("pool") or settings.datastore).moid,
                          pool=locator.pool(compute, settings.resource_pool),
                          folder=locator.folder(datacenter, settings.folder), host=host)
        except UnknownNameError as exc:
            raise ProviderError(f"{what}: {exc}", hint="fix the provider block or the "
                                                       "image's pool") from None

    def _earlier(self, resource: Resource, name: str, what: str) -> LiveObject | None:
        """The template an earlier create made (an incomplete one is deleted); any
        other VM or template of that name is refused."""
        for record in vms_named(self.client, name, what):
            _notes, marker = self.lister.marker_of(record, self.cache.facts())
            creating = creating_marker(record)
            if self.ownership.owns_at(creating, resource.address):
                self.delete_vm(record.moid, what)
            elif self.ownership.owns_at(marker, resource.address) and record.template \
                    and marker is not None:
                if marker.memo.get("checksum") == resource.spec.get("checksum"):
                    return image_live(record, marker, self.ownership.provider)
                self.delete_vm(record.moid, what)  # another content: replaced
            else:
                noun = "template" if record.template else "VM"
                raise name_taken(what, noun, name, self.ownership.whose(creating or marker),
                                 hint="rename the image, or remove or rename that VM")
        return None

    def template_of(self, address: Any) -> VmRecord | None:
        """The template of OVA image ``address`` in the last read (None: not one)."""
        if address.kind is not Kind.IMAGE:
            return None
        facts = self.cache.facts()
        for record in facts.vms:
            _notes, marker = self.lister.marker_of(record, facts)
            if record.template and self.ownership.owns_at(marker, address):
                return record
        return None
