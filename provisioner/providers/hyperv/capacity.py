"""Capacity of the Hyper-V host, from the last bulk read: its logical processors and
memory (``Get-VMHost``, free memory from ``Win32_OperatingSystem``), what every VM on
it reserves, and the drive of its VM folder as the one pool ``default``."""

from __future__ import annotations

from provisioner.providers.base import Capacity
from provisioner.providers.hyperv.listing import HostRead
from provisioner.providers.kit.capacity import GuestLoad, host_capacity, pool_capacity

POOL = "default"
"""The one pool: the drive VMs are made on."""


def capacity(read: HostRead) -> Capacity:
    host = read.host
    guests = [GuestLoad(vm.running, vm.cpus, vm.memory) for vm in read.vms]
    return Capacity(hosts=[host_capacity(host.name, host.cpus, host.memory,
                                         min(host.free_memory, host.memory), guests)],
                    pools=[pool_capacity(POOL, host.disk_used + host.disk_free,
                                         host.disk_free)])
