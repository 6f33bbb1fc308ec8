"""Capacity arithmetic: what the guests on a host reserve, and what one guest needs.

A host's report counts every guest on it, this stack's or not: the vCPUs and
memory of those running, and of those stopped (reserved again when they
start). A guest reserves vCPUs and memory only while it runs; its disks take
their bytes either way. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from provisioner.providers.base import HostCapacity, PoolCapacity, Requirements


@dataclass(frozen=True)
class GuestLoad:
    """One guest on a host, as the hypervisor reports it."""

    running: bool
    cpus: int
    memory: int
    """Bytes."""


def host_capacity(node: str, cpus: int, memory_total: int, memory_free: int,
                  guests: Iterable[GuestLoad]) -> HostCapacity:
    """A host's size, and what ``guests`` (every guest on it) reserve."""
    load = list(guests)
    running = [g for g in load if g.running]
    stopped = [g for g in load if not g.running]
    return HostCapacity(
        node=node, cpus=cpus, memory_total=memory_total, memory_free=memory_free,
        running_cpus=sum(g.cpus for g in running), running_memory=sum(g.memory for g in running),
        stopped_cpus=sum(g.cpus for g in stopped), stopped_memory=sum(g.memory for g in stopped))


def pool_capacity(name: str, total: int, free: int) -> PoolCapacity:
    """A storage of ``total`` bytes with ``free`` left, as reported (free clamped into
    0..total: a thin pool may report more free than its size, a full one less than 0)."""
    return PoolCapacity(name, total, max(0, min(free, total)))


def add_storage(storage: dict[str, int], pool: str, size: int) -> None:
    """Count ``size`` bytes on ``pool`` in a requirement's per-pool bytes."""
    storage[pool] = storage.get(pool, 0) + size


def while_running(running: bool, cpus: int, memory: int,
                  storage: Mapping[str, int] | None = None,
                  node: str | None = None) -> Requirements:
    """What a guest reserves: its vCPUs and memory only while it runs, its disks always."""
    return Requirements(cpus=cpus if running else 0, memory=memory if running else 0,
                        storage=dict(storage or {}), node=node)
