"""Writing an empty monolithicSparse vmdk, as vmware-vdiskmanager ``-t 0`` makes one.

The layout is the one VMware's Virtual Disk Format 5.0 specification describes:
a 512-byte ``KDMV`` header, the text descriptor in sectors 1-20, the grain
directory from sector 21, then the grain tables (512 entries of 4 bytes each,
every entry 0: nothing written yet), padded to a whole grain of 64 KiB. Standard
library only (the fake runs without site packages); ``qemu-img info`` reads
what it writes (tests/unit/test_vmware_desktop_fake.py checks that).
"""

from __future__ import annotations

import os
import struct

SECTOR = 512
GRAIN = 128
"""Sectors per grain (64 KiB)."""
GTES = 512
DESCRIPTOR_AT, DESCRIPTOR_SECTORS = 1, 20


def descriptor(capacity: int, file_name: str, adapter: str) -> str:
    """The text descriptor of a disk of ``capacity`` sectors."""
    cylinders = min(capacity // (255 * 63), 65535)
    return ("# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=fffffffe\n"
            "parentCID=ffffffff\ncreateType=\"monolithicSparse\"\n\n# Extent description\n"
            f"RW {capacity} SPARSE \"{file_name}\"\n\n# The Disk Data Base\n#DDB\n\n"
            f"ddb.adapterType = \"{adapter}\"\nddb.geometry.cylinders = \"{cylinders}\"\n"
            "ddb.geometry.heads = \"255\"\nddb.geometry.sectors = \"63\"\n"
            "ddb.virtualHWVersion = \"21\"\n")


def write_sparse(path: str, size: int, adapter: str = "lsilogic") -> None:
    """An empty disk of ``size`` bytes (rounded up to a sector) at ``path``."""
    capacity = -(-size // SECTOR)
    tables = -(-capacity // (GTES * GRAIN))
    gd_at = DESCRIPTOR_AT + DESCRIPTOR_SECTORS
    gd_sectors = -(-tables * 4 // SECTOR)
    gt_at = gd_at + gd_sectors
    gt_sectors = GTES * 4 // SECTOR
    overhead = -(-(gt_at + tables * gt_sectors) // GRAIN) * GRAIN
    header = struct.pack("<4sIIQQQQIQQQB4sH", b"KDMV", 1, 1, capacity, GRAIN, DESCRIPTOR_AT,
                         DESCRIPTOR_SECTORS, GTES, 0, gd_at, overhead, 0, b"\n \r\n", 0)
    text = descriptor(capacity, os.path.basename(path), adapter).encode()
    directory = b"".join(struct.pack("<I", gt_at + n * gt_sectors) for n in range(tables))
    with open(path, "wb") as out:
        out.write(header.ljust(SECTOR, b"\0"))
        out.write(text.ljust(DESCRIPTOR_SECTORS * SECTOR, b"\0"))
        out.write(directory.ljust(gd_sectors * SECTOR, b"\0"))
        out.truncate(overhead * SECTOR)


def capacity_of(path: str) -> int:
    """The size in bytes a disk's header says (0 when it is not a sparse vmdk)."""
    with open(path, "rb") as disk:
        head = disk.read(SECTOR)
    if head[:4] != b"KDMV":
        return 0
    return int(struct.unpack_from("<Q", head, 12)[0]) * SECTOR
