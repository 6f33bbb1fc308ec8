"""Plan-time capacity check: a plan that does not fit is refused before anything runs.

For each provider, the plan's net demand is what its creates, updates and
replacements reserve minus what its deletes and replacements free (memory of
running guests, bytes of disks per pool); it must fit in what the hypervisor
reports free. A create_before_destroy replacement frees nothing: both
objects exist at its peak. qcow2 disks count at their full size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from provisioner.plan.model import Action, Change, Plan, ReplaceOrder
from provisioner.providers.base import Capacity, Requirements
from provisioner.resources import LiveObject, Resource
from provisioner.units import Bytes

RequirementsOf = Callable[[Resource], Requirements]


@dataclass
class Demand:
    """Net change a plan makes to one provider's reservations, with who asks."""

    memory: int = 0
    storage: dict[str, int] = field(default_factory=dict)
    askers: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    """Per resource type ("memory" or a pool), the addresses that add to it."""

    def add(self, address: str, requirements: Requirements, sign: int) -> None:
        self.memory += sign * requirements.memory
        if sign > 0 and requirements.memory:
            self.askers.setdefault("memory", []).append((address, requirements.memory))
        for pool, size in requirements.storage.items():
            self.storage[pool] = self.storage.get(pool, 0) + sign * size
            if sign > 0:
                self.askers.setdefault(f"pool {pool}", []).append((address, size))


def plan_demand(plan: Plan, requirements: Mapping[str, RequirementsOf]) -> dict[str, Demand]:
    """Net demand per provider (only providers the plan touches)."""
    demands: dict[str, Demand] = {}
    for change in plan.changes:
        if change.action is Action.NOOP or change.provider not in requirements:
            continue
        of = requirements[change.provider]
        demand = demands.setdefault(change.provider, Demand())
        if change.desired is not None and change.action is not Action.DELETE:
            demand.add(str(change.address), of(change.desired), +1)
        if change.live is not None and _frees(change):
            demand.add(str(change.address), of(_as_resource(change.live)), -1)
    return demands


def _frees(change: Change) -> bool:
    return change.replace_order is not ReplaceOrder.CREATE_FIRST


def _as_resource(live: LiveObject) -> Resource:
    return Resource(live.address, live.provider, live.spec)


def needs_capacity(demands: Mapping[str, Demand]) -> list[str]:
    """Providers whose demand grows something: only they need a capacity read."""
    return sorted(name for name, d in demands.items()
                  if d.memory > 0 or any(size > 0 for size in d.storage.values()))


def admission_problems(demands: Mapping[str, Demand], capacities: Mapping[str, Capacity]
                       ) -> list[str]:
    """One message per resource that would run out, naming what asks and what is free."""
    problems: list[str] = []
    for provider, capacity in sorted(capacities.items()):
        demand = demands[provider]
        free_memory = sum(host.memory_free for host in capacity.hosts)
        if capacity.hosts and demand.memory > free_memory:
            hosts = ", ".join(host.node for host in capacity.hosts)
            problems.append(
                f"provider {provider}: host {hosts} has {_size(free_memory)} of memory free; "
                f"the plan needs {_size(demand.memory)} more ({_askers(demand, 'memory')})")
        available = {pool.pool: pool.available for pool in capacity.pools}
        for pool, size in sorted(demand.storage.items()):
            if pool in available and size > available[pool]:
                problems.append(
                    f"provider {provider}: pool '{pool}' has {_size(available[pool])} free; the "
                    f"plan needs {_size(size)} more ({_askers(demand, f'pool {pool}')}); disks "
                    f"count at their full size")
    return problems


def _askers(demand: Demand, key: str) -> str:
    askers = sorted(demand.askers.get(key, []), key=lambda item: -item[1])
    shown = ", ".join(f"{address}: {_size(size)}" for address, size in askers[:5])
    more = len(askers) - 5
    return shown + (f" and {more} more" if more > 0 else "")


def _size(value: int) -> str:
    return repr(Bytes(value)) if value % (1 << 20) == 0 else f"{value / (1 << 30):.1f}GiB"
