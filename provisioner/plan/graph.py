"""Changes → the dependency graph of Steps, and a deterministic order.

Rules (as Terraform's):
- creates and updates run after the creates and updates of what they reference;
- deletes run in reverse: an object is deleted before what it referenced, and
  an object updated to stop using a deleted one is updated before that delete;
- a replacement is delete-then-create, or create-then-delete with
  ``create_before_destroy``, where the old object is deleted only after the
  objects that depend on it were updated, and a dependent replaced delete-first
  is deleted only once the new object exists;
- a create that takes a value only one object may hold at a time (a libvirt
  network's cidr, ``KindSchema.exclusive``) runs after the delete of the object
  holding it (a rename that keeps the range);
- ties are broken by declaration order, so the same inputs give the same order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from provisioner.core.address import Address
from provisioner.errors import PlanError
from provisioner.plan.model import Action, Change, Operation, ReplaceOrder, Step
from provisioner.plan.step_order import OrderedDigraph

_OPERATION_RANK = {Operation.DELETE: 0, Operation.CREATE: 1, Operation.UPDATE: 2}


def steps_for(change: Change) -> list[Step]:
    """The provider calls one change needs."""
    action = change.action
    if action is Action.CREATE:
        return [Step(Operation.CREATE, change)]
    if action is Action.UPDATE:
        return [Step(Operation.UPDATE, change)]
    if action is Action.DELETE:
        return [Step(Operation.DELETE, change)]
    if action is Action.REPLACE:
        return [Step(Operation.DELETE, change), Step(Operation.CREATE, change)]
    return []


def _holding(change: Change, name: str, value: Any) -> tuple[str, str, str, str]:
    """Who may hold ``value`` in field ``name``: one per provider block and kind."""
    return (change.provider, change.address.kind.value, name,
            json.dumps(value, sort_keys=True, default=str))


class StepGraph:
    """Builds the step DAG of a plan."""

    def __init__(self, changes: Sequence[Change], order: dict[Address, int],
                 exclusive: Callable[[Change], tuple[str, ...]] | None = None) -> None:
        self.changes = changes
        self.order = order
        self.exclusive = exclusive or (lambda _change: ())
        """A change's fields that only one object may hold at a time (KindSchema)."""
        self.graph = OrderedDigraph()
        self.steps: dict[str, Step] = {}
        self.writes: dict[Address, str] = {}  # address → its create/update step
        self.deletes: dict[Address, list[str]] = {}
        self.made_first = {c.address for c in changes if c.action is Action.REPLACE
                           and c.replace_order is ReplaceOrder.CREATE_FIRST}
        """Addresses replaced create-first: what depends on them is torn down only once
        the new object exists (a new image that fails to download or verify leaves the
        guests made from the old one untouched)."""

    def build(self) -> tuple[list[Step], list[tuple[str, str]]]:
        for change in self.changes:
            self._add(change)
        for change in self.changes:
            self._link(change)
        self._link_exclusive()
        ordered = self._ordered()
        position = {key: index for index, key in enumerate(ordered)}
        edges = sorted(self.graph.edges(), key=lambda e: (position[e[0]], position[e[1]]))
        return [self.steps[key] for key in ordered], edges

    def _add(self, change: Change) -> None:
        for step in steps_for(change):
            self.steps[step.key] = step
            self.graph.add_node(step.key)
            if step.operation is Operation.DELETE:
                self.deletes.setdefault(change.address, []).append(step.key)
            else:
                self.writes[change.address] = step.key
        if change.action is Action.REPLACE:
            delete, create = f"delete {change.key}", f"create {change.key}"
            if change.replace_order is ReplaceOrder.CREATE_FIRST:
                self.graph.add_edge(create, delete)
            else:
                self.graph.add_edge(delete, create)

    def _link(self, change: Change) -> None:
        write = self.writes.get(change.address)
        own_deletes = [key for key in self.deletes.get(change.address, [])
                       if self.steps[key].change is change]
        if change.stray is not None:  # a leftover or duplicate: cleared first
            for delete in own_deletes:
                self._edge(delete, write)
        if write is not None and change.desired is not None:
            self._link_write(change.desired.deps, write)
        for delete in own_deletes:
            self._link_delete(change, delete)

    def _link_write(self, deps: Iterable[Address], write: str) -> None:
        """A create or update runs after what it references is written (or deleted,
        for a delete-first replacement)."""
        for dep in deps:
            self._edge(self.writes.get(dep), write)
            for deleted in self._replaced_first(dep):
                self._edge(deleted, write)

    def _link_delete(self, change: Change, delete: str) -> None:
        """A delete runs before the deletes of what the object referenced, and after
        the writes that stop using it."""
        for dep in change.old_deps:
            for dep_delete in self.deletes.get(dep, []):
                self._edge(delete, dep_delete)
        if change.replace_order is ReplaceOrder.CREATE_FIRST:
            for dependent in self._dependents(change.address):
                self._edge(self.writes.get(dependent), delete)
        elif change.action is Action.REPLACE and change.desired is not None:
            for dep in change.desired.deps:
                if dep in self.made_first:
                    self._edge(self.writes.get(dep), delete)
        if change.action is Action.DELETE:
            for user in self._former_users(change.address):
                self._edge(self.writes.get(user), delete)

    def _link_exclusive(self) -> None:
        """A create that takes a value only one object may hold (a network's cidr)
        runs after the delete, in this plan, of the object holding it now."""
        freed: dict[tuple[str, str, str, str], list[str]] = {}
        for key, step in self.steps.items():
            live = step.change.live
            if step.operation is Operation.DELETE and live is not None:
                for name in self.exclusive(step.change):
                    if live.spec.get(name) is not None:
                        freed.setdefault(_holding(step.change, name, live.spec[name]),
                                         []).append(key)
        if not freed:
            return
        for key, step in self.steps.items():
            desired = step.change.desired
            if step.operation is Operation.CREATE and desired is not None:
                for name in self.exclusive(step.change):
                    for delete in freed.get(_holding(step.change, name,
                                                     desired.spec.get(name)), []):
                        self._edge(delete, key)

    def _replaced_first(self, address: Address) -> Iterable[str]:
        """The delete step of ``address`` if it is replaced delete-first. Not with
        create_before_destroy: there the old object outlives its dependents' writes."""
        return [key for key in self.deletes.get(address, [])
                if self.steps[key].change.replace_order is ReplaceOrder.DELETE_FIRST]

    def _former_users(self, address: Address) -> list[Address]:
        """Updated objects that use ``address`` now and drop the reference: the update
        runs before the delete (a network is not deleted under its guests). One that
        keeps it (the leftover of an address made again) waits for the new object
        instead: ordering it before the delete too was a cycle."""
        return [c.address for c in self.changes
                if c.action is Action.UPDATE and address in c.old_deps
                and (c.desired is None or address not in c.desired.deps)]

    def _dependents(self, address: Address) -> list[Address]:
        return [c.address for c in self.changes
                if c.desired is not None and address in c.desired.deps]

    def _edge(self, before: str | None, after: str | None) -> None:
        if before is not None and after is not None and before != after:
            self.graph.add_edge(before, after)

    def _ordered(self) -> list[str]:
        ordered = self.graph.topological_order(self._sort_key)
        if ordered is None:
            cycle = self.graph.cycle()
            text = " -> ".join(cycle) + f" -> {cycle[0]}"
            raise PlanError(f"the changes cannot be ordered: {text}",
                            hint="apply the replacement in two steps, or drop "
                                 "create_before_destroy on one of them; where a new "
                                 "object takes a value an old one holds (a network's "
                                 "cidr), make the change in two applies")
        return ordered

    def _sort_key(self, key: str) -> str:
        step = self.steps[key]
        position = self.order.get(step.address, len(self.order))
        return f"{position:09d}|{step.address!s}|{_OPERATION_RANK[step.operation]}|{key}"
