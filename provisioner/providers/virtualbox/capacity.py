"""Capacity of the VirtualBox host: its CPUs and memory (``list hostinfo``), what every
VM on it reserves (the last bulk read), and the space of the machine folder (``df``
on the host: VBoxManage does not report it), as the one pool ``default``."""

from __future__ import annotations

from provisioner.providers.base import Capacity, PoolCapacity
from provisioner.providers.kit.capacity import GuestLoad, host_capacity, pool_capacity
from provisioner.providers.virtualbox import VirtualBoxConfig
from provisioner.providers.virtualbox.inventory import HostRead
from provisioner.providers.virtualbox.listing import key_values, megabytes
from provisioner.providers.virtualbox.vboxmanage import VBoxManage

POOL = "default"
"""The one pool: the folder VMs are made in."""


def machine_folder(vbox: VBoxManage, settings: VirtualBoxConfig) -> str:
    if settings.basefolder:
        return settings.basefolder
    return key_values(vbox.list("systemproperties")).get("Default machine folder", "")


def capacity(vbox: VBoxManage, settings: VirtualBoxConfig, read: HostRead) -> Capacity:
    info = key_values(vbox.list("hostinfo"))
    cpus = int(info.get("Processor online count") or info.get("Processor count") or 1)
    total = megabytes(info.get("Memory size", ""))
    free = megabytes(info.get("Memory available", ""))
    guests = [GuestLoad(vm.running, vm.cpus, vm.memory) for vm in read.vms]
    host = host_capacity(settings.host or "localhost", cpus, total, min(free, total), guests)
    return Capacity(hosts=[host], pools=[_folder(vbox, machine_folder(vbox, settings))])


def _folder(vbox: VBoxManage, folder: str) -> PoolCapacity:
    """``df -Pk`` of the folder (or of its nearest existing parent: ``df`` needs one)."""
    done = vbox.host_command("sh", "-c", 'p="$1"; while [ ! -e "$p" ]; do p=$(dirname "$p"); '
                                         'done; df -Pk "$p"', "df", folder or "/")
    lines = done.stdout.strip().splitlines() if done.ok else []
    fields = lines[-1].split() if len(lines) > 1 else []
    if len(fields) < 4 or not fields[1].isdigit():
        return PoolCapacity(POOL, 0, 0)
    return pool_capacity(POOL, int(fields[1]) * 1024, int(fields[3]) * 1024)
