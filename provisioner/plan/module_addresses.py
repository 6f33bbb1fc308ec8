"""Addresses of objects whose name says more than their marker.

A provider names the objects it reads by their ownership marker when they carry
one, and some by their hypervisor name (libvirt's volumes and pools have no room
for a marker). Two things make that name and the stack's address part:

- a module's resource is named with its flat name on the hypervisor
  (``web-data``: stack/module_names.py), so a read by name gives
  ``volumes.web-data`` for what the stack calls ``module.web.volumes.data``;
- a moved resource (``moved:``) keeps its object and name, and its marker keeps
  the address it was made under, while the stack and the state know it by the new
  one.

So after each read, an object whose address neither the stack declares nor the
state records takes the address that the stack or the state gives its name, when
one does. Without modules or moves the table is empty and nothing is looked at.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace

from provisioner.core.address import Address, Kind
from provisioner.core.resources import LiveObject, Resource, address_name
from provisioner.providers.base import Inventory
from provisioner.state.store import AppliedRecord

NameTable = Mapping[tuple[Kind, str], Address]


def name_table(resources: Iterable[Resource], records: Iterable[AppliedRecord]
               ) -> dict[tuple[Kind, str], Address]:
    """Hypervisor name → address, for each resource declared or recorded whose name is
    not its address's (a module's, a moved one's)."""
    table = {(r.kind, address_name(r.name)): r.address for r in resources
             if r.address.module or address_name(r.name) != r.address.name}
    for record in records:
        name = address_name(record.name) if record.name else ""
        if name and (record.address.module or name != record.address.name):
            table.setdefault((record.address.kind, name), record.address)
    return table


def readdressed(inventory: Inventory, table: NameTable, known: Collection[Address]
                ) -> Inventory:
    """``inventory`` with each object (and dependency) that ``known`` lacks given the
    address its name has in ``table``."""
    if not table:
        return inventory
    return replace(inventory, managed=[_object(o, table, known) for o in inventory.managed],
                   leftovers=[_object(o, table, known) for o in inventory.leftovers])


def _object(found: LiveObject, table: NameTable, known: Collection[Address]) -> LiveObject:
    address = found.address
    if address not in known:
        address = table.get((address.kind, address_name(found.name)), address)
    deps = tuple(d if d in known else table.get((d.kind, d.name), d) for d in found.deps)
    if address == found.address and deps == found.deps:
        return found
    return replace(found, address=address, deps=deps, marked_as=found.marker_address)
