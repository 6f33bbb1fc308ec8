"""Addresses of module resources in what a provider read.

A provider names the objects it reads by their ownership marker when they carry
one, and some by their hypervisor name (libvirt's volumes and pools have no room
for a marker). A module's resource is named with its flat name on the hypervisor
(``web-data``: stack/module_names.py), so a read by name gives ``volumes.web-data``
for what the stack calls ``module.web.volumes.data``. The engine corrects that
here, after each read, from the names the stack declares and the state recorded:
without modules the table is empty and nothing is looked at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from provisioner.core.address import Address, Kind
from provisioner.core.resources import LiveObject, Resource, address_name
from provisioner.providers.base import Inventory
from provisioner.state.store import AppliedRecord

NameTable = Mapping[tuple[Kind, str], Address]


def module_names(resources: Iterable[Resource], records: Iterable[AppliedRecord]
                 ) -> dict[tuple[Kind, str], Address]:
    """Hypervisor name → address of every module resource declared or recorded."""
    table = {(r.kind, address_name(r.name)): r.address for r in resources if r.address.module}
    for record in records:
        if record.address.module and record.name:
            table.setdefault((record.address.kind, address_name(record.name)), record.address)
    return table


def readdressed(inventory: Inventory, table: NameTable) -> Inventory:
    """``inventory`` with objects (and dependencies) read by name given their module
    address."""
    if not table:
        return inventory
    return replace(inventory, managed=[_object(o, table) for o in inventory.managed],
                   leftovers=[_object(o, table) for o in inventory.leftovers])


def _object(found: LiveObject, table: NameTable) -> LiveObject:
    address = _address(found.address, table)
    deps = tuple(_address(d, table) for d in found.deps)
    if address == found.address and deps == found.deps:
        return found
    return replace(found, address=address, deps=deps)


def _address(address: Address, table: NameTable) -> Address:
    if address.module:
        return address
    return table.get((address.kind, address.name), address)
