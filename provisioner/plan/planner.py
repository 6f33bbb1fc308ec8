"""Desired resources + live inventories + last applied records → a Plan.

Pure: no I/O. The caller refreshes (one ``list_managed`` per provider) and
reads the store; ``make_plan`` only compares and orders. Every refusal found
(prevent_destroy, name collisions, shrinking disks) is reported together in
one PlanError.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from provisioner.errors import PlanError
from provisioner.plan.action import decide_action
from provisioner.plan.diff import diff_resource
from provisioner.plan.graph import StepGraph
from provisioner.plan.model import Action, Change, Plan, ReplaceOrder
from provisioner.providers.base import Inventory, ProviderSchema
from provisioner.resources import LiveObject, Resource, from_plain
from provisioner.stack.address import Address
from provisioner.state.store import AppliedRecord
from provisioner.units import Bytes

ALTERNATE_SUFFIX = ".r1"


@dataclass(frozen=True)
class PlanOptions:
    destroy: bool = False
    """Plan the deletion of every object of the stack."""
    replace: frozenset[Address] = frozenset()
    """Addresses to replace even if nothing changed (``--replace``)."""


@dataclass(frozen=True)
class PlanInputs:
    stack: str
    resources: Sequence[Resource]
    schemas: Mapping[str, ProviderSchema]
    """By provider name: every provider block of the stack."""
    inventories: Mapping[str, Inventory]
    """By provider name: what ``list_managed`` found."""
    prior: Mapping[Address, AppliedRecord] = field(default_factory=dict)


def make_plan(inputs: PlanInputs, options: PlanOptions | None = None) -> Plan:
    """The plan for ``inputs``; raises PlanError listing every refusal."""
    return _Planner(inputs, options or PlanOptions()).plan()


class _Planner:
    def __init__(self, inputs: PlanInputs, options: PlanOptions) -> None:
        self.inputs = inputs
        self.options = options
        self.desired = [] if options.destroy else list(inputs.resources)
        self.live = _index_live(inputs.inventories)
        self.errors: list[str] = []
        self.changes: list[Change] = []

    def plan(self) -> Plan:
        declared = {resource.address for resource in self.desired}
        for resource in self.desired:
            self._plan_declared(resource)
        orphans = sorted(a for a in self.live if a not in declared)
        reason = "destroy requested" if self.options.destroy else "no longer in the stack"
        for address in orphans:
            for live in self.live[address]:
                self._plan_orphan(live, reason)
        self._check_unreachable(declared)
        if self.errors:
            raise PlanError("\n".join(self.errors),
                            hint="nothing was changed; fix the stack or the flags and plan again")
        order = {resource.address: resource.order for resource in self.desired}
        steps, edges = StepGraph(self.changes, order).build()
        return Plan(
            stack=self.inputs.stack,
            changes=tuple(self.changes),
            steps=tuple(steps),
            edges=tuple(edges),
            forget=tuple(self._forgotten(declared)),
            fingerprints={str(obj.address): obj.fingerprint()
                          for objs in self.live.values() for obj in objs},
            destroy=self.options.destroy,
        )

    def _plan_declared(self, resource: Resource) -> None:
        candidates = self.live.get(resource.address, [])
        live = next((c for c in candidates if c.provider == resource.provider), None)
        live = live or (candidates[0] if candidates else None)
        for duplicate in candidates:
            if duplicate is not live:
                kept = live.id if live else "?"
                self._plan_orphan(duplicate, f"duplicate of {resource.address} (kept id {kept})")
        if live is None:
            self._check_collision(resource)
        prior = self.inputs.prior.get(resource.address)
        diffs = []
        if live is not None and live.provider == resource.provider:
            kind_schema = self.inputs.schemas[resource.provider].kinds[resource.kind]
            result = diff_resource(resource, live, from_plain(prior.spec) if prior else None,
                                   kind_schema)
            diffs = result.fields
            for shrink in result.shrinks:
                self.errors.append(
                    f"{resource.address}: {shrink.path} can only grow "
                    f"({_size(shrink.before)} -> {_size(shrink.after)}); to start over with a "
                    f"smaller one, replace it: --replace {resource.address}")
        decision = decide_action(
            resource, live, diffs,
            was_applied=prior is not None,
            replace_requested=resource.address in self.options.replace,
        )
        if decision.action.destroys and resource.lifecycle.prevent_destroy:
            self._refuse_destroy(resource.address, decision.reason)
        if decision.replace_order is ReplaceOrder.CREATE_FIRST and live is not None:
            resource = replace(resource, object_name=_alternate_name(live.name, resource))
        self.changes.append(Change(
            address=resource.address,
            provider=resource.provider,
            action=decision.action,
            reason=decision.reason,
            fields=tuple(diffs) if decision.action is not Action.CREATE else (),
            replace_order=decision.replace_order,
            desired=resource,
            live=live,
            old_deps=_old_deps(prior, live),
        ))

    def _plan_orphan(self, live: LiveObject, reason: str) -> None:
        prior = self.inputs.prior.get(live.address)
        decision = decide_action(None, live, ())
        if prior is not None and prior.prevent_destroy and not reason.startswith("duplicate"):
            self._refuse_destroy(live.address, reason)
        self.changes.append(Change(
            address=live.address,
            provider=live.provider,
            action=decision.action,
            reason=reason,
            live=live,
            old_deps=_old_deps(prior, live),
        ))

    def _refuse_destroy(self, address: Address, reason: str) -> None:
        self.errors.append(
            f"{address}: lifecycle.prevent_destroy forbids deleting it ({reason})")
        self.errors.append(
            f"  to allow it, set prevent_destroy: false and apply first; or leave it out "
            f"with --exclude {address}")

    def _check_collision(self, resource: Resource) -> None:
        inventory = self.inputs.inventories.get(resource.provider)
        if inventory is None:
            return
        owner = inventory.foreign.get(resource.kind, {}).get(resource.name)
        if owner is not None:
            self.errors.append(
                f"{resource.address}: a {resource.kind.singular} named '{resource.name}' already "
                f"exists on provider {resource.provider} and is not this stack's ({owner}); "
                f"adopt it with `provisioner import {resource.address} {resource.name}`, "
                f"or rename one of them")

    def _check_unreachable(self, declared: set[Address]) -> None:
        for address, record in sorted(self.inputs.prior.items()):
            if record.provider not in self.inputs.schemas and address not in declared:
                self.errors.append(
                    f"{address}: was applied on provider '{record.provider}', which the stack "
                    f"no longer declares, so it cannot be checked or deleted; put the provider "
                    f"block back (the object is deleted on the next apply), or delete it by hand")

    def _forgotten(self, declared: set[Address]) -> list[Address]:
        return sorted(
            address for address, record in self.inputs.prior.items()
            if address not in self.live and address not in declared
            and record.provider in self.inputs.schemas
        )


def _index_live(inventories: Mapping[str, Inventory]) -> dict[Address, list[LiveObject]]:
    index: dict[Address, list[LiveObject]] = {}
    for provider in sorted(inventories):
        for obj in inventories[provider].managed:
            index.setdefault(obj.address, []).append(obj)
    return index


def _old_deps(prior: AppliedRecord | None, live: LiveObject | None) -> tuple[Address, ...]:
    deps = list(prior.deps) if prior else []
    if live is not None:
        deps += [d for d in live.deps if d not in deps]
    return tuple(deps)


def _alternate_name(live_name: str, resource: Resource) -> str:
    """A second name for the new object while the old one still holds the first."""
    base = resource.address.name
    return base if live_name != base else base + ALTERNATE_SUFFIX


def _size(value: object) -> str:
    return repr(Bytes(value)) if isinstance(value, int) else repr(value)
