"""Capacity: free memory and CPUs per node, free space per storage; what a resource needs.

Nodes come from the listing the plan already made (``/cluster/resources``);
storage space from each node's ``/nodes/NODE/storage`` (one LIST per node:
the cluster-wide listing does not say what is free on each node). A storage
local to each node (``local-lvm``) is counted per node as ``local-lvm@pve2``
on a cluster of several nodes, so the plan names the node that runs out.
"""

from __future__ import annotations

from provisioner.core.address import Kind
from provisioner.core.resources import Resource
from provisioner.core.specs import ContainerSpec, GuestSpec, ImageSpec
from provisioner.providers.base import (
    CallKind,
    Capacity,
    HostCapacity,
    PoolCapacity,
    Requirements,
)
from provisioner.providers.kit.capacity import (
    GuestLoad,
    add_storage,
    host_capacity,
    pool_capacity,
    while_running,
)
from provisioner.providers.proxmox import GuestOptions
from provisioner.providers.proxmox.context import Context
from provisioner.providers.proxmox.facts import Facts
from provisioner.providers.proxmox.image_names import image_nodes
from provisioner.providers.proxmox.props import to_bool, to_int


def read_capacity(ctx: Context) -> Capacity:
    facts = ctx.cluster.known_facts()
    nodes = [n for n in ctx.nodes.allowed(facts) if n in facts.nodes and facts.nodes[n].online]
    hosts = [_host(facts, n) for n in nodes]
    pools: dict[str, PoolCapacity] = {}
    for node in nodes:
        for item in ctx.client.get(CallKind.LIST, f"storage of {node}",
                                   f"nodes/{node}/storage", enabled=1) or []:
            if not to_bool(item.get("active")):
                continue
            key = facts.storage_key(str(item.get("storage")), node)
            pools.setdefault(key, pool_capacity(key, to_int(item.get("total")) or 0,
                                                to_int(item.get("avail")) or 0))
    return Capacity(hosts=hosts, pools=list(pools.values()))


def _host(facts: Facts, node: str) -> HostCapacity:
    """A node's size, and what every guest on it (templates aside) reserves."""
    info = facts.nodes[node]
    return host_capacity(node, info.cpus, info.memory_total,
                         max(0, info.memory_total - info.memory_used),
                         [GuestLoad(g.running, g.cpus, g.memory) for g in facts.guests
                          if g.node == node and not g.template])


def requirements(ctx: Context, resource: Resource) -> Requirements:
    """vCPUs and memory while it runs; bytes per storage (keyed as capacity keys them).
    Pure; works on partial specs too (a live object being deleted, whose fields Proxmox
    did not report)."""
    facts = ctx.cluster.facts
    node = _node(ctx, resource, facts)
    storage: dict[str, int] = {}

    def add(path: str, pool: str | None, size: int | None) -> None:
        if size:
            sid = ctx.names.storage_id(resource, path, pool)
            add_storage(storage, facts.storage_key(sid, node) if node else sid, size)

    reported = "cpus" in resource.spec  # a live object may not report it: then none
    if resource.kind is Kind.GUEST:
        guest = GuestSpec.of(resource.spec)
        for index, disk in enumerate(guest.disks):
            add(f"disks[{index}].pool", disk.pool, disk.size)
        sockets = guest.options_as(GuestOptions).sockets or 1
        cpus, memory, running = guest.cpus * sockets, guest.memory, guest.running
    elif resource.kind is Kind.CONTAINER:
        box = ContainerSpec.of(resource.spec)
        add("rootfs.pool", box.rootfs.pool, box.rootfs.size)
        for index, mount in enumerate(box.mounts):
            add(f"mounts[{index}].pool", mount.pool, mount.size)
        cpus, memory, running = box.cpus, box.memory, box.running
    elif resource.kind is Kind.IMAGE:  # the file, on each node it goes to
        sid = ctx.names.storage_id(resource, "pool", ImageSpec.of(resource.spec).pool)
        for at in image_nodes(facts, sid):
            add_storage(storage, facts.storage_key(sid, at),
                        int(resource.settings.get("size") or 0))
        return Requirements(storage={k: v for k, v in storage.items() if v})
    else:
        return Requirements()
    return while_running(running, cpus if reported else 0, memory, storage, node)


def _node(ctx: Context, resource: Resource, facts: Facts) -> str | None:
    declared = GuestSpec.of(resource.spec).node
    if declared == "auto":
        return None
    if declared:
        return str(declared)
    if ctx.settings.nodes:
        return ctx.settings.nodes[0]
    return next(iter(facts.nodes)) if len(facts.nodes) == 1 else None
