"""Placement: where a guest with ``node: auto``, or on a placement group, goes.

Pure and deterministic: the same stack, live objects and capacities give the
same placement. A guest that exists stays where it is (no churn from plan to
plan); a new one goes to the candidate (a node of its provider, or a provider
block of its group) where it fits and that the strategy prefers:

- ``spread`` (default): the most memory left after placing it;
- ``pack``: the least memory left that still fits (fill nodes up first).

``spread_across: [guests.web]`` prefers candidates running none of those
guests (anti-affinity); ties are broken by name. What is placed earlier in the
same plan counts against later choices, so a count of guests spreads out; so
does the rest of the plan (updates, deletes, guests on fixed nodes) when
``place_resources`` is given its demand (placed.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from provisioner.core.address import Address
from provisioner.core.problems import PlanRefused, Problem
from provisioner.core.resources import LiveObject, Resource
from provisioner.plan.admission import CapacityView, Demand, host_limits
from provisioner.plan.planner import index_live
from provisioner.providers.base import Capacity, HostCapacity, Inventory, Requirements
from provisioner.stack.model import CapacitySettings
from provisioner.units import approx_size

if TYPE_CHECKING:
    from provisioner.stack.loader import Stack

AUTO = "auto"


@dataclass(frozen=True)
class Slot:
    """Where a guest can go: a provider block, and a node of it (None: its only host)."""

    provider: str
    node: str | None

    def __str__(self) -> str:
        return self.provider if self.node is None else self.node


@dataclass(frozen=True)
class PlacementRules:
    """What placement needs to know of one resource."""

    candidates: Sequence[str]
    """Provider blocks it may go to (one, unless its provider is a placement group)."""
    strategy: str = "spread"
    spread_across: Sequence[Address] = ()


@dataclass
class PlacementResult:
    resources: list[Resource]
    reasons: dict[Address, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    placed: set[Address] = field(default_factory=set)
    """The resources placement chose a node for (new ones, and --replace ones)."""


class Placer:
    """Places the resources that need it, one by one, in declaration order."""

    def __init__(self, capacities: Mapping[str, Capacity],
                 settings: Mapping[str, CapacitySettings],
                 requirements: Mapping[str, Callable[[Resource], Requirements]]) -> None:
        self.capacities = capacities
        self.settings = settings
        self.requirements = requirements
        self.used: dict[Slot, list[int]] = {}  # [memory, cpus] reserved so far
        self.members: dict[Slot, set[Address]] = {}
        self.storage_free: dict[tuple[str, str], int] = {
            (provider, pool.pool): pool.available
            for provider, capacity in capacities.items() for pool in capacity.pools}
        for provider, capacity in capacities.items():
            for host in capacity.hosts:
                slot = self._slot(provider, host)
                self.used[slot] = [host.running_memory, host.running_cpus]
                self.members[slot] = set()

    def _slot(self, provider: str, host: HostCapacity) -> Slot:
        return Slot(provider, host.node if len(self.capacities[provider].hosts) > 1 else None)

    def note_existing(self, live: LiveObject) -> None:
        """An object already placed counts for anti-affinity (its resources are in the
        hosts' running totals already)."""
        slot = self.slot_of(live)
        if slot is not None:
            self.members.setdefault(slot, set()).add(live.address)

    def count_plan(self, demands: Mapping[str, Demand]) -> None:
        """Take the net demand of the plan's other changes (``plan_demand``: updates,
        deletes, creates on fixed nodes) on each candidate host and pool."""
        for provider, demand in demands.items():
            hosts = self.capacities[provider].hosts if provider in self.capacities else []
            for node, (memory, cpus) in demand.hosts.items():
                # as admission counts it: a node of a cluster, or the only host (a
                # cluster's demand on no node has no slot, and is not counted)
                slot = Slot(provider, None) if len(hosts) == 1 else Slot(provider, node)
                if slot in self.used:
                    self.used[slot][0] += memory
                    self.used[slot][1] += cpus
            for pool, size in demand.storage.items():
                if (provider, pool) in self.storage_free:
                    self.storage_free[(provider, pool)] -= size

    def reserve_pinned(self, resource: Resource) -> None:
        """A new resource on a fixed node of a candidate provider takes its share there
        before anything is placed, so that placement does not fill that node."""
        if resource.provider not in self.capacities:
            return
        need = self.requirements[resource.provider](resource)
        hosts = self.capacities[resource.provider].hosts
        if not hosts:
            return
        node = need.node if len(hosts) > 1 else None
        if len(hosts) > 1 and node is None:
            return
        slot = Slot(resource.provider, node)
        if slot in self.used:
            self._take(slot, need, resource.address)

    def slot_of(self, live: LiveObject) -> Slot | None:
        capacity = self.capacities.get(live.provider)
        if capacity is None:
            return None
        if len(capacity.hosts) <= 1:
            return Slot(live.provider, None)
        node = live.attributes.get("node") or live.spec.get("node")
        return Slot(live.provider, str(node)) if node else None

    def first_slot(self, rules: PlacementRules) -> Slot | None:
        """The first candidate slot by name, whether it has room or not."""
        slots = [slot for provider in rules.candidates for slot in self._slots(provider)]
        return min(slots, key=str) if slots else None

    def place(self, resource: Resource, rules: PlacementRules) -> tuple[Slot | None, str]:
        """The chosen slot and why, or None and why nothing fits."""
        slots = [slot for provider in rules.candidates for slot in self._slots(provider)]
        if not slots:
            return None, "no node to place it on (the providers report no hosts)"
        fits: list[tuple[Slot, int]] = []
        refusals = []
        for slot in sorted(slots, key=str):
            need = self.requirements[slot.provider](self.on(resource, slot))
            room = self._room(slot)
            short = self._short_storage(slot.provider, need)
            if need.memory <= room[0] and need.cpus <= room[1] and not short:
                fits.append((slot, room[0] - need.memory))
            else:
                refusals.append(f"{slot} has {approx_size(room[0])} and {room[1]} vCPUs left"
                                + "".join(f", {approx_size(free)} free in {pool}"
                                          for pool, free in short))
        if not fits:
            return None, ("no node has room for it: " + "; ".join(refusals))
        return self._choose(resource, rules, fits)

    def _choose(self, resource: Resource, rules: PlacementRules,
                fits: list[tuple[Slot, int]]) -> tuple[Slot, str]:
        apart = set(rules.spread_across)
        def neighbours(slot: Slot) -> int:
            return len(self.members.get(slot, set()) & apart)
        fewest = min(neighbours(slot) for slot, _ in fits)
        eligible = [(slot, left) for slot, left in fits if neighbours(slot) == fewest]
        if rules.strategy == "pack":
            slot, left = min(eligible, key=lambda item: (
                item[1], -self._placed(item[0]), str(item[0])))
        else:
            slot, left = max(eligible, key=lambda item: (
                item[1], -self._placed(item[0]), _reverse(str(item[0]))))
        need = self.requirements[slot.provider](self.on(resource, slot))
        self._take(slot, need, resource.address)
        why = f"{rules.strategy}: {approx_size(left)} of memory left there"
        if apart:
            why += f", {fewest} of {', '.join(sorted(str(a) for a in apart))} there"
        return slot, why

    def _take(self, slot: Slot, need: Requirements, address: Address) -> None:
        self.used[slot][0] += need.memory
        self.used[slot][1] += need.cpus
        self.members.setdefault(slot, set()).add(address)
        for pool, size in need.storage.items():
            key = (slot.provider, pool)
            if key in self.storage_free:
                self.storage_free[key] -= size

    def _placed(self, slot: Slot) -> int:
        """Guests on a slot so far (ties between equal room go to the emptier slot)."""
        return len(self.members.get(slot, ()))

    def _short_storage(self, provider: str, need: Requirements) -> list[tuple[str, int]]:
        """The pools (with their free bytes) too small for what the guest needs there."""
        return [(pool, self.storage_free[(provider, pool)])
                for pool, size in sorted(need.storage.items())
                if (provider, pool) in self.storage_free
                and size > self.storage_free[(provider, pool)]]

    def _slots(self, provider: str) -> list[Slot]:
        capacity = self.capacities.get(provider)
        return [self._slot(provider, host) for host in capacity.hosts] if capacity else []

    def _room(self, slot: Slot) -> tuple[int, int]:
        capacity = self.capacities[slot.provider]
        host = next(h for h in capacity.hosts if self._slot(slot.provider, h) == slot)
        memory, cpus = host_limits(host, self.settings.get(slot.provider, CapacitySettings()))
        return memory - self.used[slot][0], cpus - self.used[slot][1]

    @staticmethod
    def on(resource: Resource, slot: Slot) -> Resource:
        spec = dict(resource.spec)
        if "node" in spec:
            spec["node"] = slot.node
        return replace(resource, provider=slot.provider, spec=spec)


def needs_placement(resource: Resource, groups: Mapping[str, object]) -> bool:
    return resource.provider in groups or resource.spec.get("node") == AUTO


def place_resources(resources: Sequence[Resource], rules: Mapping[Address, PlacementRules],
                    live: Mapping[Address, Sequence[LiveObject]], placer: Placer,
                    again: frozenset[Address] = frozenset(),
                    plan: Mapping[str, Demand] | None = None,
                    draft: bool = False) -> PlacementResult:
    """Resolve the provider and node of every resource ``rules`` names. One that exists
    keeps its place, unless it is in ``again`` (``--replace``): it is placed anew.

    ``plan``: the net demand of the plan's changes other than what is placed here
    (without it, only new resources on fixed nodes are counted). ``draft``: a resource
    no candidate has room for goes to the first candidate instead of being a problem
    (a draft plan only needs every resource somewhere)."""
    for objects in live.values():
        for obj in objects:
            placer.note_existing(obj)
    if plan is not None:
        placer.count_plan(plan)
    else:
        for resource in resources:
            if resource.address not in rules and resource.address not in live:
                placer.reserve_pinned(resource)
    result = PlacementResult([])
    for resource in resources:
        rule = rules.get(resource.address)
        if rule is None:
            result.resources.append(resource)
            continue
        existing = None if resource.address in again else next(
            (o for o in live.get(resource.address, ()) if o.provider in rule.candidates), None)
        if existing is not None:
            current = placer.slot_of(existing) or Slot(existing.provider, None)
            why = f"stays on {current} (placed there before)"
            kept = replace(Placer.on(resource, current), placement=why, placed_before=True)
            result.resources.append(kept)
            result.reasons[resource.address] = why
            continue
        result.placed.add(resource.address)
        slot, why = placer.place(resource, rule)
        if slot is None and draft:
            slot, why = placer.first_slot(rule), "a draft: no room"
        if slot is None:
            result.problems.append(Problem(why, resource.address))
            result.resources.append(resource)
        else:
            why = f"placed on {slot} ({why})"
            result.resources.append(replace(Placer.on(resource, slot), placement=why))
            result.reasons[resource.address] = why
    return result


def _reverse(text: str) -> tuple[int, ...]:
    """Sorts names backwards, so that max() breaks ties by the smallest name."""
    return tuple(-ord(char) for char in text)


def place_stack(stack: Stack, inventories: Mapping[str, Inventory], view: CapacityView,
                again: frozenset[Address] = frozenset(),
                plan: Mapping[str, Demand] | None = None, draft: bool = False
                ) -> PlacementResult:
    """The stack's resources with ``node: auto`` and placement groups resolved; reads
    the capacity of the candidate providers only if something needs placing. Unless a
    ``draft``, raises PlanError naming every resource no candidate has room for."""
    rules = placement_rules(stack)
    if not rules:
        return PlacementResult(list(stack.resources))
    candidates = sorted({p for rule in rules.values() for p in rule.candidates})
    placer = Placer({p: view.capacity_of(p) for p in candidates}, view.settings,
                    {p: view.requirements[p] for p in candidates})
    result = place_resources(stack.resources, rules, index_live(inventories), placer, again,
                             plan, draft)
    if result.problems:
        raise PlanRefused(result.problems, heading="placement found no room:",
                          hint="nothing was changed; free resources, lower what the guests "
                               "ask, or add hosts (provisioner capacity shows each node)")
    return result


def placement_rules(stack: Stack) -> dict[Address, PlacementRules]:
    """What each resource needing placement may do: candidates, strategy, anti-affinity."""
    rules: dict[Address, PlacementRules] = {}
    groups = stack.placement_groups
    for resource in stack.resources:
        if not needs_placement(resource, groups):
            continue
        group = groups.get(resource.provider)
        settings = resource.settings.get("placement") or {}
        strategy = settings.get("strategy") or (group.strategy if group else "spread")
        apart = [member for text in settings.get("spread_across") or []
                 for member in stack.groups.get(Address.parse(text), [Address.parse(text)])]
        rules[resource.address] = PlacementRules(
            candidates=list(group.providers) if group else [resource.provider],
            strategy=strategy, spread_across=tuple(a for a in apart if a != resource.address))
    return rules
