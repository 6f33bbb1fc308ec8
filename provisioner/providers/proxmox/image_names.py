"""Names of imported images on a Proxmox storage, and the multipart body that uploads one.

A volume has neither tags nor notes, so its file name carries the ownership and the
content, as storage ids do (``ownership.py``): ``STACK_PROVIDER_NAME.ALGO-HEX.EXT`` under
``import/`` (disk images, PVE 8.2+) or ``iso/``. The bulk read (one content listing per
storage) then knows each image's checksum without another call. Pure: no I/O but the
file the body streams.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from provisioner.providers.proxmox.facts import Facts
from provisioner.providers.proxmox.ownership import Ownership

EXTENSIONS = {"qcow2": "qcow2", "raw": "raw", "vmdk": "vmdk", "iso": "iso"}
IMPORT_FORMATS = frozenset({"qcow2", "raw", "vmdk"})
FORMATS = frozenset(EXTENSIONS)
_NAME = re.compile(r"^(?P<content>import|iso)/(?P<owner>[^_/]+_[^_/]+)_(?P<name>[^_/]+?)"
                   r"\.(?P<algo>md5|sha1|sha224|sha256|sha384|sha512)-(?P<hex>[0-9a-f]+)"
                   r"\.(?P<ext>qcow2|raw|vmdk|iso)$")
CHUNK = 1024 * 1024


def content_of(fmt: str) -> str:
    """The storage content type an image of ``fmt`` goes in."""
    return "iso" if fmt == "iso" else "import"


def image_nodes(facts: Facts, sid: str) -> list[str]:
    """The nodes an image on storage ``sid`` goes to: each node the storage is enabled
    on (a guest may be placed on any of them), or one of them if it is shared."""
    info = facts.storages.get(sid)
    nodes = sorted(info.nodes) if info is not None and info.nodes else facts.online_nodes()
    return nodes[:1] if info is not None and info.shared else nodes


def file_name(owner: Ownership, name: str, checksum: str, fmt: str) -> str:
    """The file an image is imported as: ``debian-12`` of stack ``lab``, block ``pve`` →
    ``lab_pve_debian-12.sha256-HEX.qcow2``."""
    algo, _, digest = checksum.partition(":")
    return f"{owner.stack}_{owner.provider}_{name}.{algo}-{digest.lower()}.{EXTENSIONS[fmt]}"


@dataclass(frozen=True)
class ImageVolume:
    """One image volume as a content listing names it."""

    storage: str
    volname: str
    """``import/FILE`` or ``iso/FILE``."""
    name: str
    checksum: str
    format: str
    ctime: int = 0

    @property
    def volid(self) -> str:
        return f"{self.storage}:{self.volname}"


def parse_volume(owner: Ownership, volid: str, ctime: int = 0) -> ImageVolume | None:
    """The image a volume id names if it is one of this block's, else None."""
    storage, _, volname = volid.partition(":")
    match = _NAME.match(volname)
    if match is None or match["owner"] != f"{owner.stack}_{owner.provider}":
        return None
    fmt = match["ext"]
    if (match["content"] == "iso") != (fmt == "iso"):
        return None
    return ImageVolume(storage, volname, match["name"], f"{match['algo']}:{match['hex']}",
                       fmt, ctime)


class MultipartFile:
    """A multipart/form-data body of some fields and one file, read in chunks by the HTTP
    client (``read``), with its length known up front (PVE wants Content-Length)."""

    def __init__(self, fields: Mapping[str, object], path: Path, filename: str) -> None:
        self.boundary = uuid.uuid4().hex
        head = b"".join(
            f"--{self.boundary}\r\nContent-Disposition: form-data; name=\"{key}\"\r\n\r\n"
            f"{value}\r\n".encode() for key, value in fields.items())
        head += (f"--{self.boundary}\r\nContent-Disposition: form-data; name=\"filename\"; "
                 f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                 ).encode()
        self.path = path
        self.parts = [head, f"\r\n--{self.boundary}--\r\n".encode()]
        self.length = len(head) + path.stat().st_size + len(self.parts[1])
        self._chunks: Iterator[bytes] | None = None
        self._pending = b""
        self._offset = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        yield self.parts[0]
        with self.path.open("rb") as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
        yield self.parts[1]

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all the rest with -1: only for tests of small files).
        Served from the current piece by offset: no copy of what is left per read."""
        if self._chunks is None:
            self._chunks = iter(self)
        out = []
        want = size
        while want != 0:
            if self._offset >= len(self._pending):
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._pending, self._offset = chunk, 0
            end = len(self._pending) if want < 0 else min(len(self._pending),
                                                          self._offset + want)
            out.append(self._pending[self._offset:end])
            if want > 0:
                want -= end - self._offset
            self._offset = end
        return b"".join(out)
