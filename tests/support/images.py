"""Small disk images for image tests: a qcow2 whose disk starts with a text the tiny
guest prints (``head -c 15 /dev/vda``), and its sha256."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

MARK_LENGTH = 15


def marked_image(directory: Path, name: str, mark: str, size: int = 8 << 20) -> str:
    """Write ``directory/name``, a qcow2 disk of ``size`` bytes starting with ``mark``
    (15 characters); return its checksum (``sha256:HEX``)."""
    assert len(mark) == MARK_LENGTH
    raw = directory / f"{name}.raw"
    with raw.open("wb") as stream:
        stream.write(mark.encode() + b"\n")
        stream.truncate(size)
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", str(raw),
                    str(directory / name)], check=True)
    raw.unlink()
    return "sha256:" + hashlib.sha256((directory / name).read_bytes()).hexdigest()


PRINT_DISK = """#!/bin/sh
echo "TINY: disk starts $(head -c 15 /dev/vda)"
"""
"""user-data for the tiny guest: prints the first bytes of its first disk."""
