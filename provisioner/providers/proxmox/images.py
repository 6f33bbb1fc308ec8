"""Images imported into a Proxmox storage (``images:``): a file under ``import/`` (disk
images, content ``import``, PVE 8.2+) or ``iso/``, put there by an upload streamed from
this machine's verified cache (default) or by the node itself (``options.download:
true``, the storage's ``download-url``, PVE 7.0+ for iso, 8.2+ for import), with the
checksum given to PVE to check either way. Guests' disks copy it at create time
(``import-from``), so deleting an image never breaks a guest.

The bulk read is one content listing per storage that may hold images (one node for a
shared storage, each node otherwise): names carry the rest (``image_names``). Of two
volumes of one image, the newest is the image and the other a leftover.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from provisioner.core.address import Address, Kind, image_instance, image_object_name
from provisioner.core.resources import LiveObject, Resource, address_name
from provisioner.core.specs import ImageSpec
from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.images.local import image_file
from provisioner.providers.base import CallKind, Owner
from provisioner.providers.proxmox.context import Context
from provisioner.providers.proxmox.image_names import (
    ImageVolume,
    MultipartFile,
    content_of,
    file_name,
    image_nodes,
    parse_volume,
)

MISSING_ON = "(the image file is missing on node "


class Images:
    """One provider block's imported images."""

    def __init__(self, ctx: Context, owner: Owner) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.owner = owner
        self.volids: dict[str, str] = {}
        """Image object name → its volume id, from the last listing and creates."""

    def volid_of(self, name: str, what: str) -> str:
        """The volume id of image ``name`` (listed again if this run has not seen it)."""
        if name not in self.volids:
            self.listed()
        if name not in self.volids:
            raise ProviderError(f"{what}: image {name} is not imported",
                                hint="apply it first (it is a dependency of this guest)")
        return self.volids[name]

    def storage_of(self, resource: Resource) -> str:
        """The storage an image goes to: its ``pool:``, else the provider's default."""
        return self.ctx.names.storage_id(resource, "pool", ImageSpec.of(resource.spec).pool)

    def create(self, resource: Resource) -> LiveObject:
        spec = ImageSpec.of(resource.spec)
        fmt, checksum = spec.format or "raw", str(spec.checksum)
        sid = self.storage_of(resource)
        name = image_object_name(resource.name)
        filename = file_name(self.ctx.owner, name, checksum, fmt)
        what = f"{resource.address}: {sid}:{content_of(fmt)}/{filename}"
        algo, _, digest = checksum.partition(":")
        fields: dict[str, Any] = {"content": content_of(fmt), "checksum": digest,
                                  "checksum-algorithm": algo}
        download = bool(spec.options.get("download"))
        source = None if download else image_file(resource, self.owner.directory)
        for node in self._nodes(sid):
            path = f"nodes/{node}/storage/{sid}"
            if source is None:
                start = partial(self.client.post, what, f"{path}/download-url",
                                url=str(resource.settings["url"]), filename=filename, **fields)
            else:
                start = partial(self._upload, what, f"{path}/upload", fields, source, filename)
            self.ctx.tasks.run(what, start)
        volume = ImageVolume(sid, f"{content_of(fmt)}/{filename}", name, checksum, fmt)
        self.volids[name] = volume.volid
        return self.live_object(volume, [volume.volid])

    def _upload(self, what: str, path: str, fields: dict[str, Any], source: Path,
                filename: str) -> Any:
        return self.client.upload(what, path, MultipartFile(fields, source, filename),
                                  self.ctx.settings.task_timeout)

    def delete(self, live: LiveObject) -> None:
        """Remove the image's volume on each node that has it; already gone is success."""
        for volid in live.attributes.get("volumes", []):
            self._delete(str(live.address), str(volid))
            if self.volids.get(live.name) == volid:
                del self.volids[live.name]

    def _delete(self, what: str, volid: str) -> None:
        sid = volid.split(":", 1)[0]
        for node in self._nodes(sid):
            try:
                self.ctx.tasks.run(what, partial(
                    self.client.delete, what, f"nodes/{node}/storage/{sid}/content/{volid}"))
            except ObjectNotFoundError:
                continue
            except ProviderError as exc:
                if "does not exist" not in str(exc) and "no such" not in str(exc).lower():
                    raise

    def _nodes(self, sid: str) -> list[str]:
        return image_nodes(self.ctx.cluster.known_facts(), sid)

    def listed(self) -> tuple[list[LiveObject], list[LiveObject]]:
        """This block's images on every storage that may hold them, and leftovers. An
        image missing on a node it goes to reads as another checksum: replaced."""
        facts = self.ctx.cluster.known_facts()
        found: dict[str, list[ImageVolume]] = {}
        on: dict[str, set[str]] = {}
        for sid, info in sorted(facts.storages.items()):
            if not info.files or not info.content & {"import", "iso"}:
                continue
            for node in self._nodes(sid):
                items = self.client.get(CallKind.LIST, f"storage {sid}",
                                        f"nodes/{node}/storage/{sid}/content")
                for item in items or []:
                    volume = parse_volume(self.ctx.owner, str(item.get("volid")),
                                          int(item.get("ctime") or 0))
                    if volume is None:
                        continue
                    if volume.volid not in on:
                        found.setdefault(volume.name, []).append(volume)
                    on.setdefault(volume.volid, set()).add(node)
        managed, leftovers = [], []
        for volumes in found.values():
            volumes.sort(key=lambda v: (v.ctime, v.volid))
            newest = volumes[-1]
            missing = sorted(set(self._nodes(newest.storage)) - on[newest.volid])
            managed.append(self.live_object(newest, [newest.volid], missing))
            self.volids[newest.name] = newest.volid
            leftovers += [self.live_object(v, [v.volid]) for v in volumes[:-1]]
        return managed, leftovers

    def live_object(self, volume: ImageVolume, volids: Iterable[str],
                    missing: Sequence[str] = ()) -> LiveObject:
        """``missing``: nodes it is not on (an import that failed part-way), shown as
        its checksum, so that the plan replaces it."""
        address = Address(Kind.IMAGE, image_instance(address_name(volume.name),
                                                     self.ctx.owner.provider))
        return LiveObject(address, self.ctx.owner.provider, volume.name, volume.volid,
                          # the pool and the options are left out: the planner compares
                          # them with the last applied (a storage id is not a pool name)
                          {"checksum": f"{MISSING_ON}{', '.join(missing)})" if missing
                           else volume.checksum, "format": volume.format},
                          {"storage": volume.storage, "volumes": list(volids),
                           "volid": volume.volid})
