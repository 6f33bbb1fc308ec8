"""What ``provisioner capacity`` reports: per provider and node, per pool, what is
there, what runs, what is stopped, and what the plan would add or free.

Pure: built from the capacities the providers reported, the stack's capacity
settings and the plan's net demand (``plan_demand``), the numbers the
admission check uses, so the report and the check never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from provisioner.plan.admission import (
    CapacityView,
    Demand,
    admission_problems,
    host_limits,
    plan_demand,
)
from provisioner.plan.model import Plan
from provisioner.providers.base import Capacity, HostCapacity
from provisioner.stack.model import CapacitySettings


@dataclass(frozen=True)
class Usage:
    """One resource (vCPUs, or memory in bytes) of one host."""

    total: int
    """The host's size: CPUs, or bytes of RAM."""
    limit: int
    """What running guests may reserve in all (overcommit, minus the host's reserve)."""
    running: int
    stopped: int
    plan: int
    """Net change the plan makes to what running guests reserve (negative: frees)."""

    @property
    def after(self) -> int:
        return self.running + self.plan

    @property
    def fits(self) -> bool:
        return self.plan <= 0 or self.after <= self.limit


@dataclass(frozen=True)
class HostRow:
    provider: str
    node: str
    cpus: Usage
    memory: Usage
    settings: CapacitySettings


@dataclass(frozen=True)
class PoolRow:
    provider: str
    pool: str
    capacity: int
    available: int
    plan: int
    """Bytes the plan's new disks take (full size), minus what its deletes free."""

    @property
    def used(self) -> int:
        return self.capacity - self.available

    @property
    def after(self) -> int:
        return self.used + self.plan

    @property
    def fits(self) -> bool:
        return self.plan <= 0 or self.plan <= self.available


@dataclass(frozen=True)
class CapacityReport:
    stack: str
    plan: Plan
    hosts: list[HostRow] = field(default_factory=list)
    pools: list[PoolRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return not self.problems

    @property
    def placements(self) -> dict[str, str]:
        return {str(change.address): change.desired.placement for change in self.plan.changes
                if change.desired is not None and change.desired.placement}


def build_report(stack: str, plan: Plan, providers: list[str],
                 view: CapacityView) -> CapacityReport:
    """The report over ``providers`` (each one's capacity is read)."""
    demands = plan_demand(plan, view.requirements)
    capacities = {name: view.capacity_of(name) for name in providers}
    report = CapacityReport(stack, plan)
    for name in providers:
        demand = demands.get(name, Demand())
        settings = view.settings.get(name, CapacitySettings())
        capacity = capacities[name]
        report.hosts.extend(_host_row(name, host, _host_demand(demand, capacity, host),
                                      settings) for host in capacity.hosts)
        report.pools.extend(
            PoolRow(name, pool.pool, pool.capacity, pool.available,
                    demand.storage.get(pool.pool, 0)) for pool in capacity.pools)
    grown = {name: demand for name, demand in demands.items() if name in capacities}
    report.problems.extend(admission_problems(
        grown, {name: capacities[name] for name in grown}, view.settings))
    return report


def _host_demand(demand: Demand, capacity: Capacity, host: HostCapacity) -> list[int]:
    """[memory, vCPUs] the plan adds on ``host`` (None keys the only host)."""
    totals = list(demand.hosts.get(host.node, [0, 0]))
    if len(capacity.hosts) == 1 and None in demand.hosts:
        extra = demand.hosts[None]
        totals = [totals[0] + extra[0], totals[1] + extra[1]]
    return totals


def _host_row(provider: str, host: HostCapacity, plan: list[int],
              settings: CapacitySettings) -> HostRow:
    memory_limit, cpu_limit = host_limits(host, settings)
    return HostRow(
        provider=provider, node=host.node, settings=settings,
        cpus=Usage(host.cpus, cpu_limit, host.running_cpus, host.stopped_cpus, plan[1]),
        memory=Usage(host.memory_total, memory_limit, host.running_memory,
                     host.stopped_memory, plan[0]))


def report_document(report: CapacityReport) -> dict[str, object]:
    """The JSON shape of the report (docs/capacity.md)."""
    summary = report.plan.summary
    return {
        "format_version": "1",
        "stack": report.stack,
        "fits": report.fits,
        "plan": {"add": summary.add, "change": summary.change, "destroy": summary.destroy},
        "hosts": [{"provider": row.provider, "node": row.node,
                   "cpus": _usage(row.cpus), "memory": _usage(row.memory),
                   "cpu_overcommit": row.settings.cpu_overcommit,
                   "memory_overcommit": row.settings.memory_overcommit,
                   "reserve_cpus": row.settings.reserve_cpus,
                   "reserve_memory": int(row.settings.reserve_memory)}
                  for row in report.hosts],
        "pools": [{"provider": row.provider, "pool": row.pool, "capacity": row.capacity,
                   "used": row.used, "available": row.available, "plan": row.plan,
                   "after": row.after, "fits": row.fits} for row in report.pools],
        "placements": report.placements,
        "problems": list(report.problems),
    }


def _usage(usage: Usage) -> dict[str, object]:
    return {"total": usage.total, "limit": usage.limit, "running": usage.running,
            "stopped": usage.stopped, "plan": usage.plan, "after": usage.after,
            "fits": usage.fits}
