"""``moved:``: a resource that changes address keeps its object.

```yaml
moved:
  - {from: guests.web, to: module.web.guests.web}
```

Before planning, what the hypervisors hold and what the state recorded at the old
address (and at each instance of it: ``guests.web-0`` moves to
``module.web.guests.web-0``) is taken as the new address's, so the plan compares it
with the declaration instead of deleting one object and creating another. The plan
says each move; apply records the object under its new address and forgets the
old one. The object keeps its name on the hypervisor (a module's new resource
would be named with its path: the old object is not renamed) and its ownership
marker its old address: later plans find it through the state
(plan/module_addresses.py), so the block may be removed after the apply.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace

from provisioner.core.address import Address
from provisioner.core.problems import Problem
from provisioner.core.resources import Resource, address_name
from provisioner.providers.base import Inventory
from provisioner.stack.moves import Move
from provisioner.state.store import AppliedRecord


@dataclass(frozen=True)
class Moved:
    inventories: Mapping[str, Inventory]
    prior: Mapping[Address, AppliedRecord]
    pairs: tuple[tuple[Address, Address], ...]
    """(old address, new address) of every object moved, in address order."""
    problems: tuple[Problem, ...] = ()


def apply_moves(moves: Iterable[Move], inventories: Mapping[str, Inventory],
                prior: Mapping[Address, AppliedRecord], declared: Collection[Address]
                ) -> Moved:
    """``inventories`` and ``prior`` with moved objects under their new addresses."""
    present = {o.address for i in inventories.values() for o in i.managed} | set(prior)
    pairs: dict[Address, Address] = {}
    problems = []
    for move in moves:
        for old in sorted(present):
            new = _moved_to(move, old, declared)
            if new is None:
                continue
            if new in present:
                problems.append(Problem(
                    f"{move.source}moved: {old} cannot move to {new}: the hypervisor or the "
                    f"state already has {new}", new,
                    hint=f"remove the moved block, or delete one of them (--target {old} "
                         "with destroy)"))
                continue
            pairs[old] = new
    if not pairs:
        return Moved(inventories, prior, (), tuple(problems))
    moved_inventories = {name: replace(inventory, managed=[
        replace(o, address=pairs.get(o.address, o.address),
                marked_as=o.marker_address if o.address in pairs else o.marked_as,
                deps=tuple(pairs.get(d, d) for d in o.deps)) for o in inventory.managed])
        for name, inventory in inventories.items()}
    moved_prior = {pairs.get(a, a): replace(r, address=pairs.get(a, a),
                                             deps=tuple(pairs.get(d, d) for d in r.deps))
                   for a, r in prior.items()}
    return Moved(moved_inventories, moved_prior, tuple(sorted(pairs.items())),
                 tuple(problems))


def renamed_references(pairs: Iterable[tuple[Address, Address]],
                       inventories: Mapping[str, Inventory],
                       resources: Iterable[Resource]) -> list[Problem]:
    """A moved object that other resources name (a network, a volume, ...) must keep
    its name: they would name the new one, which it does not become (the object is not
    renamed), and each plan would show them changed."""
    declared = list(resources)
    names = {r.address: r.name for r in declared}
    live = {o.address: o.name for i in inventories.values() for o in i.managed}
    problems = []
    for old, new in pairs:
        have, want = address_name(live.get(new, "")), address_name(names.get(new, ""))
        users = [str(r.address) for r in declared if new in r.references.values()]
        if have and want and have != want and users:
            problems.append(Problem(
                f"moved from {old}, it keeps its name {have} on the hypervisor, and "
                f"{', '.join(users[:3])} would name it {want}", new,
                hint="give the module name_prefix: \"\" (or one that keeps the name), "
                     "or let the plan replace it (remove the moved block)"))
    return problems


def _moved_to(move: Move, old: Address, declared: Collection[Address]) -> Address | None:
    """Where ``move`` takes ``old``: itself, or an instance of it (the same suffix after
    the declared name), if the stack declares that address."""
    before = move.before
    if (old.kind, old.module) != (before.kind, before.module) or old in declared:
        return None
    if old.name == before.name:
        suffix = ""
    elif old.name.startswith(before.name + "-"):
        suffix = old.name[len(before.name):]
    else:
        return None
    new = Address(move.after.kind, move.after.name + suffix, move.after.module, old.index)
    return new if new in declared else None
