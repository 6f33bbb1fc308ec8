"""Plan-time capacity check: a plan that does not fit is refused before anything runs.

Per host (node), the plan's net demand is what its creates, updates and
replacements reserve minus what its deletes and replacements free (vCPUs and
memory of running guests); with the guests already running there (this
stack's and every other's), it must stay within the host's size times the
provider's overcommit ratio, minus the reserve kept for the host itself. A
create_before_destroy replacement frees nothing: both objects exist at its
peak. Per pool, new disks (at their full size) must fit in the free space.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from provisioner.core.address import Address
from provisioner.core.resources import Resource
from provisioner.errors import PlanError
from provisioner.plan.model import Action, Change, Plan, ReplaceOrder
from provisioner.providers.base import Capacity, HostCapacity, Requirements
from provisioner.stack.model import CapacitySettings
from provisioner.units import approx_size

RequirementsOf = Callable[[Resource], Requirements]


@dataclass(frozen=True)
class CapacityView:
    """What placement and admission read: each provider's capacity (``capacity_of``
    reads it on first use), the stack's capacity settings per provider block, and
    each provider's requirements function."""

    capacity_of: Callable[[str], Capacity]
    settings: Mapping[str, CapacitySettings]
    requirements: Mapping[str, RequirementsOf]


def admit(plan: Plan, view: CapacityView) -> None:
    """Refuse (PlanError) a plan that does not fit; capacity is read only for the
    providers whose demand grows."""
    demands = plan_demand(plan, view.requirements)
    names = needs_capacity(demands)
    problems = admission_problems(demands, {name: view.capacity_of(name) for name in names},
                                  view.settings)
    if problems:
        raise PlanError("the plan does not fit:\n" + "\n".join(problems),
                        hint="nothing was changed; free resources or lower what the stack "
                             "asks, then plan again (provisioner capacity shows each node)")


@dataclass
class Demand:
    """Net change a plan makes to one provider's reservations, with who asks."""

    hosts: dict[str | None, list[int]] = field(default_factory=dict)
    """Node (None: the provider's only host) → [memory, vCPUs]."""
    storage: dict[str, int] = field(default_factory=dict)
    askers: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def add(self, address: str, need: Requirements, sign: int) -> None:
        totals = self.hosts.setdefault(need.node, [0, 0])
        totals[0] += sign * need.memory
        totals[1] += sign * need.cpus
        if sign > 0 and need.memory:
            self.askers.setdefault(f"memory@{need.node}", []).append((address, need.memory))
        if sign > 0 and need.cpus:
            self.askers.setdefault(f"cpus@{need.node}", []).append((address, need.cpus))
        for pool, size in need.storage.items():
            self.storage[pool] = self.storage.get(pool, 0) + sign * size
            if sign > 0:
                self.askers.setdefault(f"pool {pool}", []).append((address, size))

    def grows(self) -> bool:
        return any(memory > 0 or cpus > 0 for memory, cpus in self.hosts.values()) or any(
            size > 0 for size in self.storage.values())


def plan_demand(plan: Plan, requirements: Mapping[str, RequirementsOf],
                placed: Collection[Address] = ()) -> dict[str, Demand]:
    """Net demand per provider (only providers the plan touches). ``placed``: addresses
    whose new object placement is choosing a node for: only what their old object (if
    replaced) frees counts."""
    demands: dict[str, Demand] = {}
    for change in plan.changes:
        if change.action is Action.NOOP:
            continue
        if change.desired is not None and change.action is not Action.DELETE \
                and change.address not in placed and change.desired.provider in requirements:
            demand = demands.setdefault(change.desired.provider, Demand())
            asker = str(change.address)
            if change.replace_order is ReplaceOrder.CREATE_FIRST:
                asker += " (create_before_destroy: new and old at once)"
            demand.add(asker, requirements[change.desired.provider](change.desired), +1)
        if change.live is not None and _frees(change) and change.live.provider in requirements:
            demand = demands.setdefault(change.live.provider, Demand())
            demand.add(str(change.address), requirements[change.live.provider](
                change.live.as_resource()), -1)
    return demands


