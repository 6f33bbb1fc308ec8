"""The host's capacity, from the OS: CPUs, memory (``/proc/meminfo``), the guests
under the provider's ``dir`` (every stack's, running or stopped, from their
markers and processes), and the free space of the filesystem ``dir`` is on,
as the one pool (``dir``)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from provisioner.core.specs import GuestSpec
from provisioner.providers.base import CallKind, Capacity
from provisioner.providers.kit.capacity import GuestLoad, host_capacity, pool_capacity
from provisioner.providers.qemu.client import QemuHost
from provisioner.providers.qemu.files import GuestFiles, every_marker
from provisioner.providers.qemu.ownership import read_marker

POOL = "dir"
"""The name of the one storage a qemu provider has: the filesystem of its ``dir``."""


def read_capacity(host: QemuHost, root: Path) -> Capacity:
    with host.stats.track(CallKind.READ):
        memory = _meminfo()
        guests = list(_guests(host, root))
        disk = _filesystem(root)
    node = host_capacity(socket.gethostname(), os.cpu_count() or 1,
                         memory.get("MemTotal", 0), memory.get("MemAvailable", 0), guests)
    return Capacity(hosts=[node], pools=[pool_capacity(POOL, *disk)])


def _guests(host: QemuHost, root: Path) -> list[GuestLoad]:
    """vCPUs and memory of every guest under ``root``, of any stack."""
    found = []
    for path in every_marker(root):
        marker = read_marker(path)
        if marker is None:
            continue
        guest = GuestSpec.of(marker.memo)
        files = GuestFiles.at(path.parent)
        running = host.process(files.pidfile, files.process_name) is not None
        found.append(GuestLoad(running, guest.cpus, guest.memory))
    return found


def _meminfo() -> dict[str, int]:
    """``/proc/meminfo`` in bytes."""
    values = {}
    try:
        lines = Path("/proc/meminfo").read_text(encoding="ascii").splitlines()
    except OSError:
        return {}
    for line in lines:
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return values


def _filesystem(root: Path) -> tuple[int, int]:
    """Size and free bytes of the filesystem ``root`` is (or will be) on."""
    path = root
    while not path.exists() and path != path.parent:
        path = path.parent
    stats = os.statvfs(path)
    return stats.f_blocks * stats.f_frsize, stats.f_bavail * stats.f_frsize

