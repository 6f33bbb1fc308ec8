"""Desired resources + live inventories + last applied records → a Plan.

Pure: no I/O. The caller refreshes (one ``list_managed`` per provider) and
reads the store; ``make_plan`` only compares and orders. Every refusal found
(prevent_destroy, name collisions, shrinking disks) is reported together in
one PlanError.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from provisioner.core.address import Address, Kind, image_object_name
from provisioner.core.problems import PlanRefused, Problem
from provisioner.core.resources import ALTERNATE_SUFFIX, Effect, LiveObject, Resource
from provisioner.plan.action import decide_action
from provisioner.plan.diff import diff_resource, runs_through
from provisioner.plan.graph import StepGraph
from provisioner.plan.model import (
    Action,
    Cause,
    Change,
    FieldDiff,
    Fingerprints,
    Plan,
    ReplaceOrder,
    Stray,
)
from provisioner.plan.protection import mark_change, marked
from provisioner.plan.selection import selected_addresses
from provisioner.providers.base import Inventory, ProviderSchema
from provisioner.stack.interpolate import did_you_mean
from provisioner.state.store import AppliedRecord
from provisioner.units import Bytes

_Copied = TypeVar("_Copied", Resource, Change)


@dataclass(frozen=True)
class PlanOptions:
    destroy: bool = False
    """Plan the deletion of every object of the stack."""
    replace: frozenset[Address] = frozenset()
    """Addresses to replace even if nothing changed (``--replace``)."""
    targets: frozenset[Address] = frozenset()
    """Only these and what they need (``--target``); empty: everything."""
    excludes: frozenset[Address] = frozenset()
    """Leave these and what depends on them out (``--exclude``)."""


@dataclass(frozen=True)
class PlanInputs:
    stack: str
    resources: Sequence[Resource]
    schemas: Mapping[str, ProviderSchema]
    """By provider name: every provider block of the stack."""
    inventories: Mapping[str, Inventory]
    """By provider name: what ``list_managed`` found."""
    prior: Mapping[Address, AppliedRecord] = field(default_factory=dict)
    problems: Sequence[Problem] = ()
    """What the plan-time checks found (missing pools, images, unknown output values)."""
    disabled: frozenset[Address] = frozenset()
    """Declared with ``enabled: false``: deleted like the rest no longer declared, and
    the plan says why."""


def make_plan(inputs: PlanInputs, options: PlanOptions | None = None) -> Plan:
    """The plan for ``inputs``; raises PlanError listing every refusal."""
    return _Planner(inputs, options or PlanOptions()).plan()


class _Planner:
    def __init__(self, inputs: PlanInputs, options: PlanOptions) -> None:
        self.inputs = inputs
        self.options = options
        self.desired = [] if options.destroy else list(inputs.resources)
        self.live = index_live(inputs.inventories)
        self.protected_in_stack = {resource.address: resource.lifecycle.prevent_destroy
                                   for resource in inputs.resources}
        self.errors: list[Problem] = [] if options.destroy else list(inputs.problems)
        self.changes: list[Change] = []
        self.object_names: dict[Address, str] = {}
        """Each declared resource's name after the plan; set on its change's resource
        once every name is known (one copy of each resource, not two)."""

    def plan(self) -> Plan:
        declared = {resource.address for resource in self.desired}
        for resource in self.desired:
            self._plan_declared(resource)
        self._link_references()
        orphans = sorted(a for a in self.live if a not in declared)
        reason = "destroy requested" if self.options.destroy else "no longer in the stack"
        for address in orphans:
            for live in self.live[address]:
                self._plan_orphan(live, "disabled with enabled: false" if not self.options.destroy
                                  and address in self.inputs.disabled else reason)
        for inventory in self.inputs.inventories.values():
            for piece in inventory.leftovers:
                what = piece.attributes.get("piece")  # a provider may say what it is
                self.changes.append(Change(
                    address=piece.address, provider=piece.provider, action=Action.DELETE,
                    reason="left behind by an interrupted run" + (
                        f": {what}" if what else ""), live=piece,
                    stray=Stray.LEFTOVER, cause=Cause.REMOVED))
        self._check_unreachable(declared)
        asked = [c for c in self.changes if c.action.is_change]
        kept = self._select()
        left_out = [c for c in asked if c.address not in kept]
        errors = [problem for problem in self.errors
                  if problem.address is None or problem.address in kept]
        if errors:
            raise PlanRefused(errors, hint="nothing was changed; fix the stack or the flags "
                                           "and plan again")
        order = {resource.address: resource.order for resource in self.desired}
        steps, edges = StepGraph(self.changes, order, self._exclusive).build()
        return Plan(
            stack=self.inputs.stack,
            changes=tuple(self.changes),
            steps=tuple(steps),
            edges=tuple(edges),
            forget=tuple(a for a in self._forgotten(declared) if a in kept),
            fingerprints=Fingerprints(obj for objs in self.live.values() for obj in objs),
            destroy=self.options.destroy,
            warnings=(self._left_out_note(left_out),) if left_out else (),
            left_out=self._flags() if left_out else "",
        )

    def _flags(self) -> str:
        flags = [flag for flag, given in (("--target", self.options.targets),
                                          ("--exclude", self.options.excludes)) if given]
        return " and ".join(flags)

    def _left_out_note(self, left_out: Sequence[Change]) -> str:
        """Changes --target/--exclude left out: the plan does not show them, and apply
        does not make them."""
        shown = ", ".join(f"{c.address}: {c.action.value}" for c in left_out[:5])
        more = f" and {len(left_out) - 5} more" if len(left_out) > 5 else ""
        count, it = ("1 change", "it") if len(left_out) == 1 else (f"{len(left_out)} changes",
                                                                   "them")
        return (f"{self._flags()} left out {count} ({shown}{more}): apply will not make "
                f"{it}; plan without {self._flags()} to see {it}")

    def _select(self) -> set[Address]:
        """Apply --target/--exclude: keep the selected changes, return their addresses."""
        everything = {c.address for c in self.changes} | set(self.inputs.prior)
        self._check_named(everything)
        if not self.options.targets and not self.options.excludes:
            return everything
        kept = selected_addresses(self.changes, self.options.targets, self.options.excludes)
        if self.options.targets:
            kept |= {a for a in self.options.targets if a in self.inputs.prior}
        self.changes = [c for c in self.changes if c.address in kept]
        return kept

    def _exclusive(self, change: Change) -> tuple[str, ...]:
        schema = self.inputs.schemas.get(change.provider)
        kind = schema.kinds.get(change.address.kind) if schema else None
        return kind.exclusive if kind else ()

    def _check_named(self, known: set[Address]) -> None:
        """Every address given to --target, --exclude or --replace is in the stack or
        the state: a typo must not make a plan that silently does nothing."""
        for flag, given in (("--target", self.options.targets),
                            ("--exclude", self.options.excludes),
                            ("--replace", self.options.replace)):
            for address in sorted(given - known):
                hint = did_you_mean(str(address), [str(a) for a in known])
                self.errors.append(Problem(f"{flag} {address}: no such resource in the stack "
                                           f"or the state{f' ({hint})' if hint else ''}"))

    def _plan_declared(self, resource: Resource) -> None:
        candidates = self.live.get(resource.address, [])
        live = next((c for c in candidates if c.provider == resource.provider), None)
        live = live or (candidates[0] if candidates else None)
        for duplicate in candidates:
            if duplicate is not live:
                kept = live.id if live else "?"
                self._plan_orphan(duplicate, f"duplicate of {resource.address} (kept id {kept})",
                                  Stray.DUPLICATE)
        if live is None:
            self._check_collision(resource)
        prior = self.inputs.prior.get(resource.address)
        diffs, shrinks = [], []
        if live is not None and live.provider == resource.provider:
            kind_schema = self.inputs.schemas[resource.provider].kinds[resource.kind]
            result = diff_resource(resource, live, prior.spec if prior else None,
                                   kind_schema)
            diffs, shrinks = result.fields, result.shrinks
            mark = mark_change(resource, live)
            diffs = [*diffs, mark] if mark is not None else diffs
        decision = decide_action(
            resource, live, diffs,
            was_applied=prior is not None,
            replace_requested=resource.address in self.options.replace,
        )
        if decision.action.destroys and resource.lifecycle.prevent_destroy:
            self._refuse_destroy(resource.address, decision.reason)
        if not decision.action.destroys:  # a replacement starts with new, smaller disks
            for shrink in shrinks:
                self.errors.append(Problem(
                    f"can only grow ({_size(shrink.before)} -> {_size(shrink.after)}): declare "
                    f"{_size(shrink.before)} or more (its size now), or start over with a "
                    f"smaller one: --replace {resource.address} (a new guest: the data on "
                    "the old one is lost)", resource.address, shrink.path))
        self.object_names[resource.address] = _object_name(resource, live, decision.action,
                                                           decision.replace_order)
        self.changes.append(Change(
            address=resource.address,
            provider=resource.provider,
            action=decision.action,
            reason=decision.reason,
            cause=decision.cause,
            fields=tuple(diffs) if decision.action is not Action.CREATE else (),
            replace_order=decision.replace_order,
            desired=resource,
            live=live,
            old_deps=_old_deps(prior, live),
        ))

    def _link_references(self) -> None:
        """Tell each resource the names its references will have, and re-attach the
        unchanged users of a replaced resource (they named the old object)."""
        names = self.object_names
        replaced = {c.address: c for c in self.changes if c.action is Action.REPLACE}
        for index, change in enumerate(self.changes):
            if change.desired is None:
                continue
            targets = set(change.desired.deps) | set(change.desired.references.values())
            desired = _copy_with(change.desired, object_name=names[change.address],
                                 dep_names={t: names.get(t, t.name) for t in sorted(targets)})
            named = _copy_with(change, desired=desired)
            self.changes[index] = self._reattach(named, replaced, names) if replaced else named

    def _reattach(
        self, change: Change, replaced: Mapping[Address, Change], names: Mapping[Address, str]
    ) -> Change:
        desired = change.desired
        if desired is None or change.action not in (Action.NOOP, Action.UPDATE):
            return change
        moved = {path: target for path, target in desired.references.items()
                 if target in replaced and path not in {f.path for f in change.fields}}
        if not moved:
            return change
        schema = self.inputs.schemas[change.provider].kinds[change.address.kind]
        running = runs_through(desired, change.live) if change.live else None
        extra = []
        for path, target in moved.items():
            old = replaced[target].live
            effect = schema.rule_for(path).effect
            if effect is Effect.RESTART and running is False:
                effect = Effect.IN_PLACE
            extra.append(FieldDiff(path, old.name if old else target.name, names[target], effect))
        fields = (*change.fields, *extra)
        decision = decide_action(desired, change.live, fields)
        if decision.action.destroys and desired.lifecycle.prevent_destroy:
            self._refuse_destroy(change.address, decision.reason)
        cause, reason = (decision.cause, decision.reason) if change.fields else (
            Cause.REATTACH,
            "re-attach to the replaced " + ", ".join(sorted({str(t) for t in moved.values()})))
        return replace(change, action=decision.action, reason=reason, cause=cause,
                       fields=fields, replace_order=decision.replace_order)

    def _plan_orphan(self, live: LiveObject, reason: str, stray: Stray | None = None) -> None:
        """Delete ``live``; a duplicate of a declared resource is deleted even when that
        resource is protected (the object it keeps is the one protected)."""
        prior = self.inputs.prior.get(live.address)
        decision = decide_action(None, live, ())
        protected = self._protected(live.address, prior) or (
            live.address not in self.protected_in_stack and marked(live))
        if protected and stray is not Stray.DUPLICATE:
            self._refuse_destroy(live.address, reason)
        self.changes.append(Change(
            address=live.address,
            provider=live.provider,
            action=decision.action,
            reason=reason,
            cause=decision.cause,
            live=live,
            old_deps=_old_deps(prior, live),
            stray=stray,
        ))

    def _protected(self, address: Address, prior: AppliedRecord | None) -> bool:
        """prevent_destroy as the stack declares it (``--destroy`` plans declared
        resources as orphans); for a resource the stack no longer declares, as last
        applied. A declaration wins over the record: ``prevent_destroy: false`` takes
        effect without an apply first (an import records an undeclared address as
        protected, and a no-change apply rewrites no record)."""
        if address in self.protected_in_stack:
            return self.protected_in_stack[address]
        return prior is not None and prior.prevent_destroy

    def _refuse_destroy(self, address: Address, reason: str) -> None:
        self.errors.append(Problem(
            f"lifecycle.prevent_destroy forbids deleting it ({reason})", address,
            detail=f"to allow it, set prevent_destroy: false and apply first; or leave it "
                   f"out with --exclude {address}"))

    def _check_collision(self, resource: Resource) -> None:
        inventory = self.inputs.inventories.get(resource.provider)
        if inventory is None:
            return
        owner = inventory.foreign.get(resource.kind, {}).get(resource.name)
        if owner is not None:
            self.errors.append(Problem(
                f"a {resource.kind.singular} named '{resource.name}' already exists on provider "
                f"{resource.provider} and is not this stack's ({owner}); adopt it with "
                f"`provisioner import {resource.address} {resource.name}`, or rename one of "
                f"them", resource.address))

    def _check_unreachable(self, declared: set[Address]) -> None:
        unreachable = [(address, record) for address, record in self.inputs.prior.items()
                       if record.provider not in self.inputs.schemas and address not in declared]
        for address, record in sorted(unreachable):
            self.errors.append(Problem(
                f"was applied on provider '{record.provider}', which the stack no longer "
                f"declares, so it cannot be checked or deleted; put the provider block back "
                f"(the object is deleted on the next apply), or delete it by hand", address))

    def _forgotten(self, declared: set[Address]) -> list[Address]:
        return sorted(
            address for address, record in self.inputs.prior.items()
            if address not in self.live and address not in declared
            and record.provider in self.inputs.schemas
        )


def _copy_with(obj: _Copied, **changes: Any) -> _Copied:
    """``dataclasses.replace`` for Resource and Change, a fifth of its cost: a plan
    copies every declared one (neither has ``__post_init__``, ``InitVar`` or slots,
    so copying the fields is all that replace would do)."""
    copy = object.__new__(type(obj))
    copy.__dict__.update(obj.__dict__, **changes)
    return copy


def index_live(inventories: Mapping[str, Inventory]) -> dict[Address, list[LiveObject]]:
    """Every managed object of every provider, by address."""
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


def _object_name(
    resource: Resource, live: LiveObject | None, action: Action, order: ReplaceOrder | None
) -> str:
    """The name the object has after the plan: the live one, unless a new object is
    made; a create_before_destroy replacement takes the name the old one does not use."""
    base = resource.name  # (a module's resource: its flat name, module_names.py)
    if resource.kind is Kind.IMAGE:
        base = image_object_name(base)  # one name on every provider block
    if live is None:
        return base
    if order is ReplaceOrder.CREATE_FIRST:
        return base if live.name != base else base + ALTERNATE_SUFFIX
    return base if action is Action.REPLACE else live.name


def _size(value: object) -> str:
    return repr(Bytes(value)) if isinstance(value, int) else repr(value)
