"""Where images live on a datastore, and what a datastore browser search says of them. Pure.

An image of stack ``lab`` imported by provider block ``vc`` is the file::

    [DATASTORE] provisioner-images/lab.vc/NAME/ALGORITHM-HEX.vmdk

The folder ``STACK.BLOCK`` carries the ownership (stack and block names have no
dot), the folder ``NAME`` is the image's object name (``debian-12``, or
``debian-12.r1`` for a second name), and the file is named by the image's
checksum, so one search of ``provisioner-images/STACK.BLOCK`` on each datastore
(``HostDatastoreBrowser.SearchDatastoreSubFolders_Task``) tells the images, their
checksums and formats, without reading any file. While an upload runs, the image's
folder also holds the empty file ``creating``: a folder that still has it, or that
has no image file, is what an interrupted import left (a leftover, deleted by the
next apply).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from provisioner.core.address import Address, Kind, image_instance

ROOT = "provisioner-images"
CREATING = "creating"
"""The empty file an upload writes first into the image's folder and removes last."""
EXTENSIONS = {"vmdk": ".vmdk", "ova": ".ova"}
_FILE_RE = re.compile(r"^(?P<algorithm>sha256|sha512)-(?P<hex>[0-9a-f]{64}|[0-9a-f]{128})"
                      r"\.(?P<ext>vmdk)$")
_PATH_RE = re.compile(r"^\[(?P<datastore>[^\]]+)\]\s*(?P<path>.*?)/*$")


def owner_folder(stack: str, provider: str) -> str:
    """The folder of one provider block's images on each datastore (no datastore)."""
    return f"{ROOT}/{stack}.{provider}"


def image_folder(stack: str, provider: str, name: str) -> str:
    return f"{owner_folder(stack, provider)}/{name}"


def file_name(checksum: str, fmt: str) -> str:
    """``sha256-HEX.vmdk`` for checksum ``sha256:HEX``."""
    algorithm, _, digest = checksum.partition(":")
    return f"{algorithm}-{digest.lower()}{EXTENSIONS.get(fmt, '.' + fmt)}"


def checksum_of(name: str) -> tuple[str, str] | None:
    """(checksum, format) of an image file's name, or None when it is not one."""
    match = _FILE_RE.match(name)
    if match is None:
        return None
    return f"{match['algorithm']}:{match['hex']}", match["ext"]


def datastore_path(datastore: str, path: str) -> str:
    """``[LocalDS_0] provisioner-images/...``: a path as vSphere's APIs take it."""
    return f"[{datastore}] {path}"


def split_datastore_path(text: str) -> tuple[str, str] | None:
    """(datastore, path without trailing /) of ``[DS] path``, or None."""
    match = _PATH_RE.match(text.strip())
    return None if match is None else (match["datastore"], match["path"])


def file_url(server: str, port: int, path: str, datacenter_path: str, datastore: str) -> str:
    """The datastore HTTP file API's URL of ``path`` on ``datastore``."""
    host = f"[{server}]" if ":" in server and not server.startswith("[") else server
    query = urlencode({"dcPath": datacenter_path, "dsName": datastore})
    return f"https://{host}:{port}/folder/{quote(path)}?{query}"


def instance_of(object_name: str, provider: str) -> str:
    """The image instance an object name was made for: ``debian-12`` on block ``vc`` is
    ``debian-12@vc``, ``debian-12.r1`` is ``debian-12@vc.r1`` (see image_object_name)."""
    base, dot, rest = object_name.partition(".")
    return image_instance(base, provider) + (dot + rest if dot else "")


@dataclass(frozen=True)
class Found:
    """One image folder on one datastore, as the search saw it."""

    datastore: str
    name: str
    """The image's object name (its folder's name)."""
    checksum: str | None
    fmt: str | None
    file: str | None
    """The image file's datastore path, or None when the folder has none."""
    size: int
    creating: bool

    @property
    def folder(self) -> str:
        return self.file.rsplit("/", 1)[0] if self.file else ""

    @property
    def complete(self) -> bool:
        return self.file is not None and not self.creating

    def address(self, provider: str) -> Address:
        return Address(Kind.IMAGE, instance_of(self.name, provider))


Listing = tuple[str, Sequence[tuple[str, int, bool]]]
"""(a folder's datastore path, its entries as (name, size, is a folder))."""


def found_images(owner: str, listings: Iterable[Listing]) -> list[Found]:
    """The image folders directly below ``owner`` (``provisioner-images/STACK.BLOCK``)
    in the search results of the datastores."""
    found = []
    for folder, entries in listings:
        where = split_datastore_path(folder)
        if where is None:
            continue
        datastore, path = where
        parent, _, name = path.rpartition("/")
        if parent != owner or not name:
            continue
        files = {entry: size for entry, size, is_folder in entries if not is_folder}
        image = next(((entry, parsed) for entry in sorted(files)
                      if (parsed := checksum_of(entry)) is not None), None)
        full = datastore_path(datastore, f"{path}/{image[0]}") if image else None
        found.append(Found(datastore=datastore, name=name,
                           checksum=image[1][0] if image else None,
                           fmt=image[1][1] if image else None, file=full,
                           size=files.get(image[0], 0) if image else 0,
                           creating=CREATING in files or image is None))
    return found
