"""Capacity of the VMware host: its CPUs and memory and the basefolder's free space, read
with one shell command (vmrun reports none of them), and what every VM under the
basefolder reserves (the last bulk read). The basefolder is the one pool ``default``.

The script prints three lines: online CPUs, total and available memory in KiB
(Linux ``/proc/meminfo``; macOS ``sysctl hw.memsize``, with no "available": the
total stands for it), then ``df -Pk`` of the basefolder or its nearest existing
parent.
"""

from __future__ import annotations

from provisioner.providers.base import Capacity, PoolCapacity
from provisioner.providers.kit.capacity import GuestLoad, host_capacity, pool_capacity
from provisioner.providers.vmware_desktop.inventory import HostRead
from provisioner.providers.vmware_desktop.read import MIB
from provisioner.providers.vmware_desktop.vmrun import Vmrun

POOL = "default"
SCRIPT = (
    "getconf _NPROCESSORS_ONLN 2>/dev/null || sysctl -n hw.ncpu; "
    "if [ -r /proc/meminfo ]; then "
    "awk '/^MemTotal:/{t=$2} /^MemAvailable:/{a=$2} END{print t, a}' /proc/meminfo; "
    "else m=$(($(sysctl -n hw.memsize) / 1024)); echo \"$m $m\"; fi; "
    'p="$1"; while [ ! -e "$p" ]; do p=$(dirname "$p"); done; df -Pk "$p" | tail -n 1')


def parse(text: str) -> tuple[int, int, int, int, int]:
    """(cpus, memory total, memory free, disk total, disk free), bytes; zeros when
    a line is missing."""
    lines = text.strip().splitlines()
    cpus = int(lines[0]) if lines and lines[0].strip().isdigit() else 1
    memory = [int(v) * 1024 for v in lines[1].split()] if len(lines) > 1 else []
    total, free = [*memory, 0, 0][:2]
    disk = lines[2].split() if len(lines) > 2 else []
    ok = len(disk) >= 4 and disk[1].isdigit() and disk[3].isdigit()
    return (cpus, total, free, int(disk[1]) * 1024 if ok else 0,
            int(disk[3]) * 1024 if ok else 0)


def capacity(vmrun: Vmrun, read: HostRead) -> Capacity:
    done = vmrun.shell(SCRIPT, vmrun.settings.basefolder)
    cpus, total, free, disk_total, disk_free = parse(done.stdout if done.ok else "")
    guests = [GuestLoad(vm.running, int(vm.vmx.get("numvcpus") or 1),
                        int(vm.vmx.get("memsize") or 0) * MIB) for vm in read.vms]
    host = host_capacity(vmrun.settings.host or "localhost", cpus, total, min(free, total),
                         guests)
    pool: PoolCapacity = pool_capacity(POOL, disk_total, disk_free)
    return Capacity(hosts=[host], pools=[pool])
