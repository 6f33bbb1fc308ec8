"""``--target`` and ``--exclude``: which changes of a plan are kept.

- A target keeps itself and what it needs: for a create or update, what it
  references (transitively); for a delete or replacement, what depends on it
  (their deletes must come first, and replaced objects' users are re-attached).
- An exclusion drops the resource and everything that depends on it
  (transitively): applying those without it could not work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from provisioner.core.address import Address
from provisioner.plan.model import Change


def selected_addresses(changes: Sequence[Change], targets: Iterable[Address],
                       excludes: Iterable[Address]) -> set[Address]:
    """The addresses whose changes the plan keeps."""
    needs = _needs(changes)
    users = _reverse(needs)
    destroying = {c.address for c in changes if c.action.destroys}
    chosen = {c.address for c in changes}
    wanted = set(targets)
    if wanted:
        chosen = set()
        frontier = list(wanted)
        while frontier:
            address = frontier.pop()
            if address in chosen:
                continue
            chosen.add(address)
            frontier += needs.get(address, ())
            if address in destroying:
                frontier += users.get(address, ())
    for address in _closure(set(excludes), users):
        chosen.discard(address)
    return chosen


def _needs(changes: Sequence[Change]) -> dict[Address, set[Address]]:
    needs: dict[Address, set[Address]] = {}
    for change in changes:
        found = needs.setdefault(change.address, set())
        if change.desired is not None:
            found |= set(change.desired.deps)
        found |= set(change.old_deps)
    return needs


def _reverse(graph: Mapping[Address, set[Address]]) -> dict[Address, set[Address]]:
    reverse: dict[Address, set[Address]] = {}
    for address, needed in graph.items():
        for dependency in needed:
            reverse.setdefault(dependency, set()).add(address)
    return reverse


def _closure(start: set[Address], edges: Mapping[Address, set[Address]]) -> set[Address]:
    seen: set[Address] = set()
    frontier = list(start)
    while frontier:
        address = frontier.pop()
        if address not in seen:
            seen.add(address)
            frontier += edges.get(address, ())
    return seen
