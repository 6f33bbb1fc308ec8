"""The virtual size of a disk image, read from the file itself (no program run)."""

from __future__ import annotations

import struct
from pathlib import Path

QCOW2_MAGIC = b"QFI\xfb"


def image_size(path: Path, fmt: str) -> int | None:
    """The virtual size of a disk image, from its header (qcow2) or its length (raw);
    None when the file is gone or is not what ``fmt`` says."""
    try:
        if fmt != "qcow2":
            return path.stat().st_size
        with path.open("rb") as image:
            header = image.read(32)
    except OSError:
        return None
    if len(header) < 32 or header[:4] != QCOW2_MAGIC:
        return None
    size: int = struct.unpack(">Q", header[24:32])[0]
    return size


def backing_file(path: Path) -> str | None:
    """The backing file a qcow2 image names in its header (None: none, or not qcow2)."""
    try:
        with path.open("rb") as image:
            header = image.read(20)
            if len(header) < 20 or header[:4] != QCOW2_MAGIC:
                return None
            offset, length = struct.unpack(">QI", header[8:20])
            if not offset or not length or length > 4096:
                return None
            image.seek(offset)
            return image.read(length).decode("utf-8", "replace")
    except OSError:
        return None
