"""Capacity and requirements of one provider block, from the last bulk read. Pure.

A block places guests on one compute resource: its cluster (``cluster:``),
its standalone host (``host:``), or the datacenter's only one. That compute
resource is the block's one node, so the plan-time check applies to every
guest, wherever DRS puts it: a cluster is reported as a whole, with the
logical CPUs of its connected hosts outside maintenance mode, its effective
memory (what vCenter says those hosts offer VMs), and the vCPUs and memory
of the VMs running and stopped on them (every VM, not only this stack's). A
standalone host reports its own. Datastores are those the compute resource
mounts, with their free space. The provider block's ``capacity:`` settings
(overcommit ratios, reserves) apply on top, as for every provider.
"""

from __future__ import annotations

from provisioner.core.specs import GuestSpec
from provisioner.providers.base import Capacity, HostCapacity, Requirements
from provisioner.providers.kit.capacity import (
    GuestLoad,
    add_storage,
    host_capacity,
    pool_capacity,
    while_running,
)
from provisioner.providers.vsphere import GuestOptions, VsphereConfig, devices
from provisioner.providers.vsphere.facts import Compute, Facts
from provisioner.providers.vsphere.locations import Locator, UnknownNameError

MIB = 1024 * 1024


def capacity(settings: VsphereConfig, facts: Facts) -> Capacity:
    """Raises UnknownNameError when the block's datacenter, cluster or host is unknown."""
    locator = Locator(settings, facts)
    datacenter = locator.datacenter()
    compute = locator.compute(datacenter, settings.cluster,
                               locator.host(datacenter, settings.host))
    pools = []
    for moid in compute.datastores:
        store = facts.datastores.get(moid)
        if store is not None and store.accessible:
            pools.append(pool_capacity(store.name, store.capacity, store.free))
    return Capacity(hosts=[node(compute, facts)], pools=pools)


def node(compute: Compute, facts: Facts) -> HostCapacity:
    """A cluster or standalone host as one node."""
    hosts = [facts.hosts[h] for h in compute.hosts
             if h in facts.hosts and facts.hosts[h].connected and not facts.hosts[h].maintenance]
    total = sum(host.memory for host in hosts)
    if compute.cluster and compute.effective_memory_mb is not None:
        total = min(total, compute.effective_memory_mb * MIB)
    used = sum(host.used_memory_mb for host in hosts) * MIB
    members = {host.moid for host in hosts}
    guests = [GuestLoad(str(record.get("runtime.powerState")) == "poweredOn",
                        int(record.get("config.hardware.numCPU", 0)),
                        int(record.get("config.hardware.memoryMB", 0)) * MIB)
              for record in facts.vms if not record.template
              and (host_ref := record.get("runtime.host")) is not None
              and str(host_ref._moId) in members]
    name = compute.name if compute.cluster or not hosts else hosts[0].name
    return host_capacity(name, sum(host.threads for host in hosts), total,
                         max(0, min(total, total - used)), guests)


def requirements(settings: VsphereConfig, facts: Facts, guest: GuestSpec) -> Requirements:
    """vCPUs and memory of a running guest, and the bytes of its disks per datastore
    (a clone's disks that give no size count at the template's size)."""
    default = _default_datastore(settings, facts, guest)
    template_sizes = _template_sizes(settings, facts, guest)
    storage: dict[str, int] = {}
    for index, disk in enumerate(guest.disks):
        size = (disk.size or 0) or (template_sizes[index] if index < len(template_sizes) else 0)
        add_storage(storage, disk.pool or default, size)
    # node None: the block's one node (see the module docstring), wherever DRS runs it
    return while_running(guest.running, guest.cpus, guest.memory, storage)


def _default_datastore(settings: VsphereConfig, facts: Facts, guest: GuestSpec) -> str:
    named = guest.options_as(GuestOptions).datastore or settings.datastore
    if named:
        return str(named)
    try:
        return Locator(settings, facts).locate(guest).datastore.name
    except UnknownNameError:
        return ""  # the plan-time checks report it


def _template_sizes(settings: VsphereConfig, facts: Facts, guest: GuestSpec) -> list[int]:
    if not guest.clone:
        return []
    locator = Locator(settings, facts)
    try:
        template = locator.template(locator.datacenter(), guest.clone)
    except UnknownNameError:
        return []
    return [disk.size for disk in devices.disks(list(template.get("config.hardware.device", [])))]
