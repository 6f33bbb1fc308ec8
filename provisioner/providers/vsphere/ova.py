"""What an OVA holds: its OVF descriptor, and where each file is inside the tar. Pure.

An OVA is a tar archive whose first member is the ``.ovf`` descriptor, followed by the
files it references (disks, a manifest). Only the tar headers and the descriptor are
read; a disk is later streamed from its offset in the archive (``open_member``), never
extracted nor read whole.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_DESCRIPTOR = 16 * 1024 * 1024


class OvaError(ValueError):
    """The file is not an OVA this provider can deploy."""


@dataclass(frozen=True)
class Member:
    name: str
    offset: int
    """Where its bytes start in the archive."""
    size: int


@dataclass(frozen=True)
class Ova:
    descriptor: str
    members: dict[str, Member]

    def member(self, name: str) -> Member:
        """The file ``name`` the descriptor references. Raises OvaError."""
        found = self.members.get(name) or self.members.get(name.rsplit("/", 1)[-1])
        if found is None:
            raise OvaError(f"the OVA has no file '{name}' (files: "
                           f"{', '.join(sorted(self.members)) or 'none'})")
        return found


def read_ova(path: Path) -> Ova:
    """The descriptor and the members of the OVA at ``path``. Raises OvaError."""
    try:
        with tarfile.open(path, "r:") as archive:
            members = {info.name.rsplit("/", 1)[-1]: Member(info.name, info.offset_data,
                                                            info.size)
                       for info in archive.getmembers() if info.isfile()}
            descriptors = [info for info in archive.getmembers()
                           if info.isfile() and info.name.lower().endswith(".ovf")]
            if not descriptors:
                raise OvaError("the OVA has no .ovf descriptor")
            if descriptors[0].size > MAX_DESCRIPTOR:
                raise OvaError(f"its descriptor is {descriptors[0].size} bytes long")
            stream = archive.extractfile(descriptors[0])
            text = stream.read() if stream is not None else b""
    except (tarfile.TarError, OSError) as exc:
        raise OvaError(f"it is not a readable OVA (tar) file: {exc}") from None
    try:
        return Ova(text.decode("utf-8-sig"), members)
    except UnicodeDecodeError:
        raise OvaError("its descriptor is not UTF-8 text") from None


@contextmanager
def open_member(path: Path, member: Member) -> Iterator[BinaryIO]:
    """The archive, open and positioned at ``member``'s first byte (read ``member.size``
    bytes from it)."""
    with path.open("rb") as stream:
        stream.seek(member.offset)
        yield stream
