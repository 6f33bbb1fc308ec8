"""The host behind a libvirt connection: its capacity, and the domain type it runs."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

import libvirt

from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind, Capacity, PoolCapacity
from provisioner.providers.kit.capacity import GuestLoad, host_capacity
from provisioner.providers.libvirt.client import LibvirtClient, error_code

if TYPE_CHECKING:
    pass


def read_capacity(client: LibvirtClient) -> Capacity:
    """Host CPUs and memory, what every domain on it reserves (running and stopped),
    and the space of every active pool."""
    conn = client.conn
    info = client.call(CallKind.READ, "host", conn.getInfo)
    total = int(info[1]) * 1024 * 1024
    guests = _guests(client, libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE, running=True)
    guests += _guests(client, libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE, running=False)
    running_memory = sum(guest.memory for guest in guests if guest.running)
    host = host_capacity(client.call(CallKind.READ, "host", conn.getHostname), int(info[2]),
                         total, _available_memory(client, total, running_memory), guests)
    pools = []
    for pool in client.call(CallKind.LIST, "storage pools", conn.listAllStoragePools,
                            libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
        _refresh(client, pool)
        state = client.call(CallKind.READ, pool.name(), pool.info)
        pools.append(PoolCapacity(pool.name(), int(state[1]), int(state[3]),
                                  allocated=int(state[2])))
    return Capacity(hosts=[host], pools=pools)


def _refresh(client: LibvirtClient, pool: libvirt.virStoragePool) -> None:
    """Bring a pool's figures up to date: libvirt updates them when volumes are made or
    deleted through it, not when a qcow2 file grows (what a guest writes, the internal
    snapshots kept in it). A pool busy with a job keeps its last figures."""
    with contextlib.suppress(ProviderError):
        client.call(CallKind.READ, pool.name(), pool.refresh, 0, retry=False)


def _guests(client: LibvirtClient, flag: int, *, running: bool) -> list[GuestLoad]:
    """The vCPUs and memory of the domains listed with ``flag``: every domain on the
    host, this stack's or not."""
    found = []
    for domain in client.call(CallKind.LIST, "domains", client.conn.listAllDomains, flag):
        try:
            state = client.call(CallKind.READ, domain.name(), domain.info)
        except ObjectNotFoundError:
            continue  # gone since the listing
        found.append(GuestLoad(running, int(state[3]), int(state[2]) * 1024))
    return found


def _available_memory(client: LibvirtClient, total: int, running: int) -> int:
    """Memory the host can give guests: free plus reclaimable caches. Drivers without
    node memory statistics (libvirt's test driver): the total minus what running
    domains hold (``running``)."""
    try:
        stats = client.call(CallKind.READ, "host memory", client.conn.getMemoryStats,
                            libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS)
    except ProviderError as exc:
        if error_code(exc) != libvirt.VIR_ERR_NO_SUPPORT:
            raise
        return max(0, total - running)
    kib = sum(int(stats.get(key, 0)) for key in ("free", "buffers", "cached"))
    return kib * 1024


def detect_domain_type(client: LibvirtClient) -> str:
    """``kvm`` when KVM can run ordinary guests on this host, else ``qemu`` (emulation).

    A host may offer /dev/kvm, and libvirt list ``kvm`` as a domain type, while
    its CPU has no hardware virtualization (nested setups such as PVM, which run
    only specially built guest kernels: ordinary guests hang). So ``kvm`` is
    chosen only when the host CPU libvirt describes has ``vmx`` (Intel) or
    ``svm`` (AMD). Works for remote hosts too: it reads libvirt's capabilities."""
    conn = client.conn
    if conn.getType() != "QEMU":
        return "qemu"
    root = ET.fromstring(client.call(CallKind.READ, "host", conn.getCapabilities))
    kvm_offered = any(domain.get("type") == "kvm" for domain in root.iter("domain"))
    features = {feature.get("name") for feature in root.findall("host/cpu/feature")}
    return "kvm" if kvm_offered and features & {"vmx", "svm"} else "qemu"


def machine_types(client: LibvirtClient) -> frozenset[str]:
    """The machine types libvirt offers x86_64 guests here (names and their canonical
    forms: ``pc`` and ``pc-i440fx-7.2``); empty where it lists none (the test driver),
    and then no machine type is refused."""
    root = ET.fromstring(client.call(CallKind.READ, "host", client.conn.getCapabilities))
    names: set[str] = set()
    for machine in root.findall("guest/arch[@name='x86_64']/machine"):
        names |= {name for name in (machine.text, machine.get("canonical")) if name}
    return frozenset(names)
