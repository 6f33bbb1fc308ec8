"""Images on vSphere: vmdk files uploaded to a datastore, OVAs deployed as templates.

A vmdk image is uploaded over the datastore HTTP file API into its folder
(``imagepaths``): the folder is made, the empty ``creating`` file is put, then the
image (streamed from the verified file in the cache), then ``creating`` is
deleted. A guest's disk that starts from it is a copy
(``VirtualDiskManager.CopyVirtualDisk_Task``, which also turns a hosted sparse
vmdk into one ESXi runs from) in the VM's folder, grown to the disk's size by the
reconfigure that attaches it. An ``.ova`` image is a template (``ovfdeploy``).

The inventory is one datastore browser search of the block's image folder on each
datastore of its cluster or host (SearchDatastoreSubFolders_Task, counted as a LIST
call; a datastore without the folder answers FileNotFound).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyVmomi import vim

from provisioner.core.address import Address, Kind, image_object_name
from provisioner.core.resources import LiveObject, Resource
from provisioner.errors import ProviderError
from provisioner.images.local import image_file
from provisioner.providers.base import CallKind
from provisioner.providers.vsphere import VsphereConfig
from provisioner.providers.vsphere import imagepaths as paths
from provisioner.providers.vsphere.client import VsphereClient
from provisioner.providers.vsphere.facts import Datacenter, Datastore, Facts
from provisioner.providers.vsphere.filetasks import TaskFailedError, not_found, run_file_task
from provisioner.providers.vsphere.inventory import FactsCache
from provisioner.providers.vsphere.locations import Locator, UnknownNameError
from provisioner.providers.vsphere.ownership import Ownership
from provisioner.providers.vsphere.upload import put_file
from provisioner.testing import kill_point


class Images:
    """One provider block's vmdk images."""

    def __init__(self, client: VsphereClient, settings: VsphereConfig, cache: FactsCache,
                 ownership: Ownership, directory: Path | None) -> None:
        self.client = client
        self.settings = settings
        self.cache = cache
        self.ownership = ownership
        self.directory = directory
        self.owner = paths.owner_folder(ownership.stack, ownership.provider)
        self._found: dict[str, paths.Found] = {}
        self._lock = threading.Lock()

    # -- where ------------------------------------------------------------------------

    def where(self, pool: str | None, facts: Facts | None = None) -> tuple[Datacenter,
                                                                             Datastore]:
        """The datacenter and the datastore of an image (its ``pool:``, else the block's
        datastore). Raises UnknownNameError."""
        locator = Locator(self.settings, facts or self.cache.facts())
        datacenter = locator.datacenter()
        host = locator.host(datacenter, self.settings.host)
        compute = locator.compute(datacenter, self.settings.cluster, host)
        return datacenter, locator.datastore(compute, pool or self.settings.datastore)

    def datacenter_path(self, datacenter: Datacenter, facts: Facts) -> str:
        """The datacenter's inventory path below the root folder (``dcPath``)."""
        names = [datacenter.name]
        parent = facts.folders.get(datacenter.parent or "")
        while parent is not None and parent.parent is not None:
            names.append(parent.name)
            parent = facts.folders.get(parent.parent)
        return "/".join(reversed(names))

    # -- inventory --------------------------------------------------------------------

    def inventory(self, facts: Facts) -> tuple[list[LiveObject], list[LiveObject]]:
        """(this block's images, leftovers of interrupted uploads)."""
        listings: list[paths.Listing] = []
        for datastore in self._datastores(facts):
            listings += self._search(datastore)
        found = paths.found_images(self.owner, listings)
        with self._lock:
            self._found = {item.name: item for item in found if item.complete}
        provider = self.ownership.provider
        managed = [self._live(item) for item in found if item.complete]
        leftovers = [LiveObject(address=item.address(provider), provider=provider,
                                name=item.name, id=self._folder(item), spec={},
                                attributes={"leftover": "interrupted upload",
                                            "datastore": item.datastore})
                     for item in found if not item.complete]
        return managed, leftovers

    def _datastores(self, facts: Facts) -> list[Datastore]:
        try:
            locator = Locator(self.settings, facts)
            datacenter = locator.datacenter()
            compute = locator.compute(datacenter, self.settings.cluster,
                                      locator.host(datacenter, self.settings.host))
        except UnknownNameError:
            return []  # the plan-time checks say what is wrong with the block
        return [facts.datastores[d] for d in compute.datastores
                if d in facts.datastores and facts.datastores[d].accessible]

    def _search(self, datastore: Datastore) -> list[paths.Listing]:
        """One search of the block's image folder on ``datastore``."""
        what = f"searching datastore {datastore.name} for images"
        store = self.client.ref(vim.Datastore, datastore.moid)
        spec = vim.host.DatastoreBrowser.SearchSpec(
            matchPattern=["*"], details=vim.host.DatastoreBrowser.FileInfo.Details(
                fileSize=True, fileType=True, modification=False, fileOwner=False))
        root = paths.datastore_path(datastore.name, self.owner)

        def start(_s: Any) -> Any:
            return store.browser.SearchDatastoreSubFolders_Task(datastorePath=root,
                                                               searchSpec=spec)

        try:
            result = run_file_task(self.client, what, start, CallKind.LIST)
        except TaskFailedError as exc:
            if not_found(exc):  # no image folder of this block on that datastore
                return []
            raise
        return [(str(item.folderPath),
                 [(str(f.path), int(f.fileSize or 0), isinstance(f, vim.host.DatastoreBrowser
                                                                  .FolderInfo))
                  for f in item.file or ()])
                for item in result or ()]

    def _live(self, item: paths.Found) -> LiveObject:
        # the pool and the options are not readable: the planner compares them with the
        # values last applied
        return LiveObject(address=item.address(self.ownership.provider),
                          provider=self.ownership.provider, name=item.name,
                          id=self._folder(item),
                          spec={"checksum": item.checksum, "format": item.fmt},
                          attributes={"file": item.file, "datastore": item.datastore,
                                      "size": item.size, "format": item.fmt})

    def _folder(self, item: paths.Found) -> str:
        return paths.datastore_path(item.datastore,
                                    paths.image_folder(self.ownership.stack,
                                                       self.ownership.provider, item.name))

    # -- create and delete ------------------------------------------------------------

    def create(self, resource: Resource) -> LiveObject:
        """Upload the verified image; a folder of an earlier attempt is deleted first.
        If this raises, nothing is left but a folder the next plan lists as a leftover."""
        what, name = str(resource.address), image_object_name(resource.name)
        facts = self.cache.facts()
        try:
            datacenter, datastore = self.where(resource.spec.get("pool"), facts)
        except UnknownNameError as exc:
            raise ProviderError(f"{what}: {exc}", hint="fix the image's pool") from None
        checksum = str(resource.spec["checksum"])
        folder = paths.image_folder(self.ownership.stack, self.ownership.provider, name)
        target = f"{folder}/{paths.file_name(checksum, str(resource.spec['format']))}"
        cached = image_file(resource, self.directory)  # verified: a mismatch stops here
        dc_ref = self.client.ref(vim.Datacenter, datacenter.moid)
        self._delete_path(paths.datastore_path(datastore.name, folder), dc_ref, what)
        self._make_folder(paths.datastore_path(datastore.name, folder), dc_ref, what)
        dc_path = self.datacenter_path(datacenter, facts)
        cookie = str(self.client.session.instance._stub.cookie)
        url = self._url(f"{folder}/{paths.CREATING}", dc_path, datastore.name)
        with self.client.stats.track(CallKind.WRITE):
            put_file(self.settings, cookie, url, io.BytesIO(), 0, what=what)
        kill_point(f"vsphere:image-marked:{resource.address}")
        with self.client.stats.track(CallKind.WRITE):
            put_file(self.settings, cookie, self._url(target, dc_path, datastore.name),
                     cached, what=what)
        self._delete_path(paths.datastore_path(datastore.name, f"{folder}/{paths.CREATING}"),
                          dc_ref, what)
        item = paths.Found(datastore=datastore.name, name=name, checksum=checksum, fmt="vmdk",
                           file=paths.datastore_path(datastore.name, target),
                           size=cached.stat().st_size, creating=False)
        with self._lock:
            self._found[name] = item
        return self._live(item)

    def delete(self, live: LiveObject) -> None:
        """Delete the image's folder (the image, or what an upload left); already gone
        is success."""
        where = paths.split_datastore_path(live.id)
        if where is None or not where[1].startswith(self.owner + "/"):
            raise ProviderError(f"{live.address}: '{live.id}' is not a folder of this block's "
                                "images")
        try:
            datacenter = Locator(self.settings, self.cache.facts()).datacenter()
        except UnknownNameError as exc:
            raise ProviderError(f"{live.address}: {exc}", hint="fix the provider block") \
                from None
        self._delete_path(live.id, self.client.ref(vim.Datacenter, datacenter.moid),
                          str(live.address))
        with self._lock:
            self._found.pop(live.name, None)

    def _delete_path(self, path: str, datacenter: Any, what: str) -> None:
        manager = self.client.session.content.fileManager
        try:
            run_file_task(self.client, what, lambda _s: manager.DeleteDatastoreFile_Task(
                name=path, datacenter=datacenter))
        except TaskFailedError as exc:
            if not not_found(exc):
                raise

    def _url(self, path: str, dc_path: str, datastore: str) -> str:
        return paths.file_url(self.settings.server, self.settings.port, path, dc_path,
                              datastore)

    # -- guests' disks ----------------------------------------------------------------

    def knows(self, address: Address) -> bool:
        """Whether ``address`` is a vmdk image this run has seen."""
        with self._lock:
            return any(item.address(self.ownership.provider) == address
                       for item in self._found.values())

    def file_of(self, address: Address, name: str) -> str:
        """The datastore path of image ``name``'s vmdk (searching again if this run has
        not seen it). Raises ProviderError when it is not imported."""
        with self._lock:
            item = self._found.get(name)
        if item is None:
            self.inventory(self.cache.facts())
            with self._lock:
                item = self._found.get(name)
        if item is None or item.file is None:
            raise ProviderError(f"{address} is not imported",
                                hint="apply it first (it is a dependency of the guest)")
        return item.file

    def copy_disks(self, resource: Resource, sources: Mapping[int, Address],
                   homes: Mapping[int, str], datacenter_moid: str,
                   what: str) -> dict[int, str]:
        """Copy the image of each disk in ``sources`` ({index: the image}) into the VM's
        folder ``homes[index]`` (``[DS] web``): {disk index: the copy's datastore path}."""
        copies: dict[int, str] = {}
        dc_ref = self.client.ref(vim.Datacenter, datacenter_moid)
        manager = self.client.session.content.virtualDiskManager
        made: set[str] = set()
        for index, address in sorted(sources.items()):
            source = self.file_of(address, image_object_name(resource.name_of(address)))
            home = homes[index]
            if home not in made:
                self._make_folder(home, dc_ref, what)
                made.add(home)
            target = f"{home}/{resource.name}_image{index}.vmdk"

            def copy(_s: Any, source: str = source, target: str = target) -> Any:
                # force: a copy an earlier attempt of this create left is overwritten
                return manager.CopyVirtualDisk_Task(sourceName=source, sourceDatacenter=dc_ref,
                                                    destName=target, destDatacenter=dc_ref,
                                                    force=True)

            run_file_task(self.client, what, copy)
            copies[index] = target
        return copies

    def _make_folder(self, path: str, datacenter: Any, what: str) -> None:
        """Make a folder on a datastore (with its parents); one that exists is fine."""
        manager = self.client.session.content.fileManager

        def make(_s: Any) -> Any:
            try:
                return manager.MakeDirectory(name=path, datacenter=datacenter,
                                             createParentDirectories=True)
            except vim.fault.FileAlreadyExists:
                return None

        self.client.call(CallKind.WRITE, what, make)


def disk_images(resource: Resource) -> dict[int, Address]:
    """{disk index: the declared image it starts from}: ``image`` is disk 0's."""
    found: dict[int, Address] = {}
    for path, address in resource.references.items():
        if address.kind is not Kind.IMAGE:
            continue
        if path == "image":
            found.setdefault(0, address)
        elif path.startswith("disks[") and path.endswith("].image"):
            found[int(path[6:-7])] = address
    return found


def image_memo(resource: Resource) -> Mapping[str, str]:
    """The image names a guest's fields gave (``image``, ``disks[N].image``), for the
    ownership memo: vSphere cannot tell what a disk was copied from."""
    return {path: value for path, address in resource.references.items()
            if address.kind is Kind.IMAGE and (value := _value(resource.spec, path))}


def _value(spec: Mapping[str, Any], path: str) -> str | None:
    if path == "image":
        return spec.get("image")
    index = int(path[6:-7])
    disks = spec.get("disks") or []
    return disks[index].get("image") if index < len(disks) else None
