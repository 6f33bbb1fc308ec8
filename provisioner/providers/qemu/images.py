"""Images of the qemu provider: files in the block's ``.images/`` directory that guests'
disks start from (each disk is a qcow2 overlay naming the image as its backing file).

An image is ``NAME.EXT`` (``.qcow2``, ``.img`` for raw, ``.iso``, ``.vmdk``) and its
marker ``NAME.json`` (the spec as applied: checksum, format). A create fetches the
verified file into the machine's image cache, writes the marker as
``NAME.creating.json``, hard-links the cached file into place (a copy across file
systems) and renames the marker: a create killed in between leaves a leftover the
next plan deletes. A deleted image whose file still backs a guest's disk, of this
stack or another, is refused naming the disk: deleting it would break that guest.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from provisioner.core.address import Address, image_object_name
from provisioner.core.resources import LiveObject, Resource
from provisioner.core.specs import ImageSpec
from provisioner.errors import ProviderError
from provisioner.images.local import image_file
from provisioner.providers.base import CallKind, ProviderStats
from provisioner.providers.kit.ownership import name_taken
from provisioner.providers.qemu.files import Tree
from provisioner.providers.qemu.ownership import (
    CREATING_SUFFIX,
    Ownership,
    marked_objects,
    read_marker,
)
from provisioner.providers.qemu.sizes import backing_file
from provisioner.testing import kill_point

EXTENSIONS = {"qcow2": ".qcow2", "raw": ".img", "iso": ".iso", "vmdk": ".vmdk", "ova": ".ova"}
MISSING = "(the file is missing)"


class Images:
    """One provider block's images."""

    def __init__(self, tree: Tree, ownership: Ownership, stats: ProviderStats,
                 directory: Path | None) -> None:
        self.tree = tree
        self.ownership = ownership
        self.stats = stats
        self.directory = directory
        """The stack's directory: where an image's relative path starts."""

    def file(self, name: str, fmt: str) -> Path:
        return self.tree.images / f"{name}{EXTENSIONS.get(fmt, '.img')}"

    def marker(self, name: str) -> Path:
        return self.tree.images / f"{name}.json"

    def creating(self, name: str) -> Path:
        return self.tree.images / f"{name}{CREATING_SUFFIX}"

    def path_of(self, name: str) -> Path | None:
        """The file of image ``name`` once imported (None: not imported)."""
        marker = read_marker(self.marker(name))
        if marker is None or not self.ownership.owns(marker):
            return None
        return self.file(name, str(marker.memo.get("format") or "qcow2"))

    def create(self, resource: Resource) -> LiveObject:
        """Fetch, verify and place the image. If this raises, nothing but a marked
        leftover (deleted by the next plan) is left here."""
        what, name = str(resource.address), image_object_name(resource.name)
        done = read_marker(self.marker(name))
        if done is not None:
            if self.ownership.owns_at(done, resource.address):
                return self._live(name, done.address, dict(done.memo))
            raise name_taken(what, "image", name, self.ownership.whose(done))
        target = self.file(name, ImageSpec.of(resource.spec).format or "raw")
        if target.exists() and read_marker(self.creating(name)) is None:
            raise name_taken(what, "image file", target.name, "untagged",
                             hint=f"remove {target} or rename the image")
        cached = image_file(resource, self.directory)
        self.tree.images.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.ownership.write(self.creating(name), resource.address, resource.spec)
        kill_point(f"qemu:image-marked:{resource.address}")
        with self.stats.track(CallKind.WRITE):
            with contextlib.suppress(FileNotFoundError):
                target.unlink()  # a half-made one of ours (its marker says so)
            _link_or_copy(cached, target)
        os.replace(self.creating(name), self.marker(name))
        return self._live(name, resource.address, dict(resource.spec))

    def delete(self, live: LiveObject) -> None:
        """Remove the image and its marker; already gone is success. Refused while a
        disk under this provider's directory is an overlay of it."""
        marker = read_marker(self.marker(live.name)) or read_marker(self.creating(live.name))
        if marker is not None and not self.ownership.owns_at(marker, live.marker_address):
            raise ProviderError(f"{live.address}: the image '{live.name}' is "
                                f"{self.ownership.whose(marker)}")
        files = [self.file(live.name, fmt) for fmt in EXTENSIONS]
        users = self._overlays_of(files)
        if users:
            shown = ", ".join(str(path) for path in users[:3])
            raise ProviderError(f"{live.address}: the image backs disks that still exist "
                                f"({shown})",
                                hint="delete the guests made from it first; deleting it "
                                     "would break them")
        with self.stats.track(CallKind.WRITE):
            for path in (*files, self.marker(live.name), self.creating(live.name)):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        self.tree.prune()

    def inventory(self) -> tuple[list[LiveObject], list[LiveObject]]:
        """This block's images, and leftovers of interrupted creates."""
        return marked_objects(self.tree.images, self.ownership, self._live)

    def _live(self, name: str, address: Address, spec: dict[str, object]) -> LiveObject:
        path = self.file(name, str(spec.get("format") or "qcow2"))
        if not path.is_file():
            spec["checksum"] = MISSING  # drift: planned as a replacement
        return LiveObject(address, self.ownership.provider, name, str(path), spec,
                          {"path": str(path), "format": spec.get("format")})

    def _overlays_of(self, files: list[Path]) -> list[Path]:
        """Disk images under the provider's directory (every stack's guests) whose
        backing file is one of ``files``."""
        wanted = {str(path) for path in files if path.exists()}
        if not wanted:
            return []
        return [disk for disk in sorted(self.tree.root.rglob("disk*.qcow2"))
                if backing_file(disk) in wanted]


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link to the cached file (no second copy of the bytes); a copy when the
    cache is on another file system. Either way read-only: guests' overlays rely on
    the image never changing."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
        os.chmod(target, 0o444)
