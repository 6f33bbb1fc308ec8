"""Capacity of the pool and what a guest reserves, from the last bulk read. Pure.

Each host is a node: its logical CPUs (``cpu_info.cpu_count``), its memory as
``host_metrics`` reports it (total, and free: the control domain's share is
already taken), and the VMs resident on it (running) or pinned to it
(``affinity``, halted), control domain included, every VM of the pool, not
only this stack's. A guest without ``node:`` may run on any host (XAPI
chooses), so the plan checks it against no single host; ``node: auto`` places
it. Storage: every SR that holds disks, with its size and what is used
(``physical_size``, ``physical_utilisation``) and, for a local SR, its host.
"""

from __future__ import annotations

from provisioner.core.specs import GuestSpec
from provisioner.providers.base import Capacity, HostCapacity, PoolCapacity, Requirements
from provisioner.providers.kit.capacity import (
    GuestLoad,
    add_storage,
    host_capacity,
    pool_capacity,
    while_running,
)
from provisioner.providers.xenserver.facts import Pool, Record, number

AUTO = "auto"


def capacity(pool: Pool) -> Capacity:
    hosts = [_host(pool, ref, host) for ref, host in sorted(
        pool.of("host").items(), key=lambda item: str(item[1].get("name_label", "")))]
    pools = [_sr(pool, ref, sr) for ref, sr in sorted(
        pool.of("SR").items(), key=lambda item: str(item[1].get("name_label", "")))
        if sr.get("content_type") != "iso" and number(sr.get("physical_size")) > 0]
    return Capacity(hosts=hosts, pools=pools)


def _host(pool: Pool, ref: str, host: Record) -> HostCapacity:
    metrics = pool.get("host_metrics", host.get("metrics")) or {}
    total = number(metrics.get("memory_total"))
    guests = []
    for vm in pool.of("VM").values():
        if vm.get("is_a_template") or vm.get("is_a_snapshot"):
            continue
        running = vm.get("power_state") == "Running"
        where = vm.get("resident_on") if running else vm.get("affinity")
        if where == ref:
            guests.append(GuestLoad(running, number(vm.get("VCPUs_at_startup"), 1),
                                    number(vm.get("memory_dynamic_max"))))
    cpus = number((host.get("cpu_info") or {}).get("cpu_count"), 1)
    # memory_free is gone from host_metrics in XAPI's model: what runs here is taken
    running = sum(guest.memory for guest in guests if guest.running)
    free = number(metrics.get("memory_free"), max(0, total - running))
    return host_capacity(str(host.get("name_label", "")), cpus, total, free, guests)


def _sr(pool: Pool, ref: str, sr: Record) -> PoolCapacity:
    size = number(sr.get("physical_size"))
    used = number(sr.get("physical_utilisation"))
    found = pool_capacity(str(sr.get("name_label", "")), size, size - used)
    return PoolCapacity(found.pool, found.capacity, found.available,
                        allocated=number(sr.get("virtual_allocation")),
                        node=pool.sr_host(ref))


def requirements(pool: Pool, default_sr: str, guest: GuestSpec) -> Requirements:
    """vCPUs and memory while it runs, on its ``node:`` (None: any host); its disks'
    bytes per SR name (a clone's disks that give no size count at the template's)."""
    sizes = template_sizes(pool, guest.clone)
    storage: dict[str, int] = {}
    for index, disk in enumerate(guest.disks):
        size = disk.size or (sizes[index][1] if index < len(sizes) else 0)
        where = disk.pool or (sizes[index][0] if index < len(sizes) else default_sr)
        add_storage(storage, where, size)
    node = guest.node if guest.node and guest.node != AUTO else None
    return while_running(guest.running, guest.cpus, guest.memory, storage, node)


def template_sizes(pool: Pool, clone: str | None) -> list[tuple[str, int]]:
    """(SR name, size) of each disk of the template."""
    template = pool.get("VM", pool.templates().get(clone or ""))
    if template is None:
        return []
    return [(pool.name("SR", vdi.get("SR")) or "", number(vdi.get("virtual_size")))
            for _r, _b, vdi in pool.disks(template) if vdi is not None]
