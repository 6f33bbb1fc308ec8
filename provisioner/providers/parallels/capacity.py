"""Capacity of the Mac: its CPUs and memory (``sysctl hw.ncpu hw.memsize``; prlctl does
not report them), what every VM on it reserves (the last bulk read), and the space of
the folder VMs are made in (``df``), as the one pool ``default``."""

from __future__ import annotations

from provisioner.providers.base import Capacity, PoolCapacity
from provisioner.providers.kit.capacity import GuestLoad, host_capacity, pool_capacity
from provisioner.providers.parallels import ParallelsConfig
from provisioner.providers.parallels.inventory import HostRead
from provisioner.providers.parallels.prlctl import Prlctl

POOL = "default"
"""The one pool: the folder VMs are made in."""
_SIZE = ('sysctl -n hw.ncpu hw.memsize 2>/dev/null || { getconf _NPROCESSORS_ONLN; '
         'echo $(( $(getconf _PHYS_PAGES) * $(getconf PAGE_SIZE) )); }')
"""sysctl on a Mac; getconf where the commands run on another system (tests)."""


def capacity(prl: Prlctl, settings: ParallelsConfig, read: HostRead) -> Capacity:
    done = prl.host_command("sh", "-c", _SIZE)
    numbers = [int(word) for word in done.stdout.split() if word.isdigit()] if done.ok else []
    cpus, memory = (numbers[0], numbers[1]) if len(numbers) >= 2 else (1, 0)
    guests = [GuestLoad(vm.running, vm.cpus, vm.memory) for vm in read.vms]
    host = host_capacity(settings.host or "localhost", cpus, memory, memory, guests)
    return Capacity(hosts=[host], pools=[_folder(prl, settings.basefolder or "$HOME")])


def _folder(prl: Prlctl, folder: str) -> PoolCapacity:
    """``df -Pk`` of the folder (or of its nearest existing parent: ``df`` needs one)."""
    done = prl.host_command("sh", "-c", 'p="$1"; [ "$p" = "\\$HOME" ] && p="$HOME"; '
                                        'while [ ! -e "$p" ]; do p=$(dirname "$p"); done; '
                                        'df -Pk "$p"', "df", folder)
    lines = done.stdout.strip().splitlines() if done.ok else []
    fields = lines[-1].split() if len(lines) > 1 else []
    if len(fields) < 4 or not fields[1].isdigit():
        return PoolCapacity(POOL, 0, 0)
    return pool_capacity(POOL, int(fields[1]) * 1024, int(fields[3]) * 1024)
