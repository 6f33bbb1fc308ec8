"""Running guests as libvirt's bulk statistics show them, against their definitions.

A plan reads each guest's stored definition (what survives a restart, and what
provisioner writes) and, in one call for all domains, the statistics of the
running ones (``virConnectGetAllDomainStats``). They give the vCPUs online
now, the live maximum vCPUs and memory, the disks by target and the number of
NICs, and the virtual size of each disk image a running guest has open (QEMU's
view, the same bytes as ``virStorageVolGetInfo`` reports).

What a driver does not report is simply absent: libvirt's test driver reports
only the state, so there guests are read from their definitions alone. Where
the statistics show a running guest with other disks or another number of NICs
than its definition, its running XML is read (one more call, for that guest).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

import libvirt

from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.libvirt.client import LibvirtClient, error_code

Stats = Mapping[str, Any]
"""One domain's statistics: ``vcpu.current``, ``block.0.name``, ``net.count``, ..."""

STATS = (libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_VCPU
         | libvirt.VIR_DOMAIN_STATS_BALLOON | libvirt.VIR_DOMAIN_STATS_BLOCK
         | libvirt.VIR_DOMAIN_STATS_INTERFACE)
# NOWAIT: a guest busy with a long job (a migration, a hung monitor) must not hold
# up the plan; its values that need QEMU (disk sizes) are then left out.
FLAGS = (libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE
         | libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT)
_NO_BULK_STATS = {libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_INVALID_ARG}


def running_stats(client: LibvirtClient,
                  domains: Sequence[libvirt.virDomain] | None = None) -> dict[str, Stats]:
    """Domain name → statistics, for every running domain (one LIST call) or for
    ``domains`` (one READ call). Empty from a driver without bulk statistics."""
    conn = client.conn
    try:
        if domains is None:
            records = client.call(CallKind.LIST, "domain statistics", conn.getAllDomainStats,
                                  STATS, FLAGS)
        else:
            records = client.call(CallKind.READ, "domain statistics", conn.domainListGetStats,
                                  list(domains), STATS, FLAGS)
    except ProviderError as exc:
        if error_code(exc) in _NO_BULK_STATS:
            return {}
        raise
    return {domain.name(): stats for domain, stats in records}


def disk_capacities(stats: Mapping[str, Stats]) -> dict[str, int]:
    """Image path → virtual size in bytes, of every disk the statistics size."""
    sizes: dict[str, int] = {}
    for record in stats.values():
        for index in range(int(record.get("block.count", 0))):
            path = record.get(f"block.{index}.path")
            capacity = record.get(f"block.{index}.capacity")
            if path and capacity is not None:
                sizes[str(path)] = int(capacity)
    return sizes


def live_limits(stats: Stats) -> dict[str, int]:
    """The maximum vCPUs and memory the running guest can grow to, where reported."""
    limits = {}
    if "vcpu.maximum" in stats:
        limits["max_cpus"] = int(stats["vcpu.maximum"])
    if "balloon.maximum" in stats:
        limits["max_memory"] = int(stats["balloon.maximum"]) * 1024
    return limits


def devices_differ(stats: Stats, stored: ET.Element) -> bool:
    """Whether the running guest has other disks (by target) or another number of
    NICs than its stored definition, as far as the statistics tell."""
    if "block.count" in stats:
        running = {stats.get(f"block.{i}.name") for i in range(int(stats["block.count"]))}
        defined = {target.get("dev") for target in stored.findall("devices/disk/target")}
        if running != defined:
            return True
    return "net.count" in stats and int(stats["net.count"]) != len(
        stored.findall("devices/interface"))


def running_values(stats: Stats, stored_spec: Mapping[str, Any]) -> dict[str, Any]:
    """The stored spec with what the statistics say the running guest has instead."""
    if "vcpu.current" not in stats:
        return dict(stored_spec)
    return {**stored_spec, "cpus": int(stats["vcpu.current"])}


def pending(stored: Mapping[str, Any], running: Mapping[str, Any],
            applied: Mapping[str, Any]) -> dict[str, Any]:
    """Where a running guest and its stored definition differ, the running values the
    plan must see instead of the stored ones: those that departed from what
    provisioner last wrote (``applied``) while the definition did not, so a change
    made with ``virsh ... --live`` and one made with ``--config`` both show. Memory
    always comes from the definition: a running guest's memory is its balloon's
    reading."""
    return {key: value for key, value in running.items()
            if key != "memory" and value != stored.get(key)
            and not _matches(applied.get(key), value) and _matches(applied.get(key),
                                                                   stored.get(key))}


def _matches(declared: Any, observed: Any) -> bool:
    """Whether ``observed`` is what ``declared`` asks (None asks nothing), as the
    planner's diff sees it."""
    if declared is None:
        return True
    if isinstance(declared, Mapping) and isinstance(observed, Mapping):
        return all(_matches(value, observed.get(key)) for key, value in declared.items())
    if isinstance(declared, list) and isinstance(observed, list):
        return len(declared) == len(observed) and all(
            _matches(d, o) for d, o in zip(declared, observed, strict=True))
    return bool(declared == observed)
