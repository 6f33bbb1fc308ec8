"""Volumes of the qemu provider: disk images that outlive guests, attachable to one.

A volume is two files in the block's ``.volumes/`` directory: its image
(``NAME.qcow2`` or ``NAME.img``) and its marker (``NAME.json``, the spec as
applied). A create writes the marker as ``NAME.creating.json`` first, then the
image, then renames the marker: a create killed in between leaves a leftover
the next plan deletes. The size is read from the image (drift shows). A volume
grows in place: over QMP (``block_resize`` of the node ``volN`` of the guest it
is attached to) while that guest runs, with ``qemu-img resize`` otherwise.
Deleting a guest never deletes its volumes.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from provisioner.core.address import Address
from provisioner.core.resources import LiveObject, Resource
from provisioner.core.specs import GuestSpec, VolumeSpec
from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.kit.ownership import name_taken
from provisioner.providers.qemu.client import NotRunningError, QemuHost
from provisioner.providers.qemu.command import DiskFile
from provisioner.providers.qemu.files import MARKER_FILE, GuestFiles, Tree
from provisioner.providers.qemu.ownership import (
    CREATING_SUFFIX,
    Ownership,
    marked_objects,
    read_marker,
)
from provisioner.providers.qemu.sizes import image_size
from provisioner.testing import kill_point


class Volumes:
    """One provider block's volumes."""

    def __init__(self, host: QemuHost, tree: Tree, ownership: Ownership) -> None:
        self.host = host
        self.tree = tree
        self.ownership = ownership

    def image(self, name: str, fmt: str) -> Path:
        return self.tree.volumes / f"{name}{'.qcow2' if fmt == 'qcow2' else '.img'}"

    def marker(self, name: str) -> Path:
        return self.tree.volumes / f"{name}.json"

    def creating(self, name: str) -> Path:
        return self.tree.volumes / f"{name}{CREATING_SUFFIX}"

    def create(self, resource: Resource) -> None:
        what = str(resource.address)
        volume = VolumeSpec.of(resource.spec)
        done = read_marker(self.marker(resource.name))
        if done is not None:
            if self.ownership.owns_at(done, resource.address):
                return  # an earlier attempt finished
            raise name_taken(what, "volume", resource.name, self.ownership.whose(done))
        image = self.image(resource.name, volume.format)
        if image.exists() and read_marker(self.creating(resource.name)) is None:
            raise name_taken(what, "volume file", image.name, "untagged",
                             hint=f"remove {image} or rename the volume")
        self.tree.volumes.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.ownership.write(self.creating(resource.name), resource.address, resource.spec)
        kill_point(f"qemu:volume-marked:{resource.address}")
        with contextlib.suppress(FileNotFoundError):
            image.unlink()  # a half-made one of ours (its marker says so)
        self.host.image_create(image, volume.size, volume.format, what)
        os.replace(self.creating(resource.name), self.marker(resource.name))

    def grow(self, resource: Resource, live: LiveObject) -> None:
        """The image to the declared size: online in the guest it is attached to."""
        what = str(resource.address)
        volume = VolumeSpec.of(resource.spec)
        attached = self._attached_to(resource.name)
        if attached is not None:
            files, node = attached
            try:
                with self.host.qmp(files.socket, what, CallKind.WRITE) as qmp:
                    qmp("block_resize", **{"node-name": node, "size": volume.size})
            except NotRunningError:
                attached = None
        if attached is None:
            self.host.image_resize(self.image(live.name, volume.format), volume.size,
                                   volume.format, what)
        self.ownership.write(self.marker(resource.name), resource.address, resource.spec)

    def rewrite(self, resource: Resource) -> None:
        """A change that is only the marker's (options)."""
        self.ownership.write(self.marker(resource.name), resource.address, resource.spec)

    def delete(self, live: LiveObject) -> None:
        marker = read_marker(self.marker(live.name)) or read_marker(self.creating(live.name))
        if marker is not None and not self.ownership.owns_at(marker, live.marker_address):
            raise ProviderError(f"{live.address}: the volume '{live.name}' is "
                                f"{self.ownership.whose(marker)}")
        attached = self._attached_to(live.name)
        if attached is not None and self.host.process(attached[0].pidfile,
                                                      attached[0].process_name):
            raise ProviderError(f"{live.address}: the volume is attached to the running "
                                f"guest {attached[0].directory.name}",
                                hint="detach it from the guest (or delete the guest) first")
        with self.host.stats.track(CallKind.WRITE):
            for fmt in ("qcow2", "raw"):
                with contextlib.suppress(FileNotFoundError):
                    self.image(live.name, fmt).unlink()
            for path in (self.marker(live.name), self.creating(live.name)):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        self.tree.prune()

    def inventory(self) -> tuple[list[LiveObject], list[LiveObject]]:
        """This block's volumes, and leftovers of interrupted creates."""
        return marked_objects(self.tree.volumes, self.ownership, self._live)

    def read(self, name: str) -> LiveObject | None:
        marker = read_marker(self.marker(name))
        if marker is None or not self.ownership.owns(marker):
            return None
        return self._live(name, marker.address, dict(marker.memo))

    def disk(self, name: str, node: str) -> DiskFile | None:
        """The volume as a disk of a guest (node ``node``); None when it is not made."""
        live = self.read(name)
        if live is None:
            return None
        fmt = VolumeSpec.of(live.spec).format
        return DiskFile(node, self.image(name, fmt), fmt)

    def _live(self, name: str, address: Address, spec: dict[str, object]) -> LiveObject:
        volume = VolumeSpec.of(spec)
        image = self.image(name, volume.format)
        size = image_size(image, volume.format)
        if size is not None:
            spec["size"] = size
        return LiveObject(address, self.ownership.provider, name,
                          str(image), spec, {"path": str(image), "format": volume.format})

    def _attached_to(self, name: str) -> tuple[GuestFiles, str] | None:
        """The guest of this block the volume is attached to, and its node name there."""
        for path in self.tree.markers():
            if path.name != MARKER_FILE:
                continue
            marker = read_marker(path)
            if marker is None:
                continue
            for index, disk in enumerate(GuestSpec.of(marker.memo).disks):
                if disk.volume == name:
                    return GuestFiles.at(path.parent), f"vol{index}"
        return None
