"""What an image file holds, from its first bytes: the format, and for qcow2 and vmdk
the size of the disk it describes (larger than the file: its blocks are sparse)."""

from __future__ import annotations

import struct

HEADER_BYTES = 64 * 1024
"""Enough of a file to tell its format (an ISO's volume descriptor is at 32 KiB)."""


def detect_format(header: bytes) -> str:
    """``qcow2``, ``vmdk``, ``iso``, ``ova`` (a tar archive) or ``raw``."""
    if header[:4] == b"QFI\xfb":
        return "qcow2"
    if header[:4] == b"KDMV":
        return "vmdk"
    if header[0x8001:0x8006] == b"CD001":
        return "iso"
    if header[257:262] == b"ustar":
        return "ova"
    return "raw"


def virtual_size(header: bytes, fmt: str, file_size: int) -> int:
    """The size of the disk the image gives a guest: qcow2's header field, vmdk's
    capacity in sectors, else the file's own size."""
    if fmt == "qcow2" and len(header) >= 32:
        return int(struct.unpack(">Q", header[24:32])[0])
    if fmt == "vmdk" and len(header) >= 20:
        return int(struct.unpack("<Q", header[12:20])[0]) * 512
    return file_size