def _frees(change: Change) -> bool:
    return change.replace_order is not ReplaceOrder.CREATE_FIRST


def needs_capacity(demands: Mapping[str, Demand]) -> list[str]:
    """Providers whose demand grows something: only they need a capacity read."""
    return sorted(name for name, demand in demands.items() if demand.grows())


def host_limits(host: HostCapacity, settings: CapacitySettings) -> tuple[int, int]:
    """Memory and vCPUs the running guests of a host may reserve in all."""
    memory = int(host.memory_total * settings.memory_overcommit) - settings.reserve_memory
    cpus = int(max(0, host.cpus - settings.reserve_cpus) * settings.cpu_overcommit)
    return memory, cpus


def admission_problems(demands: Mapping[str, Demand], capacities: Mapping[str, Capacity],
                       settings: Mapping[str, CapacitySettings]) -> list[str]:
    """One message per host resource or pool that would run out: who asks, what is free."""
    problems: list[str] = []
    for provider, capacity in sorted(capacities.items()):
        demand = demands[provider]
        rules = settings.get(provider, CapacitySettings())
        for node, (memory, cpus) in sorted(demand.hosts.items(), key=lambda i: str(i[0])):
            host = _host(capacity, node)
            if host is not None:
                where = f"provider {provider}, node {host.node}"
                problems += _host_problems(where, host, rules, memory, cpus,
                                           _askers(demand, f"memory@{node}", approx_size),
                                           _askers(demand, f"cpus@{node}", str))
        problems += _pool_problems(provider, demand, capacity)
    return problems


def _host_problems(where: str, host: HostCapacity, rules: CapacitySettings, memory: int,
                   cpus: int, memory_askers: str, cpu_askers: str) -> list[str]:
    problems = []
    limit_memory, limit_cpus = host_limits(host, rules)
    free_memory = limit_memory - host.running_memory
    if memory > 0 and memory > free_memory:
        kept = (f", {approx_size(rules.reserve_memory)} kept for the host"
                if rules.reserve_memory else "")
        free, total = approx_size(max(0, free_memory)), approx_size(host.memory_total)
        problems.append(
            f"{where}: {free} of memory free for guests ({total} x "
            f"{rules.memory_overcommit:g} overcommit{kept}, {approx_size(host.running_memory)} "
            f"running); the plan needs {approx_size(memory)} more ({memory_askers})")
    free_cpus = limit_cpus - host.running_cpus
    if cpus > 0 and cpus > free_cpus:
        kept = f" ({rules.reserve_cpus} kept for the host)" if rules.reserve_cpus else ""
        problems.append(
            f"{where}: {max(0, free_cpus)} vCPUs free ({host.cpus} CPUs{kept} x "
            f"{rules.cpu_overcommit:g} overcommit, {host.running_cpus} running); the plan "
            f"needs {cpus} more ({cpu_askers})")
    return problems


def _pool_problems(provider: str, demand: Demand, capacity: Capacity) -> list[str]:
    available = {pool.pool: pool.available for pool in capacity.pools}
    problems = []
    for pool, size in sorted(demand.storage.items()):
        if pool in available and size > available[pool]:
            askers = _askers(demand, f"pool {pool}", approx_size)
            problems.append(
                f"provider {provider}: pool '{pool}' has {approx_size(available[pool])} free; "
                f"the plan needs {approx_size(size)} more ({askers}); disks count at their "
                "full size")
    return problems


def _host(capacity: Capacity, node: str | None) -> HostCapacity | None:
    if node is None:
        return capacity.hosts[0] if len(capacity.hosts) == 1 else None
    return next((host for host in capacity.hosts if host.node == node), None)


def _askers(demand: Demand, key: str, show: Callable[[int], str]) -> str:
    askers = sorted(demand.askers.get(key, []), key=lambda item: -item[1])
    shown = ", ".join(f"{address}: {show(size)}" for address, size in askers[:5])
    more = len(askers) - 5
    return shown + (f" and {more} more" if more > 0 else "")


