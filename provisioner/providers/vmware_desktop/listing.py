"""The bulk read: every VM folder under the basefolder in one command, parsed. Pure but
for the scripts it hands to the host.

``DUMP_ALL`` (one ``sh -c`` on the VMware host, whatever the number of VMs)
prints, for each ``BASEFOLDER/*/*.vmx`` and ``*.vmdk``, a line ``==> PATH <==``
then the file: a ``.vmx`` whole, a ``.vmdk`` its first 10752 bytes without NUL
bytes, which hold its text descriptor (a descriptor file is text; a
monolithicSparse vmdk, what vmware-vdiskmanager ``-t 0`` and qemu-img make,
embeds it from byte 512, 20 sectors long). Of a descriptor only the extent lines
are read (``RW 2097152 SPARSE "app-disk0.vmdk"``: sectors of 512 bytes), as
VMware's Virtual Disk Format 5.0 specification describes them.
``DUMP_ONE`` is the same for one VM's folder, after a change.
tests/unit/test_vmware_desktop_listing.py holds the transcripts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from provisioner.providers.vmware_desktop.vmx import Vmx

SECTOR = 512
_DUMP = ('for f in {glob}; do [ -f "$f" ] || continue; printf \'\\n==> %s <==\\n\' "$f"; '
         'case "$f" in *.vmx) cat -- "$f";; *) head -c 10752 -- "$f" | tr -d \'\\000\';; '
         "esac; done")
DUMP_ALL = _DUMP.format(glob='"$1"/*/*.vmx "$1"/*/*.vmdk')
DUMP_ONE = _DUMP.format(glob='"$1"/*.vmx "$1"/*.vmdk')
_HEADER = re.compile(r"^==> (.+) <==$")
_EXTENT = re.compile(r'^(?:RW|RDONLY|NOACCESS)\s+(\d+)\s+\w+\s+"[^"]*"')


@dataclass
class VmFolder:
    """One VM as its folder holds it: its .vmx, and the sizes of the disks beside it."""

    path: str
    """The .vmx file."""
    vmx: Vmx
    running: bool = False
    disk_sizes: dict[str, int] = field(default_factory=dict)
    """Disk file path → virtual size in bytes, for the vmdk files of its folder."""

    @property
    def folder(self) -> str:
        return self.path.rsplit("/", 1)[0]

    @property
    def name(self) -> str:
        """The folder's name: what the provider names a VM (displayName may differ)."""
        return self.folder.rsplit("/", 1)[-1]

    def disk_path(self, file_name: str) -> str:
        """A disk's fileName as a path (VMX keeps it relative to the VM's folder)."""
        return file_name if file_name.startswith("/") else f"{self.folder}/{file_name}"


def split_dump(text: str) -> dict[str, str]:
    """``==> PATH <==`` sections → path → content."""
    found: dict[str, str] = {}
    path: str | None = None
    lines: list[str] = []
    for line in text.split("\n"):
        header = _HEADER.match(line)
        if header is not None:
            if path is not None:
                found[path] = "\n".join(lines)
            path, lines = header.group(1), []
        elif path is not None:
            lines.append(line)
    if path is not None:
        found[path] = "\n".join(lines)
    return found


def descriptor_size(text: str) -> int | None:
    """A vmdk's virtual size in bytes, from its descriptor's extent lines; None when the
    text holds no descriptor (an extent file of a split disk)."""
    start = text.find("# Disk DescriptorFile")
    if start < 0:
        return None
    sectors = [int(match.group(1)) for line in text[start:].splitlines()
               if (match := _EXTENT.match(line.strip()))]
    return sum(sectors) * SECTOR if sectors else None


def parse_dump(text: str, running: list[str]) -> list[VmFolder]:
    """The VMs of a dump (``DUMP_ALL`` or ``DUMP_ONE``), with whether each runs (its
    path among ``running``, from ``vmrun list``), sorted by path."""
    sections = split_dump(text)
    sizes = {path: size for path, content in sections.items()
             if path.lower().endswith(".vmdk") and (size := descriptor_size(content)) is not None}
    on = set(running)
    vms = []
    for path in sorted(sections):
        if path.lower().endswith(".vmx"):
            vm = VmFolder(path, Vmx.parse(sections[path]), path in on)
            vm.disk_sizes = {disk: size for disk, size in sizes.items()
                             if disk.rsplit("/", 1)[0] == vm.folder}
            vms.append(vm)
    return vms


def parse_list(text: str) -> list[str]:
    """``vmrun list``: ``Total running VMs: N`` then one .vmx path a line."""
    return [line.strip() for line in text.splitlines()[1:] if line.strip()]


def by_name(vms: list[VmFolder]) -> Mapping[str, VmFolder]:
    return {vm.name: vm for vm in vms}
